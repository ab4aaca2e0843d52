//! \[engine\] [`SdkIam`], the [`IamApi`] over `aws_sdk_iam`, and the group-policy reads
//! behind `iam_groups` on STS roles: one thin function per operation, each list call
//! following every page through the SDK's paginator. The IAM user's calls live in
//! `iam_user` (making one) and `iam_teardown` (taking one apart).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::Client;

use super::iam_teardown as teardown;
use super::iam_user as user;
use super::{
    ActionDecision, AttachedPolicy, CreateUserInput, IamAccessKey, IamApi, IamUser, SimulationInput,
};
use crate::aws::error::{AwsOperation, Error, classify};

/// The [`IamApi`] of one IAM endpoint.
#[derive(Debug, Clone)]
pub struct SdkIam {
    client: Client,
}

impl SdkIam {
    /// Calls go through `client` (its endpoint, region, credentials and retries).
    pub fn new(client: Client) -> Self {
        SdkIam { client }
    }
}

#[async_trait]
impl IamApi for SdkIam {
    async fn list_group_policies(&self, group_name: &str) -> Result<Vec<String>, Error> {
        list_group_policies(&self.client, group_name).await
    }

    async fn get_group_policy(&self, group_name: &str, policy_name: &str) -> Result<String, Error> {
        get_group_policy(&self.client, group_name, policy_name).await
    }

    async fn list_attached_group_policies(
        &self,
        group_name: &str,
    ) -> Result<Vec<AttachedPolicy>, Error> {
        list_attached_group_policies(&self.client, group_name).await
    }

    async fn create_user(&self, input: &CreateUserInput) -> Result<(), Error> {
        user::create_user(&self.client, input).await
    }

    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error> {
        user::attach_user_policy(&self.client, user_name, policy_arn).await
    }

    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), Error> {
        user::put_user_policy(&self.client, user_name, policy_name, document).await
    }

    async fn add_user_to_group(&self, user_name: &str, group_name: &str) -> Result<(), Error> {
        user::add_user_to_group(&self.client, user_name, group_name).await
    }

    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        user::tag_user(&self.client, user_name, tags).await
    }

    async fn create_access_key(&self, user_name: Option<&str>) -> Result<IamAccessKey, Error> {
        user::create_access_key(&self.client, user_name).await
    }

    async fn get_user(&self, user_name: Option<&str>) -> Result<IamUser, Error> {
        user::get_user(&self.client, user_name).await
    }

    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_access_keys(&self.client, user_name).await
    }

    async fn delete_access_key(
        &self,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<(), Error> {
        user::delete_access_key(&self.client, user_name, access_key_id).await
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<(), Error> {
        teardown::delete_login_profile(&self.client, user_name).await
    }

    async fn list_mfa_devices(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_mfa_devices(&self.client, user_name).await
    }

    async fn deactivate_mfa_device(
        &self,
        user_name: &str,
        serial_number: &str,
    ) -> Result<(), Error> {
        teardown::deactivate_mfa_device(&self.client, user_name, serial_number).await
    }

    async fn delete_virtual_mfa_device(&self, serial_number: &str) -> Result<(), Error> {
        teardown::delete_virtual_mfa_device(&self.client, serial_number).await
    }

    async fn list_ssh_public_keys(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_ssh_public_keys(&self.client, user_name).await
    }

    async fn delete_ssh_public_key(&self, user_name: &str, key_id: &str) -> Result<(), Error> {
        teardown::delete_ssh_public_key(&self.client, user_name, key_id).await
    }

    async fn list_signing_certificates(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_signing_certificates(&self.client, user_name).await
    }

    async fn delete_signing_certificate(
        &self,
        user_name: &str,
        certificate_id: &str,
    ) -> Result<(), Error> {
        teardown::delete_signing_certificate(&self.client, user_name, certificate_id).await
    }

    async fn list_service_specific_credentials(
        &self,
        user_name: &str,
    ) -> Result<Vec<String>, Error> {
        teardown::list_service_specific_credentials(&self.client, user_name).await
    }

    async fn delete_service_specific_credential(
        &self,
        user_name: &str,
        credential_id: &str,
    ) -> Result<(), Error> {
        teardown::delete_service_specific_credential(&self.client, user_name, credential_id).await
    }

    async fn list_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_user_policies(&self.client, user_name).await
    }

    async fn delete_user_policy(&self, user_name: &str, policy_name: &str) -> Result<(), Error> {
        teardown::delete_user_policy(&self.client, user_name, policy_name).await
    }

    async fn list_attached_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_attached_user_policies(&self.client, user_name).await
    }

    async fn detach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error> {
        teardown::detach_user_policy(&self.client, user_name, policy_arn).await
    }

    async fn list_groups_for_user(&self, user_name: &str) -> Result<Vec<String>, Error> {
        teardown::list_groups_for_user(&self.client, user_name).await
    }

    async fn remove_user_from_group(&self, user_name: &str, group_name: &str) -> Result<(), Error> {
        teardown::remove_user_from_group(&self.client, user_name, group_name).await
    }

    async fn delete_user(&self, user_name: &str) -> Result<(), Error> {
        teardown::delete_user(&self.client, user_name).await
    }

    async fn simulate_principal_policy(
        &self,
        input: &SimulationInput,
    ) -> Result<Vec<ActionDecision>, Error> {
        super::iam_simulate::simulate_principal_policy(&self.client, input).await
    }
}

