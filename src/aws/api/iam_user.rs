//! \[engine\] The IAM calls that make an IAM user and its access keys, over `aws_sdk_iam`:
//! one thin function per operation (CreateUser, AttachUserPolicy, PutUserPolicy,
//! AddUserToGroup, TagUser, CreateAccessKey, GetUser, DeleteAccessKey), each converting
//! our input to the SDK's and classifying any failure once. Taking a user apart lives in
//! `iam_teardown`; deciding what to call, in what order, is the engine's (`iam_user`,
//! `revoke`).

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_iam::Client;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;

use super::{CreateUserInput, IamAccessKey, IamUser};
use crate::aws::error::{AwsOperation as Op, Error, classify};

/// Awaits one SDK call (or a whole paginated listing) and classifies its failure as a
/// failure of `op`.
pub(crate) async fn call<T, E>(
    op: Op,
    fut: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fut.await.map_err(|e| classify(op, e))
}

/// An answer that lacks a part AWS always sends.
fn incomplete(op: Op, what: &str) -> Error {
    Error::Internal {
        operation: op,
        detail: format!("the answer has no {what}"),
    }
}

/// IAM CreateUser, sent once: the SDK's retries are off for this call. A retry after an
/// attempt whose answer was lost (a timeout, a reset connection, a 5xx) would meet
/// `EntityAlreadyExists` for the user that attempt made, and the engine could no longer
/// tell that user from someone else's of the same name. The engine retries throttling
/// itself, which AWS answers without acting.
pub(crate) async fn create_user(client: &Client, input: &CreateUserInput) -> Result<(), Error> {
    let once = aws_sdk_iam::config::Builder::default()
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled());
    let request = client
        .create_user()
        .user_name(&input.user_name)
        .path(&input.path)
        .set_permissions_boundary(input.permissions_boundary.clone())
        .customize()
        .config_override(once);
    call(Op::CreateUser, request.send()).await.map(drop)
}

/// IAM AttachUserPolicy.
pub(crate) async fn attach_user_policy(
    client: &Client,
    user_name: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    let request = client
        .attach_user_policy()
        .user_name(user_name)
        .policy_arn(policy_arn);
    call(Op::AttachUserPolicy, request.send()).await.map(drop)
}

/// IAM PutUserPolicy.
pub(crate) async fn put_user_policy(
    client: &Client,
    user_name: &str,
    policy_name: &str,
    document: &str,
) -> Result<(), Error> {
    let request = client
        .put_user_policy()
        .user_name(user_name)
        .policy_name(policy_name)
        .policy_document(document);
    call(Op::PutUserPolicy, request.send()).await.map(drop)
}

/// IAM AddUserToGroup.
pub(crate) async fn add_user_to_group(
    client: &Client,
    user_name: &str,
    group_name: &str,
) -> Result<(), Error> {
    let request = client
        .add_user_to_group()
        .user_name(user_name)
        .group_name(group_name);
    call(Op::AddUserToGroup, request.send()).await.map(drop)
}

/// IAM TagUser, every tag in one call.
pub(crate) async fn tag_user(
    client: &Client,
    user_name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let tags = tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal {
            operation: Op::TagUser,
            detail: e.to_string(),
        })?;
    let request = client.tag_user().user_name(user_name).set_tags(Some(tags));
    call(Op::TagUser, request.send()).await.map(drop)
}

/// IAM CreateAccessKey for `user_name`, or for the caller when `None`.
pub(crate) async fn create_access_key(
    client: &Client,
    user_name: Option<&str>,
) -> Result<IamAccessKey, Error> {
    let request = client
        .create_access_key()
        .set_user_name(user_name.map(str::to_string));
    let out = call(Op::CreateAccessKey, request.send()).await?;
    let key = out
        .access_key()
        .ok_or_else(|| incomplete(Op::CreateAccessKey, "access key"))?;
    Ok(IamAccessKey {
        access_key_id: key.access_key_id().to_string(),
        secret_access_key: key.secret_access_key().to_string(),
    })
}

/// IAM GetUser for `user_name`, or for the caller when `None`.
pub(crate) async fn get_user(client: &Client, user_name: Option<&str>) -> Result<IamUser, Error> {
    let request = client
        .get_user()
        .set_user_name(user_name.map(str::to_string));
    let out = call(Op::GetUser, request.send()).await?;
    let user = out.user().ok_or_else(|| incomplete(Op::GetUser, "user"))?;
    Ok(IamUser {
        user_name: user.user_name().to_string(),
        arn: user.arn().to_string(),
        user_id: user.user_id().to_string(),
        path: user.path().to_string(),
    })
}

/// IAM DeleteAccessKey of `user_name`, or of the caller when `None`.
pub(crate) async fn delete_access_key(
    client: &Client,
    user_name: Option<&str>,
    access_key_id: &str,
) -> Result<(), Error> {
    let request = client
        .delete_access_key()
        .set_user_name(user_name.map(str::to_string))
        .access_key_id(access_key_id);
    call(Op::DeleteAccessKey, request.send()).await.map(drop)
}
