//! \[engine\] The stored role (`role/<name>`, Vault's `awsRoleEntry`): its JSON shape, which
//! is the Go engine's byte for byte so that a mount can switch binaries in either
//! direction; the credential types; the read response; and the upgrade of legacy
//! `policy/<name>` entries. Validation lives in `validate.rs`, applying a write in
//! `update.rs`, the per-request decisions a role drives (which credential type a
//! path yields, which role ARN, which TTL) in `issue.rs`, and the identity templates
//! ("who did it": session name, source identity, session tags) in `identity.rs`.
//!
//! Pure data and rules: no storage, no AWS, no request handling.

mod accounts;
mod identity;
mod issue;
mod update;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::logical::JsonMap;

use super::policy_document;

pub use accounts::{ACCOUNT_PLACEHOLDER, check_account_id};
pub use identity::{IdentityRender, MAX_SESSION_TAGS};
pub use issue::{
    AWS_MAX_ASSUME_ROLE_TTL, AWS_MAX_TOKEN_TTL, AWS_MIN_STS_TTL, CredsPath, DEFAULT_STS_TTL,
};
pub use update::{MergedRole, RoleUpdate};
pub use validate::{Arn, RoleErrors, USER_PATH_PATTERN, parse_arn};

/// The storage prefixes of roles (`role/<name>`) and of legacy roles (`policy/<name>`),
/// which live with every other storage key in `storage`.
pub use super::storage::{LEGACY_ROLE_PREFIX, ROLE_PREFIX};

/// The kinds of credentials a role issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// An IAM user with an access key, deleted when the lease ends.
    IamUser,
    /// STS AssumeRole into one of the role's `role_arns`.
    AssumedRole,
    /// STS GetFederationToken.
    FederationToken,
    /// STS GetSessionToken, optionally with MFA.
    SessionToken,
}

impl CredentialType {
    /// Every credential type, in the order Vault lists them.
    pub const ALL: [CredentialType; 4] = [
        CredentialType::IamUser,
        CredentialType::AssumedRole,
        CredentialType::FederationToken,
        CredentialType::SessionToken,
    ];

    /// The wire name, e.g. `assumed_role`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::IamUser => "iam_user",
            CredentialType::AssumedRole => "assumed_role",
            CredentialType::FederationToken => "federation_token",
            CredentialType::SessionToken => "session_token",
        }
    }

    /// Whether credentials of this type come from STS (short-lived, not renewable, and
    /// their lease revocation is a no-op).
    pub fn is_sts(self) -> bool {
        self != CredentialType::IamUser
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialType {
    type Err = String;

    /// Parses a wire name; the error is Vault's `unrecognized credential type: <s>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unrecognized credential type: {s}"))
    }
}

/// A role as stored at `role/<name>`. Field names and encodings are the Go engine's
/// (`awsRoleEntry`): TTLs are Go `time.Duration`s (integer nanoseconds), absent lists may
/// be `null`. The fields from `ttl` on are our extensions (for `iam_user` roles, then
/// the identity templates of STS roles); they are omitted when unset so that a role that
/// does not use them is stored exactly as Vault stores it, and the Go engine ignores them
/// when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Role {
    /// Credential types this role issues: one, except for upgraded legacy roles
    /// (`iam_user` and `federation_token`, chosen by path).
    #[serde(deserialize_with = "null_default")]
    pub credential_types: Vec<CredentialType>,
    /// Managed policies attached to IAM users, or passed as `PolicyArns` to STS.
    #[serde(deserialize_with = "null_default")]
    pub policy_arns: Vec<String>,
    /// Roles an `assumed_role` caller may assume.
    #[serde(deserialize_with = "null_default")]
    pub role_arns: Vec<String>,
    /// Compact JSON policy: inline user policy, or the STS session `Policy`.
    #[serde(deserialize_with = "null_default")]
    pub policy_document: String,
    /// Groups IAM users join; for STS types, their policies join the session policy.
    #[serde(deserialize_with = "null_default")]
    pub iam_groups: Vec<String>,
    /// Tags put on created IAM users.
    #[serde(deserialize_with = "null_default")]
    pub iam_tags: BTreeMap<String, String>,
    /// Session tags passed to AssumeRole.
    #[serde(deserialize_with = "null_default")]
    pub session_tags: BTreeMap<String, String>,
    /// `ExternalId` passed to AssumeRole.
    #[serde(deserialize_with = "null_default")]
    pub external_id: String,
    /// A legacy entry that could not be understood; cleared by the next write.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub invalid_data: String,
    /// Set on upgraded legacy roles: `creds/` only yields `iam_user`, `sts/` only STS types.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub prohibit_flexible_cred_path: bool,
    /// Role format version (1 for upgraded legacy roles, 0 otherwise, as in Vault).
    #[serde(deserialize_with = "null_default")]
    pub version: i64,
    /// TTL of STS credentials when the caller asks for none; zero means 3600 s.
    #[serde(with = "go_duration")]
    pub default_sts_ttl: Duration,
    /// Cap on STS TTLs; zero means the mount's maximum lease TTL.
    #[serde(with = "go_duration")]
    pub max_sts_ttl: Duration,
    /// IAM path of created users; empty means `/`.
    #[serde(deserialize_with = "null_default")]
    pub user_path: String,
    /// Permissions boundary put on created IAM users.
    #[serde(deserialize_with = "null_default")]
    pub permissions_boundary_arn: String,
    /// MFA device of the root-config user, for `session_token`.
    #[serde(deserialize_with = "null_default")]
    pub mfa_serial_number: String,
    /// Extension: lease TTL of `iam_user` credentials, instead of `config/lease`.
    #[serde(with = "go_duration", skip_serializing_if = "Duration::is_zero")]
    pub ttl: Duration,
    /// Extension: maximum lease TTL of `iam_user` credentials, instead of `config/lease`.
    #[serde(with = "go_duration", skip_serializing_if = "Duration::is_zero")]
    pub max_ttl: Duration,
    /// Extension: return `iam_user` keys only once AWS accepts them.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub wait_for_propagation: bool,
    /// Extension ("who did it"): template of the AssumeRole `RoleSessionName` (or the
    /// GetFederationToken `Name`), rendered from the requester (see `requester`).
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub session_name_template: String,
    /// Extension: template of the AssumeRole `SourceIdentity`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub source_identity_template: String,
    /// Extension: session tags whose values are templates, merged with `session_tags`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub session_tag_templates: BTreeMap<String, String>,
    /// Extension: AssumeRole `TransitiveTagKeys`, keys of `session_tags` or
    /// `session_tag_templates`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transitive_tag_keys: Vec<String>,
    /// Extension (account sets): an IAM role ARN with an `{{account}}` placeholder,
    /// instead of `role_arns`; the caller names the account.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub role_arn_template: String,
    /// Extension: the accounts `role_arn_template` may be filled with (12-digit IDs, or
    /// `*` with `organization_accounts`).
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_accounts: Vec<String>,
    /// Extension: the account set comes from `organizations:ListAccounts` (ACTIVE only).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub organization_accounts: bool,
}

