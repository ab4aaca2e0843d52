//! Revoking and renewing `iam_user` leases, the WAL rollback of users left by either
//! binary, and the ledger sweep, driven through the engine's factory with the recording
//! fakes: a revoke deletes the user with everything its holder could have attached (the
//! fake refuses DeleteUser while anything is left, as AWS does), lists of more than a
//! thousand items, a revoke that fails half-way resumes, a missing user is success only
//! for an old lease, renewals use the role's TTLs, and a user whose lease was lost is
//! deleted once no lease for it can be alive.

mod engine_env;

use std::time::Duration;

use engine_env::*;
use serde_json::json;
use vault_plugin_secrets_aws_rs::aws::error::AwsOperation as Op;
use vault_plugin_secrets_aws_rs::aws::fake::{self, IamCall};
use vault_plugin_secrets_aws_rs::framework::put_wal;
use vault_plugin_secrets_aws_rs::logical::Error;

const VIRTUAL_MFA: &str = "arn:aws:iam::123456789012:mfa/holder-phone";
const HARDWARE_MFA: &str = "GAHT12345678";

/// Issues credentials for the full role and returns the user's name with the lease.
async fn issued_user(env: &Env) -> (String, vault_plugin_secrets_aws_rs::logical::Secret) {
    env.full_setup().await;
    let (_, secret) = env.issue("deploy").await;
    let name = created_user(&env.iam().calls());
    env.iam().clear_calls();
    (name, secret)
}

#[tokio::test(start_paused = true)]
async fn revoke_deletes_the_user_and_everything_its_holder_attached() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    // What a holder of the credentials could add (GH-16685: Vault leaks such users).
    let extra_key = env.iam().next_id("AKIA");
    env.iam().update_user(&name, |u| {
        u.login_profile = true;
        u.access_keys.insert(extra_key);
        u.mfa_devices.insert(HARDWARE_MFA.into());
        u.ssh_public_keys.insert("APKAHOLDER".into());
        u.signing_certificates.insert("CERTHOLDER".into());
        u.service_specific_credentials.insert("ACCAHOLDER".into());
        u.inline_policies.insert("holder".into(), "{}".into());
        u.attached_policies
            .insert("arn:aws:iam::aws:policy/IAMUserChangePassword".into());
    });
    env.iam().enable_virtual_mfa(&name, VIRTUAL_MFA);

    assert_eq!(env.revoke(&secret).await, Ok(None));
    assert!(env.iam().user(&name).is_none(), "user deleted");
    assert_eq!(env.iam().virtual_mfa_devices(), Vec::<String>::new());
    assert_eq!(env.ledger(&name).await, None, "forgotten in the ledger");

    let calls = env.iam().calls();
    assert_eq!(
        calls.first(),
        Some(&IamCall::ListGroupsForUser(name.clone()))
    );
    assert_eq!(calls.last(), Some(&IamCall::DeleteUser(name.clone())));
    // The first DeleteUser met the holder's additions; the second pass removed them.
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, IamCall::DeleteUser(_)))
            .count(),
        2
    );
    let position = |wanted: &IamCall| calls.iter().position(|c| c == wanted);
    let deactivate = position(&IamCall::DeactivateMfaDevice(
        name.clone(),
        VIRTUAL_MFA.into(),
    ));
    let delete = position(&IamCall::DeleteVirtualMfaDevice(VIRTUAL_MFA.into()));
    assert!(deactivate.is_some() && deactivate < delete, "{calls:?}");
    assert!(
        calls.contains(&IamCall::DeactivateMfaDevice(
            name.clone(),
            HARDWARE_MFA.into()
        )),
        "hardware devices are detached"
    );
    assert!(
        !calls.contains(&IamCall::DeleteVirtualMfaDevice(HARDWARE_MFA.into())),
        "but not deleted: they are someone's"
    );
    for wanted in [
        IamCall::DeleteLoginProfile(name.clone()),
        IamCall::DeleteSshPublicKey(name.clone(), "APKAHOLDER".into()),
        IamCall::DeleteSigningCertificate(name.clone(), "CERTHOLDER".into()),
        IamCall::DeleteServiceSpecificCredential(name.clone(), "ACCAHOLDER".into()),
        IamCall::DeleteUserPolicy(name.clone(), "holder".into()),
        IamCall::RemoveUserFromGroup(name.clone(), "ops".into()),
    ] {
        assert!(calls.contains(&wanted), "missing {wanted:?} in {calls:?}");
    }
    // Nothing outside this user was touched.
    assert!(env.iam().user_names().is_empty());
}

