//! \[engine\] The AWS calls the engine makes, as two narrow traits with plain input and
//! output structs of our own: [`StsApi`] and [`IamApi`]. Engine code depends on these
//! traits only, so its tests run against the recording fakes of `aws::fake`, and the SDK
//! stays behind one thin function per operation (`sts.rs`, `iam.rs`), which converts our
//! input to the SDK's, follows every list call's pagination, converts the answer back and
//! classifies any failure into [`aws::Error`](super::error::Error).
//!
//! The traits list only what the engine calls. A new call (the IAM user lifecycle of the
//! next issue: CreateUser, AttachUserPolicy, …) is a new trait method, a new thin
//! function, a new fake method and a new [`AwsOperation`](super::error::AwsOperation).
//! Building clients, caching them and STS endpoint failover live in `clients`.

mod iam;
mod sts;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::error::Error;

pub use iam::SdkIam;
pub use sts::SdkSts;

/// Temporary credentials STS issued.
#[derive(Clone, PartialEq, Eq)]
pub struct StsCredentials {
    /// Access key ID (`ASIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: String,
    /// When AWS stops honouring them.
    pub expiration: SystemTime,
}

/// The secret parts are never printed, so a stray `{:?}` in a log cannot leak them.
impl fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Input of STS AssumeRole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleInput {
    /// The IAM role to assume.
    pub role_arn: String,
    /// Session name (2–64 characters of `[\w+=,.@-]`).
    pub role_session_name: String,
    /// Requested lifetime; AWS's default (1 h) when `None`.
    pub duration: Option<Duration>,
    /// Inline session policy (JSON).
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
    /// External ID the role's trust policy may require.
    pub external_id: Option<String>,
    /// Session tags.
    pub tags: BTreeMap<String, String>,
}

/// Output of STS AssumeRole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    /// The credentials.
    pub credentials: StsCredentials,
    /// ARN of the session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    pub arn: String,
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
}

/// Input of STS GetFederationToken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FederationTokenInput {
    /// Name of the federated user (2–32 characters).
    pub name: String,
    /// Requested lifetime; AWS's default (12 h) when `None`.
    pub duration: Option<Duration>,
    /// Inline session policy (JSON).
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
}

/// Output of STS GetFederationToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationToken {
    /// The credentials.
    pub credentials: StsCredentials,
    /// ARN of the federated user.
    pub arn: String,
    /// `<account>:<name>`.
    pub federated_user_id: String,
}

/// Input of STS GetSessionToken.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SessionTokenInput {
    /// Requested lifetime; AWS's default (12 h) when `None`.
    pub duration: Option<Duration>,
    /// MFA device serial number or ARN.
    pub serial_number: Option<String>,
    /// The current MFA code.
    pub token_code: Option<String>,
}

/// The MFA code is a short-lived secret: not printed.
impl fmt::Debug for SessionTokenInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokenInput")
            .field("duration", &self.duration)
            .field("serial_number", &self.serial_number)
            .field(
                "token_code",
                &self.token_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Output of STS GetCallerIdentity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerIdentity {
    /// Account ID.
    pub account: String,
    /// ARN of the caller.
    pub arn: String,
    /// Unique ID of the caller.
    pub user_id: String,
}

/// A managed policy attached to an IAM group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachedPolicy {
    /// Policy name.
    pub name: String,
    /// Policy ARN.
    pub arn: String,
}

/// The STS calls the engine makes.
#[async_trait]
pub trait StsApi: Send + Sync {
    /// AssumeRole.
    async fn assume_role(&self, input: AssumeRoleInput) -> Result<AssumedRole, Error>;

    /// GetFederationToken.
    async fn get_federation_token(
        &self,
        input: FederationTokenInput,
    ) -> Result<FederationToken, Error>;

    /// GetSessionToken.
    async fn get_session_token(&self, input: SessionTokenInput) -> Result<StsCredentials, Error>;

    /// GetCallerIdentity.
    async fn get_caller_identity(&self) -> Result<CallerIdentity, Error>;
}

/// The IAM calls the engine makes. List calls return every page.
#[async_trait]
pub trait IamApi: Send + Sync {
    /// ListGroupPolicies: names of the group's inline policies.
    async fn list_group_policies(&self, group_name: &str) -> Result<Vec<String>, Error>;

    /// GetGroupPolicy: one inline policy of a group, as a JSON document (decoded from the
    /// URL encoding IAM returns it in).
    async fn get_group_policy(&self, group_name: &str, policy_name: &str) -> Result<String, Error>;

    /// ListAttachedGroupPolicies: the managed policies attached to a group.
    async fn list_attached_group_policies(
        &self,
        group_name: &str,
    ) -> Result<Vec<AttachedPolicy>, Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let creds = StsCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "very-secret".into(),
            session_token: "token-secret".into(),
            expiration: SystemTime::UNIX_EPOCH,
        };
        let text = format!("{creds:?}");
        assert!(text.contains("ASIAEXAMPLE"), "{text}");
        assert!(
            !text.contains("very-secret") && !text.contains("token-secret"),
            "{text}"
        );

        let input = SessionTokenInput {
            token_code: Some("123456".into()),
            ..Default::default()
        };
        assert!(!format!("{input:?}").contains("123456"));
    }
}
