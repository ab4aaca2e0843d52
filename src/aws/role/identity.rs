//! \[engine\] "Who did it": the role's identity templates — `session_name_template`,
//! `source_identity_template`, `session_tag_templates` and `transitive_tag_keys` —
//! checked when the role is written and rendered for one requester at issuance, with
//! the results fitted to AWS's limits.
//!
//! Write time: each template must parse and render against a sample requester (so an
//! unknown field is a 400 at write, not at issuance); tag keys must be valid AWS tag keys
//! and not repeat a `session_tags` key; at most 50 tags in all; transitive keys must be
//! among the tags. Issue time: characters AWS refuses become `_`, results are cut to
//! AWS's maximum length, an empty source identity or tag value is left out (a token
//! without an entity renders empty metadata), and a name shorter than AWS's minimum of 2
//! is a 400 naming the template. Pure: no I/O.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::{CredentialType, Role};
use crate::aws::requester::{REQUESTER_FIELDS, Requester};
use crate::aws::username::{NameKind, normalize_display_name};
use crate::framework::template::{Template, go_quote};

/// AWS allows 50 session tags on one AssumeRole call.
pub const MAX_SESSION_TAGS: usize = 50;

const SESSION_NAME_MAX: usize = 64;
const FEDERATION_NAME_MAX: usize = 32;
const SOURCE_IDENTITY_MAX: usize = 64;
const TAG_KEY_MAX: usize = 128;
const TAG_VALUE_MAX: usize = 256;

/// What the identity templates rendered for one requester.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRender {
    /// `RoleSessionName` / federation `Name`; `None`: no template, use the default.
    pub session_name: Option<String>,
    /// `SourceIdentity`; `None`: not sent.
    pub source_identity: Option<String>,
    /// Every session tag: the static `session_tags` and the rendered, non-empty ones.
    pub tags: BTreeMap<String, String>,
    /// `TransitiveTagKeys` whose tag is being sent.
    pub transitive_tag_keys: Vec<String>,
}

impl Role {
    /// Whether issuing `kind` from this role needs the requester's identity (the host's
    /// entity and groups): only for the templates that credential type renders.
    pub fn uses_identity(&self, kind: CredentialType) -> bool {
        match kind {
            CredentialType::AssumedRole => {
                !self.session_name_template.is_empty()
                    || !self.source_identity_template.is_empty()
                    || !self.session_tag_templates.is_empty()
            }
            CredentialType::FederationToken => !self.session_name_template.is_empty(),
            CredentialType::SessionToken | CredentialType::IamUser => false,
        }
    }

    /// The write-time rules of the identity fields.
    pub(super) fn identity_problems(&self, out: &mut Vec<String>) {
        let assumed = self.allows(CredentialType::AssumedRole);
        let federated = self.allows(CredentialType::FederationToken);
        if !self.session_name_template.is_empty() && !assumed && !federated {
            out.push("session_name_template parameter only valid for assumed_role and federation_token credential types".into());
        }
        let assumed_only = [
            (
                "source_identity_template",
                !self.source_identity_template.is_empty(),
            ),
            (
                "session_tag_templates",
                !self.session_tag_templates.is_empty(),
            ),
            ("transitive_tag_keys", !self.transitive_tag_keys.is_empty()),
        ];
        for (field, set) in assumed_only {
            if set && !assumed {
                out.push(format!(
                    "cannot supply {field} when credential_type isn't assumed_role"
                ));
            }
        }
        check_template("session_name_template", &self.session_name_template, out);
        check_template(
            "source_identity_template",
            &self.source_identity_template,
            out,
        );
        for (key, template) in &self.session_tag_templates {
            check_tag_key(key, out);
            check_template(&format!("session_tag_templates[{key}]"), template, out);
            if self
                .session_tags
                .keys()
                .any(|k| k.eq_ignore_ascii_case(key))
            {
                out.push(format!(
                    "session_tag_templates key {} is also a key of session_tags; AWS tag keys are case-insensitive, so give each key in only one of them",
                    go_quote(key)
                ));
            }
        }
        let total = self.session_tags.len() + self.session_tag_templates.len();
        if total > MAX_SESSION_TAGS {
            out.push(format!(
                "session_tags and session_tag_templates together have {total} tags; AWS allows at most {MAX_SESSION_TAGS} session tags"
            ));
        }
        self.transitive_problems(out);
    }

    fn transitive_problems(&self, out: &mut Vec<String>) {
        if self.transitive_tag_keys.len() > MAX_SESSION_TAGS {
            out.push(format!(
                "transitive_tag_keys has {} keys; AWS allows at most {MAX_SESSION_TAGS}",
                self.transitive_tag_keys.len()
            ));
        }
        for key in &self.transitive_tag_keys {
            if !self.has_tag_key(key) {
                out.push(format!(
                    "transitive_tag_keys entry {} is not a key of session_tags or session_tag_templates; only tags the session is given can be transitive",
                    go_quote(key)
                ));
            }
        }
    }