#[tokio::test(start_paused = true)]
async fn revoke_removes_thousands_of_attachments() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    env.iam().update_user(&name, |u| {
        for i in 0..1500 {
            u.inline_policies.insert(format!("p{i:04}"), "{}".into());
        }
        for i in 0..1200 {
            u.attached_policies
                .insert(format!("arn:aws:iam::123456789012:policy/m{i:04}"));
        }
    });
    assert_eq!(env.revoke(&secret).await, Ok(None));
    assert!(env.iam().user(&name).is_none());
    let deleted = env
        .iam()
        .calls()
        .iter()
        .filter(|c| {
            matches!(
                c,
                IamCall::DeleteUserPolicy(..) | IamCall::DetachUserPolicy(..)
            )
        })
        .count();
    assert_eq!(deleted, 1501 + 1202);
}

#[tokio::test(start_paused = true)]
async fn a_revoke_that_fails_half_way_is_retryable_and_resumes() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    env.iam()
        .fail_next(Op::DetachUserPolicy, fake::throttling(Op::DetachUserPolicy));
    match env.revoke(&secret).await {
        // A coded 502 or an internal error: both keep the lease revocable; never an
        // "invalid request", which would make the host give up at once.
        Err(Error::Coded { status: 502, .. }) => {}
        other => panic!("expected a retryable 502, got {other:?}"),
    }
    let left = env.iam().user(&name).expect("still there");
    assert_eq!(
        left.attached_policies.len(),
        1,
        "the other detach went through"
    );
    assert!(left.inline_policies.is_empty() && left.groups.is_empty());
    assert!(env.ledger(&name).await.is_some(), "not forgotten yet");

    env.iam().clear_calls();
    assert_eq!(env.revoke(&secret).await, Ok(None));
    assert!(env.iam().user(&name).is_none());
    let writes: Vec<_> = env
        .iam()
        .calls()
        .into_iter()
        .filter(IamCall::is_write)
        .collect();
    assert_eq!(
        writes.len(),
        2,
        "only the rest: one detach and DeleteUser: {writes:?}"
    );
    assert_eq!(env.ledger(&name).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_missing_user_is_revoked_only_once_the_lease_is_old_enough() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    env.iam().remove_user(&name);
    // IAM is eventually consistent: a user made a moment ago may not show yet.
    match env.revoke(&secret).await {
        Err(Error::Internal(message)) => {
            assert!(message.contains("does not exist yet"), "{message}");
            assert!(message.contains(&name), "{message}");
        }
        other => panic!("expected a retryable internal error, got {other:?}"),
    }
    env.advance(MIN_AGE + Duration::from_secs(1));
    assert_eq!(env.revoke(&secret).await, Ok(None));
    assert_eq!(env.ledger(&name).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_plain_revoke_makes_only_the_calls_vaults_policy_allows() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    assert_eq!(env.revoke(&secret).await, Ok(None));
    let calls = env.iam().calls();
    let key = calls
        .iter()
        .find_map(|c| match c {
            IamCall::DeleteAccessKey(_, id) => Some(id.clone()),
            _ => None,
        })
        .expect("a key deleted");
    let mut calls = calls;
    calls.sort();
    let mut expected = vec![
        IamCall::ListGroupsForUser(name.clone()),
        IamCall::ListUserPolicies(name.clone()),
        IamCall::ListAttachedUserPolicies(name.clone()),
        IamCall::ListAccessKeys(name.clone()),
        IamCall::DetachUserPolicy(name.clone(), READ_ONLY.into()),
        IamCall::DetachUserPolicy(name.clone(), S3_READ.into()),
        IamCall::DeleteUserPolicy(name.clone(), "deploy".into()),
        IamCall::RemoveUserFromGroup(name.clone(), "dev".into()),
        IamCall::RemoveUserFromGroup(name.clone(), "ops".into()),
        IamCall::DeleteAccessKey(Some(name.clone()), key),
        IamCall::DeleteUser(name.clone()),
    ];
    expected.sort();
    // A mount switched over from the Go engine keeps working with Vault's IAM policy.
    assert_eq!(calls, expected);
}

#[tokio::test(start_paused = true)]
async fn a_missing_permission_for_the_second_pass_is_a_retryable_error_naming_it() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    env.iam().update_user(&name, |u| u.login_profile = true);
    env.iam()
        .fail_next(Op::ListMfaDevices, fake::access_denied(Op::ListMfaDevices));
    match env.revoke(&secret).await {
        Err(Error::Internal(message)) => {
            assert!(
                message.contains("listing MFA devices: AccessDenied"),
                "{message}"
            )
        }
        other => panic!("expected a retryable error, got {other:?}"),
    }
    assert!(env.iam().user(&name).is_some());
    assert_eq!(
        env.revoke(&secret).await,
        Ok(None),
        "the next attempt finishes"
    );
    assert!(env.iam().user(&name).is_none());
}

