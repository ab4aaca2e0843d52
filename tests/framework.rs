//! Public-API tests of the framework: a small engine declared with the builder is driven
//! through `handle_request` / `handle_existence_check` by the `TestBackend` harness, and
//! the tests check routing, validation messages, existence checks, help and OpenAPI
//! shape, secret dispatch and the WAL rollback pass (with a manual clock, no sleeps).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::framework::testing::{TestBackend, json_map};
use vault_plugin_secrets_aws_rs::framework::{
    Backend, BackendBuilder, Clock, Context, FieldData, FieldSchema, FieldType, ManualClock, Path,
    PathOperation, SecretType, WalEntry, generic_name_with_at_regex, get_wal, list_wal, put_wal,
};
use vault_plugin_secrets_aws_rs::logical::{
    self, Entity, Error, Group, JsonMap, Operation, PluginEnvironment, Response, Secret,
    SpecialPaths, StorageExt, SystemView,
};

type Log = Arc<Mutex<Vec<String>>>;

fn log_push(log: &Log, line: impl Into<String>) {
    log.lock().expect("log").push(line.into());
}

fn log_lines(log: &Log) -> Vec<String> {
    log.lock().expect("log").clone()
}

fn data(value: Value) -> JsonMap {
    json_map(value).expect("object")
}

/// Echoes its typed fields back, so tests see exactly what the handler received.
async fn echo(
    _ctx: Context,
    req: logical::Request,
    d: FieldData,
) -> Result<Option<Response>, Error> {
    let mut out = JsonMap::new();
    out.insert("operation".into(), req.operation.as_str().into());
    out.insert("name".into(), d.get_string("name")?.into());
    out.insert("ttl".into(), d.get_seconds("ttl")?.into());
    out.insert("tags".into(), json!(d.get_list("tags")?));
    Ok(Some(Response::with_data(out)))
}

fn roles_path() -> Path {
    Path::new(format!("roles/{}", generic_name_with_at_regex("name")))
        .field(
            "name",
            FieldSchema::new(FieldType::String, "Name of the role."),
        )
        .field(
            "ttl",
            FieldSchema::new(FieldType::DurationSecond, "Default TTL.").with_default("1h"),
        )
        .field(
            "tags",
            FieldSchema::new(FieldType::CommaStringSlice, "Tags.").required(),
        )
        .operation(
            Operation::Read,
            PathOperation::new(echo).summary("Read a role."),
        )
        .operation(Operation::Create, PathOperation::new(echo))
        .operation(
            Operation::Update,
            PathOperation::new(|ctx, req, d| async move {
                let name = d.get_string("name")?;
                ctx.storage()
                    .put_json(
                        &format!("role/{name}"),
                        &json!({"ttl": d.get_seconds("ttl")?}),
                    )
                    .await?;
                echo(ctx, req, d).await
            }),
        )
        .operation(
            Operation::Delete,
            PathOperation::new(|ctx, _req, d| async move {
                ctx.storage()
                    .delete(&format!("role/{}", d.get_string("name")?))
                    .await?;
                Ok(None)
            }),
        )
        .existence_check(|ctx, _req, d| async move {
            Ok(ctx
                .storage()
                .get(&format!("role/{}", d.get_string("name")?))
                .await?
                .is_some())
        })
        .help("Manage roles.", "Roles are things.\nThey have names.")
}

fn list_path() -> Path {
    Path::new("roles/?")
        .operation(
            Operation::List,
            PathOperation::new(|ctx, _req, _d| async move {
                Ok(Some(Response::list(ctx.storage().list("role/").await?)))
            }),
        )
        .help("List roles.", "")
}

fn secret(log: &Log) -> SecretType {
    let (renew_log, revoke_log) = (Arc::clone(log), Arc::clone(log));
    SecretType::new("access_keys")
        .field(
            "access_key",
            FieldSchema::new(FieldType::String, "Access key."),
        )
        .default_duration(Duration::from_secs(600))
        .renew(move |_ctx, req, d| {
            let log = Arc::clone(&renew_log);
            async move {
                log_push(
                    &log,
                    format!("renew {} {}", req.path, d.get_string("access_key")?),
                );
                Ok(Some(Response {
                    secret: req.secret.clone(),
                    ..Response::default()
                }))
            }
        })
        .revoke(move |_ctx, req, d| {
            let log = Arc::clone(&revoke_log);
            async move {
                let user = req
                    .secret
                    .as_ref()
                    .and_then(|s| s.internal_data.get("username"))
                    .cloned();
                log_push(
                    &log,
                    format!(
                        "revoke {} {} {}",
                        req.path,
                        d.get_string("access_key")?,
                        user.unwrap_or_default()
                    ),
                );
                Ok(None)
            }
        })
}

