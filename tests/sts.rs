//! `sts/<name>` and `creds/<name>` for the STS credential types, driven through the
//! engine's factory with the framework's `TestBackend` and the recording AWS fakes, on
//! a pinned clock: the exact AssumeRole / GetFederationToken / GetSessionToken inputs
//! for each role shape, every validation rule (answered with a 400 before any AWS call),
//! TTL capping, the lease each issuance creates, and the renew and revoke of
//! `access_keys` leases.

mod engine_env;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use engine_env::{NOW, READ_ONLY, S3_READ, assert_default_name, env, env_with, error_of, issued};
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws::api::{
    AssumeRoleInput, FederationTokenInput, SessionTokenInput,
};
use vault_plugin_secrets_aws_rs::aws::error::AwsOperation;
use vault_plugin_secrets_aws_rs::aws::fake::{self, IamCall};
use vault_plugin_secrets_aws_rs::framework::testing::json_map;
use vault_plugin_secrets_aws_rs::logical::{
    Error, JsonMap, LeaseOptions, Secret, StaticSystemView, Storage, StorageEntry,
};

const EC2_ADMIN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
const EC2_READER: &str = "arn:aws:iam::123456789012:role/ec2-reader";
const EC2_FULL: &str = "arn:aws:iam::aws:policy/AmazonEC2FullAccess";
const ROLE_DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#;
const GROUP_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}"#;
const MERGED_DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Action":"s3:Get*","Effect":"Allow","Resource":"*"},{"Action":"ec2:Describe*","Effect":"Allow","Resource":"*"}]}"#;

#[tokio::test]
async fn tutorial_assumed_role_issues_an_hour_of_credentials() {
    let env = env().await;
    env.role(
        "ec2-admin",
        json!({"role_arns": EC2_ADMIN, "credential_type": "assumed_role"}),
    )
    .await;
    let (data, secret) = issued(env.tb.write("sts/ec2-admin", json!({"ttl": "60m"})).await);

    let inputs = env.assume_role_inputs();
    assert_eq!(inputs.len(), 1);
    let session = inputs[0].role_session_name.clone();
    assert_default_name(&session, "ec2-admin");
    assert_eq!(
        inputs[0],
        AssumeRoleInput {
            role_arn: EC2_ADMIN.into(),
            role_session_name: session.clone(),
            duration: Some(Duration::from_secs(3600)),
            policy: None,
            policy_arns: vec![],
            external_id: None,
            tags: BTreeMap::new(),
            ..AssumeRoleInput::default()
        }
    );
    assert_eq!(env.fakes.fake_iam().calls(), vec![], "no groups, no IAM");

    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "access_key",
            "arn",
            "secret_key",
            "security_token",
            "session_token",
            "ttl"
        ]
    );
    assert_eq!(data["access_key"], json!("ASIAFAKE000000000001"));
    assert_eq!(data["secret_key"], json!("fake-secret-key-1"));
    assert_eq!(data["session_token"], json!("fake-session-token-1"));
    assert_eq!(data["security_token"], data["session_token"]);
    assert_eq!(
        data["arn"],
        json!(format!(
            "arn:aws:sts::123456789012:assumed-role/ec2-admin/{session}"
        ))
    );
    assert_eq!(data["ttl"], json!(3600));

    assert_eq!(secret.lease_options.ttl, Duration::from_secs(3600));
    assert!(!secret.lease_options.renewable);
    assert_eq!(
        Value::Object(secret.internal_data),
        json!({"secret_type": "access_keys", "username": session, "policy": EC2_ADMIN, "is_sts": true,
               "principal_arn": data["arn"], "access_key_id": data["access_key"]})
    );
}

