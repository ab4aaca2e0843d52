//! "Who did it" (issue #7, part A): the identity templates of STS roles
//! (`session_name_template`, `source_identity_template`, `session_tag_templates`,
//! `transitive_tag_keys`), driven through the engine with the recording STS fake and a
//! static system view holding the requester's entity and groups. Covers every template
//! field, the fallback for tokens without an entity, AWS's limits, the write-time
//! checks (400 naming the field, nothing stored), the read and stored shapes, the lease's
//! audit keys and the debug line tying the request ID to them.

mod engine_env;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

use engine_env::{
    Env, assert_default_name, assert_role_writes_refused, env, env_with, error_of, issued,
};
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws::api::AssumeRoleInput;
use vault_plugin_secrets_aws_rs::framework::testing::json_map;
use vault_plugin_secrets_aws_rs::logical::{
    Alias, Entity, Error, Group, Operation, Response, StaticSystemView,
};

const EC2_ADMIN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
const ALICE_ID: &str = "7d2e3f4a-0000-4000-8000-00000000a11c";

/// The system view of a mount where alice (userpass alias, metadata, two groups) exists.
fn with_alice() -> StaticSystemView {
    let alice = Entity {
        id: ALICE_ID.into(),
        name: "alice".into(),
        metadata: HashMap::from([
            ("team".into(), "platform".into()),
            ("cost_center".into(), "cc-42".into()),
        ]),
        aliases: vec![Alias {
            mount_type: "userpass".into(),
            mount_accessor: "auth_userpass_1a2b3c4d".into(),
            name: "alice.up".into(),
            custom_metadata: HashMap::from([("site".into(), "ber".into())]),
            ..Alias::default()
        }],
        ..Entity::default()
    };
    let groups = vec![
        Group {
            name: "ops".into(),
            ..Group::default()
        },
        Group {
            name: "dev".into(),
            ..Group::default()
        },
    ];
    StaticSystemView {
        entities: HashMap::from([(ALICE_ID.to_string(), alice)]),
        groups: HashMap::from([(ALICE_ID.to_string(), groups)]),
        ..StaticSystemView::default()
    }
}

/// `sts/<role>` requested by a token of `entity_id` (empty: no entity) named `display`.
async fn sts_as(
    env: &Env,
    role: &str,
    entity_id: &str,
    display: &str,
    body: Value,
) -> Result<Option<Response>, Error> {
    let mut req = env.tb.request(
        Operation::Update,
        &format!("sts/{role}"),
        json_map(body).expect("map"),
    );
    req.entity_id = entity_id.to_string();
    req.display_name = display.to_string();
    env.tb.handle(req).await
}

fn full_identity_role() -> Value {
    json!({
        "credential_type": "assumed_role",
        "role_arns": EC2_ADMIN,
        "session_name_template": "{{ .EntityName }}-{{ .RoleName }}",
        "source_identity_template": "{{ .AliasName }}",
        "session_tags": {"env": "prod"},
        "session_tag_templates": {
            "team": "{{ .EntityMetadata.team }}",
            "cost": "{{ .EntityMetadata.cost_center }}",
            "site": "{{ .AliasMetadata.site }}",
            "userpass": "{{ .Aliases.auth_userpass_1a2b3c4d }}",
            "groups": "{{ .Groups }}",
            "entity": "{{ .EntityID }}",
            "who": "{{ .DisplayName }} as {{ .Type }}",
            "missing": "{{ .EntityMetadata.nope }}"
        },
        "transitive_tag_keys": "team,env,missing"
    })
}