fn builder(log: &Log) -> BackendBuilder {
    Backend::builder()
        .help("A test backend.")
        .path(roles_path())
        .path(list_path())
        .secret(secret(log))
        .secret(SecretType::new("sts").revoke(|_, _, _| async { Ok(None) }))
        .special_paths(SpecialPaths {
            root: vec!["roles/admin".into()],
            ..SpecialPaths::default()
        })
}

async fn harness() -> (TestBackend, Log) {
    let log = Log::default();
    let tb = TestBackend::from_builder(builder(&log))
        .await
        .expect("mount");
    (tb, log)
}

fn response_data(resp: Option<Response>) -> JsonMap {
    resp.expect("a response").data.expect("data")
}

// ---------------------------------------------------------------- routing

#[tokio::test]
async fn unknown_paths_and_operations_map_to_vault_errors() {
    let (tb, _) = harness().await;
    assert_eq!(tb.read("nothing/here").await, Err(Error::UnsupportedPath));
    assert_eq!(
        tb.read("roles/a/b").await,
        Err(Error::UnsupportedPath),
        "patterns are anchored"
    );
    assert_eq!(
        tb.read("xroles/a").await,
        Err(Error::UnsupportedPath),
        "patterns are anchored"
    );
    assert_eq!(tb.list("roles/a").await, Err(Error::UnsupportedPath));
    let patch = tb.request(Operation::Patch, "roles/a", JsonMap::new());
    assert_eq!(tb.handle(patch).await, Err(Error::UnsupportedOperation));
    assert_eq!(tb.delete("roles").await, Err(Error::UnsupportedOperation));
}

#[tokio::test]
async fn list_paths_match_with_trailing_slash() {
    let (tb, _) = harness().await;
    for name in ["b", "a"] {
        let update = tb.request(Operation::Update, &format!("roles/{name}"), JsonMap::new());
        tb.handle(update).await.expect("update stores the role");
    }
    let keys = response_data(tb.list("roles").await.expect("list"));
    assert_eq!(keys["keys"], json!(["a", "b"]));
    let via_slash = tb
        .handle(tb.request(Operation::List, "roles/", JsonMap::new()))
        .await
        .expect("list");
    assert_eq!(response_data(via_slash)["keys"], json!(["a", "b"]));
}

#[tokio::test]
async fn captures_become_fields_and_win_over_the_body() {
    let (tb, _) = harness().await;
    let resp = tb
        .read_with(
            "roles/dev@example",
            json!({"name": "other", "tags": "a, b"}),
        )
        .await
        .expect("read");
    let resp = resp.expect("response");
    let d = resp.data.clone().expect("data");
    assert_eq!(d["name"], json!("dev@example"));
    assert_eq!(d["tags"], json!(["a", "b"]));
    assert_eq!(d["ttl"], json!(3600), "default applied");
    assert_eq!(
        resp.warnings,
        vec![
            "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [name]"
        ]
    );
}

