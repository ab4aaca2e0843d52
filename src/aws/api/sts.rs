//! \[engine\] The STS operations over `aws_sdk_sts`: one thin function per operation
//! (our input → SDK call → our output, failures classified), and [`SdkSts`], the
//! [`StsApi`] of one STS endpoint. Trying several endpoints is `clients`' business.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_sts::Client;
use aws_sdk_sts::types::{Credentials, PolicyDescriptorType, Tag};

use super::{
    AssumeRoleInput, AssumedRole, CallerIdentity, FederationToken, FederationTokenInput,
    SessionTokenInput, StsApi, StsCredentials,
};
use crate::aws::error::{AwsOperation, Error, classify};

/// The [`StsApi`] of one STS endpoint.
#[derive(Debug, Clone)]
pub struct SdkSts {
    client: Client,
}

impl SdkSts {
    /// Calls go through `client` (its endpoint, region, credentials and retries).
    pub fn new(client: Client) -> Self {
        SdkSts { client }
    }
}

#[async_trait]
impl StsApi for SdkSts {
    async fn assume_role(&self, input: AssumeRoleInput) -> Result<AssumedRole, Error> {
        assume_role(&self.client, &input).await
    }

    async fn get_federation_token(
        &self,
        input: FederationTokenInput,
    ) -> Result<FederationToken, Error> {
        get_federation_token(&self.client, &input).await
    }

    async fn get_session_token(&self, input: SessionTokenInput) -> Result<StsCredentials, Error> {
        get_session_token(&self.client, &input).await
    }

    async fn get_caller_identity(&self) -> Result<CallerIdentity, Error> {
        get_caller_identity(&self.client).await
    }
}

/// STS AssumeRole.
pub(crate) async fn assume_role(
    client: &Client,
    input: &AssumeRoleInput,
) -> Result<AssumedRole, Error> {
    let op = AwsOperation::AssumeRole;
    let mut call = client
        .assume_role()
        .role_arn(&input.role_arn)
        .role_session_name(&input.role_session_name)
        .set_duration_seconds(input.duration.map(seconds))
        .set_policy(input.policy.clone())
        .set_external_id(input.external_id.clone())
        .set_source_identity(input.source_identity.clone())
        .set_policy_arns(policy_arns(&input.policy_arns));
    for key in &input.transitive_tag_keys {
        call = call.transitive_tag_keys(key);
    }
    for (key, value) in &input.tags {
        call = call.tags(tag(op, key, value)?);
    }
    let out = call.send().await.map_err(|e| classify(op, e))?;
    let credentials = credentials(op, out.credentials())?;
    let user = out
        .assumed_role_user()
        .ok_or_else(|| incomplete(op, "AssumedRoleUser"))?;
    Ok(AssumedRole {
        credentials,
        arn: user.arn().to_string(),
        assumed_role_id: user.assumed_role_id().to_string(),
    })
}

/// STS GetFederationToken.
pub(crate) async fn get_federation_token(
    client: &Client,
    input: &FederationTokenInput,
) -> Result<FederationToken, Error> {
    let op = AwsOperation::GetFederationToken;
    let out = client
        .get_federation_token()
        .name(&input.name)
        .set_duration_seconds(input.duration.map(seconds))
        .set_policy(input.policy.clone())
        .set_policy_arns(policy_arns(&input.policy_arns))
        .send()
        .await
        .map_err(|e| classify(op, e))?;
    let credentials = credentials(op, out.credentials())?;
    let user = out
        .federated_user()
        .ok_or_else(|| incomplete(op, "FederatedUser"))?;
    Ok(FederationToken {
        credentials,
        arn: user.arn().to_string(),
        federated_user_id: user.federated_user_id().to_string(),
    })
}

/// STS GetSessionToken.
pub(crate) async fn get_session_token(
    client: &Client,
    input: &SessionTokenInput,
) -> Result<StsCredentials, Error> {
    let op = AwsOperation::GetSessionToken;
    let out = client
        .get_session_token()
        .set_duration_seconds(input.duration.map(seconds))
        .set_serial_number(input.serial_number.clone())
        .set_token_code(input.token_code.clone())
        .send()
        .await
        .map_err(|e| classify(op, e))?;
    credentials(op, out.credentials())
}

/// STS GetCallerIdentity.
pub(crate) async fn get_caller_identity(client: &Client) -> Result<CallerIdentity, Error> {
    let op = AwsOperation::GetCallerIdentity;
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify(op, e))?;
    Ok(CallerIdentity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
        user_id: out.user_id().unwrap_or_default().to_string(),
    })
}

/// `DurationSeconds`; a lifetime beyond `i32` is sent as `i32::MAX` for AWS to refuse.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

/// `PolicyArns`, left out of the request when empty, as Vault does.
fn policy_arns(arns: &[String]) -> Option<Vec<PolicyDescriptorType>> {
    (!arns.is_empty()).then(|| {
        arns.iter()
            .map(|arn| PolicyDescriptorType::builder().arn(arn).build())
            .collect()
    })
}

fn tag(op: AwsOperation, key: &str, value: &str) -> Result<Tag, Error> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| Error::Internal {
            operation: op,
            detail: format!("invalid session tag {key:?}: {e}"),
        })
}

fn credentials(op: AwsOperation, creds: Option<&Credentials>) -> Result<StsCredentials, Error> {
    let creds = creds.ok_or_else(|| incomplete(op, "Credentials"))?;
    let expiration = SystemTime::try_from(*creds.expiration()).map_err(|e| Error::Internal {
        operation: op,
        detail: format!("AWS answered an unusable expiration time: {e}"),
    })?;
    Ok(StsCredentials {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: creds.secret_access_key().to_string(),
        session_token: creds.session_token().to_string(),
        expiration,
    })
}

fn incomplete(op: AwsOperation, what: &str) -> Error {
    Error::Internal {
        operation: op,
        detail: format!("AWS answered without {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_saturating() {
        assert_eq!(seconds(Duration::from_secs(3600)), 3600);
        assert_eq!(seconds(Duration::from_millis(900_999)), 900);
        assert_eq!(seconds(Duration::from_secs(u64::MAX)), i32::MAX);
    }

    #[test]
    fn empty_policy_arns_are_left_unset() {
        assert_eq!(policy_arns(&[]), None);
        let arns =
            policy_arns(&["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()]).expect("set");
        assert_eq!(arns.len(), 1);
        assert_eq!(
            arns[0].arn(),
            Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
        );
    }
}