#[tokio::test]
async fn every_template_field_renders_from_the_entity() {
    let env = env_with(with_alice()).await;
    env.role("ec2-admin", full_identity_role()).await;
    let (data, secret) =
        issued(sts_as(&env, "ec2-admin", ALICE_ID, "userpass-alice", json!({})).await);

    let inputs = env.assume_role_inputs();
    assert_eq!(
        inputs,
        vec![AssumeRoleInput {
            role_arn: EC2_ADMIN.into(),
            role_session_name: "alice-ec2-admin".into(),
            duration: Some(std::time::Duration::from_secs(3600)),
            tags: BTreeMap::from(
                [
                    ("env", "prod"),
                    ("team", "platform"),
                    ("cost", "cc-42"),
                    ("site", "ber"),
                    ("userpass", "alice.up"),
                    // `,` is not allowed in tag values: replaced.
                    ("groups", "dev_ops"),
                    ("entity", ALICE_ID),
                    ("who", "userpass-alice as IAM"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            source_identity: Some("alice.up".into()),
            // `missing` rendered empty, so its tag and transitive key are left out.
            transitive_tag_keys: vec!["team".into(), "env".into()],
            ..AssumeRoleInput::default()
        }]
    );
    // The lease keeps the Go engine's keys and adds who the credentials were issued as.
    let arn = "arn:aws:sts::123456789012:assumed-role/ec2-admin/alice-ec2-admin";
    assert_eq!(data["arn"], json!(arn));
    assert_eq!(
        Value::Object(secret.internal_data.clone()),
        json!({
            "secret_type": "access_keys",
            "username": "alice-ec2-admin",
            "policy": EC2_ADMIN,
            "is_sts": true,
            "principal_arn": arn,
            "access_key_id": data["access_key"],
            "source_identity": "alice.up",
        })
    );
}

#[tokio::test]
async fn a_token_without_an_entity_falls_back_to_the_display_name() {
    let env = env_with(with_alice()).await;
    env.role("ec2-admin", full_identity_role()).await;
    // A root token (no entity), and a token whose entity the host does not know.
    for entity_id in ["", "deleted-entity"] {
        issued(sts_as(&env, "ec2-admin", entity_id, "root", json!({})).await);
    }
    for input in env.assume_role_inputs() {
        assert_eq!(input.role_session_name, "root-ec2-admin");
        assert_eq!(input.source_identity.as_deref(), Some("root"));
        assert_eq!(
            input.tags,
            BTreeMap::from(
                [("env", "prod"), ("who", "root as IAM")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            ),
            "empty values are left out"
        );
        assert_eq!(input.transitive_tag_keys, vec!["env"]);
    }
}

#[tokio::test]
async fn without_templates_the_default_session_name_and_no_identity_lookup() {
    let env = env().await;
    env.role(
        "plain",
        json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN, "session_tags": "a=b"}),
    )
    .await;
    let (_, secret) = issued(sts_as(&env, "plain", ALICE_ID, "token", json!({})).await);
    let input = &env.assume_role_inputs()[0];
    assert_default_name(&input.role_session_name, "plain");
    assert_eq!(input.source_identity, None);
    assert!(input.transitive_tag_keys.is_empty());
    assert_eq!(
        input.tags,
        BTreeMap::from([("a".to_string(), "b".to_string())])
    );
    assert!(secret.internal_data.get("source_identity").is_none());
    assert!(secret.internal_data["principal_arn"].as_str().is_some());
}

#[tokio::test]
async fn rendered_values_are_fitted_to_aws_limits() {
    let env = env_with(with_alice()).await;
    env.role(
        "long",
        json!({
            "credential_type": "assumed_role",
            "role_arns": EC2_ADMIN,
            "session_name_template": "{{ .EntityName }} / {{ .Groups }} / {{ random 100 }}",
            "source_identity_template": "{{ .DisplayName }}:{{ .EntityID }}",
            "session_tag_templates": {"long": "{{ random 300 }}", "odd": "a#b*c{{ .EntityName }}"}
        }),
    )
    .await;
    issued(sts_as(&env, "long", ALICE_ID, "oidc/alice doe", json!({})).await);
    let input = &env.assume_role_inputs()[0];
    assert_eq!(input.role_session_name.len(), 64);
    assert!(
        input.role_session_name.starts_with("alice___dev,ops___"),
        "{}",
        input.role_session_name
    );
    let source = input.source_identity.as_deref().expect("source identity");
    assert_eq!(
        source,
        format!("oidc_alice_doe_{ALICE_ID}")
            .chars()
            .take(64)
            .collect::<String>()
    );
    assert_eq!(input.tags["long"].chars().count(), 256);
    assert_eq!(input.tags["odd"], "a_b_calice");
}

#[tokio::test]
async fn renders_too_short_for_aws_are_refused_naming_the_template() {
    let env = env_with(with_alice()).await;
    env.role(
        "short",
        json!({
            "credential_type": "assumed_role",
            "role_arns": EC2_ADMIN,
            "source_identity_template": "{{ .EntityMetadata.team | truncate 1 }}",
        }),
    )
    .await;
    let err = error_of(sts_as(&env, "short", ALICE_ID, "token", json!({})).await);
    assert!(
        err.starts_with(r#"source_identity_template rendered "p" for this requester, but AWS needs 2 to 64 characters"#),
        "{err}"
    );
    env.assert_no_aws();
}

#[tokio::test]
async fn a_caller_cannot_override_a_templated_session_name() {
    let env = env_with(with_alice()).await;
    env.role("ec2-admin", full_identity_role()).await;
    let err = error_of(
        sts_as(
            &env,
            "ec2-admin",
            ALICE_ID,
            "token",
            json!({"role_session_name": "not-alice"}),
        )
        .await,
    );
    assert!(
        err.starts_with(
            r#"role_session_name cannot be given: role "ec2-admin" sets session_name_template"#
        ),
        "{err}"
    );
    env.assert_no_aws();
}

#[tokio::test]
async fn federation_tokens_get_a_templated_name_of_at_most_32() {
    let env = env_with(with_alice()).await;
    env.role(
        "fed",
        json!({
            "credential_type": "federation_token",
            "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "session_name_template": "{{ .EntityName }}-{{ .Type }}-{{ random 40 }}",
        }),
    )
    .await;
    let (_, secret) = issued(sts_as(&env, "fed", ALICE_ID, "token", json!({})).await);
    let inputs = env.fakes.fake_sts().federation_token_inputs();
    assert_eq!(inputs[0].name.len(), 32);
    assert!(
        inputs[0].name.starts_with("alice-STS-"),
        "{}",
        inputs[0].name
    );
    assert!(
        secret.internal_data["principal_arn"]
            .as_str()
            .expect("federated user ARN")
            .contains(":federated-user/alice-STS-")
    );
}

#[tokio::test]
async fn role_writes_check_the_identity_fields_and_store_nothing_when_wrong() {
    let env = env().await;
    let base = json!({"credential_type": "assumed_role", "role_arns": EC2_ADMIN});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"session_name_template": "{{ .Nope }}"}),
            "session_name_template cannot be rendered: line 1: can't evaluate field Nope",
        ),
        (
            json!({"source_identity_template": "{{ if }}"}),
            "source_identity_template is not a valid template",
        ),
        (
            json!({"session_tag_templates": {"team": "{{ nope }}"}}),
            "session_tag_templates[team] is not a valid template",
        ),
        (
            json!({"session_tag_templates": {"aws:team": "x"}}),
            r#"session_tag_templates key \"aws:team\" is invalid"#,
        ),
        (
            json!({"session_tag_templates": {"te#am": "x"}}),
            r#"may only contain letters"#,
        ),
        (
            json!({"session_tags": "Team=x", "session_tag_templates": {"team": "{{ .EntityName }}"}}),
            r#"session_tag_templates key \"team\" is also a key of session_tags"#,
        ),
        (
            json!({"transitive_tag_keys": "team"}),
            r#"transitive_tag_keys entry \"team\" is not a key of session_tags or session_tag_templates"#,
        ),
        (
            json!({"session_tags": (0..30).map(|i| format!("s{i}=v")).collect::<Vec<_>>(), "session_tag_templates": (0..21).map(|i| (format!("t{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            "together have 51 tags; AWS allows at most 50",
        ),
    ];
    assert_role_writes_refused(&env, &base, &cases).await;
    let err = error_of(
        env.tb
            .write(
                "roles/u",
                json!({"credential_type": "iam_user", "source_identity_template": "{{ .EntityName }}", "session_name_template": "x{{ .EntityName }}"}),
            )
            .await,
    );
    assert!(
        err.contains(
            "cannot supply source_identity_template when credential_type isn't assumed_role"
        ),
        "{err}"
    );
    assert!(err.contains("session_name_template parameter only valid for assumed_role and federation_token credential types"), "{err}");
}

#[tokio::test]
async fn read_shows_the_fields_storage_is_snake_case_and_old_roles_still_issue() {
    let env = env().await;
    env.role("ec2-admin", full_identity_role()).await;
    let data = env
        .tb
        .read("roles/ec2-admin")
        .await
        .expect("read")
        .expect("role")
        .data
        .expect("data");
    assert_eq!(
        data["session_name_template"],
        json!("{{ .EntityName }}-{{ .RoleName }}")
    );
    assert_eq!(data["source_identity_template"], json!("{{ .AliasName }}"));
    assert_eq!(
        data["session_tag_templates"]["team"],
        json!("{{ .EntityMetadata.team }}")
    );
    assert_eq!(
        data["transitive_tag_keys"],
        json!(["team", "env", "missing"])
    );
    let stored = env.stored_role("ec2-admin").await;
    for key in [
        "session_name_template",
        "source_identity_template",
        "session_tag_templates",
        "transitive_tag_keys",
    ] {
        assert!(stored.get(key).is_some(), "{key} not stored: {stored}");
    }
    // Clearing a template by writing it empty.
    env.role("ec2-admin", json!({"session_name_template": ""}))
        .await;
    assert!(
        env.stored_role("ec2-admin")
            .await
            .get("session_name_template")
            .is_none()
    );

    // A role stored by the Go engine (no identity fields) reads and issues as before.
    use vault_plugin_secrets_aws_rs::logical::{Storage, StorageEntry};
    let go = r#"{"credential_types":["assumed_role"],"policy_arns":null,"role_arns":["arn:aws:iam::123456789012:role/ec2-admin"],"policy_document":"","iam_groups":null,"iam_tags":null,"session_tags":null,"external_id":"","version":0,"default_sts_ttl":0,"max_sts_ttl":0,"user_path":"","permissions_boundary_arn":"","mfa_serial_number":""}"#;
    env.tb
        .storage()
        .put(StorageEntry {
            key: "role/old".into(),
            value: go.as_bytes().to_vec(),
            seal_wrap: false,
        })
        .await
        .expect("put");
    let data = env
        .tb
        .read("roles/old")
        .await
        .expect("read")
        .expect("role")
        .data
        .expect("data");
    assert_eq!(data["session_tag_templates"], json!({}));
    issued(sts_as(&env, "old", "", "token", json!({})).await);
    assert_default_name(
        &env.assume_role_inputs()
            .last()
            .expect("call")
            .role_session_name,
        "old",
    );
}

/// Captures what the engine logs while `f` runs on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_debug_line_ties_the_request_id_to_the_principal_without_secrets() {
    let env = env_with(with_alice()).await;
    env.role("ec2-admin", full_identity_role()).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let mut req = env
        .tb
        .request(Operation::Update, "sts/ec2-admin", Default::default());
    req.entity_id = ALICE_ID.into();
    let request_id = req.id.clone();
    let resp = {
        let _guard = tracing::subscriber::set_default(subscriber);
        env.tb.handle(req).await
    };
    let (data, _) = issued(resp);
    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    let line = log
        .lines()
        .find(|l| l.contains("issued STS credentials"))
        .unwrap_or_else(|| panic!("no issuance line in {log}"));
    assert!(line.contains(&request_id), "{line}");
    assert!(
        line.contains("assumed-role/ec2-admin/alice-ec2-admin"),
        "{line}"
    );
    assert!(
        line.contains(data["access_key"].as_str().expect("key id")),
        "{line}"
    );
    assert!(line.contains(r#"source_identity="alice.up""#), "{line}");
    for secret in ["secret_key", "session_token"] {
        let value = data[secret].as_str().expect("secret");
        assert!(!log.contains(value), "{secret} logged");
    }
}
