//! `creds/<name>` for `iam_user` roles, driven through the engine's factory with the
//! recording AWS fakes (the Vault pattern): the exact IAM call sequence a role produces
//! and the user the fake IAM then holds, the response and its lease, the WAL entry written
//! before the first AWS call and committed only after answering, a failure injected at
//! every step (the WAL entry stays and the rollback deletes exactly what was made), user
//! names from the default and custom templates, and the optional readiness wait.
//! Revocation, renewal and the ledger are `revoke.rs`'s.

mod engine_env;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine_env::*;
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws::error::{
    AwsOperation as Op, Error as AwsError, ServiceFailure,
};
use vault_plugin_secrets_aws_rs::aws::fake::StsCall;
use vault_plugin_secrets_aws_rs::aws::fake::{self, FakeUser, IamCall};
use vault_plugin_secrets_aws_rs::aws::ledger::LedgerEntry;
use vault_plugin_secrets_aws_rs::logical::Error;

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_full_role_makes_exactly_the_user_it_describes() {
    let env = env().await;
    env.full_setup().await;
    let (data, secret) = env.issue("deploy").await;

    let calls = env.iam().calls();
    let name = created_user(&calls);
    assert_default_name(&name, "deploy");
    let tags = BTreeMap::from([
        ("env".to_string(), "prod".to_string()),
        ("team".to_string(), "infra".to_string()),
    ]);
    assert_eq!(
        calls,
        vec![
            IamCall::CreateUser(name.clone(), "/vault/".into(), Some(BOUNDARY.into())),
            IamCall::AttachUserPolicy(name.clone(), READ_ONLY.into()),
            IamCall::AttachUserPolicy(name.clone(), S3_READ.into()),
            IamCall::PutUserPolicy(name.clone(), "deploy".into(), DOC.into()),
            IamCall::AddUserToGroup(name.clone(), "dev".into()),
            IamCall::AddUserToGroup(name.clone(), "ops".into()),
            IamCall::TagUser(name.clone(), tags.clone()),
            IamCall::CreateAccessKey(Some(name.clone())),
        ]
    );
    let key = data["access_key"].as_str().expect("access_key").to_string();
    assert_eq!(
        env.iam().user(&name),
        Some(FakeUser {
            path: "/vault/".into(),
            permissions_boundary: Some(BOUNDARY.into()),
            inline_policies: BTreeMap::from([("deploy".to_string(), DOC.to_string())]),
            attached_policies: strings(&[READ_ONLY, S3_READ]),
            groups: strings(&["dev", "ops"]),
            tags,
            access_keys: strings(&[&key]),
            ..FakeUser::default()
        })
    );
    assert_eq!(
        Value::Object(data),
        json!({
            "access_key": key,
            "secret_key": env.iam().secret_of(&key).expect("secret"),
            "session_token": null,
            "security_token": null,
        })
    );

    // A renewable lease with config/lease's TTLs and the Go engine's lease data.
    let options = &secret.lease_options;
    assert!(options.renewable);
    assert_eq!(
        (options.ttl, options.max_ttl),
        (Duration::from_secs(3600), Duration::from_secs(86400))
    );
    assert_eq!(
        Value::Object(secret.internal_data.clone()),
        json!({
            "secret_type": "access_keys",
            "username": name,
            "policy": env.stored_role("deploy").await,
            "is_sts": false,
        })
    );
    assert_eq!(
        env.ledger(&name).await,
        Some(LedgerEntry {
            issued_at: NOW as i64,
            horizon: Some(NOW as i64 + 86400),
        })
    );

    // The WAL entry outlives the answer by the handover delay, then it is committed.
    assert_eq!(
        env.wal().await,
        vec![("user".to_string(), json!({"UserName": name}))]
    );
    tokio::time::sleep(Duration::from_millis(90)).await;
    assert_eq!(env.wal().await.len(), 1, "not before the delay");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(env.wal().await, vec![]);
}

