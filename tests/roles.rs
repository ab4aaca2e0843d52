//! `roles/` and `roles/<name>` driven through the engine's factory with the framework's
//! `TestBackend`, as the host would drive them: create, read, list, partial update,
//! clearing, delete, the legacy `policy/<name>` upgrade (and when it is persisted), every
//! bad input from the issue answered with one 400 naming the problem while nothing is
//! stored, the existence check, concurrent writes, and help/OpenAPI.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws;
use vault_plugin_secrets_aws_rs::framework::testing::{TestBackend, json_map};
use vault_plugin_secrets_aws_rs::logical::{
    BackendConfig, Error, InMemoryStorage, JsonMap, Operation, Request, Response, StaticSystemView,
    Storage, StorageEntry,
};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
const OTHER_ARN: &str = "arn:aws:iam::123456789012:role/ec2-reader";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/Boundary";

/// Vault's replication state bits (sdk/helper/consts/replication.go).
const PERF_SECONDARY: u32 = 1 << 6;
const PERF_STANDBY: u32 = 1 << 14;

async fn engine() -> TestBackend {
    TestBackend::new(&aws::factory()).await.expect("mount")
}

async fn engine_with(system: StaticSystemView) -> TestBackend {
    TestBackend::with_system_view(&aws::factory(), system)
        .await
        .expect("mount")
}

fn data(resp: Option<Response>) -> Value {
    Value::Object(resp.expect("a response").data.expect("data"))
}

fn error_of(resp: Option<Response>) -> String {
    resp.expect("a response")
        .error_message()
        .expect("an error response")
        .to_string()
}

async fn stored(tb: &TestBackend, key: &str) -> Option<String> {
    let entry = tb.storage().get(key).await.expect("storage");
    entry.map(|e| String::from_utf8(e.value).expect("utf-8"))
}

async fn put_raw(tb: &TestBackend, key: &str, value: &str) {
    tb.storage()
        .put(StorageEntry {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            seal_wrap: false,
        })
        .await
        .expect("put");
}

async fn read_role(tb: &TestBackend, name: &str) -> Value {
    data(tb.read(&format!("roles/{name}")).await.expect("read"))
}

async fn write_ok(tb: &TestBackend, name: &str, body: Value) {
    let resp = tb
        .write(&format!("roles/{name}"), body.clone())
        .await
        .expect("write");
    assert_eq!(resp, None, "204 for {body}");
}

