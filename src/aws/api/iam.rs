//! \[engine\] The IAM operations over `aws_sdk_iam`: one thin function per operation, each
//! list call following every page through the SDK's paginator, and [`SdkIam`], the
//! [`IamApi`] they make up. The IAM user lifecycle of the next issue adds its calls here.

use async_trait::async_trait;
use aws_sdk_iam::Client;

use super::{AttachedPolicy, IamApi};
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