impl Role {
    /// Whether the role issues credentials of type `t`.
    pub fn allows(&self, t: CredentialType) -> bool {
        self.credential_types.contains(&t)
    }

    /// The user path to create IAM users under (`/` when unset).
    pub fn effective_user_path(&self) -> &str {
        if self.user_path.is_empty() {
            "/"
        } else {
            &self.user_path
        }
    }

    /// The data of a `roles/<name>` read: Vault's keys (`credential_type` comma-joined,
    /// STS TTLs in whole seconds, `invalid_data` only when set), plus our extensions.
    pub fn to_response_data(&self) -> JsonMap {
        let types: Vec<&str> = self.credential_types.iter().map(|t| t.as_str()).collect();
        let mut data = JsonMap::new();
        let mut put = |k: &str, v: Value| {
            data.insert(k.to_string(), v);
        };
        put("credential_type", json!(types.join(",")));
        put("policy_arns", json!(self.policy_arns));
        put("role_arns", json!(self.role_arns));
        put("policy_document", json!(self.policy_document));
        put("iam_groups", json!(self.iam_groups));
        put("iam_tags", json!(self.iam_tags));
        put("session_tags", json!(self.session_tags));
        put("external_id", json!(self.external_id));
        put("default_sts_ttl", json!(self.default_sts_ttl.as_secs()));
        put("max_sts_ttl", json!(self.max_sts_ttl.as_secs()));
        put("user_path", json!(self.user_path));
        put(
            "permissions_boundary_arn",
            json!(self.permissions_boundary_arn),
        );
        put("mfa_serial_number", json!(self.mfa_serial_number));
        put("ttl", json!(self.ttl.as_secs()));
        put("max_ttl", json!(self.max_ttl.as_secs()));
        put("wait_for_propagation", json!(self.wait_for_propagation));
        put("session_name_template", json!(self.session_name_template));
        put(
            "source_identity_template",
            json!(self.source_identity_template),
        );
        put("session_tag_templates", json!(self.session_tag_templates));
        put("transitive_tag_keys", json!(self.transitive_tag_keys));
        put("role_arn_template", json!(self.role_arn_template));
        put("allowed_accounts", json!(self.allowed_accounts));
        put("organization_accounts", json!(self.organization_accounts));
        if !self.invalid_data.is_empty() {
            put("invalid_data", json!(self.invalid_data));
        }
        data
    }

    /// Upgrades a legacy `policy/<name>` value (or a legacy `policy`/`arn` write) as
    /// Vault does: a role ARN becomes `assumed_role`, a policy ARN `iam_user`, a JSON
    /// document `iam_user` + `federation_token`; all are version 1 with
    /// `prohibit_flexible_cred_path`. Anything else is kept as `invalid_data`.
    pub fn from_legacy(raw: &str) -> Role {
        let invalid = || Role {
            invalid_data: raw.to_string(),
            version: 1,
            ..Role::default()
        };
        let upgraded = |types: Vec<CredentialType>| Role {
            credential_types: types,
            prohibit_flexible_cred_path: true,
            version: 1,
            ..Role::default()
        };
        if raw.starts_with("arn:") {
            let Ok(arn) = parse_arn(raw) else {
                return invalid();
            };
            return match arn.resource.split('/').next() {
                Some("role") => Role {
                    role_arns: vec![raw.to_string()],
                    ..upgraded(vec![CredentialType::AssumedRole])
                },
                Some("policy") => Role {
                    policy_arns: vec![raw.to_string()],
                    ..upgraded(vec![CredentialType::IamUser])
                },
                _ => invalid(),
            };
        }
        match policy_document::compact(raw) {
            Ok(document) => Role {
                policy_document: document,
                ..upgraded(vec![
                    CredentialType::IamUser,
                    CredentialType::FederationToken,
                ])
            },
            Err(_) => invalid(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Reads `null` (Go's nil slice or map) as the type's default.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Go's `time.Duration` in JSON: integer nanoseconds.
mod go_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        // Negative durations cannot be written through the API; read them as zero.
        let nanos = Option::<i64>::deserialize(d)?.unwrap_or(0);
        Ok(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
    }
}