#[tokio::test(start_paused = true)]
async fn revoke_twice_is_fine() {
    let env = env().await;
    let (_, secret) = issued_user(&env).await;
    assert_eq!(env.revoke(&secret).await, Ok(None));
    env.advance(MIN_AGE + Duration::from_secs(1));
    assert_eq!(env.revoke(&secret).await, Ok(None));
}

#[tokio::test(start_paused = true)]
async fn renew_uses_the_roles_ttls_and_pushes_the_ledger_horizon() {
    let env = env().await;
    env.write_ok(
        "roles/deploy",
        json!({"credential_type": "iam_user", "ttl": "10m", "max_ttl": "1h"}),
    )
    .await;
    let (_, secret) = env.issue("deploy").await;
    let name = created_user(&env.iam().calls());
    assert_eq!(
        env.ledger(&name).await.and_then(|e| e.horizon),
        Some(NOW as i64 + 3600)
    );
    let resp = env.renew(&secret).await.expect("renew").expect("resp");
    let renewed = resp.secret.expect("secret");
    assert_eq!(
        (renewed.lease_options.ttl, renewed.lease_options.max_ttl),
        (Duration::from_secs(600), Duration::from_secs(3600))
    );
    assert_eq!(
        renewed.internal_data, secret.internal_data,
        "lease data kept"
    );

    // A lease whose role had no TTLs renews with config/lease; its ledger horizon moves
    // out when the new maximum reaches further.
    env.write_ok("roles/plain", json!({"credential_type": "iam_user"}))
        .await;
    env.write_ok("config/lease", json!({"lease": "1h", "lease_max": "2h"}))
        .await;
    let (_, plain) = issued(env.tb.read("creds/plain").await);
    let plain_user = plain.internal_data["username"]
        .as_str()
        .expect("user")
        .to_string();
    env.write_ok("config/lease", json!({"lease": "1h", "lease_max": "5h"}))
        .await;
    let resp = env.renew(&plain).await.expect("renew").expect("resp");
    let renewed = resp.secret.expect("secret");
    assert_eq!(renewed.lease_options.max_ttl, Duration::from_secs(5 * 3600));
    assert_eq!(
        env.ledger(&plain_user).await.and_then(|e| e.horizon),
        Some(NOW as i64 + 5 * 3600)
    );
}

