//! The AWS engine driven through its factory with the framework's `TestBackend`
//! (in-memory storage, static system view), as the host would drive it. This issue
//! covers `config/lease` and the engine-wide declarations; later issues add roles,
//! credentials and rollback.

use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws;
use vault_plugin_secrets_aws_rs::framework::testing::TestBackend;
use vault_plugin_secrets_aws_rs::logical::{
    Error, JsonMap, Operation, Response, Storage, StorageEntry,
};

async fn engine() -> TestBackend {
    TestBackend::new(&aws::factory()).await.expect("mount")
}

fn data(resp: Option<Response>) -> JsonMap {
    resp.expect("a response").data.expect("data")
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

#[tokio::test]
async fn config_lease_is_absent_until_written() {
    let tb = engine().await;
    assert_eq!(
        tb.read("config/lease").await,
        Ok(None),
        "404 before the first write"
    );
}

#[tokio::test]
async fn config_lease_round_trips_as_go_duration_strings() {
    let tb = engine().await;
    let written = tb
        .write("config/lease", json!({"lease": "30m", "lease_max": "1h"}))
        .await;
    assert_eq!(written, Ok(None), "a write answers 204");
    let d = data(tb.read("config/lease").await.expect("read"));
    assert_eq!(
        Value::Object(d),
        json!({"lease": "30m0s", "lease_max": "1h0m0s"})
    );
}

#[tokio::test]
async fn config_lease_is_stored_exactly_as_the_go_engine_stores_it() {
    let tb = engine().await;
    tb.write("config/lease", json!({"lease": "1h30m", "lease_max": "7d"}))
        .await
        .expect("write");
    assert_eq!(
        stored(&tb, "config/lease").await.as_deref(),
        Some(r#"{"Lease":5400000000000,"LeaseMax":604800000000000}"#)
    );
    assert_eq!(tb.storage().keys(), vec!["config/lease"]);
}

#[tokio::test]
async fn config_lease_reads_what_the_go_engine_wrote() {
    let tb = engine().await;
    let go = br#"{"Lease":1500000000,"LeaseMax":2764800000000000}"#.to_vec();
    tb.storage()
        .put(StorageEntry {
            key: "config/lease".into(),
            value: go,
            seal_wrap: false,
        })
        .await
        .expect("put");
    let d = data(tb.read("config/lease").await.expect("read"));
    assert_eq!(
        Value::Object(d),
        json!({"lease": "1.5s", "lease_max": "768h0m0s"})
    );
}

#[tokio::test]
async fn config_lease_accepts_every_vault_duration_form() {
    let tb = engine().await;
    for (lease, want) in [
        (json!("3600"), "1h0m0s"),
        (json!(3600), "1h0m0s"),
        (json!("90s"), "1m30s"),
        (json!("2d"), "48h0m0s"),
        (json!("1.5h"), "1h30m0s"),
        (json!("250ms"), "250ms"),
    ] {
        tb.write(
            "config/lease",
            json!({"lease": lease.clone(), "lease_max": "768h"}),
        )
        .await
        .expect("write");
        let d = data(tb.read("config/lease").await.expect("read"));
        assert_eq!(d["lease"], json!(want), "{lease}");
        assert_eq!(d["lease_max"], json!("768h0m0s"));
    }
}

#[tokio::test]
async fn config_lease_rejects_bad_input_with_go_messages() {
    let tb = engine().await;
    let cases = [
        (
            json!({"lease_max": "1h"}),
            "'lease' is a required parameter",
        ),
        (
            json!({"lease": "", "lease_max": "1h"}),
            "'lease' is a required parameter",
        ),
        (
            json!({"lease": "1h"}),
            "'lease_max' is a required parameter",
        ),
        (
            json!({"lease": "abc", "lease_max": "1h"}),
            r#"Invalid lease: time: invalid duration "abc""#,
        ),
        (
            json!({"lease": "1h", "lease_max": "1x"}),
            r#"Invalid lease_max: time: unknown unit "x" in duration "1x""#,
        ),
        (
            json!({"lease": "5", "lease_max": "1.5d"}),
            r#"Invalid lease_max: strconv.ParseInt: parsing "1.5": invalid syntax"#,
        ),
        (
            json!({"lease": ["1h"], "lease_max": "1h"}),
            "Field validation failed: error converting input [1h] for field \"lease\": '' expected type 'string', got unconvertible type '[]interface {}', value: '[1h]'",
        ),
    ];
    for (input, want) in cases {
        let resp = tb
            .write("config/lease", input.clone())
            .await
            .expect("an error response, not an Err");
        assert_eq!(error_of(resp), want, "{input}");
    }
    assert!(
        tb.storage().keys().is_empty(),
        "nothing stored by a rejected write"
    );
}

#[tokio::test]
async fn config_lease_delete_removes_the_setting() {
    let tb = engine().await;
    tb.write("config/lease", json!({"lease": "1m", "lease_max": "2m"}))
        .await
        .expect("write");
    assert_eq!(tb.delete("config/lease").await, Ok(None));
    assert_eq!(tb.read("config/lease").await, Ok(None));
    assert!(tb.storage().keys().is_empty());
    assert_eq!(
        tb.delete("config/lease").await,
        Ok(None),
        "deleting twice is fine"
    );
}

#[tokio::test]
async fn config_lease_warns_about_unknown_parameters() {
    let tb = engine().await;
    let resp = tb
        .read_with("config/lease", json!({"bogus": 1}))
        .await
        .expect("read");
    assert_eq!(
        resp, None,
        "no response, so no warning to carry (as in Vault)"
    );
    tb.write("config/lease", json!({"lease": "1m", "lease_max": "2m"}))
        .await
        .expect("write");
    let resp = tb
        .read_with("config/lease", json!({"bogus": 1}))
        .await
        .expect("read")
        .expect("response");
    assert_eq!(
        resp.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
}

#[tokio::test]
async fn config_lease_writes_are_always_updates() {
    let tb = engine().await;
    let check = tb
        .existence_check("config/lease", json!({}))
        .await
        .expect("check");
    assert!(
        !check.check_found,
        "no existence check, as in the Go engine"
    );
    let create = tb.request(Operation::Create, "config/lease", JsonMap::new());
    assert_eq!(tb.handle(create).await, Err(Error::UnsupportedOperation));
    assert_eq!(tb.list("config/lease").await, Err(Error::UnsupportedPath));
}

#[tokio::test]
async fn unknown_paths_are_unsupported() {
    let tb = engine().await;
    assert_eq!(tb.read("nothing-here").await, Err(Error::UnsupportedPath));
    assert_eq!(
        tb.write("config/lease/x", json!({})).await,
        Err(Error::UnsupportedPath)
    );
}

#[tokio::test]
async fn config_lease_help_and_openapi() {
    let tb = engine().await;
    let d = data(tb.help("config/lease").await.expect("help"));
    let help = d["help"].as_str().expect("text");
    assert!(
        help.starts_with("Request:        config/lease\nMatching Route: ^config/lease$\n\n"),
        "{help}"
    );
    assert!(
        help.contains("Configure the default lease information for generated credentials."),
        "{help}"
    );
    assert!(
        help.contains("    lease_max (string)\n\n        Maximum time a credential is valid for."),
        "{help}"
    );
    let item = &d["openapi"]["paths"]["/config/lease"];
    assert_eq!(
        item["get"]["operationId"],
        json!("aws-read-lease-configuration")
    );
    assert_eq!(item["post"]["operationId"], json!("aws-configure-lease"));
    assert_eq!(
        item["delete"]["operationId"],
        json!("aws-delete-lease-configuration")
    );
    let body = &d["openapi"]["components"]["schemas"]["AwsConfigureLeaseRequest"];
    assert_eq!(body["properties"]["lease"]["type"], json!("string"));
}

#[tokio::test]
async fn root_help_describes_the_engine() {
    let tb = engine().await;
    let d = data(tb.help("").await.expect("root help"));
    let help = d["help"].as_str().expect("text");
    assert!(
        help.starts_with("## DESCRIPTION\n\nThe AWS backend dynamically generates AWS access keys"),
        "{help}"
    );
    assert!(
        help.contains("    ^config/lease$\n        Configure the default lease information"),
        "{help}"
    );
    assert_eq!(d["openapi"]["openapi"], json!("3.0.2"));
}

#[tokio::test]
async fn engine_declares_its_special_paths() {
    let tb = engine().await;
    let sp = tb.backend().special_paths();
    assert_eq!(sp.seal_wrap_storage, vec!["config/root"]);
    assert_eq!(sp.local_storage, vec!["wal/"]);
}

#[tokio::test]
async fn host_housekeeping_requests_are_answered() {
    let tb = engine().await;
    assert_eq!(
        tb.rollback().await,
        Ok(None),
        "the minute tick must not error"
    );
    let resolve = tb.request(Operation::ResolvePath, "config/lease", JsonMap::new());
    assert_eq!(tb.handle(resolve).await, Err(Error::UnsupportedOperation));
}
