//! \[engine\] The AWS calls the engine makes, as two narrow traits with plain input and
//! output structs of our own: [`StsApi`] and [`IamApi`]. Engine code depends on these
//! traits only, so its tests run against the recording fakes of `aws::fake`, and the SDK
//! stays behind one thin function per operation (`sts.rs`, `iam.rs`), which converts our
//! input to the SDK's, follows every list call's pagination, converts the answer back and
//! classifies any failure into [`aws::Error`](super::error::Error).
//!
//! The traits list only what the engine calls. A new call is a new trait method, a new
//! thin function, a new fake method and a new [`AwsOperation`](super::error::AwsOperation).
//! Building clients, caching them and STS endpoint failover live in `clients`.

mod iam;
mod iam_simulate;
mod iam_teardown;
mod iam_user;
mod organizations;
mod sts;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::error::Error;

pub use iam::SdkIam;
pub use organizations::SdkOrganizations;
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
    /// `SourceIdentity`: who is behind the session, kept by AWS through role chaining.
    pub source_identity: Option<String>,
    /// `TransitiveTagKeys`: session tags that persist through role chaining.
    pub transitive_tag_keys: Vec<String>,
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

/// Input of IAM CreateUser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateUserInput {
    /// The user's name (1–64 characters).
    pub user_name: String,
    /// The IAM path (`/` for none).
    pub path: String,
    /// ARN of the managed policy to set as the user's permissions boundary.
    pub permissions_boundary: Option<String>,
}

/// An access key IAM created: the only time AWS shows its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IamAccessKey {
    /// Access key ID (`AKIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// The secret is never printed, so a stray `{:?}` in a log cannot leak it.
impl fmt::Debug for IamAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamAccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// An IAM user, as GetUser describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamUser {
    /// The user's name.
    pub user_name: String,
    /// The user's ARN.
    pub arn: String,
    /// The user's unique ID (`AIDA…`).
    pub user_id: String,
    /// The user's IAM path.
    pub path: String,
}

/// Input of IAM SimulatePrincipalPolicy: would the principal's own policies allow these
/// actions on these resources?
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulationInput {
    /// ARN of the IAM user or role whose policies are evaluated.
    pub policy_source_arn: String,
    /// The actions (`iam:CreateUser`, `sts:AssumeRole`, …).
    pub action_names: Vec<String>,
    /// The resources each action is evaluated on; empty means AWS's default, `*`.
    pub resource_arns: Vec<String>,
}

/// The simulated decision for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDecision {
    /// The action, as sent.
    pub action: String,
    /// Whether AWS's decision was `allowed` (not `implicitDeny` or `explicitDeny`).
    pub allowed: bool,
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

    /// CreateUser.
    async fn create_user(&self, input: &CreateUserInput) -> Result<(), Error>;

    /// AttachUserPolicy: attaches the managed policy `policy_arn`.
    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error>;

    /// PutUserPolicy: puts the inline policy `policy_name`.
    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), Error>;

    /// AddUserToGroup.
    async fn add_user_to_group(&self, user_name: &str, group_name: &str) -> Result<(), Error>;

    /// TagUser: sets every tag in one call.
    async fn tag_user(&self, user_name: &str, tags: &BTreeMap<String, String>)
    -> Result<(), Error>;

    /// CreateAccessKey for `user_name`, or for the caller itself when `None`.
    async fn create_access_key(&self, user_name: Option<&str>) -> Result<IamAccessKey, Error>;

    /// GetUser for `user_name`, or for the caller itself when `None`.
    async fn get_user(&self, user_name: Option<&str>) -> Result<IamUser, Error>;

    /// ListAccessKeys: the user's access key IDs.
    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DeleteAccessKey of `user_name`, or of the caller itself when `None`.
    async fn delete_access_key(
        &self,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<(), Error>;

    /// DeleteLoginProfile: removes the user's console password.
    async fn delete_login_profile(&self, user_name: &str) -> Result<(), Error>;

    /// ListMFADevices: serial numbers of the user's MFA devices (ARNs for virtual ones).
    async fn list_mfa_devices(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DeactivateMFADevice: detaches the device from the user.
    async fn deactivate_mfa_device(
        &self,
        user_name: &str,
        serial_number: &str,
    ) -> Result<(), Error>;

    /// DeleteVirtualMFADevice.
    async fn delete_virtual_mfa_device(&self, serial_number: &str) -> Result<(), Error>;

    /// ListSSHPublicKeys: the user's SSH public key IDs.
    async fn list_ssh_public_keys(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DeleteSSHPublicKey.
    async fn delete_ssh_public_key(&self, user_name: &str, key_id: &str) -> Result<(), Error>;

    /// ListSigningCertificates: the user's certificate IDs.
    async fn list_signing_certificates(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DeleteSigningCertificate.
    async fn delete_signing_certificate(
        &self,
        user_name: &str,
        certificate_id: &str,
    ) -> Result<(), Error>;

    /// ListServiceSpecificCredentials: the user's credential IDs (CodeCommit, Keyspaces, …).
    async fn list_service_specific_credentials(
        &self,
        user_name: &str,
    ) -> Result<Vec<String>, Error>;

    /// DeleteServiceSpecificCredential.
    async fn delete_service_specific_credential(
        &self,
        user_name: &str,
        credential_id: &str,
    ) -> Result<(), Error>;

    /// ListUserPolicies: names of the user's inline policies.
    async fn list_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DeleteUserPolicy.
    async fn delete_user_policy(&self, user_name: &str, policy_name: &str) -> Result<(), Error>;

    /// ListAttachedUserPolicies: ARNs of the managed policies attached to the user.
    async fn list_attached_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// DetachUserPolicy.
    async fn detach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error>;

    /// ListGroupsForUser: names of the groups the user is in.
    async fn list_groups_for_user(&self, user_name: &str) -> Result<Vec<String>, Error>;

    /// RemoveUserFromGroup.
    async fn remove_user_from_group(&self, user_name: &str, group_name: &str) -> Result<(), Error>;

    /// DeleteUser.
    async fn delete_user(&self, user_name: &str) -> Result<(), Error>;

    /// SimulatePrincipalPolicy, every page: one decision per action (an action evaluated
    /// on several resources is allowed only if every one of them allows it).
    async fn simulate_principal_policy(
        &self,
        input: &SimulationInput,
    ) -> Result<Vec<ActionDecision>, Error>;
}

/// AWS Organizations, for the account sets of roles with `organization_accounts`.
#[async_trait]
pub trait OrganizationsApi: Send + Sync {
    /// The IDs of the organization's ACTIVE accounts (ListAccounts, every page).
    async fn list_active_accounts(&self) -> Result<Vec<String>, Error>;
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