#[tokio::test]
async fn resolve_path_is_declined_as_unsupported_operation() {
    let (tb, _) = harness().await;
    for path in ["roles/a", "nothing", ""] {
        let req = tb.request(Operation::ResolvePath, path, JsonMap::new());
        assert_eq!(
            tb.handle(req).await,
            Err(Error::UnsupportedOperation),
            "{path:?}"
        );
    }
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn bad_inputs_are_400_error_responses_with_vault_wording() {
    let (tb, _) = harness().await;
    let cases = [
        (
            json!({"ttl": "abc"}),
            r#"Field validation failed: error converting input abc for field "ttl": time: invalid duration "abc""#,
        ),
        (
            json!({"ttl": "-5m"}),
            r#"Field validation failed: error converting input -5m for field "ttl": cannot provide negative value '-300'"#,
        ),
        (
            json!({"tags": [["nested"]]}),
            r#"Field validation failed: error converting input [[nested]] for field "tags": '[0]' expected type 'string', got unconvertible type '[]interface {}', value: '[nested]'"#,
        ),
    ];
    for (input, want) in cases {
        let resp = tb
            .read_with("roles/a", input.clone())
            .await
            .expect("not an Err")
            .expect("response");
        assert_eq!(resp.error_message(), Some(want), "{input}");
    }
}

#[tokio::test]
async fn unknown_parameters_are_ignored_with_a_warning() {
    let (tb, _) = harness().await;
    let resp = tb
        .read_with("roles/a", json!({"zeta": 1, "alpha": true}))
        .await
        .expect("read")
        .expect("response");
    assert!(!resp.is_error());
    assert_eq!(
        resp.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [alpha zeta]"]
    );
}

#[tokio::test]
async fn duration_inputs_accept_vault_forms() {
    let (tb, _) = harness().await;
    for (input, secs) in [
        (json!(90), 90),
        (json!("90"), 90),
        (json!("1h30m"), 5400),
        (json!("2d"), 172_800),
    ] {
        let d = response_data(
            tb.read_with("roles/a", json!({ "ttl": input }))
                .await
                .expect("read"),
        );
        assert_eq!(d["ttl"], json!(secs));
    }
}

// ---------------------------------------------------------------- existence check

#[tokio::test]
async fn existence_check_decides_create_then_update() {
    let (tb, _) = harness().await;
    let check = tb
        .existence_check("roles/a", json!({}))
        .await
        .expect("check");
    assert!(check.check_found && !check.exists);
    let first = response_data(
        tb.write("roles/a", json!({"tags": "x"}))
            .await
            .expect("write"),
    );
    assert_eq!(
        first["operation"],
        json!("create"),
        "absent object is created"
    );
    // The create handler does not store; the update handler does.
    let second = response_data(
        tb.write("roles/a", json!({"tags": "x"}))
            .await
            .expect("write"),
    );
    assert_eq!(second["operation"], json!("create"));
    tb.handle(tb.request(Operation::Update, "roles/a", data(json!({"ttl": "2m"}))))
        .await
        .expect("update");
    assert!(
        tb.existence_check("roles/a", json!({}))
            .await
            .expect("check")
            .exists
    );
    let third = response_data(
        tb.write("roles/a", json!({"tags": "x"}))
            .await
            .expect("write"),
    );
    assert_eq!(third["operation"], json!("update"));
}

#[tokio::test]
async fn existence_check_rules() {
    let (tb, _) = harness().await;
    // Paths without a check report check_found = false.
    let c = tb.existence_check("roles", json!({})).await.expect("check");
    assert!(!c.check_found && !c.exists);
    assert_eq!(
        tb.existence_check("nope", json!({})).await,
        Err(Error::UnsupportedPath)
    );
    let bad = tb.existence_check("roles/a", json!({"ttl": "abc"})).await;
    assert_eq!(
        bad,
        Err(Error::User(
            r#"error converting input abc for field "ttl": time: invalid duration "abc""#.into()
        ))
    );
    let read = tb.request(Operation::Read, "roles/a", JsonMap::new());
    let err = tb
        .backend()
        .handle_existence_check(read)
        .await
        .expect_err("only create/update");
    assert_eq!(
        err,
        Error::Internal("incorrect operation type read for an existence check".into())
    );
}

// ---------------------------------------------------------------- help and OpenAPI

#[tokio::test]
async fn path_help_has_vault_shape() {
    let (tb, _) = harness().await;
    let d = response_data(tb.help("roles/a").await.expect("help"));
    let help = d["help"].as_str().expect("help text");
    assert!(
        help.starts_with("Request:        roles/a\nMatching Route: ^roles/(?P<name>"),
        "{help}"
    );
    assert!(
        help.contains("## PARAMETERS\n\n    name (string)\n\n        Name of the role."),
        "{help}"
    );
    assert!(help.contains("    ttl (duration (sec))"), "{help}");
    assert!(
        help.ends_with("## DESCRIPTION\n\nRoles are things.\nThey have names."),
        "{help}"
    );
    assert_eq!(d["see_also"], Value::Null);
    let oas = &d["openapi"];
    assert_eq!(oas["openapi"], json!("3.0.2"));
    let item = &oas["paths"]["/roles/{name}"];
    assert_eq!(item["description"], json!("Manage roles."));
    assert_eq!(item["x-vault-createSupported"], json!(true));
    assert_eq!(item["parameters"][0]["name"], json!("name"));
    assert_eq!(item["parameters"][0]["in"], json!("path"));
    assert_eq!(item["parameters"][0]["required"], json!(true));
    assert_eq!(item["get"]["operationId"], json!("read-roles-name"));
    assert_eq!(item["get"]["summary"], json!("Read a role."));
    assert_eq!(item["get"]["responses"]["200"]["description"], json!("OK"));
    assert_eq!(
        item["delete"]["responses"]["204"]["description"],
        json!("empty body")
    );
    assert_eq!(item["post"]["tags"], json!(["secrets"]));
    assert_eq!(
        item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        json!("#/components/schemas/WriteRolesNameRequest")
    );
    let body = &oas["components"]["schemas"]["WriteRolesNameRequest"];
    assert_eq!(body["required"], json!(["tags"]));
    assert_eq!(
        body["properties"]["ttl"],
        json!({"type": "integer", "format": "seconds", "description": "Default TTL.", "default": "1h"})
    );
    assert_eq!(
        body["properties"]["tags"]["items"],
        json!({"type": "string"})
    );
    assert!(
        body["properties"].get("name").is_none(),
        "path parameters are not body fields"
    );
}

#[tokio::test]
async fn openapi_documents_lists_sudo_and_the_mount_prefix() {
    let (tb, _) = harness().await;
    let mut req = tb.request(Operation::Help, "", JsonMap::new());
    req.data.insert("requestResponsePrefix".into(), json!("kv"));
    let d = response_data(tb.handle(req).await.expect("root help"));
    let paths = &d["openapi"]["paths"];
    let list = &paths["/roles"]["get"];
    assert_eq!(list["operationId"], json!("kv-list-roles"));
    assert_eq!(
        list["parameters"],
        json!([{"name": "list", "description": "Must be set to `true`", "in": "query", "schema": {"type": "string", "enum": ["true"]}, "required": true}])
    );
    assert!(paths["/roles/{name}"].get("x-vault-sudo").is_none());
    // Every response code is a numeric string: the host refuses anything else.
    for item in paths.as_object().expect("paths").values() {
        for method in ["get", "post", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                for code in op["responses"].as_object().expect("responses").keys() {
                    assert!(
                        code.parse::<u16>().is_ok_and(|c| (100..600).contains(&c)),
                        "{code}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn root_help_lists_every_route() {
    let (tb, _) = harness().await;
    let d = response_data(tb.help("").await.expect("root help"));
    let help = d["help"].as_str().expect("text");
    assert!(
        help.starts_with("## DESCRIPTION\n\nA test backend.\n\n## PATHS"),
        "{help}"
    );
    assert!(
        help.contains("    ^roles/?$\n        List roles."),
        "{help}"
    );
    assert!(help.contains("        Manage roles."), "{help}");
    assert_eq!(
        d["openapi"]["info"]["version"],
        json!(""),
        "version from the system view"
    );
}

/// A system view whose every call fails, as a broken host connection would.
struct BrokenSystemView;

#[async_trait]
impl SystemView for BrokenSystemView {
    async fn default_lease_ttl(&self) -> Result<Duration, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn max_lease_ttl(&self) -> Result<Duration, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn tainted(&self) -> Result<bool, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn local_mount(&self) -> Result<bool, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn replication_state(&self) -> Result<u32, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn entity_info(&self, _: &str) -> Result<Option<Entity>, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn groups_for_entity(&self, _: &str) -> Result<Vec<Group>, Error> {
        Err(Error::Internal("no host".into()))
    }
    async fn plugin_env(&self) -> Result<PluginEnvironment, Error> {
        Err(Error::Internal("no host".into()))
    }
}

#[tokio::test]
async fn root_help_answers_even_when_the_host_cannot() {
    let log = Log::default();
    let config = logical::BackendConfig {
        storage: Arc::new(logical::InMemoryStorage::new()),
        system_view: Arc::new(BrokenSystemView),
        config: Default::default(),
        backend_uuid: String::new(),
    };
    let b = builder(&log).build(&config).expect("build");
    let resp =
        logical::Backend::handle_request(&b, logical::Request::new(Operation::Help, "")).await;
    let d = response_data(resp.expect("root help never fails"));
    assert_eq!(d["openapi"]["info"]["version"], json!("unknown"));
    assert!(d["openapi"]["paths"]["/roles/{name}"].is_object());
}

// ---------------------------------------------------------------- secrets

fn lease(internal: Value) -> Secret {
    Secret {
        internal_data: data(internal),
        ..Secret::default()
    }
}

#[tokio::test]
async fn renew_and_revoke_dispatch_on_secret_type() {
    let (tb, log) = harness().await;
    let issued = secret(&log).response(
        data(json!({"access_key": "AKIA1"})),
        data(json!({"username": "u1"})),
    );
    let secret = issued.secret.clone().expect("lease");
    assert_eq!(secret.internal_data["secret_type"], json!("access_keys"));
    assert!(secret.lease_options.renewable);
    assert_eq!(secret.lease_options.ttl, Duration::from_secs(600));

    let renewed = tb
        .renew(
            "creds/x",
            secret.clone(),
            issued.data.clone().expect("data"),
        )
        .await
        .expect("renew");
    assert_eq!(
        renewed
            .expect("response")
            .secret
            .expect("secret")
            .internal_data,
        secret.internal_data
    );
    tb.revoke("creds/x", secret, issued.data.expect("data"))
        .await
        .expect("revoke");
    assert_eq!(
        log_lines(&log),
        vec!["renew creds/x AKIA1", r#"revoke creds/x AKIA1 "u1""#]
    );
}

#[tokio::test]
async fn unknown_or_missing_secret_types_are_unsupported() {
    let (tb, log) = harness().await;
    let unsupported = Err(Error::Internal(
        "secret is unsupported by this backend".into(),
    ));
    assert_eq!(
        tb.revoke(
            "creds/x",
            lease(json!({"secret_type": "nope"})),
            JsonMap::new()
        )
        .await,
        unsupported
    );
    assert_eq!(
        tb.revoke("creds/x", lease(json!({})), JsonMap::new()).await,
        unsupported
    );
    assert_eq!(
        tb.revoke("creds/x", lease(json!({"secret_type": 7})), JsonMap::new())
            .await,
        unsupported
    );
    let bare = logical::Request::new(Operation::Revoke, "creds/x");
    assert_eq!(
        tb.handle(bare).await,
        Err(Error::Internal("request has no secret".into()))
    );
    // "sts" has a revoke handler but no renew handler.
    assert_eq!(
        tb.renew(
            "sts/x",
            lease(json!({"secret_type": "sts"})),
            JsonMap::new()
        )
        .await,
        Err(Error::UnsupportedOperation)
    );
    assert!(
        tb.revoke(
            "sts/x",
            lease(json!({"secret_type": "sts"})),
            JsonMap::new()
        )
        .await
        .is_ok()
    );
    assert!(log_lines(&log).is_empty());
}

// ---------------------------------------------------------------- WAL rollback

const T0: u64 = 1_700_000_000;

struct WalHarness {
    tb: TestBackend,
    clock: Arc<ManualClock>,
    log: Log,
    /// Kinds whose rollback fails.
    failing: Arc<Mutex<Vec<String>>>,
}

async fn wal_harness(max_age: Option<Duration>) -> WalHarness {
    let clock = Arc::new(ManualClock::at_unix(T0));
    let log = Log::default();
    let failing: Arc<Mutex<Vec<String>>> = Arc::default();
    let (periodic_log, rollback_log, fail) =
        (Arc::clone(&log), Arc::clone(&log), Arc::clone(&failing));
    let mut b = Backend::builder()
        .clock(clock.clone())
        .wal_rollback_min_age(Duration::from_secs(300))
        .periodic(move |_ctx, _req| {
            let log = Arc::clone(&periodic_log);
            async move {
                log_push(&log, "periodic");
                Ok(())
            }
        })
        .wal_rollback(move |_ctx, _req, kind, data| {
            let (log, fail) = (Arc::clone(&rollback_log), Arc::clone(&fail));
            async move {
                log_push(&log, format!("rollback {kind} {data}"));
                if fail.lock().expect("lock").contains(&kind) {
                    return Err(Error::Internal(format!("cannot undo {kind}")));
                }
                Ok(())
            }
        });
    if let Some(max) = max_age {
        b = b.wal_rollback_max_age(max);
    }
    let tb = TestBackend::from_builder(b).await.expect("mount");
    WalHarness {
        tb,
        clock,
        log,
        failing,
    }
}

impl WalHarness {
    async fn put(&self, kind: &str, data: Value) -> String {
        put_wal(self.tb.storage().as_ref(), kind, &data, self.clock.now())
            .await
            .expect("put")
    }

    async fn ids(&self) -> Vec<String> {
        let mut ids = list_wal(self.tb.storage().as_ref()).await.expect("list");
        ids.sort();
        ids
    }
}

#[tokio::test]
async fn wal_entries_wait_for_the_minimum_age() {
    let h = wal_harness(None).await;
    let id = h.put("user", json!({"username": "u1"})).await;
    h.clock.advance(Duration::from_secs(300));
    assert_eq!(h.tb.rollback().await, Ok(None));
    assert_eq!(
        h.ids().await,
        vec![id.clone()],
        "exactly the minimum age is still too young"
    );
    assert_eq!(log_lines(&h.log), vec!["periodic"]);

    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.tb.rollback().await, Ok(None));
    assert!(h.ids().await.is_empty(), "rolled back and deleted");
    assert_eq!(
        log_lines(&h.log),
        vec!["periodic", "periodic", r#"rollback user {"username":"u1"}"#]
    );
}

#[tokio::test]
async fn immediate_rollback_ignores_the_minimum_age() {
    let h = wal_harness(None).await;
    h.put("user", json!("u2")).await;
    assert_eq!(h.tb.rollback_immediate().await, Ok(None));
    assert!(h.ids().await.is_empty());
    assert_eq!(log_lines(&h.log), vec!["periodic", r#"rollback user "u2""#]);
}

#[tokio::test]
async fn rollback_errors_are_collected_and_never_fatal() {
    let h = wal_harness(None).await;
    h.failing.lock().expect("lock").push("bad".into());
    let bad = h.put("bad", json!(1)).await;
    h.put("good", json!(2)).await;
    h.clock.advance(Duration::from_secs(3600));
    let resp =
        h.tb.rollback()
            .await
            .expect("rollback answers Ok")
            .expect("error report");
    assert_eq!(
        resp.error_message(),
        Some("1 error occurred:\n\t* error rolling back \"bad\" entry: cannot undo bad\n\n")
    );
    assert_eq!(
        h.ids().await,
        vec![bad.clone()],
        "the good entry went, the failing one stays"
    );
    let entry: WalEntry = get_wal(h.tb.storage().as_ref(), &bad)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(entry.kind, "bad");
    // Without a maximum age it is retried on every tick, forever (Vault's behaviour).
    h.clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert!(
        h.tb.rollback()
            .await
            .expect("ok")
            .is_some_and(|r| r.is_error())
    );
    assert_eq!(h.ids().await, vec![bad]);
}

#[tokio::test]
async fn failing_entries_older_than_the_maximum_age_are_dropped() {
    let h = wal_harness(Some(Duration::from_secs(24 * 3600))).await;
    h.failing.lock().expect("lock").push("user".into());
    let old = h.put("user", json!("old")).await;
    h.clock.advance(Duration::from_secs(12 * 3600));
    let young = h.put("user", json!("young")).await;
    h.clock.advance(Duration::from_secs(12 * 3600));
    // "old" is exactly 24 h old: not yet past the maximum, so it stays.
    h.tb.rollback().await.expect("ok");
    let mut both = vec![old.clone(), young.clone()];
    both.sort();
    assert_eq!(h.ids().await, both);
    h.clock.advance(Duration::from_secs(1));
    let resp = h.tb.rollback().await.expect("ok").expect("report");
    assert!(
        resp.error_message()
            .is_some_and(|m| m.starts_with("2 errors occurred:")),
        "{resp:?}"
    );
    assert_eq!(
        h.ids().await,
        vec![young],
        "the entry past the maximum age was dropped"
    );
}

#[tokio::test]
async fn rollback_without_hooks_is_a_no_op() {
    let (tb, _) = harness().await;
    put_wal(
        tb.storage().as_ref(),
        "user",
        &json!(1),
        SystemTime::UNIX_EPOCH,
    )
    .await
    .expect("put");
    assert_eq!(tb.rollback_immediate().await, Ok(None));
    assert_eq!(
        list_wal(tb.storage().as_ref()).await.expect("list").len(),
        1,
        "no hook: WAL untouched"
    );
}

#[tokio::test]
async fn periodic_failures_are_reported_but_the_wal_pass_still_runs() {
    let log = Log::default();
    let rollback_log = Arc::clone(&log);
    let b = Backend::builder()
        .periodic(|_, _| async { Err(Error::Internal("rotation failed".into())) })
        .wal_rollback(move |_, _, kind, _| {
            let log = Arc::clone(&rollback_log);
            async move {
                log_push(&log, kind);
                Ok(())
            }
        });
    let tb = TestBackend::from_builder(b).await.expect("mount");
    put_wal(
        tb.storage().as_ref(),
        "user",
        &json!(1),
        SystemTime::UNIX_EPOCH,
    )
    .await
    .expect("put");
    let resp = tb.rollback_immediate().await.expect("ok").expect("report");
    assert_eq!(
        resp.error_message(),
        Some("1 error occurred:\n\t* periodic function: rotation failed\n\n")
    );
    assert_eq!(log_lines(&log), vec!["user"]);
}

// ---------------------------------------------------------------- hooks and build checks

#[tokio::test]
async fn lifecycle_hooks_are_called() {
    let log = Log::default();
    let (l1, l2, l3) = (Arc::clone(&log), Arc::clone(&log), Arc::clone(&log));
    let b = Backend::builder()
        .initialize(move |_| {
            let l = Arc::clone(&l1);
            async move {
                log_push(&l, "initialize");
                Ok(())
            }
        })
        .invalidate(move |_, key| {
            let l = Arc::clone(&l2);
            async move { log_push(&l, format!("invalidate {key}")) }
        })
        .cleanup(move |_| {
            let l = Arc::clone(&l3);
            async move { log_push(&l, "cleanup") }
        });
    let tb = TestBackend::from_builder(b).await.expect("mount");
    tb.backend().invalidate("config/root").await;
    tb.backend().cleanup().await;
    assert_eq!(
        log_lines(&log),
        vec!["initialize", "invalidate config/root", "cleanup"]
    );
    assert_eq!(tb.backend().backend_type(), logical::BackendType::Logical);
}

#[tokio::test]
async fn declaration_mistakes_fail_the_build() {
    let config = TestBackend::config(Arc::default(), Arc::default());
    let bad_pattern = Backend::builder()
        .path(Path::new("roles/(?P<name"))
        .build(&config);
    assert!(matches!(bad_pattern, Err(Error::Internal(m)) if m.contains("invalid path pattern")));
    let bad_default = Backend::builder()
        .path(Path::new("x").field(
            "ttl",
            FieldSchema::new(FieldType::DurationSecond, "").with_default("soon"),
        ))
        .build(&config);
    assert!(
        matches!(bad_default, Err(Error::Internal(m)) if m.contains("default of field \"ttl\""))
    );
    let twice = Backend::builder()
        .secret(SecretType::new("a"))
        .secret(SecretType::new("a"))
        .build(&config);
    assert!(matches!(twice, Err(Error::Internal(m)) if m.contains("declared twice")));
    assert!(
        Backend::builder()
            .path(Path::new(""))
            .build(&config)
            .is_err()
    );
}

#[tokio::test]
async fn special_paths_are_reported_as_declared() {
    let (tb, _) = harness().await;
    assert_eq!(tb.backend().special_paths().root, vec!["roles/admin"]);
}
