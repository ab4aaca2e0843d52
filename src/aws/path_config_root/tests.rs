//! `config/root` through the whole engine (framework harness, in-memory storage,
//! recording fakes): reads, creates, partial updates, validation, the secret key never
//! leaving storage, and the client cache dropped on write and on invalidation.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::aws::backend::AwsBackend;
use crate::aws::fake::FakeClientFactory;
use crate::aws::root_config::RootConfig;
use crate::aws::username::DEFAULT_USERNAME_TEMPLATE;
use crate::framework::testing::TestBackend;
use crate::logical::{ExistenceCheck, JsonMap, Response, Storage, StorageEntry};

struct Mount {
    tb: TestBackend,
    state: Arc<AwsBackend>,
    factory: Arc<FakeClientFactory>,
}

async fn mount() -> Mount {
    let factory = FakeClientFactory::new();
    let state = AwsBackend::new(factory.clone());
    let builder = crate::aws::builder(Arc::clone(&state));
    let tb = TestBackend::from_builder(builder).await.expect("mount");
    Mount { tb, state, factory }
}

impl Mount {
    /// Builds (or takes from the cache) both clients, as a credentials request would.
    async fn use_clients(&self) {
        let storage = self.tb.storage().as_ref();
        self.state.sts(storage).await.expect("sts");
        self.state.iam(storage).await.expect("iam");
    }

    fn builds(&self) -> (usize, usize) {
        (self.factory.sts_builds(), self.factory.iam_builds())
    }

