//! \[engine\] `config/rotate-root` (Vault's `path_config_rotate_root.go`): replaces the
//! static access key in `config/root` with a new key of the same IAM user and deletes the
//! old one, so that the key an operator once pasted stops working.
//!
//! Order, as in Vault: GetUser (who the key belongs to), CreateAccessKey, store the new key
//! and drop the cached clients, then DeleteAccessKey of the old key — signed with the old
//! key, which still works until that call. Unlike Vault, AWS refusals are answered as 400s
//! naming the step (throttling as a 502), and a failure after the new key was stored says
//! so, with both key IDs, since the old key then needs deleting by hand. Holds the
//! `config/root` write lock throughout, so no write can interleave. Before any
//! `config/root` exists the answer is a 400 (Vault: 500). On a performance standby the
//! request is refused before GetUser so that the host forwards it (a standby would make
//! a key it cannot store). Vault also forwards it from Enterprise performance secondaries;
//! OpenBao has none, so that case is not handled.

use std::sync::Arc;

use serde_json::json;

use super::OPERATION_PREFIX_AWS;
use super::backend::AwsBackend;
use super::root_config;
use crate::framework::{Context, DisplayAttributes, HandlerResult, Path, PathOperation};
use crate::logical::{Error, JsonMap, Operation, Response};

/// The `config/rotate-root` path.
pub(crate) fn path(state: Arc<AwsBackend>) -> Path {
    Path::new("config/rotate-root")
        .display(DisplayAttributes {
            operation_prefix: OPERATION_PREFIX_AWS.to_string(),
            operation_verb: "rotate".to_string(),
            operation_suffix: "root-iam-credentials".to_string(),
            ..DisplayAttributes::default()
        })
        .operation(
            Operation::Update,
            PathOperation::new(move |ctx, _req, _data| {
                let state = Arc::clone(&state);
                async move { rotate_root(&state, ctx).await }
            })
            // A standby would make the new key, fail to store it and leave it behind.
            .forward_performance_standby(),
        )
        .help(ROTATE_ROOT_HELP_SYNOPSIS, ROTATE_ROOT_HELP_DESCRIPTION)
}

async fn rotate_root(state: &AwsBackend, ctx: Context) -> HandlerResult {
    let _writing = state.config_lock().lock().await;
    // Vault answers this with a plain error (a 500); it is the operator's to fix, so a 400.
    let Some(mut config) = root_config::load(ctx.storage()).await? else {
        return Ok(Some(Response::error(
            "no configuration found for config/root; write the root credentials there first",
        )));
    };
    if config.access_key.is_empty() || config.secret_key.is_empty() {
        return Ok(Some(Response::error(
            "Cannot call config/rotate-root when either access_key or secret_key is empty",
        )));
    }
    let iam = state.iam(ctx.storage()).await?;
    let user = match iam.get_user(None).await {
        Ok(user) => user,
        Err(e) => return e.into_response_or_error(),
    };
    let created = match iam.create_access_key(Some(&user.user_name)).await {
        Ok(key) => key,
        Err(e) => return e.into_response_or_error(),
    };
    let old_key = std::mem::replace(&mut config.access_key, created.access_key_id.clone());
    config.secret_key = created.secret_access_key;
    root_config::save(ctx.storage(), &config)
        .await
        .map_err(|e| {
            Error::Internal(format!(
                "error saving new config/root (the new access key {} exists in AWS and is not \
             used; delete it by hand): {e}",
                created.access_key_id
            ))
        })?;
    state.clear_clients();
    if let Err(e) = iam.delete_access_key(Some(&user.user_name), &old_key).await {
        return Ok(Some(Response::error(format!(
            "config/root now uses the new access key {}, but deleting the old access key \
             {old_key} failed; delete it by hand: {e}",
            created.access_key_id
        ))));
    }
    // Key IDs are not logged: an ID is half of a credential, and the answer carries it.
    tracing::info!(user = %user.user_name, "rotated the root access key");
    let mut data = JsonMap::new();
    data.insert("access_key".into(), json!(config.access_key));
    Ok(Some(Response::with_data(data)))
}

const ROTATE_ROOT_HELP_SYNOPSIS: &str = "Request to rotate the AWS credentials used by Vault";

const ROTATE_ROOT_HELP_DESCRIPTION: &str = "
This path attempts to rotate the AWS credentials used by Vault for this mount.
It is only valid if Vault has been configured to use AWS IAM credentials via the
config/root endpoint.
";

#[cfg(test)]
mod tests {
    use crate::aws::backend::AwsBackend;
    use crate::aws::fake::FakeClientFactory;
    use crate::framework::testing::TestBackend;
    use crate::logical::JsonMap;

    #[tokio::test]
    async fn rotating_before_config_root_is_a_400_and_calls_nothing() {
        // Found by tests/bad_input_props/routing.rs: this was an internal error, a 500.
        let factory = FakeClientFactory::new();
        let builder = crate::aws::builder(AwsBackend::new(factory.clone()));
        let tb = TestBackend::from_builder(builder).await.expect("mount");
        let resp = tb
            .write(
                "config/rotate-root",
                serde_json::Value::Object(JsonMap::new()),
            )
            .await
            .expect("answered")
            .expect("a response");
        assert_eq!(
            resp.error_message(),
            Some("no configuration found for config/root; write the root credentials there first")
        );
        assert_eq!((factory.iam_builds(), factory.sts_builds()), (0, 0));
        assert!(tb.storage().keys().is_empty());
    }
}
