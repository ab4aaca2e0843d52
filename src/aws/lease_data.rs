//! \[engine\] The internal data kept with every `access_keys` lease, typed. The host stores
//! it with the lease and hands it back on renew and revoke; the keys are the Go engine's
//! (`username`, `policy`, `is_sts`) so that leases issued by either binary stay
//! renewable and revocable by the other. The framework adds `secret_type` itself.
//!
//! Reading is lenient, as the Go engine is: leases written by old Vault versions have no
//! `is_sts` (they are IAM users), and values of an unexpected type are treated as
//! absent, except `is_sts`, whose meaning decides whether revocation deletes a user and
//! so must not be guessed. No I/O here.
//!
//! Our extension keys (`principal_arn`, `access_key_id`, `source_identity`) record who
//! the credentials were issued as, for audit correlation; they are only written when
//! known, and neither binary needs them to renew or revoke. None of them is a secret.

use serde_json::Value;

use crate::logical::JsonMap;

/// Key of the IAM user name, or the STS session / federated user name.
pub const USERNAME_KEY: &str = "username";

/// Key of what the credentials were issued for: the role ARN (assumed_role), the session
/// policy (federation_token), or the whole role entry (iam_user).
pub const POLICY_KEY: &str = "policy";

/// Key of the flag marking STS credentials, which need no revocation.
pub const IS_STS_KEY: &str = "is_sts";

/// Key of the AWS principal the credentials act as (extension): the assumed-role or
/// federated-user ARN.
pub const PRINCIPAL_ARN_KEY: &str = "principal_arn";

/// Key of the issued access key ID (extension; the ID, never the secret key).
pub const ACCESS_KEY_ID_KEY: &str = "access_key_id";

/// Key of the `SourceIdentity` sent to AssumeRole (extension).
pub const SOURCE_IDENTITY_KEY: &str = "source_identity";

/// What the engine keeps with a lease.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaseData {
    /// The IAM user or session name; absent for session tokens.
    pub username: Option<String>,
    /// The role ARN, session policy or role entry; absent for session tokens.
    pub policy: Option<Value>,
    /// Whether the credentials came from STS. Leases from before Vault 0.11 lack the key
    /// and are IAM users.
    pub is_sts: bool,
    /// Extension: the assumed-role or federated-user ARN.
    pub principal_arn: Option<String>,
    /// Extension: the access key ID of the credentials.
    pub access_key_id: Option<String>,
    /// Extension: the `SourceIdentity` sent to AWS.
    pub source_identity: Option<String>,
}

/// Why lease data could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseDataError {
    /// `is_sts` holds something other than a boolean (Go's message).
    #[error("secret has is_sts but value could not be understood")]
    BadIsSts,
}

impl LeaseData {
    /// Lease data of STS credentials issued to `username` for `policy`.
    pub fn sts(username: impl Into<String>, policy: impl Into<String>) -> Self {
        LeaseData {
            username: Some(username.into()),
            policy: Some(Value::String(policy.into())),
            is_sts: true,
            ..LeaseData::default()
        }
    }

    /// Adds the audit keys: the AWS principal, the access key ID and the source identity.
    pub fn issued_as(
        mut self,
        principal_arn: Option<&str>,
        access_key_id: &str,
        source_identity: Option<&str>,
    ) -> Self {
        self.principal_arn = principal_arn.map(str::to_string);
        self.access_key_id = Some(access_key_id.to_string());
        self.source_identity = source_identity.map(str::to_string);
        self
    }

    /// Lease data of an IAM user: its name and the role entry it was made from (the Go
    /// engine keeps the whole role, serialised as stored).
    pub fn iam_user(username: impl Into<String>, role: Value) -> Self {
        LeaseData {
            username: Some(username.into()),
            policy: Some(role),
            is_sts: false,
            ..LeaseData::default()
        }
    }

    /// Lease data of a session token: only the STS flag, as the Go engine keeps.
    pub fn session_token() -> Self {
        LeaseData {
            is_sts: true,
            ..LeaseData::default()
        }
    }

