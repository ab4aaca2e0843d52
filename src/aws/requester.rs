//! \[engine\] Who is asking for credentials: the requesting token's identity (entity,
//! aliases, groups, display name) and the Vault role, as the fields that the identity
//! templates of a role (`session_name_template`, `source_identity_template`,
//! `session_tag_templates`) are rendered with. Gathering them costs two SystemView
//! calls, so `path_creds` only does it for roles that have such templates.
//!
//! Template fields (the same template language as `username_template`):
//!
//! | field | value |
//! |---|---|
//! | `.EntityName` | the entity's name; the token's display name when there is no entity |
//! | `.EntityID` | the entity's ID; empty when there is no entity |
//! | `.EntityMetadata.<key>` | the entity's metadata; a missing key is empty |
//! | `.AliasName` | the name of the entity's alias (several: sorted, comma-joined); the display name when there is no entity |
//! | `.AliasMetadata.<key>` | the aliases' metadata and custom metadata (first alias by mount accessor wins) |
//! | `.Aliases.<mount_accessor>` | the alias name in that auth mount (e.g. `.Aliases.auth_userpass_1a2b3c4d`) |
//! | `.Groups` | the entity's group names, sorted, comma-joined |
//! | `.DisplayName` | the token's display name, as the host sent it |
//! | `.RoleName`, `.PolicyName` | the Vault role's name |
//! | `.Type` | `IAM` (assumed_role) or `STS` (federation_token), as in `username_template` |
//!
//! Values are raw here; each rendered setting is sanitised for its AWS limits in
//! `role::identity`. Nothing here is a secret, and nothing is logged.

use std::collections::{BTreeMap, HashMap};

use super::username::NameKind;
use crate::framework::template::map_marker;
use crate::logical::{Entity, Error, Group, Request, SystemView};

/// The field names the identity templates can use, for messages and help text.
pub const REQUESTER_FIELDS: &str = ".EntityName, .EntityID, .EntityMetadata.<key>, .AliasName, .AliasMetadata.<key>, .Aliases.<mount_accessor>, .Groups, .DisplayName, .RoleName, .PolicyName, .Type";

/// The requester as template input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// `.Type`.
    pub kind: NameKind,
    /// `.DisplayName`.
    pub display_name: String,
    /// `.RoleName` and `.PolicyName`.
    pub role_name: String,
    /// `.EntityID`; empty without an entity.
    pub entity_id: String,
    /// `.EntityName`; the display name without an entity.
    pub entity_name: String,
    /// `.EntityMetadata.<key>`.
    pub entity_metadata: BTreeMap<String, String>,
    /// `.Aliases.<mount_accessor>`: alias names by auth mount accessor.
    pub aliases: BTreeMap<String, String>,
    /// `.AliasMetadata.<key>`.
    pub alias_metadata: BTreeMap<String, String>,
    /// `.Groups`, sorted.
    pub groups: Vec<String>,
}

impl Requester {
    /// A requester without an entity (a root or orphan token): names fall back to the
    /// display name, everything else is empty.
    pub fn without_entity(kind: NameKind, display_name: &str, role_name: &str) -> Self {
        Requester {
            kind,
            display_name: display_name.to_string(),
            role_name: role_name.to_string(),
            entity_id: String::new(),
            entity_name: display_name.to_string(),
            entity_metadata: BTreeMap::new(),
            aliases: BTreeMap::new(),
            alias_metadata: BTreeMap::new(),
            groups: Vec::new(),
        }
    }

    /// The requester of `entity` (with its `groups`).
    pub fn with_entity(
        kind: NameKind,
        display_name: &str,
        role_name: &str,
        entity: &Entity,
        groups: &[Group],
    ) -> Self {
        let mut requester = Requester::without_entity(kind, display_name, role_name);
        requester.entity_id = entity.id.clone();
        if !entity.name.is_empty() {
            requester.entity_name = entity.name.clone();
        }
        requester.entity_metadata = sorted(&entity.metadata);
        let mut aliases: Vec<_> = entity.aliases.iter().collect();
        aliases.sort_by(|a, b| a.mount_accessor.cmp(&b.mount_accessor));
        for alias in aliases {
            requester
                .aliases
                .insert(alias.mount_accessor.clone(), alias.name.clone());
            // Custom metadata (set by an operator) over the auth method's own; an
            // earlier alias keeps a key a later one also sets.
            for (k, v) in sorted(&alias.metadata)
                .into_iter()
                .chain(sorted(&alias.custom_metadata))
            {
                requester.alias_metadata.entry(k).or_insert(v);
            }
        }
        let mut names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
        names.sort();
        names.dedup();
        requester.groups = names;
        requester
    }