    fn has_tag_key(&self, key: &str) -> bool {
        self.session_tags
            .keys()
            .chain(self.session_tag_templates.keys())
            .any(|k| k.eq_ignore_ascii_case(key))
    }

    /// Renders the identity templates for `requester`, issuing credentials of `kind`.
    /// `Err` is the message of a 400 naming the template.
    pub fn render_identity(
        &self,
        kind: CredentialType,
        requester: &Requester,
        now: SystemTime,
    ) -> Result<IdentityRender, String> {
        let fields = requester.template_fields();
        let view = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let render = |field: &str, source: &str| -> Result<String, String> {
            let template = Template::parse(source)
                .map_err(|e| format!("{field} is not a valid template: {e}"))?;
            template
                .render_at(&view, now)
                .map_err(|e| format!("{field} failed to render: {e}"))
        };
        let mut out = IdentityRender {
            tags: self.session_tags.clone(),
            ..IdentityRender::default()
        };
        if !self.session_name_template.is_empty() {
            let max = match kind {
                CredentialType::FederationToken => FEDERATION_NAME_MAX,
                _ => SESSION_NAME_MAX,
            };
            let raw = render("session_name_template", &self.session_name_template)?;
            out.session_name = Some(fit_name("session_name_template", &raw, max)?);
        }
        if kind != CredentialType::AssumedRole {
            return Ok(out);
        }
        if !self.source_identity_template.is_empty() {
            let raw = render("source_identity_template", &self.source_identity_template)?;
            if !raw.is_empty() {
                let fitted = fit_name("source_identity_template", &raw, SOURCE_IDENTITY_MAX)?;
                out.source_identity = Some(fitted);
            }
        }
        for (key, template) in &self.session_tag_templates {
            let value = fit_tag_value(&render(&format!("session_tag_templates[{key}]"), template)?);
            if !value.is_empty() {
                out.tags.insert(key.clone(), value);
            }
        }
        out.transitive_tag_keys = self
            .transitive_tag_keys
            .iter()
            .filter(|k| out.tags.keys().any(|t| t.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        Ok(out)
    }
}

/// A template must parse and render for a sample requester of either kind.
fn check_template(field: &str, source: &str, out: &mut Vec<String>) {
    if source.is_empty() {
        return;
    }
    let template = match Template::parse(source) {
        Ok(t) => t,
        Err(e) => {
            out.push(format!("{field} is not a valid template: {e}"));
            return;
        }
    };
    let fields = Requester::sample(NameKind::Iam).template_fields();
    let view = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if let Err(e) = template.render(&view) {
        out.push(format!(
            "{field} cannot be rendered: {e}; the fields are {REQUESTER_FIELDS}"
        ));
    }
}

/// AWS's session tag key rules: 1–128 characters of letters, digits, spaces and
/// `_.:/=+-@`, not starting with `aws:`.
fn check_tag_key(key: &str, out: &mut Vec<String>) {
    let len = key.chars().count();
    let problem = if !(1..=TAG_KEY_MAX).contains(&len) {
        Some(format!("must be 1 to {TAG_KEY_MAX} characters long"))
    } else if !key.chars().all(tag_char) {
        Some("may only contain letters, digits, spaces and _.:/=+-@".to_string())
    } else if key.to_ascii_lowercase().starts_with("aws:") {
        Some("must not start with aws:, which AWS reserves".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        out.push(format!(
            "session_tag_templates key {} is invalid: it {p}",
            go_quote(key)
        ));
    }
}

/// Characters AWS allows in tag keys and values (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`).
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// A rendered name (`RoleSessionName`, federation `Name`, `SourceIdentity`): characters
/// outside `[\w+=,.@-]` become `_` (as Vault does to display names), then cut to `max`;
/// fewer than 2 characters is refused.
fn fit_name(field: &str, raw: &str, max: usize) -> Result<String, String> {
    let name: String = normalize_display_name(raw).chars().take(max).collect();
    if name.chars().count() < 2 {
        return Err(format!(
            "{field} rendered {} for this requester, but AWS needs 2 to {max} characters; change {field} so that it always renders at least 2 characters (a token without an entity has no entity ID, metadata or groups)",
            go_quote(&name)
        ));
    }
    Ok(name)
}

/// A rendered tag value: characters AWS refuses become `_`, cut to 256 characters.
fn fit_tag_value(raw: &str) -> String {
    raw.chars()
        .map(|c| if tag_char(c) { c } else { '_' })
        .take(TAG_VALUE_MAX)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::logical::{Alias, Entity};

    fn assumed() -> Role {
        Role {
            credential_types: vec![CredentialType::AssumedRole],
            role_arns: vec!["arn:aws:iam::123456789012:role/r".into()],
            ..Role::default()
        }
    }

    fn alice() -> Requester {
        let entity = Entity {
            id: "e-1".into(),
            name: "alice smith".into(),
            metadata: HashMap::from([("team".into(), "blue/green".into())]),
            aliases: vec![Alias {
                mount_accessor: "auth_userpass_1".into(),
                name: "alice".into(),
                ..Alias::default()
            }],
            ..Entity::default()
        };
        Requester::with_entity(NameKind::Iam, "userpass-alice", "r", &entity, &[])
    }

    fn problems(role: &Role) -> Vec<String> {
        let mut out = Vec::new();
        role.identity_problems(&mut out);
        out
    }

    #[test]
    fn write_rules_name_the_field() {
        let mut role = assumed();
        role.session_name_template = "{{ .Nope }}".into();
        role.source_identity_template = "{{ nope }}".into();
        role.session_tag_templates = BTreeMap::from([
            ("aws:x".into(), "v".into()),
            ("Team".into(), "{{ .EntityMetadata.team }}".into()),
        ]);
        role.session_tags = BTreeMap::from([("team".into(), "x".into())]);
        role.transitive_tag_keys = vec!["team".into(), "other".into()];
        let p = problems(&role);
        assert!(
            p[0].starts_with(
                "session_name_template cannot be rendered: line 1: can't evaluate field Nope"
            ),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("source_identity_template is not a valid template"),
            "{p:?}"
        );
        assert!(
            p[2].contains(r#"key "Team" is also a key of session_tags"#),
            "{p:?}"
        );
        assert!(
            p[3].contains(r#"key "aws:x" is invalid: it must not start with aws:"#),
            "{p:?}"
        );
        assert!(
            p[4].contains(r#"transitive_tag_keys entry "other""#),
            "{p:?}"
        );
        assert_eq!(p.len(), 5, "{p:?}");

        let mut iam = Role {
            credential_types: vec![CredentialType::IamUser],
            ..Role::default()
        };
        iam.session_name_template = "{{ .EntityName }}".into();
        iam.transitive_tag_keys = vec!["x".into()];
        let p = problems(&iam);
        assert!(
            p[0].contains("session_name_template parameter only valid"),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m
                == "cannot supply transitive_tag_keys when credential_type isn't assumed_role")
        );
    }

    #[test]
    fn too_many_tags_is_refused() {
        let mut role = assumed();
        role.session_tags = (0..30).map(|i| (format!("s{i}"), "v".into())).collect();
        role.session_tag_templates = (0..21).map(|i| (format!("t{i}"), "v".into())).collect();
        assert!(
            problems(&role)
                .iter()
                .any(|m| m.contains("51 tags; AWS allows at most 50"))
        );
    }

    #[test]
    fn renders_sanitised_and_bounded() {
        let mut role = assumed();
        role.session_name_template = "{{ .EntityName }}/{{ .RoleName }}/{{ random 80 }}".into();
        role.source_identity_template = "{{ .AliasName }}:{{ .EntityID }}".into();
        role.session_tags = BTreeMap::from([("env".into(), "dev".into())]);
        role.session_tag_templates = BTreeMap::from([
            ("team".into(), "{{ .EntityMetadata.team }}#".into()),
            ("cost".into(), "{{ .EntityMetadata.cost }}".into()),
            ("long".into(), "{{ random 300 }}".into()),
        ]);
        role.transitive_tag_keys = vec!["team".into(), "cost".into(), "env".into()];
        let r = role
            .render_identity(CredentialType::AssumedRole, &alice(), SystemTime::now())
            .expect("render");
        let name = r.session_name.expect("name");
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("alice_smith_r_"), "{name}");
        assert_eq!(r.source_identity.as_deref(), Some("alice_e-1"));
        assert_eq!(r.tags["team"], "blue/green_");
        assert_eq!(r.tags["env"], "dev");
        assert_eq!(r.tags["long"].chars().count(), 256);
        assert!(!r.tags.contains_key("cost"), "empty values are left out");
        assert_eq!(r.transitive_tag_keys, vec!["team", "env"]);
    }

    #[test]
    fn no_entity_falls_back_or_refuses_clearly() {
        let root = Requester::without_entity(NameKind::Iam, "root", "r");
        let mut role = assumed();
        role.session_name_template = "{{ .EntityName }}".into();
        role.source_identity_template = "{{ .EntityID }}".into();
        let r = role
            .render_identity(CredentialType::AssumedRole, &root, SystemTime::now())
            .expect("render");
        assert_eq!(r.session_name.as_deref(), Some("root"));
        assert_eq!(r.source_identity, None, "empty source identity is not sent");

        role.session_name_template = "{{ .EntityID }}x".into();
        let err = role
            .render_identity(CredentialType::AssumedRole, &root, SystemTime::now())
            .expect_err("too short");
        assert!(
            err.starts_with(
                r#"session_name_template rendered "x" for this requester, but AWS needs 2 to 64"#
            ),
            "{err}"
        );
    }

    #[test]
    fn federation_names_are_cut_to_32_and_get_no_source_identity() {
        let role = Role {
            credential_types: vec![CredentialType::FederationToken],
            session_name_template: "{{ .EntityName }}-{{ random 40 }}".into(),
            ..Role::default()
        };
        let r = role
            .render_identity(CredentialType::FederationToken, &alice(), SystemTime::now())
            .expect("render");
        assert_eq!(r.session_name.expect("name").len(), 32);
        assert_eq!(r.source_identity, None);
    }
}