    /// The internal data to put on the lease.
    pub fn to_internal(&self) -> JsonMap {
        let mut map = JsonMap::new();
        if let Some(username) = &self.username {
            map.insert(USERNAME_KEY.to_string(), Value::String(username.clone()));
        }
        if let Some(policy) = &self.policy {
            map.insert(POLICY_KEY.to_string(), policy.clone());
        }
        map.insert(IS_STS_KEY.to_string(), Value::Bool(self.is_sts));
        let extensions = [
            (PRINCIPAL_ARN_KEY, &self.principal_arn),
            (ACCESS_KEY_ID_KEY, &self.access_key_id),
            (SOURCE_IDENTITY_KEY, &self.source_identity),
        ];
        for (key, value) in extensions {
            if let Some(v) = value {
                map.insert(key.to_string(), Value::String(v.clone()));
            }
        }
        map
    }

    /// Reads a lease's internal data; see the module comment for what is tolerated.
    pub fn from_internal(internal: &JsonMap) -> Result<Self, LeaseDataError> {
        let is_sts = match internal.get(IS_STS_KEY) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(LeaseDataError::BadIsSts),
        };
        Ok(LeaseData {
            username: internal
                .get(USERNAME_KEY)
                .and_then(Value::as_str)
                .map(str::to_string),
            policy: internal.get(POLICY_KEY).cloned(),
            is_sts,
            principal_arn: string(internal, PRINCIPAL_ARN_KEY),
            access_key_id: string(internal, ACCESS_KEY_ID_KEY),
            source_identity: string(internal, SOURCE_IDENTITY_KEY),
        })
    }
}

fn string(internal: &JsonMap, key: &str) -> Option<String> {
    internal
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> JsonMap {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn sts_data_uses_the_go_keys() {
        let data = LeaseData::sts("vault-token-dev-1", "arn:aws:iam::1:role/dev");
        assert_eq!(
            Value::Object(data.to_internal()),
            json!({"username": "vault-token-dev-1", "policy": "arn:aws:iam::1:role/dev", "is_sts": true})
        );
        assert_eq!(
            Value::Object(LeaseData::session_token().to_internal()),
            json!({"is_sts": true})
        );
    }

    #[test]
    fn audit_keys_are_extra_and_round_trip() {
        let data = LeaseData::sts("s", "arn:aws:iam::1:role/r").issued_as(
            Some("arn:aws:sts::1:assumed-role/r/s"),
            "ASIA1",
            Some("alice"),
        );
        let internal = data.to_internal();
        assert_eq!(
            Value::Object(internal.clone()),
            json!({"username": "s", "policy": "arn:aws:iam::1:role/r", "is_sts": true,
                   "principal_arn": "arn:aws:sts::1:assumed-role/r/s", "access_key_id": "ASIA1",
                   "source_identity": "alice"})
        );
        assert_eq!(LeaseData::from_internal(&internal), Ok(data));
    }

    #[test]
    fn round_trips() {
        let data = LeaseData::sts("n", "p");
        assert_eq!(LeaseData::from_internal(&data.to_internal()), Ok(data));
    }

    #[test]
    fn reads_go_iam_user_leases_with_the_role_entry_as_policy() {
        let internal = map(json!({
            "secret_type": "access_keys",
            "username": "vault-root-dev-1700000000-abc",
            "policy": {"credential_types": ["iam_user"], "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
            "is_sts": false
        }));
        let data = LeaseData::from_internal(&internal).expect("parses");
        assert!(!data.is_sts);
        assert_eq!(
            data.username.as_deref(),
            Some("vault-root-dev-1700000000-abc")
        );
        assert_eq!(
            data.policy.expect("policy")["credential_types"],
            json!(["iam_user"])
        );
    }

    #[test]
    fn old_leases_without_is_sts_are_iam_users_and_odd_values_are_tolerated() {
        let data = LeaseData::from_internal(&map(json!({"username": 7}))).expect("lenient");
        assert_eq!(data, LeaseData::default());
        assert_eq!(
            LeaseData::from_internal(&map(json!({"is_sts": "true"}))),
            Err(LeaseDataError::BadIsSts)
        );
    }
}