#[tokio::test]
async fn creds_path_and_reads_issue_the_same_way() {
    let env = env().await;
    env.role(
        "ec2-admin",
        json!({"role_arns": EC2_ADMIN, "credential_type": "assumed_role"}),
    )
    .await;
    issued(env.tb.read("creds/ec2-admin").await);
    issued(env.tb.read("sts/ec2-admin").await);
    issued(
        env.tb
            .read_with("creds/ec2-admin", json!({"ttl": "30m"}))
            .await,
    );
    let durations: Vec<_> = env
        .assume_role_inputs()
        .into_iter()
        .map(|i| i.duration)
        .collect();
    let hour = Some(Duration::from_secs(3600));
    assert_eq!(durations, [hour, hour, Some(Duration::from_secs(1800))]);
}

#[tokio::test]
async fn assumed_role_sends_the_merged_session_policy_external_id_and_tags() {
    let env = env().await;
    let iam = env.fakes.fake_iam();
    iam.put_group_policy("dev", "s3-read", GROUP_DOC);
    iam.attach_group_policy("dev", S3_READ);
    iam.attach_group_policy("ops", EC2_FULL);
    env.role(
        "shaped",
        json!({
            "credential_type": "assumed_role",
            "role_arns": [EC2_ADMIN, EC2_READER],
            "policy_document": ROLE_DOC,
            "policy_arns": [READ_ONLY],
            "iam_groups": ["dev", "ops"],
            "external_id": "ext-123",
            "session_tags": {"team": "platform", "env": "dev"},
        }),
    )
    .await;
    let (data, secret) = issued(
        env.tb
            .write(
                "sts/shaped",
                json!({"role_arn": EC2_READER, "role_session_name": "alice@example.com/ci run", "ttl": 900}),
            )
            .await,
    );
    assert_eq!(
        env.assume_role_inputs(),
        vec![AssumeRoleInput {
            role_arn: EC2_READER.into(),
            role_session_name: "alice@example.com_ci_run".into(),
            duration: Some(Duration::from_secs(900)),
            policy: Some(MERGED_DOC.into()),
            policy_arns: vec![READ_ONLY.into(), S3_READ.into(), EC2_FULL.into()],
            external_id: Some("ext-123".into()),
            tags: BTreeMap::from([
                ("env".to_string(), "dev".to_string()),
                ("team".to_string(), "platform".to_string()),
            ]),
            ..AssumeRoleInput::default()
        }]
    );
    assert_eq!(
        iam.calls(),
        vec![
            IamCall::ListAttachedGroupPolicies("dev".into()),
            IamCall::ListGroupPolicies("dev".into()),
            IamCall::GetGroupPolicy("dev".into(), "s3-read".into()),
            IamCall::ListAttachedGroupPolicies("ops".into()),
            IamCall::ListGroupPolicies("ops".into()),
        ]
    );
    assert_eq!(data["ttl"], json!(900));
    assert_eq!(
        data["arn"],
        json!("arn:aws:sts::123456789012:assumed-role/ec2-reader/alice@example.com_ci_run")
    );
    assert_eq!(secret.internal_data["policy"], json!(EC2_READER));
    assert_eq!(
        secret.internal_data["username"],
        json!("alice@example.com_ci_run")
    );
}

#[tokio::test]
async fn groups_without_inline_policies_leave_the_role_document_untouched() {
    let env = env().await;
    env.fakes.fake_iam().attach_group_policy("ops", EC2_FULL);
    env.role(
        "ops",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN,
               "policy_document": ROLE_DOC, "iam_groups": "ops"}),
    )
    .await;
    issued(env.tb.write("sts/ops", json!({})).await);
    let input = &env.assume_role_inputs()[0];
    assert_eq!(input.policy.as_deref(), Some(ROLE_DOC));
    assert_eq!(input.policy_arns, vec![EC2_FULL.to_string()]);
}