#[tokio::test(start_paused = true)]
async fn the_wal_entry_exists_before_the_first_aws_call() {
    let env = env().await;
    env.full_setup().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let storage = Arc::clone(env.tb.storage());
    let record = Arc::clone(&seen);
    env.iam().on_call(move |call| {
        if matches!(call, IamCall::CreateUser(..)) {
            record.lock().expect("lock").extend(storage.keys());
        }
    });
    env.issue("deploy").await;
    let keys = seen.lock().expect("lock").clone();
    assert!(
        keys.iter().any(|k| k.starts_with("wal/")),
        "no WAL entry when CreateUser was sent: {keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.starts_with("iam_users/")),
        "the ledger is written only once the user is complete: {keys:?}"
    );
}

/// What a rollback must delete after a failure at `step`: every part made before it.
fn made_before(step: Op, name: &str) -> Vec<IamCall> {
    let mut deletes = Vec::new();
    let order = [
        Op::AttachUserPolicy,
        Op::PutUserPolicy,
        Op::AddUserToGroup,
        Op::TagUser,
        Op::CreateAccessKey,
    ];
    let reached =
        |op: Op| order.iter().position(|o| *o == op) < order.iter().position(|o| *o == step);
    if reached(Op::AttachUserPolicy) {
        deletes.push(IamCall::DetachUserPolicy(name.into(), READ_ONLY.into()));
        deletes.push(IamCall::DetachUserPolicy(name.into(), S3_READ.into()));
    }
    if reached(Op::PutUserPolicy) {
        deletes.push(IamCall::DeleteUserPolicy(name.into(), "deploy".into()));
    }
    if reached(Op::AddUserToGroup) {
        deletes.push(IamCall::RemoveUserFromGroup(name.into(), "dev".into()));
        deletes.push(IamCall::RemoveUserFromGroup(name.into(), "ops".into()));
    }
    deletes
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_any_step_leaves_the_wal_and_the_rollback_deletes_what_was_made() {
    let steps = [
        (
            Op::AttachUserPolicy,
            "Error attaching user policy: AccessDenied",
        ),
        (Op::PutUserPolicy, "Error putting user policy: AccessDenied"),
        (
            Op::AddUserToGroup,
            "Error adding user to group: AccessDenied",
        ),
        (Op::TagUser, "Error adding tags to user: AccessDenied"),
        (
            Op::CreateAccessKey,
            "Error creating access keys: AccessDenied",
        ),
    ];
    for (step, message) in steps {
        let env = env().await;
        env.full_setup().await;
        env.iam().fail_next(step, fake::access_denied(step));
        let got = error_of(env.tb.read("creds/deploy").await);
        assert!(got.starts_with(message), "{step}: {got}");
        assert!(
            got.contains("(request id: fake-request-id)"),
            "{step}: {got}"
        );
        let name = created_user(&env.iam().calls());
        assert!(
            env.iam().user(&name).is_some(),
            "{step}: the half-made user exists"
        );
        assert_eq!(
            env.wal().await,
            vec![("user".to_string(), json!({"UserName": name}))],
            "{step}: the WAL entry stays"
        );
        assert_eq!(env.ledger_users().await, Vec::<String>::new(), "{step}");

        // Younger than the minimum age: left alone (it could be an issuance in flight).
        env.iam().clear_calls();
        assert_eq!(env.tb.rollback().await, Ok(None));
        assert_eq!(env.iam().calls(), vec![], "{step}: nothing rolled back yet");

        env.rollback_after_min_age().await;
        let calls = env.iam().calls();
        assert_eq!(
            calls.first(),
            Some(&IamCall::ListGroupsForUser(name.clone())),
            "{step}"
        );
        assert_eq!(
            calls.last(),
            Some(&IamCall::DeleteUser(name.clone())),
            "{step}"
        );
        let mut deletes: Vec<IamCall> = calls
            .iter()
            .filter(|c| {
                c.is_write()
                    && !matches!(c, IamCall::DeleteUser(_) | IamCall::DeleteLoginProfile(_))
            })
            .cloned()
            .collect();
        deletes.sort();
        let mut expected = made_before(step, &name);
        expected.sort();
        assert_eq!(
            deletes, expected,
            "{step}: exactly what was made is deleted"
        );
        assert!(env.iam().user_names().is_empty(), "{step}: no user left");
        assert_eq!(env.wal().await, vec![], "{step}: the WAL entry is done");
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_create_user_deletes_the_wal_at_once_and_throttling_is_a_502() {
    let env = env().await;
    env.full_setup().await;
    env.iam()
        .fail_next(Op::CreateUser, fake::access_denied(Op::CreateUser));
    let got = error_of(env.tb.read("creds/deploy").await);
    assert!(
        got.starts_with("Error creating IAM user: AccessDenied"),
        "{got}"
    );
    assert_eq!(env.wal().await, vec![], "no user, nothing to roll back");
    assert!(env.iam().user_names().is_empty());

    env.iam()
        .fail_next(Op::CreateAccessKey, fake::throttling(Op::CreateAccessKey));
    match env.tb.read("creds/deploy").await {
        Err(Error::Coded {
            status: 502,
            message,
        }) => {
            assert!(message.contains("upstream rate limited"), "{message}")
        }
        other => panic!("expected a coded 502, got {other:?}"),
    }
    assert_eq!(
        env.wal().await.len(),
        1,
        "the half-made user is the rollback's"
    );
}

#[tokio::test(start_paused = true)]
async fn a_create_user_without_an_answer_keeps_the_wal_for_a_user_aws_may_have_made() {
    let env = env().await;
    env.full_setup().await;
    // AWS made the user but the answer was lost (a timeout, a reset connection).
    let iam = std::sync::Arc::clone(env.iam());
    env.iam().on_call(move |call| {
        if let IamCall::CreateUser(name, ..) = call {
            iam.insert_user(name, FakeUser::default());
        }
    });
    env.iam()
        .fail_next(Op::CreateUser, fake::unreachable(Op::CreateUser));
    match env.tb.read("creds/deploy").await {
        Err(Error::Internal(message)) => {
            assert!(message.contains("could not reach AWS IAM"), "{message}")
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
    let name = created_user(&env.iam().calls());
    assert_eq!(
        env.iam().calls(),
        vec![IamCall::CreateUser(
            name.clone(),
            "/vault/".into(),
            Some(BOUNDARY.into())
        )],
        "sent once: no retry that would meet EntityAlreadyExists"
    );
    assert_eq!(
        env.wal().await.len(),
        1,
        "the outcome is unknown: the WAL entry stays"
    );
    env.rollback_after_min_age().await;
    assert!(
        env.iam().user(&name).is_none(),
        "the user AWS did make is deleted"
    );
    assert_eq!(env.wal().await, vec![]);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_create_user_is_retried_and_a_taken_name_is_not_ours_to_delete() {
    let env = env().await;
    env.full_setup().await;
    env.iam()
        .fail_next(Op::CreateUser, fake::throttling(Op::CreateUser));
    env.iam()
        .fail_next(Op::CreateUser, fake::throttling(Op::CreateUser));
    env.issue("deploy").await;
    let creates = |env: &Env| {
        env.iam()
            .calls()
            .iter()
            .filter(|c| matches!(c, IamCall::CreateUser(..)))
            .count()
    };
    assert_eq!(creates(&env), 3, "two throttled attempts, then the user");

    // A name that is already taken (a custom template that repeats itself): someone
    // else's user, so the WAL entry goes at once and the rollback never touches it.
    env.write_ok(
        "config/root",
        json!({"username_template": "{{ printf \"fixed-%s\" .PolicyName }}"}),
    )
    .await;
    env.iam().insert_user("fixed-deploy", FakeUser::default());
    env.iam().clear_calls();
    let got = error_of(env.tb.read("creds/deploy").await);
    assert!(
        got.starts_with("Error creating IAM user: EntityAlreadyExists"),
        "{got}"
    );
    assert_eq!(env.iam().calls().len(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.wal().await, vec![]);
    env.rollback_after_min_age().await;
    assert!(
        env.iam().user("fixed-deploy").is_some(),
        "not ours: left alone"
    );
}

#[tokio::test(start_paused = true)]
async fn a_group_that_does_not_exist_is_a_400_and_the_rollback_removes_the_user() {
    let env = env().await;
    env.write_ok(
        "roles/deploy",
        json!({"credential_type": "iam_user", "iam_groups": "no-such-group"}),
    )
    .await;
    let got = error_of(env.tb.read("creds/deploy").await);
    assert_eq!(
        got,
        "Error adding user to group: NoSuchEntity: The group with name no-such-group cannot be found."
    );
    assert_eq!(env.iam().user_names().len(), 1);
    env.rollback_after_min_age().await;
    assert!(env.iam().user_names().is_empty());
    assert_eq!(env.wal().await, vec![]);
}

#[tokio::test(start_paused = true)]
async fn a_minimal_role_makes_a_bare_user_and_lease_ttls_fall_back_to_the_mount() {
    let env = env().await;
    env.write_ok("roles/bare", json!({"credential_type": "iam_user"}))
        .await;
    let (_, secret) = env.issue("bare").await;
    let name = created_user(&env.iam().calls());
    assert_eq!(
        env.iam().calls(),
        vec![
            IamCall::CreateUser(name.clone(), "/".into(), None),
            IamCall::CreateAccessKey(Some(name.clone())),
        ]
    );
    let options = &secret.lease_options;
    assert_eq!(
        (options.ttl, options.max_ttl),
        (Duration::ZERO, Duration::ZERO)
    );
    // No maximum of its own: the ledger uses the mount's (768h by default).
    assert_eq!(
        env.ledger(&name).await.and_then(|e| e.horizon),
        Some(NOW as i64 + 768 * 3600)
    );
}

#[tokio::test(start_paused = true)]
async fn role_ttls_override_config_lease_and_the_request_ttl_is_ignored() {
    let env = env().await;
    env.write_ok("config/lease", json!({"lease": "1h", "lease_max": "24h"}))
        .await;
    env.write_ok(
        "roles/short",
        json!({"credential_type": "iam_user", "ttl": "10m", "max_ttl": "2h"}),
    )
    .await;
    // `ttl` is an STS parameter; for IAM users Vault ignores it (even one AWS would refuse).
    let (_, secret) = issued(env.tb.read_with("creds/short", json!({"ttl": "10s"})).await);
    let options = &secret.lease_options;
    assert_eq!(
        (options.ttl, options.max_ttl),
        (Duration::from_secs(600), Duration::from_secs(7200))
    );
    // sts/ issues IAM users too, as in Vault (only legacy roles are barred).
    issued(env.tb.write("sts/short", json!({})).await);
    assert_eq!(env.iam().user_names().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn user_names_follow_the_default_and_custom_templates() {
    let env = env().await;
    env.write_ok("roles/deploy", json!({"credential_type": "iam_user"}))
        .await;

    // Vault's normalisation: everything IAM refuses in a name becomes `_`.
    issued(issue_as(&env, "deploy", "ldap/jane doe").await);
    let name = created_user(&env.iam().calls());
    assert!(
        name.starts_with(&format!("vault-ldap_jane_doe-deploy-{NOW}-")),
        "{name}"
    );

    // `DisplayName-PolicyName` is cut to 42 and the whole name to 64.
    env.iam().clear_calls();
    issued(issue_as(&env, "deploy", &"x".repeat(80)).await);
    let name = created_user(&env.iam().calls());
    assert_eq!(name.len(), 64, "{name}");
    assert!(
        name.starts_with(&format!("vault-{}-{NOW}-", "x".repeat(42))),
        "{name}"
    );

    env.write_ok(
        "config/root",
        json!({"username_template": r#"{{ printf "app-%s-%s" .PolicyName (unix_time) | lowercase }}"#}),
    )
    .await;
    env.write_ok("roles/Deploy", json!({"credential_type": "iam_user"}))
        .await;
    env.iam().clear_calls();
    env.issue("Deploy").await;
    assert_eq!(
        created_user(&env.iam().calls()),
        format!("app-deploy-{NOW}")
    );
}

#[tokio::test(start_paused = true)]
async fn a_template_over_64_characters_is_a_400_before_any_aws_call() {
    let env = env().await;
    env.write_ok(
        "config/root",
        json!({"username_template": r#"{{ printf "%s-%s" .DisplayName (random 60) }}"#}),
    )
    .await;
    env.write_ok("roles/deploy", json!({"credential_type": "iam_user"}))
        .await;
    let got = error_of(env.tb.read("creds/deploy").await);
    assert_eq!(
        got,
        "the username generated by the template exceeds the IAM username length limits of 64 chars (it has 66); shorten username_template in config/root"
    );
    assert_eq!(env.iam().calls(), vec![]);
    assert_eq!(env.wal().await, vec![]);
}

fn not_yet_valid() -> AwsError {
    AwsError::Rejected(ServiceFailure::new(
        Op::GetCallerIdentity,
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    ))
}

#[tokio::test(start_paused = true)]
async fn wait_for_propagation_returns_once_aws_accepts_the_new_key() {
    let env = env().await;
    env.write_ok(
        "roles/ready",
        json!({"credential_type": "iam_user", "wait_for_propagation": true}),
    )
    .await;
    env.sts().fail_next(Op::GetCallerIdentity, not_yet_valid());
    env.sts().fail_next(Op::GetCallerIdentity, not_yet_valid());
    let started = tokio::time::Instant::now();
    let resp = env.tb.read("creds/ready").await.expect("ok").expect("resp");
    assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
    let key = resp.data.expect("data")["access_key"].clone();
    assert_eq!(
        env.sts().calls(),
        vec![StsCall::GetCallerIdentity; 3],
        "probed until accepted"
    );
    // The probes are signed with the new key, not the root credentials.
    assert_eq!(
        env.fakes.last_config().map(|c| json!(c.access_key)),
        Some(key)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "backed off"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_propagation_gives_up_with_a_warning_and_still_returns_the_key() {
    let env = env().await;
    env.write_ok(
        "roles/ready",
        json!({"credential_type": "iam_user", "wait_for_propagation": true}),
    )
    .await;
    for _ in 0..100 {
        env.sts().fail_next(Op::GetCallerIdentity, not_yet_valid());
    }
    let started = tokio::time::Instant::now();
    let resp = env.tb.read("creds/ready").await.expect("ok").expect("resp");
    assert!(!resp.is_error());
    assert!(resp.data.expect("data")["access_key"].is_string());
    assert_eq!(resp.warnings.len(), 1, "{:?}", resp.warnings);
    assert!(
        resp.warnings[0].starts_with("AWS did not accept the new access key within 30s"),
        "{}",
        resp.warnings[0]
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(33),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_wait_for_propagation_no_probe_is_made() {
    let env = env().await;
    env.write_ok("roles/plain", json!({"credential_type": "iam_user"}))
        .await;
    env.issue("plain").await;
    assert_eq!(env.sts().calls(), vec![]);
    assert_eq!(env.fakes.sts_builds(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_clean_shutdown_commits_pending_wal_entries_at_once() {
    let env = env().await;
    env.write_ok("roles/plain", json!({"credential_type": "iam_user"}))
        .await;
    env.issue("plain").await;
    assert_eq!(env.wal().await.len(), 1);
    env.tb.backend().cleanup().await;
    assert_eq!(
        env.wal().await,
        vec![],
        "a plugin reload must not roll back issued users"
    );
    // And the rollback then has nothing to undo.
    env.rollback_after_min_age().await;
    assert_eq!(env.iam().user_names().len(), 1);
}