    async fn stored(&self) -> Option<Value> {
        let entry = self
            .tb
            .storage()
            .get("config/root")
            .await
            .expect("storage")?;
        Some(serde_json::from_slice(&entry.value).expect("json"))
    }
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

const TUTORIAL: &str =
    r#"{"access_key": "AKIAEXAMPLE", "secret_key": "wJalrXUtnFEMIK7MDENG", "region": "us-east-1"}"#;

fn tutorial() -> Value {
    serde_json::from_str(TUTORIAL).expect("json")
}

#[tokio::test]
async fn absent_until_written_then_read_without_the_secret() {
    let m = mount().await;
    assert_eq!(
        m.tb.read("config/root").await,
        Ok(None),
        "404 before a write"
    );
    assert_eq!(m.tb.write("config/root", tutorial()).await, Ok(None), "204");
    let read = data(m.tb.read("config/root").await.expect("read"));
    assert_eq!(
        Value::Object(read),
        json!({
            "access_key": "AKIAEXAMPLE",
            "region": "us-east-1",
            "iam_endpoint": "",
            "sts_endpoint": "",
            "sts_region": "",
            "sts_fallback_endpoints": [],
            "sts_fallback_regions": [],
            "max_retries": -1,
            "username_template": DEFAULT_USERNAME_TEMPLATE,
        })
    );
}

#[tokio::test]
async fn the_secret_key_is_stored_but_never_returned() {
    let m = mount().await;
    m.tb.write("config/root", tutorial()).await.expect("write");
    let stored = m.stored().await.expect("stored");
    assert_eq!(stored["secret_key"], "wJalrXUtnFEMIK7MDENG");
    let read = m.tb.read("config/root").await.expect("read").expect("some");
    assert!(!format!("{read:?}").contains("wJalrXUtnFEMIK7MDENG"));
    let help = m.tb.help("config/root").await.expect("help").expect("some");
    assert!(!format!("{help:?}").contains("wJalrXUtnFEMIK7MDENG"));
}

#[tokio::test]
async fn stored_with_the_go_engines_keys() {
    let m = mount().await;
    m.tb.write(
        "config/root",
        json!({"access_key": "AKIA1", "secret_key": "s1", "sts_endpoint": "https://sts.eu-west-1.amazonaws.com",
               "sts_region": "eu-west-1", "sts_fallback_endpoints": "https://a,https://b",
               "sts_fallback_regions": ["us-west-2", "us-east-2"], "max_retries": "2",
               "iam_endpoint": "http://127.0.0.1:5000"}),
    )
    .await
    .expect("write");
    assert_eq!(
        m.stored().await.expect("stored"),
        json!({
            "access_key": "AKIA1", "secret_key": "s1",
            "iam_endpoint": "http://127.0.0.1:5000",
            "sts_endpoint": "https://sts.eu-west-1.amazonaws.com", "sts_region": "eu-west-1",
            "sts_fallback_endpoints": ["https://a", "https://b"],
            "sts_fallback_regions": ["us-west-2", "us-east-2"],
            "region": "", "max_retries": 2,
            "username_template": DEFAULT_USERNAME_TEMPLATE,
        })
    );
}

#[tokio::test]
async fn first_write_is_a_create_later_ones_updates() {
    let m = mount().await;
    let absent = m.tb.existence_check("config/root", json!({})).await;
    assert_eq!(
        absent,
        Ok(ExistenceCheck {
            check_found: true,
            exists: false
        })
    );
    m.tb.write("config/root", tutorial()).await.expect("write");
    let present = m.tb.existence_check("config/root", json!({})).await;
    assert_eq!(present.map(|c| c.exists), Ok(true));
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_names() {
    let m = mount().await;
    m.tb.write(
        "config/root",
        json!({"access_key": "AKIA1", "secret_key": "s1", "region": "us-east-1",
               "max_retries": 4, "username_template": "{{ .DisplayName }}-custom"}),
    )
    .await
    .expect("create");
    m.tb.write("config/root", json!({"region": "eu-west-1"}))
        .await
        .expect("update");
    let stored = m.stored().await.expect("stored");
    assert_eq!(stored["region"], "eu-west-1");
    assert_eq!(stored["access_key"], "AKIA1");
    assert_eq!(stored["secret_key"], "s1", "the secret survives an update");
    assert_eq!(stored["max_retries"], 4);
    assert_eq!(
        stored["username_template"], "{{ .DisplayName }}-custom",
        "unlike Vault, an omitted template is kept"
    );

    // Naming a field with an empty value clears it; an empty template means the default.
    m.tb.write(
        "config/root",
        json!({"region": "", "username_template": ""}),
    )
    .await
    .expect("update");
    let stored = m.stored().await.expect("stored");
    assert_eq!(stored["region"], "");
    assert_eq!(stored["username_template"], DEFAULT_USERNAME_TEMPLATE);
}

#[tokio::test]
async fn a_partial_update_keeps_keys_written_by_other_versions() {
    let m = mount().await;
    let vault = json!({"access_key": "AKIA1", "secret_key": "s1", "region": "us-east-1",
                       "max_retries": -1, "username_template": "t", "role_arn": "arn:aws:iam::1:role/wif",
                       "sts_fallback_endpoints": null, "sts_fallback_regions": null});
    m.tb.storage()
        .put(StorageEntry {
            key: "config/root".into(),
            value: serde_json::to_vec(&vault).expect("json"),
            seal_wrap: false,
        })
        .await
        .expect("put");
    m.tb.write("config/root", json!({"max_retries": 1}))
        .await
        .expect("update");
    let stored = m.stored().await.expect("stored");
    assert_eq!(stored["role_arn"], "arn:aws:iam::1:role/wif");
    assert_eq!(stored["max_retries"], 1);
    assert_eq!(stored["username_template"], "t");
    let read = data(m.tb.read("config/root").await.expect("read"));
    assert_eq!(read["sts_fallback_endpoints"], json!([]));
}

#[tokio::test]
async fn fallback_lists_of_different_lengths_are_refused_and_nothing_is_stored() {
    let m = mount().await;
    let resp = m
        .tb
        .write(
            "config/root",
            json!({"sts_endpoint": "https://sts.us-east-1.amazonaws.com",
                   "sts_fallback_endpoints": "https://a,https://b", "sts_fallback_regions": "us-west-2"}),
        )
        .await
        .expect("answered");
    assert_eq!(
        error_of(resp),
        "sts_fallback_endpoints and sts_fallback_regions must be the same length (each fallback endpoint needs its region): 2 endpoint(s), 1 region(s) given"
    );
    assert_eq!(m.stored().await, None);

    // The rule applies to the merged entry: a later update naming one list is checked too.
    m.tb.write("config/root", tutorial()).await.expect("create");
    let resp =
        m.tb.write("config/root", json!({"sts_fallback_regions": "us-west-2"}))
            .await
            .expect("answered");
    assert_eq!(
        error_of(resp),
        "sts_fallback_endpoints and sts_fallback_regions must be the same length (each fallback endpoint needs its region): 0 endpoint(s), 1 region(s) given"
    );
    assert_eq!(
        m.stored().await.expect("kept")["sts_fallback_regions"],
        json!([])
    );
}

#[tokio::test]
async fn bad_inputs_are_400s_naming_the_field() {
    let m = mount().await;
    // The existence check runs first and validates the fields; the host answers its
    // user error with a 400 carrying this text.
    let err =
        m.tb.write("config/root", json!({"max_retries": "x"}))
            .await
            .expect_err("refused by the existence check");
    assert_eq!(
        err,
        crate::logical::Error::User(
            r#"error converting input x for field "max_retries": cannot parse '' as int: strconv.ParseInt: parsing "x": invalid syntax"#
                .into()
        )
    );
    let resp =
        m.tb.write("config/root", json!({"access_key": "AKIA1"}))
            .await
            .expect("answered");
    assert!(error_of(resp).starts_with("access_key and secret_key must be set together"));
    let resp =
        m.tb.write("config/root", json!({"username_template": "{{ if }}"}))
            .await
            .expect("answered");
    assert!(error_of(resp).starts_with("invalid username_template"));
    let resp =
        m.tb.write(
            "config/root",
            json!({"secret_key": "s", "sts_fallback_regions": "a", "username_template": "{{"}),
        )
        .await
        .expect("answered");
    let text = error_of(resp);
    assert!(text.starts_with("3 errors occurred:"), "{text}");
    assert!(!text.contains("\"s\""), "the secret is not echoed: {text}");
    assert_eq!(m.stored().await, None, "nothing was stored");
}

#[tokio::test]
async fn a_write_drops_the_cached_clients() {
    let m = mount().await;
    m.use_clients().await;
    m.use_clients().await;
    assert_eq!(m.builds(), (1, 1), "built once, then cached");
    m.tb.write("config/root", tutorial()).await.expect("write");
    m.use_clients().await;
    assert_eq!(m.builds(), (2, 2), "rebuilt after the write");
    let seen = m.factory.last_config().expect("built");
    assert_eq!(
        seen.access_key, "AKIAEXAMPLE",
        "the new clients use the new config"
    );

    // A refused write changes nothing and keeps the clients.
    m.tb.write("config/root", json!({"sts_fallback_regions": "x"}))
        .await
        .expect("answered");
    m.use_clients().await;
    assert_eq!(m.builds(), (2, 2));
}

#[tokio::test]
async fn invalidating_config_root_drops_the_cached_clients() {
    let m = mount().await;
    m.use_clients().await;
    m.tb.backend().invalidate("config/lease").await;
    m.use_clients().await;
    assert_eq!(m.builds(), (1, 1), "other keys leave the clients alone");
    m.tb.backend().invalidate("config/root").await;
    m.use_clients().await;
    assert_eq!(m.builds(), (2, 2));
}

#[tokio::test]
async fn without_config_root_clients_use_the_defaults() {
    let m = mount().await;
    m.use_clients().await;
    assert_eq!(m.factory.last_config(), Some(RootConfig::default()));
}

#[tokio::test]
async fn the_real_factory_mounts_and_configures() {
    // The production factory: a write and read need no AWS call.
    let tb = TestBackend::new(&crate::aws::factory())
        .await
        .expect("mount");
    tb.write("config/root", tutorial()).await.expect("write");
    let read = data(tb.read("config/root").await.expect("read"));
    assert_eq!(read["access_key"], "AKIAEXAMPLE");
    assert!(!read.contains_key("secret_key"));
}

#[tokio::test]
async fn factory_with_mounts_the_engine_over_the_given_clients() {
    let factory = FakeClientFactory::new();
    let tb = TestBackend::new(&crate::aws::factory_with(factory.clone()))
        .await
        .expect("mount");
    tb.write("config/root", tutorial()).await.expect("write");
    assert_eq!(
        data(tb.read("config/root").await.expect("read"))["region"],
        "us-east-1"
    );
    assert_eq!(
        factory.sts_builds(),
        0,
        "nothing is built before it is needed"
    );
}

#[tokio::test]
async fn a_create_racing_an_earlier_first_write_keeps_what_that_write_stored() {
    // Both writes passed the existence check before either stored anything, so the host
    // sends the second as a create too; it must not reset what the first one set.
    let m = mount().await;
    m.tb.write("config/root", tutorial()).await.expect("first");
    let mut body = JsonMap::new();
    body.insert("max_retries".into(), json!(2));
    let late_create =
        crate::logical::Request::new(crate::logical::Operation::Create, "config/root")
            .with_data(body);
    m.tb.handle(late_create).await.expect("second");
    let stored = m.stored().await.expect("stored");
    assert_eq!(stored["access_key"], "AKIAEXAMPLE");
    assert_eq!(stored["secret_key"], "wJalrXUtnFEMIK7MDENG");
    assert_eq!(stored["max_retries"], 2);
}

#[tokio::test]
async fn max_retries_out_of_range_is_a_400_and_nothing_is_stored() {
    // Found by tests/bad_input_props/engine.rs: the refusal was an `Error::User`, which
    // the host answers with a 500 when a request handler (not an existence check) returns.
    let m = mount().await;
    for n in [-2, super::MAX_RETRIES_LIMIT + 1] {
        let err =
            m.tb.write("config/root", json!({"max_retries": n}))
                .await
                .expect_err("refused");
        assert!(
            matches!(&err, crate::logical::Error::BadRequest(m) if m.starts_with("max_retries must be")),
            "{err:?}"
        );
        assert_eq!(m.stored().await, None);
    }
}