#[tokio::test]
async fn federation_token_uses_the_sts_name_and_the_merged_policy() {
    let env = env().await;
    env.fakes
        .fake_iam()
        .put_group_policy("dev", "s3-read", GROUP_DOC);
    env.role(
        "fed",
        json!({"credential_type": "federation_token", "policy_document": ROLE_DOC,
               "policy_arns": READ_ONLY, "iam_groups": "dev", "default_sts_ttl": "2h"}),
    )
    .await;
    let (data, secret) = issued(env.tb.read("sts/fed").await);
    let inputs = env.fakes.fake_sts().federation_token_inputs();
    assert_eq!(inputs.len(), 1);
    let name = inputs[0].name.clone();
    // `vault-<unix time>-<random>` cut to 32.
    let prefix = format!("vault-{NOW}-");
    assert!(
        name.starts_with(&prefix) && name.len() == 32,
        "{name:?} is not Vault's STS name"
    );
    assert_eq!(
        inputs[0],
        FederationTokenInput {
            name: name.clone(),
            duration: Some(Duration::from_secs(7200)),
            policy: Some(MERGED_DOC.into()),
            policy_arns: vec![READ_ONLY.into()],
        }
    );
    assert!(!data.contains_key("arn"), "no arn for federation tokens");
    assert_eq!(data["security_token"], data["session_token"]);
    assert_eq!(data["ttl"], json!(7200));
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(7200));
    assert!(!secret.lease_options.renewable);
    assert_eq!(
        Value::Object(secret.internal_data),
        json!({"secret_type": "access_keys", "username": name, "policy": MERGED_DOC, "is_sts": true,
               "principal_arn": format!("arn:aws:sts::{}:federated-user/{name}", fake::FAKE_ACCOUNT),
               "access_key_id": data["access_key"]})
    );
}

#[tokio::test]
async fn federation_token_with_policy_arns_only_sends_no_document() {
    let env = env().await;
    env.role(
        "fed",
        json!({"credential_type": "federation_token", "policy_arns": READ_ONLY}),
    )
    .await;
    issued(env.tb.write("sts/fed", json!({"ttl": "36h"})).await);
    let input = &env.fakes.fake_sts().federation_token_inputs()[0];
    assert_eq!(input.policy, None);
    assert_eq!(input.policy_arns, vec![READ_ONLY.to_string()]);
    assert_eq!(input.duration, Some(Duration::from_secs(36 * 3600)));
}

#[tokio::test]
async fn session_token_sends_the_mfa_device_and_code() {
    let env = env().await;
    let device = "arn:aws:iam::123456789012:mfa/vault";
    env.role(
        "mfa",
        json!({"credential_type": "session_token", "mfa_serial_number": device}),
    )
    .await;
    env.role("plain", json!({"credential_type": "session_token"}))
        .await;
    let (data, secret) = issued(
        env.tb
            .write("creds/mfa", json!({"mfa_code": "123456", "ttl": "20m"}))
            .await,
    );
    issued(env.tb.read("sts/plain").await);
    assert_eq!(
        env.fakes.fake_sts().session_token_inputs(),
        vec![
            SessionTokenInput {
                duration: Some(Duration::from_secs(1200)),
                serial_number: Some(device.into()),
                token_code: Some("123456".into()),
            },
            SessionTokenInput {
                duration: Some(Duration::from_secs(3600)),
                serial_number: None,
                token_code: None,
            },
        ]
    );
    assert!(!data.contains_key("arn"));
    assert_eq!(data["ttl"], json!(1200));
    assert_eq!(data["security_token"], data["session_token"]);
    assert!(!secret.lease_options.renewable);
    assert_eq!(
        Value::Object(secret.internal_data),
        json!({"secret_type": "access_keys", "is_sts": true, "access_key_id": data["access_key"]})
    );
}