    /// A requester with every field and map present, for checking at role write that
    /// a template renders (names no unknown field).
    pub fn sample(kind: NameKind) -> Self {
        let mut r = Requester::without_entity(kind, "token", "role");
        r.entity_id = "00000000-0000-0000-0000-000000000000".into();
        r.groups = vec!["group".into()];
        r
    }

    /// `.AliasName`: the alias names, sorted and deduplicated, comma-joined; the display
    /// name when there is none.
    fn alias_name(&self) -> String {
        if self.aliases.is_empty() {
            return self.entity_name.clone();
        }
        let mut names: Vec<&str> = self.aliases.values().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names.join(",")
    }

    /// The template fields, with the map markers that make a missing metadata key empty.
    pub fn template_fields(&self) -> HashMap<String, String> {
        let mut f = HashMap::new();
        f.insert("Type".into(), self.kind.as_str().to_string());
        f.insert("DisplayName".into(), self.display_name.clone());
        f.insert("RoleName".into(), self.role_name.clone());
        f.insert("PolicyName".into(), self.role_name.clone());
        f.insert("EntityID".into(), self.entity_id.clone());
        f.insert("EntityName".into(), self.entity_name.clone());
        f.insert("AliasName".into(), self.alias_name());
        f.insert("Groups".into(), self.groups.join(","));
        let maps = [
            ("EntityMetadata", &self.entity_metadata),
            ("AliasMetadata", &self.alias_metadata),
            ("Aliases", &self.aliases),
        ];
        for (map, entries) in maps {
            f.insert(map_marker(map), String::new());
            for (k, v) in entries {
                f.insert(format!("{map}.{k}"), v.clone());
            }
        }
        f
    }
}

fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The requester of `req` for role `role_name`: its entity and groups from the host, or
/// the display-name fallback when the token has no entity (root, orphan) or the host
/// does not know it.
pub(crate) async fn requester(
    system: &dyn SystemView,
    req: &Request,
    role_name: &str,
    kind: NameKind,
) -> Result<Requester, Error> {
    if req.entity_id.is_empty() {
        return Ok(Requester::without_entity(
            kind,
            &req.display_name,
            role_name,
        ));
    }
    let Some(entity) = system.entity_info(&req.entity_id).await? else {
        return Ok(Requester::without_entity(
            kind,
            &req.display_name,
            role_name,
        ));
    };
    let groups = system.groups_for_entity(&req.entity_id).await?;
    Ok(Requester::with_entity(
        kind,
        &req.display_name,
        role_name,
        &entity,
        &groups,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::Alias;

    fn entity() -> Entity {
        Entity {
            id: "e-1".into(),
            name: "alice".into(),
            metadata: HashMap::from([("team".into(), "blue".into())]),
            aliases: vec![
                Alias {
                    mount_accessor: "auth_userpass_2".into(),
                    name: "alice-up".into(),
                    metadata: HashMap::from([("k".into(), "second".into())]),
                    ..Alias::default()
                },
                Alias {
                    mount_accessor: "auth_oidc_1".into(),
                    name: "alice@corp".into(),
                    custom_metadata: HashMap::from([("k".into(), "first".into())]),
                    ..Alias::default()
                },
            ],
            ..Entity::default()
        }
    }

    #[test]
    fn entity_fields_and_maps() {
        let groups = [
            Group {
                name: "ops".into(),
                ..Group::default()
            },
            Group {
                name: "dev".into(),
                ..Group::default()
            },
        ];
        let r = Requester::with_entity(NameKind::Iam, "userpass-alice", "ec2", &entity(), &groups);
        let f = r.template_fields();
        assert_eq!(f["EntityName"], "alice");
        assert_eq!(f["EntityID"], "e-1");
        assert_eq!(f["EntityMetadata.team"], "blue");
        assert_eq!(f["AliasName"], "alice-up,alice@corp");
        assert_eq!(f["Aliases.auth_userpass_2"], "alice-up");
        assert_eq!(
            f["AliasMetadata.k"], "first",
            "first alias by accessor wins"
        );
        assert_eq!(f["Groups"], "dev,ops");
        assert_eq!(f["RoleName"], "ec2");
        assert_eq!(f["DisplayName"], "userpass-alice");
    }

    #[test]
    fn no_entity_falls_back_to_the_display_name() {
        let f = Requester::without_entity(NameKind::Iam, "root", "ec2").template_fields();
        assert_eq!(f["EntityName"], "root");
        assert_eq!(f["AliasName"], "root");
        assert_eq!(f["EntityID"], "");
        assert_eq!(f["Groups"], "");
        assert!(f.contains_key("EntityMetadata."));
    }
}