#[tokio::test(start_paused = true)]
async fn a_user_whose_lease_was_lost_is_deleted_once_no_lease_can_be_alive() {
    let env = env().await;
    env.write_ok("config/lease", json!({"lease": "10m", "lease_max": "1h"}))
        .await;
    env.write_ok("roles/deploy", json!({"credential_type": "iam_user"}))
        .await;
    // The host never got this answer (or gave up revoking): nothing will revoke it.
    env.issue("deploy").await;
    let name = created_user(&env.iam().calls());
    tokio::time::sleep(Duration::from_secs(2)).await; // the WAL entry is committed

    env.advance(Duration::from_secs(3600));
    assert_eq!(env.tb.rollback().await, Ok(None));
    assert!(
        env.iam().user(&name).is_some(),
        "a lease may still be alive"
    );

    env.rollback_after_min_age().await;
    assert!(
        env.iam().user(&name).is_none(),
        "deleted past horizon + minimum age"
    );
    assert_eq!(env.ledger_users().await, Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn the_ledger_sweep_runs_at_most_once_per_minimum_age() {
    let env = env().await;
    env.write_ok("config/lease", json!({"lease": "1m", "lease_max": "1m"}))
        .await;
    env.write_ok("roles/deploy", json!({"credential_type": "iam_user"}))
        .await;
    assert_eq!(
        env.tb.rollback().await,
        Ok(None),
        "first sweep: nothing due"
    );
    env.issue("deploy").await;
    let name = created_user(&env.iam().calls());
    tokio::time::sleep(Duration::from_secs(1)).await; // the WAL entry is committed
    env.advance(Duration::from_secs(60 + 300 + 1));
    // Only 361 s since the last sweep would be enough; 60 s later it is not again.
    env.iam().fail_next(
        Op::ListGroupsForUser,
        fake::access_denied(Op::ListGroupsForUser),
    );
    assert!(
        env.tb.rollback().await.expect("tick").is_some(),
        "the failure is reported"
    );
    assert!(
        env.iam().user(&name).is_some(),
        "the failed sweep deleted nothing"
    );
    env.advance(Duration::from_secs(60));
    env.iam().clear_calls();
    assert_eq!(env.tb.rollback().await, Ok(None));
    assert_eq!(
        env.iam().calls(),
        vec![],
        "not swept again before the minimum age"
    );
    env.advance(MIN_AGE);
    assert_eq!(env.tb.rollback().await, Ok(None));
    assert!(env.iam().user(&name).is_none());
}

#[tokio::test(start_paused = true)]
async fn wal_entries_left_by_the_go_engine_are_rolled_back() {
    let env = env().await;
    env.iam()
        .insert_user("vault-root-dev-1", Default::default());
    env.iam().update_user("vault-root-dev-1", |u| {
        u.attached_policies.insert(READ_ONLY.into());
    });
    put_wal(
        env.tb.storage().as_ref(),
        "user",
        &json!({"UserName": "vault-root-dev-1"}),
        env.clock_now(),
    )
    .await
    .expect("put");
    env.rollback_after_min_age().await;
    assert!(env.iam().user_names().is_empty());
    assert_eq!(env.wal().await, vec![]);
}

#[tokio::test(start_paused = true)]
async fn a_wal_entry_that_keeps_failing_is_dropped_after_the_maximum_age() {
    let env = env().await;
    put_wal(
        env.tb.storage().as_ref(),
        "user",
        &json!({"UserName": "vault-stuck"}),
        env.clock_now(),
    )
    .await
    .expect("put");
    env.iam().insert_user("vault-stuck", Default::default());
    for _ in 0..3 {
        env.iam().fail_next(
            Op::ListGroupsForUser,
            fake::access_denied(Op::ListGroupsForUser),
        );
    }
    env.advance(MIN_AGE + Duration::from_secs(1));
    let report = env
        .tb
        .rollback()
        .await
        .expect("tick")
        .expect("errors reported");
    assert!(
        report
            .error_message()
            .unwrap_or_default()
            .contains("AccessDenied"),
        "{report:?}"
    );
    assert_eq!(
        env.wal().await.len(),
        1,
        "kept while younger than the maximum age"
    );
    env.advance(Duration::from_secs(7 * 24 * 3600));
    let _ = env.tb.rollback().await.expect("tick");
    assert_eq!(
        env.wal().await,
        vec![],
        "dropped, with an error log line naming the user"
    );
    assert!(env.iam().user("vault-stuck").is_some(), "left for a human");
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_service_specific_credentials_still_deletes_the_user() {
    let env = env().await;
    let (name, secret) = issued_user(&env).await;
    env.iam().update_user(&name, |u| u.login_profile = true);
    // moto answers this call with a 500: the user has none, and DeleteUser agrees.
    env.iam().fail_next(
        Op::ListServiceSpecificCredentials,
        fake::unreachable(Op::ListServiceSpecificCredentials),
    );
    assert_eq!(env.revoke(&secret).await, Ok(None));
    assert!(env.iam().user(&name).is_none());

    // When some do exist and cannot be listed, the listing's failure is the answer.
    let (name, secret) = {
        let (_, secret) = env.issue("deploy").await;
        let name = secret.internal_data["username"]
            .as_str()
            .expect("user")
            .to_string();
        (name, secret)
    };
    env.iam().update_user(&name, |u| {
        u.service_specific_credentials.insert("ACCAHIDDEN".into());
    });
    env.iam().fail_next(
        Op::ListServiceSpecificCredentials,
        fake::access_denied(Op::ListServiceSpecificCredentials),
    );
    match env.revoke(&secret).await {
        Err(Error::Internal(message)) => assert!(
            message.contains("listing service-specific credentials: AccessDenied"),
            "{message}"
        ),
        other => panic!("expected the listing's failure, got {other:?}"),
    }
    assert_eq!(env.revoke(&secret).await, Ok(None), "allowed again: done");
}