/// IAM ListGroupPolicies, every page.
pub(crate) async fn list_group_policies(
    client: &Client,
    group_name: &str,
) -> Result<Vec<String>, Error> {
    client
        .list_group_policies()
        .group_name(group_name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| classify(AwsOperation::ListGroupPolicies, e))
}

/// IAM GetGroupPolicy, with the document decoded.
pub(crate) async fn get_group_policy(
    client: &Client,
    group_name: &str,
    policy_name: &str,
) -> Result<String, Error> {
    let op = AwsOperation::GetGroupPolicy;
    let out = client
        .get_group_policy()
        .group_name(group_name)
        .policy_name(policy_name)
        .send()
        .await
        .map_err(|e| classify(op, e))?;
    decode_policy_document(out.policy_document()).map_err(|detail| Error::Internal {
        operation: op,
        detail: format!("policy {policy_name:?} of group {group_name:?}: {detail}"),
    })
}

/// IAM ListAttachedGroupPolicies, every page.
pub(crate) async fn list_attached_group_policies(
    client: &Client,
    group_name: &str,
) -> Result<Vec<AttachedPolicy>, Error> {
    let policies = client
        .list_attached_group_policies()
        .group_name(group_name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| classify(AwsOperation::ListAttachedGroupPolicies, e))?;
    Ok(policies
        .into_iter()
        .map(|p| AttachedPolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            arn: p.policy_arn().unwrap_or_default().to_string(),
        })
        .collect())
}

/// IAM returns policy documents URL-encoded (RFC 3986); Vault decodes them with Go's
/// `url.QueryUnescape`, so `+` also becomes a space here. A document that is already
/// plain JSON (some emulators answer so) is returned unchanged, since an encoded one
/// can never start with `{`.
pub(crate) fn decode_policy_document(raw: &str) -> Result<String, String> {
    if raw.trim_start().starts_with('{') {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("invalid URL escape at byte {i} of the document"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded document is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy_document(raw).expect("decodes"),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(
            decode_policy_document("%7B%22a%22%3A+%22b%2Bc%22%7D").expect("decodes"),
            r#"{"a": "b+c"}"#
        );
        assert_eq!(decode_policy_document("%C3%A9").expect("utf-8"), "é");
    }

    #[test]
    fn plain_json_documents_are_kept() {
        let plain = r#" {"Statement": [{"Action": "s3:Get+Put %41"}]}"#;
        assert_eq!(decode_policy_document(plain).expect("kept"), plain);
    }

    #[test]
    fn broken_escapes_are_errors() {
        assert!(decode_policy_document("%7").is_err());
        assert!(decode_policy_document("%zz").is_err());
        assert!(decode_policy_document("%FF").is_err(), "not UTF-8");
    }
}