/// Every bad request is one 400 naming the problem, and nothing reaches AWS.
#[tokio::test]
async fn bad_requests_are_refused_before_any_aws_call() {
    let cases: &[(&str, Value, &str)] = &[
        ("sts/nope", json!({}), r#"Role "nope" not found"#),
        ("creds/nope", json!({}), r#"Role "nope" not found"#),
        (
            "sts/ec2-admin",
            json!({"ttl": "abc"}),
            r#"Field validation failed: error converting input abc for field "ttl""#,
        ),
        (
            "sts/ec2-admin",
            json!({"ttl": "10s"}),
            "ttl of 10s is below the minimum of 900s (15m) that AWS allows for assumed_role credentials",
        ),
        (
            "sts/ec2-admin",
            json!({"ttl": "48h"}),
            "ttl of 172800s is above the maximum of 43200s (12h) that AWS allows for assumed_role credentials",
        ),
        (
            "sts/fed",
            json!({"ttl": "48h"}),
            "ttl of 172800s is above the maximum of 129600s (36h) that AWS allows for federation_token credentials",
        ),
        (
            "sts/ec2-admin",
            json!({"role_arn": "arn:aws:iam::123456789012:role/not-in-role"}),
            r#"role_arn "arn:aws:iam::123456789012:role/not-in-role" not in allowed role arns for Vault role "ec2-admin""#,
        ),
        (
            "sts/two-arns",
            json!({}),
            "did not supply a role_arn parameter and unable to determine one",
        ),
        (
            "sts/ec2-admin",
            json!({"role_session_name": "x"}),
            "role_session_name must be between 2 and 64 characters long",
        ),
        (
            "sts/fed",
            json!({}),
            "must specify at least one of policy_arns or policy_document with federation_token credential_type",
        ),
        (
            "sts/mfa",
            json!({}),
            r#"mfa_code is required: role "mfa" has mfa_serial_number set"#,
        ),
        (
            "sts/plain",
            json!({"mfa_code": "123456"}),
            r#"mfa_code was given but role "plain" has no mfa_serial_number"#,
        ),
    ];
    for (path, body, expected) in cases {
        let env = env().await;
        env.role(
            "ec2-admin",
            json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
        )
        .await;
        env.role(
            "two-arns",
            json!({"credential_type": "assumed_role", "role_arns": [EC2_ADMIN, EC2_READER]}),
        )
        .await;
        env.role("fed", json!({"credential_type": "federation_token"}))
            .await;
        env.role(
            "mfa",
            json!({"credential_type": "session_token", "mfa_serial_number": "arn:aws:iam::123456789012:mfa/vault"}),
        )
        .await;
        env.role("plain", json!({"credential_type": "session_token"}))
            .await;
        let message = error_of(env.tb.write(path, body.clone()).await);
        assert!(
            message.starts_with(expected),
            "{path} {body}: got {message:?}, want {expected:?}"
        );
        env.assert_no_aws();
    }
}

#[tokio::test]
async fn a_username_template_producing_too_long_a_name_is_refused_before_aws() {
    let env = env().await;
    env.tb
        .write(
            "config/root",
            json!({"username_template": "{{ .DisplayName }}-{{ .PolicyName }}-{{ random 64 }}"}),
        )
        .await
        .expect("config");
    env.role(
        "ec2-admin",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
    )
    .await;
    let message = error_of(env.tb.write("sts/ec2-admin", json!({})).await);
    assert!(
        message.contains("exceeds the IAM username length limits of 64"),
        "{message}"
    );
    env.assert_no_aws();
}

#[tokio::test]
async fn legacy_roles_keep_their_path_restrictions() {
    let env = env().await;
    env.tb
        .storage()
        .put(StorageEntry {
            key: "policy/legacy".into(),
            value: EC2_ADMIN.as_bytes().to_vec(),
            seal_wrap: false,
        })
        .await
        .expect("put");
    let message = error_of(env.tb.read("creds/legacy").await);
    assert_eq!(
        message,
        "attempted to retrieve assumed_role credentials through the creds path; this is not allowed for legacy roles"
    );
    env.assert_no_aws();
    issued(env.tb.read("sts/legacy").await);
    assert_eq!(env.assume_role_inputs()[0].role_arn, EC2_ADMIN);
}

#[tokio::test]
async fn ttl_comes_from_the_role_default_and_is_capped_by_the_role_max() {
    let env = env().await;
    env.role(
        "capped",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN,
               "default_sts_ttl": "15m", "max_sts_ttl": "1h"}),
    )
    .await;
    let (data, secret) = issued(env.tb.write("sts/capped", json!({})).await);
    assert_eq!(data["ttl"], json!(900));
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(900));
    let (data, secret) = issued(env.tb.write("sts/capped", json!({"ttl": "2h"})).await);
    assert_eq!(data["ttl"], json!(3600));
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(3600));
    // `ttl=0` means "not given" (Go's GetOk), so the role default applies.
    let (data, _) = issued(env.tb.write("sts/capped", json!({"ttl": 0})).await);
    assert_eq!(data["ttl"], json!(900));
    let durations: Vec<_> = env
        .assume_role_inputs()
        .into_iter()
        .map(|i| i.duration)
        .collect();
    assert_eq!(
        durations,
        [
            Some(Duration::from_secs(900)),
            Some(Duration::from_secs(3600)),
            Some(Duration::from_secs(900))
        ]
    );
}

