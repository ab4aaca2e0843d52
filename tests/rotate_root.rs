//! `config/rotate-root` driven through the engine's factory with the recording fakes: the
//! new key replaces the old one in `config/root`, the old key is deleted in IAM, the next
//! AWS call signs with the new key, and the path refuses without static keys.

mod engine_env;

use engine_env::*;
use serde_json::json;
use vault_plugin_secrets_aws_rs::aws::fake::{CALLER, FakeUser};

#[tokio::test(start_paused = true)]
async fn rotate_root_replaces_the_key_in_config_root_and_deletes_the_old_one() {
    let env = env().await;
    // Vault answers a 500 here; the operator can fix it, so we answer a 400 (issue #6).
    let message = error_of(env.tb.write("config/rotate-root", json!({})).await);
    assert!(
        message.starts_with("no configuration found for config/root"),
        "{message}"
    );

    let old = env.iam().next_id("AKIA");
    env.iam().insert_user(
        CALLER,
        FakeUser {
            access_keys: [old.clone()].into(),
            ..FakeUser::default()
        },
    );
    env.write_ok(
        "config/root",
        json!({"access_key": old, "secret_key": "old-secret"}),
    )
    .await;
    let resp = env
        .tb
        .write("config/rotate-root", json!({}))
        .await
        .expect("rotate")
        .expect("resp");
    let new = resp.data.expect("data")["access_key"]
        .as_str()
        .expect("key")
        .to_string();
    assert_ne!(new, old);
    assert_eq!(
        env.iam().user(CALLER).expect("caller").access_keys,
        [new.clone()].into(),
        "the old key is deleted, the new one kept"
    );
    let read = env
        .tb
        .read("config/root")
        .await
        .expect("read")
        .expect("resp");
    assert_eq!(read.data.expect("data")["access_key"], json!(new));
    // The next AWS call uses the new key: clients were rebuilt from the new config.
    env.write_ok("roles/plain", json!({"credential_type": "iam_user"}))
        .await;
    env.issue("plain").await;
    assert_eq!(
        env.fakes.last_config().map(|c| c.access_key),
        Some(new.clone())
    );
    assert_eq!(
        env.fakes.last_config().map(|c| c.secret_key),
        env.iam().secret_of(&new)
    );
}

#[tokio::test(start_paused = true)]
async fn rotate_root_needs_static_keys() {
    let env = env().await;
    env.write_ok("config/root", json!({"region": "us-east-1"}))
        .await;
    assert_eq!(
        error_of(env.tb.write("config/rotate-root", json!({})).await),
        "Cannot call config/rotate-root when either access_key or secret_key is empty"
    );
    assert_eq!(env.iam().calls(), vec![]);
}