/// The read response of a role with nothing set but `credential_type`.
fn blank(credential_type: &str) -> Value {
    json!({
        "credential_type": credential_type,
        "policy_arns": [], "role_arns": [], "policy_document": "",
        "iam_groups": [], "iam_tags": {}, "session_tags": {}, "external_id": "",
        "default_sts_ttl": 0, "max_sts_ttl": 0, "user_path": "",
        "permissions_boundary_arn": "", "mfa_serial_number": "",
        "ttl": 0, "max_ttl": 0, "wait_for_propagation": false,
        "session_name_template": "", "source_identity_template": "",
        "session_tag_templates": {}, "transitive_tag_keys": [],
        "role_arn_template": "", "allowed_accounts": [], "organization_accounts": false,
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("object") {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn the_tutorial_role_round_trips() {
    let tb = engine().await;
    write_ok(
        &tb,
        "ec2-admin",
        json!({"role_arns": ROLE_ARN, "credential_type": "assumed_role"}),
    )
    .await;
    assert_eq!(
        read_role(&tb, "ec2-admin").await,
        with(blank("assumed_role"), json!({"role_arns": [ROLE_ARN]}))
    );
    assert_eq!(
        stored(&tb, "role/ec2-admin").await.as_deref(),
        Some(concat!(
            r#"{"credential_types":["assumed_role"],"policy_arns":[],"#,
            r#""role_arns":["arn:aws:iam::123456789012:role/ec2-admin"],"policy_document":"","#,
            r#""iam_groups":[],"iam_tags":{},"session_tags":{},"external_id":"","version":0,"#,
            r#""default_sts_ttl":0,"max_sts_ttl":0,"user_path":"","permissions_boundary_arn":"","#,
            r#""mfa_serial_number":""}"#
        )),
        "the Go engine's shape, so a mount can switch binaries"
    );
    assert_eq!(
        data(tb.list("roles").await.expect("list")),
        json!({"keys": ["ec2-admin"]})
    );
    assert_eq!(tb.delete("roles/ec2-admin").await, Ok(None));
    assert_eq!(
        tb.read("roles/ec2-admin").await,
        Ok(None),
        "404 once deleted"
    );
    assert!(tb.storage().keys().is_empty());
}

#[tokio::test]
async fn every_field_is_written_and_read_back() {
    let tb = engine().await;
    write_ok(
        &tb,
        "dev@team.example",
        json!({
            "credential_type": "iam_user",
            "policy_arns": [READ_ONLY],
            "policy_document": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}",
            "iam_groups": "dev, ops",
            "iam_tags": ["team=dev", "cost=42"],
            "user_path": "/vault/",
            "permissions_boundary_arn": BOUNDARY,
            "ttl": "1h",
            "max_ttl": 7200,
            "wait_for_propagation": true,
        }),
    )
    .await;
    assert_eq!(
        read_role(&tb, "dev@team.example").await,
        with(
            blank("iam_user"),
            json!({
                "policy_arns": [READ_ONLY],
                "policy_document": r#"{"Version":"2012-10-17","Statement":[]}"#,
                "iam_groups": ["dev", "ops"],
                "iam_tags": {"cost": "42", "team": "dev"},
                "user_path": "/vault/",
                "permissions_boundary_arn": BOUNDARY,
                "ttl": 3600, "max_ttl": 7200, "wait_for_propagation": true,
            })
        )
    );
    write_ok(
        &tb,
        "sts",
        json!({
            "credential_type": "assumed_role",
            "role_arns": [ROLE_ARN, OTHER_ARN],
            "session_tags": {"project": "x"},
            "external_id": "ext-1",
            "default_sts_ttl": "15m",
            "max_sts_ttl": "1h",
        }),
    )
    .await;
    assert_eq!(
        read_role(&tb, "sts").await,
        with(
            blank("assumed_role"),
            json!({
                "role_arns": [ROLE_ARN, OTHER_ARN],
                "session_tags": {"project": "x"},
                "external_id": "ext-1",
                "default_sts_ttl": 900, "max_sts_ttl": 3600,
            })
        )
    );
    write_ok(
        &tb,
        "mfa",
        json!({"credential_type": "session_token", "mfa_serial_number": "arn:aws:iam::123456789012:mfa/me"}),
    )
    .await;
    assert_eq!(
        read_role(&tb, "mfa").await["mfa_serial_number"],
        json!("arn:aws:iam::123456789012:mfa/me")
    );
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_names() {
    let tb = engine().await;
    write_ok(
        &tb,
        "dev",
        json!({
            "credential_type": "iam_user",
            "policy_arns": READ_ONLY,
            "iam_groups": "dev",
            "iam_tags": {"team": "dev"},
        }),
    )
    .await;
    let before = read_role(&tb, "dev").await;
    write_ok(&tb, "dev", json!({"iam_groups": "dev,ops"})).await;
    assert_eq!(
        read_role(&tb, "dev").await,
        with(before.clone(), json!({"iam_groups": ["dev", "ops"]}))
    );
    // The credential type itself can change; fields valid for both types stay.
    write_ok(
        &tb,
        "dev",
        json!({"credential_type": "federation_token", "iam_tags": {}}),
    )
    .await;
    assert_eq!(
        read_role(&tb, "dev").await,
        with(
            before,
            json!({"credential_type": "federation_token", "iam_groups": ["dev", "ops"], "iam_tags": {}})
        )
    );
}

#[tokio::test]
async fn fields_are_cleared_by_writing_them_empty() {
    let tb = engine().await;
    write_ok(
        &tb,
        "x",
        json!({
            "credential_type": "assumed_role",
            "role_arns": ROLE_ARN,
            "external_id": "ext-1",
            "session_tags": "k=v",
            "policy_document": r#"{"Version":"2012-10-17"}"#,
            "iam_groups": "g",
            "max_sts_ttl": "2h",
        }),
    )
    .await;
    // What the CLI sends for `external_id= session_tags= ...`.
    write_ok(
        &tb,
        "x",
        json!({
            "external_id": "",
            "session_tags": "",
            "policy_document": "",
            "iam_groups": "",
            "max_sts_ttl": 0,
        }),
    )
    .await;
    assert_eq!(
        read_role(&tb, "x").await,
        with(blank("assumed_role"), json!({"role_arns": [ROLE_ARN]})),
        "external_id too, which Vault cannot clear"
    );
}

#[tokio::test]
async fn the_existence_check_tells_create_from_update() {
    let tb = engine().await;
    let check = tb
        .existence_check("roles/r", json!({}))
        .await
        .expect("check");
    assert!(check.check_found && !check.exists, "absent: create");
    write_ok(&tb, "r", json!({"credential_type": "iam_user"})).await;
    let check = tb
        .existence_check("roles/r", json!({}))
        .await
        .expect("check");
    assert!(check.check_found && check.exists, "present: update");
    put_raw(&tb, "policy/old", READ_ONLY).await;
    let check = tb
        .existence_check("roles/old", json!({}))
        .await
        .expect("check");
    assert!(check.exists, "a legacy entry is an existing role");

    // Both operations reach the same handler, so a host's choice never matters.
    for (op, name) in [(Operation::Create, "c"), (Operation::Update, "u")] {
        let body = json_map(json!({"credential_type": "iam_user"})).expect("map");
        let req = tb.request(op.clone(), &format!("roles/{name}"), body);
        assert_eq!(tb.handle(req).await, Ok(None), "{op:?}");
        assert_eq!(read_role(&tb, name).await, blank("iam_user"));
    }
}

#[tokio::test]
async fn list_merges_roles_and_legacy_entries_sorted_once() {
    let tb = engine().await;
    assert_eq!(
        data(tb.list("roles").await.expect("list")),
        json!({}),
        "no keys at all when empty, as the Go SDK (the host answers 404)"
    );
    write_ok(&tb, "b", json!({"credential_type": "iam_user"})).await;
    write_ok(&tb, "a@x", json!({"credential_type": "iam_user"})).await;
    put_raw(&tb, "policy/c", READ_ONLY).await;
    put_raw(&tb, "policy/b", READ_ONLY).await;
    assert_eq!(
        data(tb.list("roles").await.expect("list")),
        json!({"keys": ["a@x", "b", "c"]})
    );
    assert_eq!(
        data(tb.list("roles/").await.expect("list with slash")),
        json!({"keys": ["a@x", "b", "c"]})
    );
}

#[tokio::test]
async fn legacy_entries_are_upgraded_on_read_and_persisted() {
    let tb = engine().await;
    put_raw(&tb, "policy/arn-role", ROLE_ARN).await;
    put_raw(&tb, "policy/arn-policy", READ_ONLY).await;
    put_raw(&tb, "policy/doc", "{ \"Version\": \"2012-10-17\" }").await;
    put_raw(&tb, "policy/junk", "not a policy").await;

    assert_eq!(
        read_role(&tb, "arn-role").await,
        with(blank("assumed_role"), json!({"role_arns": [ROLE_ARN]}))
    );
    assert_eq!(
        read_role(&tb, "arn-policy").await,
        with(blank("iam_user"), json!({"policy_arns": [READ_ONLY]}))
    );
    assert_eq!(
        read_role(&tb, "doc").await,
        with(
            blank("iam_user,federation_token"),
            json!({"policy_document": r#"{"Version":"2012-10-17"}"#})
        )
    );
    assert_eq!(
        read_role(&tb, "junk").await,
        with(blank(""), json!({"invalid_data": "not a policy"}))
    );
    assert_eq!(
        tb.storage().keys(),
        vec!["role/arn-policy", "role/arn-role", "role/doc", "role/junk"],
        "every upgrade stored under role/ and the legacy entry removed"
    );
    let upgraded: Value =
        serde_json::from_str(&stored(&tb, "role/arn-role").await.expect("stored")).expect("json");
    assert_eq!(upgraded["version"], json!(1));
    assert_eq!(upgraded["prohibit_flexible_cred_path"], json!(true));
    assert_eq!(tb.read("roles/none").await, Ok(None), "404 when absent");
}

#[tokio::test]
async fn legacy_upgrades_are_not_persisted_where_this_node_cannot_write() {
    let cases = [
        (PERF_STANDBY, false, false),
        (PERF_STANDBY, true, false),
        (PERF_SECONDARY, false, false),
        (PERF_SECONDARY, true, true),
        (PERF_SECONDARY | PERF_STANDBY, true, false),
        (0, false, true),
    ];
    for (replication_state, local_mount, persisted) in cases {
        let tb = engine_with(StaticSystemView {
            replication_state,
            local_mount,
            ..StaticSystemView::default()
        })
        .await;
        put_raw(&tb, "policy/old", ROLE_ARN).await;
        assert_eq!(
            read_role(&tb, "old").await,
            with(blank("assumed_role"), json!({"role_arns": [ROLE_ARN]})),
            "served either way"
        );
        let want = if persisted {
            vec!["role/old"]
        } else {
            vec!["policy/old"]
        };
        assert_eq!(
            tb.storage().keys(),
            want,
            "state {replication_state:#x}, local {local_mount}"
        );
    }
}

#[tokio::test]
async fn writing_a_legacy_role_upgrades_it_once() {
    let tb = engine().await;
    put_raw(&tb, "policy/old", ROLE_ARN).await;
    write_ok(&tb, "old", json!({"external_id": "ext"})).await;
    assert_eq!(tb.storage().keys(), vec!["role/old"]);
    assert_eq!(
        read_role(&tb, "old").await,
        with(
            blank("assumed_role"),
            json!({"role_arns": [ROLE_ARN], "external_id": "ext"})
        )
    );
    let stored: Value =
        serde_json::from_str(&stored(&tb, "role/old").await.expect("stored")).expect("json");
    assert_eq!(
        stored.get("prohibit_flexible_cred_path"),
        None,
        "a write with new parameters lifts the legacy path restriction"
    );

    put_raw(&tb, "policy/junk", "garbage").await;
    let resp = tb
        .write("roles/junk", json!({"credential_type": "iam_user"}))
        .await
        .expect("write")
        .expect("warnings");
    assert_eq!(
        resp.warnings,
        vec![r#"Invalid data of "garbage" cleared out of role"#]
    );
    assert_eq!(resp.data, None);
    assert_eq!(read_role(&tb, "junk").await, blank("iam_user"));
}

#[tokio::test]
async fn legacy_parameters_are_upgraded_with_a_warning() {
    let tb = engine().await;
    let resp = tb
        .write("roles/old", json!({"arn": READ_ONLY}))
        .await
        .expect("write")
        .expect("warnings");
    assert_eq!(
        resp.warnings,
        vec![
            "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
        ]
    );
    assert_eq!(
        read_role(&tb, "old").await,
        with(blank("iam_user"), json!({"policy_arns": [READ_ONLY]}))
    );
}

#[tokio::test]
async fn deleting_removes_the_role_and_its_legacy_entry() {
    let tb = engine().await;
    write_ok(&tb, "r", json!({"credential_type": "iam_user"})).await;
    put_raw(&tb, "policy/r", ROLE_ARN).await;
    put_raw(&tb, "policy/legacy-only", ROLE_ARN).await;
    assert_eq!(tb.delete("roles/r").await, Ok(None));
    assert_eq!(tb.delete("roles/legacy-only").await, Ok(None));
    assert!(tb.storage().keys().is_empty(), "{:?}", tb.storage().keys());
    assert_eq!(tb.read("roles/r").await, Ok(None));
    assert_eq!(
        tb.delete("roles/r").await,
        Ok(None),
        "deleting twice is fine"
    );
}

/// Each bad input from the issue and aws-engine.md §6, with the Go engine's message.
fn bad_inputs() -> Vec<(Value, String)> {
    let validating = |problems: &str| {
        format!(
            "error(s) validating supplied role data: \"1 error occurred:\\n\\t* {problems}\\n\\n\""
        )
    };
    vec![
        (
            json!({"credential_type": "bogus"}),
            validating("unrecognized credential type: bogus"),
        ),
        (
            json!({"credential_type": "iam_user", "policy_document": "not json {"}),
            r#"cannot parse policy document: "not json {""#.to_string(),
        ),
        (
            json!({"credential_type": "iam_user", "role_arns": ROLE_ARN}),
            validating("cannot supply role_arns when credential_type isn't assumed_role"),
        ),
        (
            json!({"credential_type": "iam_user", "default_sts_ttl": "1h"}),
            validating(
                "default_sts_ttl parameter only valid for assumed_role, federation_token, and session_token credential types",
            ),
        ),
        (
            json!({"credential_type": "assumed_role", "default_sts_ttl": "2h", "max_sts_ttl": "1h"}),
            validating(
                r#"\"default_sts_ttl\" value must be less than or equal to \"max_sts_ttl\" value"#,
            ),
        ),
        (
            json!({"iam_groups": "g"}),
            validating("did not supply credential_type"),
        ),
        (
            json!({"credential_type": "session_token", "policy_arns": READ_ONLY}),
            validating("cannot supply a policy or role when using credential_type session_token"),
        ),
        (
            json!({"credential_type": "iam_user", "user_path": "no-slashes"}),
            validating(
                r#"the specified value for user_path is invalid. It must match \"^\\\\/([\\\\x21-\\\\x7F]{0,510}\\\\/)?$\" regexp"#,
            ),
        ),
        (
            json!({"policy": r#"{"Version":"2012-10-17"}"#, "credential_type": "iam_user"}),
            "cannot supply deprecated role or policy parameters (arn, policy) with an explicit credential_type"
                .to_string(),
        ),
    ]
}

#[tokio::test]
async fn bad_inputs_are_one_400_naming_the_problem_and_store_nothing() {
    let tb = engine().await;
    for (body, want) in bad_inputs() {
        let resp = tb
            .write("roles/bad", body.clone())
            .await
            .expect("an error response, not an Err");
        assert_eq!(error_of(resp), want, "{body}");
        assert!(tb.storage().keys().is_empty(), "stored after {body}");
    }
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let tb = engine().await;
    let resp = tb
        .write(
            "roles/bad",
            json!({
                "credential_type": "iam_user",
                "role_arns": ROLE_ARN,
                "external_id": "e",
                "session_tags": "k=v",
                "max_sts_ttl": "1h",
            }),
        )
        .await
        .expect("write");
    assert_eq!(
        error_of(resp),
        "error(s) validating supplied role data: \"4 errors occurred:\\n\\t\
         * max_sts_ttl parameter only valid for assumed_role, federation_token, and session_token credential types\\n\\t\
         * cannot supply role_arns when credential_type isn't assumed_role\\n\\t\
         * cannot supply session_tags when credential_type isn't assumed_role\\n\\t\
         * cannot supply external_id when credential_type isn't assumed_role\\n\\n\""
    );
    assert!(tb.storage().keys().is_empty());
}

#[tokio::test]
async fn a_rejected_update_leaves_the_stored_role_untouched() {
    let tb = engine().await;
    write_ok(
        &tb,
        "r",
        json!({"credential_type": "iam_user", "iam_groups": "g"}),
    )
    .await;
    let before = stored(&tb, "role/r").await;
    for body in [
        json!({"role_arns": ROLE_ARN, "iam_groups": "other"}),
        json!({"policy_document": "{", "iam_groups": "other"}),
        json!({"credential_type": "nope"}),
    ] {
        let resp = tb.write("roles/r", body.clone()).await.expect("write");
        assert!(resp.expect("response").is_error(), "{body}");
        assert_eq!(stored(&tb, "role/r").await, before, "{body}");
    }
    // A rejected write on a legacy role does not persist the upgrade either.
    put_raw(&tb, "policy/old", ROLE_ARN).await;
    let resp = tb
        .write("roles/old", json!({"user_path": "/x/"}))
        .await
        .expect("write");
    assert!(resp.expect("response").is_error());
    assert_eq!(stored(&tb, "policy/old").await.as_deref(), Some(ROLE_ARN));
    assert_eq!(stored(&tb, "role/old").await, None);
}

#[tokio::test]
async fn unconvertible_values_are_user_errors_naming_the_field() {
    let tb = engine().await;
    for (body, want) in [
        (
            json!({"credential_type": "assumed_role", "max_sts_ttl": "abc"}),
            r#"error converting input abc for field "max_sts_ttl": time: invalid duration "abc""#,
        ),
        (
            json!({"credential_type": "iam_user", "iam_tags": ["novalue"]}),
            r#"error converting input [novalue] for field "iam_tags": invalid key pair "novalue""#,
        ),
    ] {
        // The host's existence check validates first: a 400 with this message.
        assert_eq!(
            tb.write("roles/r", body.clone()).await,
            Err(Error::User(want.to_string())),
            "{body}"
        );
        let req = tb.request(Operation::Create, "roles/r", json_map(body).expect("map"));
        let resp = tb.handle(req).await.expect("response");
        assert_eq!(error_of(resp), format!("Field validation failed: {want}"));
    }
    assert!(tb.storage().keys().is_empty());
}

#[tokio::test]
async fn names_follow_vaults_pattern() {
    let tb = engine().await;
    for bad in ["roles/-x", "roles/a/b", "roles/x.", "roles/sp ace"] {
        assert_eq!(
            tb.write(bad, json!({"credential_type": "iam_user"})).await,
            Err(Error::UnsupportedPath),
            "{bad}"
        );
    }
    assert!(tb.storage().keys().is_empty());
}

/// Storage that yields to the scheduler on every call, so concurrent requests interleave
/// between a role's read and its write unless something serialises them.
#[derive(Default)]
struct YieldingStorage(InMemoryStorage);

#[async_trait]
impl Storage for YieldingStorage {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        tokio::task::yield_now().await;
        self.0.list(prefix).await
    }
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, Error> {
        tokio::task::yield_now().await;
        self.0.get(key).await
    }
    async fn put(&self, entry: StorageEntry) -> Result<(), Error> {
        tokio::task::yield_now().await;
        self.0.put(entry).await
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        tokio::task::yield_now().await;
        self.0.delete(key).await
    }
}

#[tokio::test]
async fn concurrent_partial_updates_of_one_role_are_not_lost() {
    let storage = Arc::new(YieldingStorage::default());
    let backend = aws::factory()(BackendConfig {
        storage: Arc::clone(&storage) as Arc<dyn Storage>,
        system_view: Arc::new(StaticSystemView::default()),
        config: Default::default(),
        backend_uuid: "test".to_string(),
    })
    .await
    .expect("mount");
    let write = |body: Value| {
        let backend = Arc::clone(&backend);
        async move {
            let req =
                Request::new(Operation::Update, "roles/r").with_data(json_map(body).expect("map"));
            backend.handle_request(req).await
        }
    };
    assert_eq!(
        write(json!({"credential_type": "iam_user"})).await,
        Ok(None)
    );
    let updates = [
        json!({"iam_groups": "g"}),
        json!({"policy_arns": READ_ONLY}),
        json!({"iam_tags": {"k": "v"}}),
        json!({"user_path": "/p/"}),
        json!({"permissions_boundary_arn": BOUNDARY}),
        json!({"policy_document": "{}"}),
        json!({"ttl": 60}),
        json!({"wait_for_propagation": true}),
    ];
    let results = futures::future::join_all(updates.into_iter().map(write)).await;
    assert!(results.iter().all(|r| r == &Ok(None)), "{results:?}");
    let read = backend
        .handle_request(Request::new(Operation::Read, "roles/r"))
        .await
        .expect("read");
    assert_eq!(
        data(read),
        with(
            blank("iam_user"),
            json!({
                "iam_groups": ["g"], "policy_arns": [READ_ONLY], "iam_tags": {"k": "v"},
                "user_path": "/p/", "permissions_boundary_arn": BOUNDARY,
                "policy_document": "{}", "ttl": 60, "wait_for_propagation": true,
            })
        ),
        "every update survives"
    );
}

#[tokio::test]
async fn help_and_openapi_describe_the_roles_paths() {
    let tb = engine().await;
    let d = data(tb.help("roles/ec2-admin").await.expect("help"));
    let help = d["help"].as_str().expect("text");
    assert!(
        help.starts_with("Request:        roles/ec2-admin\n"),
        "{help}"
    );
    assert!(
        help.contains("Read, write and reference IAM policies that access keys can be made for."),
        "{help}"
    );
    assert!(
        help.contains("    credential_type (string)\n\n        Type of credential to retrieve. Must be one of assumed_role, iam_user, federation_token, or session_token"),
        "{help}"
    );
    assert!(help.contains("    session_tags (keypair)"), "{help}");
    assert!(help.contains("    max_sts_ttl (duration (sec))"), "{help}");
    assert!(
        help.contains("(DEPRECATED) Use policy_document instead."),
        "{help}"
    );

    let paths = &d["openapi"]["paths"];
    let item = &paths["/roles/{name}"];
    assert_eq!(item["get"]["operationId"], json!("aws-read-role"));
    assert_eq!(item["post"]["operationId"], json!("aws-write-role"));
    assert_eq!(item["delete"]["operationId"], json!("aws-delete-role"));
    assert_eq!(item["x-vault-createSupported"], json!(true));
    let body = &d["openapi"]["components"]["schemas"]["AwsWriteRoleRequest"]["properties"];
    assert_eq!(body["role_arns"]["type"], json!("array"));
    assert_eq!(
        body["credential_type"]["enum"],
        json!([
            "iam_user",
            "assumed_role",
            "federation_token",
            "session_token"
        ])
    );

    let root = data(tb.help("").await.expect("root help"));
    let text = root["help"].as_str().expect("text");
    assert!(
        text.contains("    ^roles/?$\n        List the existing roles in this backend"),
        "{text}"
    );
    let list = &root["openapi"]["paths"]["/roles"]["get"];
    assert_eq!(list["operationId"], json!("aws-list-roles"), "{list}");
    assert!(root["openapi"]["paths"]["/roles/{name}"].is_object());
}

#[tokio::test]
async fn role_reads_ignore_unknown_parameters_with_a_warning() {
    let tb = engine().await;
    write_ok(&tb, "r", json!({"credential_type": "iam_user"})).await;
    let resp = tb
        .read_with("roles/r", json!({"bogus": 1}))
        .await
        .expect("read")
        .expect("response");
    assert_eq!(
        resp.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
    let _: JsonMap = resp.data.expect("data");
}

#[tokio::test]
async fn roles_are_cached_and_read_again_after_another_node_changed_them() {
    let tb = engine().await;
    write_ok(&tb, "r", json!({"credential_type": "iam_user"})).await;
    assert_eq!(read_role(&tb, "r").await, blank("iam_user"));
    // Another node writes the role: storage changes under this process, then the host
    // invalidates the key. Until then the cached role is served.
    let changed = r#"{"credential_types":["iam_user"],"policy_arns":["arn:aws:iam::aws:policy/ReadOnlyAccess"]}"#;
    put_raw(&tb, "role/r", changed).await;
    assert_eq!(
        read_role(&tb, "r").await,
        blank("iam_user"),
        "served from the cache"
    );
    tb.backend().invalidate("role/r").await;
    assert_eq!(
        read_role(&tb, "r").await,
        with(blank("iam_user"), json!({"policy_arns": [READ_ONLY]}))
    );
    // A delete through this process is seen at once.
    tb.delete("roles/r").await.expect("delete");
    assert!(tb.read("roles/r").await.expect("read").is_none());
}