#[tokio::test]
async fn ttl_is_capped_by_the_mount_maximum_when_the_role_has_none() {
    let env = env_with(StaticSystemView {
        max_lease_ttl: Duration::from_secs(1800),
        ..StaticSystemView::default()
    })
    .await;
    env.role(
        "ec2-admin",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
    )
    .await;
    let (data, _) = issued(env.tb.write("sts/ec2-admin", json!({"ttl": "1h"})).await);
    assert_eq!(data["ttl"], json!(1800));
    assert_eq!(
        env.assume_role_inputs()[0].duration,
        Some(Duration::from_secs(1800))
    );
}

#[tokio::test]
async fn the_lease_lasts_as_long_as_aws_granted() {
    let env = env().await;
    env.role(
        "ec2-admin",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
    )
    .await;
    // AWS answered as of ten minutes ago: ten minutes of the hour are gone.
    let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW - 600);
    env.fakes.fake_sts().set_now(earlier);
    let (data, secret) = issued(env.tb.write("sts/ec2-admin", json!({})).await);
    assert_eq!(data["ttl"], json!(3000));
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(3000));
}

#[tokio::test]
async fn throttling_is_a_coded_502_and_refusals_a_400_with_code_and_request_id() {
    let env = env().await;
    env.role(
        "ec2-admin",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
    )
    .await;
    env.role(
        "fed",
        json!({"credential_type": "federation_token", "policy_arns": READ_ONLY}),
    )
    .await;
    env.role(
        "grouped",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN, "iam_groups": "missing"}),
    )
    .await;
    let sts = env.fakes.fake_sts();
    sts.fail_next(
        AwsOperation::AssumeRole,
        fake::throttling(AwsOperation::AssumeRole),
    );
    match env.tb.write("sts/ec2-admin", json!({})).await {
        Err(Error::Coded { status, message }) => {
            assert_eq!(status, 502);
            assert!(message.contains("upstream rate limited"), "{message}");
        }
        other => panic!("expected a coded 502, got {other:?}"),
    }

    sts.fail_next(
        AwsOperation::AssumeRole,
        fake::access_denied(AwsOperation::AssumeRole),
    );
    assert_eq!(
        error_of(env.tb.write("sts/ec2-admin", json!({})).await),
        "Error assuming role: AccessDenied: User is not authorized to perform this action (request id: fake-request-id)"
    );

    sts.fail_next(
        AwsOperation::GetFederationToken,
        fake::access_denied(AwsOperation::GetFederationToken),
    );
    assert_eq!(
        error_of(env.tb.write("sts/fed", json!({})).await),
        "Error generating STS keys: AccessDenied: User is not authorized to perform this action (request id: fake-request-id)"
    );

    let message = error_of(env.tb.write("sts/grouped", json!({})).await);
    assert!(
        message.starts_with("Error listing attached group policies: NoSuchEntity"),
        "{message}"
    );
    assert_eq!(
        env.assume_role_inputs().len(),
        2,
        "no AssumeRole after the group failed"
    );
}

fn lease(internal: Value) -> Secret {
    Secret {
        lease_options: LeaseOptions {
            ttl: Duration::from_secs(3600),
            renewable: true,
            ..LeaseOptions::default()
        },
        internal_data: json_map(internal).expect("object"),
        lease_id: String::new(),
    }
}

#[tokio::test]
async fn revoking_an_sts_lease_is_a_no_op() {
    let env = env().await;
    env.role(
        "ec2-admin",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN}),
    )
    .await;
    let (data, secret) = issued(env.tb.write("sts/ec2-admin", json!({})).await);
    let calls = env.fakes.fake_sts().calls().len();
    assert_eq!(
        env.tb
            .revoke("sts/ec2-admin", secret.clone(), data.clone())
            .await,
        Ok(None)
    );
    assert_eq!(env.tb.renew("sts/ec2-admin", secret, data).await, Ok(None));
    assert_eq!(env.fakes.fake_sts().calls().len(), calls, "no AWS call");
}

#[tokio::test]
async fn a_lease_with_an_unreadable_is_sts_is_an_internal_error() {
    let env = env().await;
    let odd = lease(json!({"secret_type": "access_keys", "username": "u", "is_sts": "yes"}));
    match env.tb.revoke("creds/dev", odd, JsonMap::new()).await {
        Err(Error::Internal(message)) => assert_eq!(
            message,
            "secret has is_sts but value could not be understood"
        ),
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[tokio::test]
async fn renewing_an_iam_user_lease_uses_config_lease_and_keeps_its_data() {
    let env = env().await;
    let internal = json!({"secret_type": "access_keys", "username": "vault-root-dev-1",
                          "policy": {"credential_types": ["iam_user"]}, "is_sts": false});
    let resp = env
        .tb
        .renew("creds/dev", lease(internal.clone()), JsonMap::new())
        .await
        .expect("renew")
        .expect("a response");
    let secret = resp.secret.expect("secret");
    assert_eq!(
        (secret.lease_options.ttl, secret.lease_options.max_ttl),
        (Duration::ZERO, Duration::ZERO),
        "no config/lease: the mount's TTLs"
    );

    env.tb
        .write("config/lease", json!({"lease": "1h", "lease_max": "2h"}))
        .await
        .expect("config/lease");
    let resp = env
        .tb
        .renew("creds/dev", lease(internal.clone()), JsonMap::new())
        .await
        .expect("renew")
        .expect("a response");
    let secret = resp.secret.expect("secret");
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(3600));
    assert_eq!(secret.lease_options.max_ttl, Duration::from_secs(7200));
    assert_eq!(Value::Object(secret.internal_data), internal);
    env.assert_no_aws();
}

/// OpenBao's Raft standbys serve requests themselves and forward one to the active node
/// only when it fails with "cannot write to readonly storage". Credential requests and
/// rotate-root call AWS before anything is stored, so on a performance standby they must
/// fail that way before any AWS call, or the standby would make credentials (or a root
/// key) that it then cannot record.
#[tokio::test]
async fn a_performance_standby_forwards_credentials_and_rotate_root_before_calling_aws() {
    use vault_plugin_secrets_aws_rs::logical::READ_ONLY_STORAGE;
    let standby = StaticSystemView {
        replication_state: 1 << 14,
        ..StaticSystemView::default()
    };
    let e = env_with(standby).await;
    e.full_setup().await;
    e.role(
        "assumer",
        json!({"credential_type": "assumed_role", "role_arns": ["arn:aws:iam::123456789012:role/x"]}),
    )
    .await;
    let forwarded = Err(Error::Internal(READ_ONLY_STORAGE.to_string()));
    assert_eq!(e.tb.read("creds/deploy").await, forwarded);
    assert_eq!(e.tb.read("sts/assumer").await, forwarded);
    assert_eq!(e.tb.write("sts/assumer", json!({})).await, forwarded);
    assert_eq!(e.tb.write("config/rotate-root", json!({})).await, forwarded);
    e.assert_no_aws();
    // Reads of configuration are served by the standby itself.
    let role =
        e.tb.read("roles/assumer")
            .await
            .expect("read")
            .expect("role");
    let data = role.data.unwrap_or_default();
    assert!(data.contains_key("role_arns"), "{data:?}");
}
