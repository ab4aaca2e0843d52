//! End-to-end table of hostile input (test layer): every field of every path the plugin
//! serves, as its OpenAPI document lists them, sent through a real OpenBao 2.7.2 dev server
//! with values of the wrong type, control characters, a megabyte of text, ten thousand
//! list items, unicode and the empty value.
//!
//! The contract checked for each: never a 5xx; a refusal is a 4xx whose message names the
//! field; a refused write leaves storage exactly as it was (config, roles, leases) and an
//! accepted one is read back unmangled; the plugin process survives the whole table with
//! bounded memory. Deriving the table from OpenAPI means a field added later is covered
//! (or the test fails naming it) without anyone remembering to extend this file.
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`); moto stands in for AWS so that
//! credential requests that pass validation have somewhere to go.

mod common;

#[allow(dead_code)] // Only the RSS reader is used here.
#[path = "benchkit/procfs.rs"]
mod procfs;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use common::http::HttpResponse;
use common::moto::{ACCOUNT_ID, Auth, Moto, moto_for_acceptance};
use common::openbao::{OpenBao, bao_for_acceptance};

/// The role every credential request names; its ARN is the one role_arns holds.
const BASE_ROLE: &str = "base";
/// A role name no write of the table may leave behind.
const PROBE_ROLE: &str = "probe";
/// The root secret key every case starts from: it must never be shown.
const ROOT_SECRET: &str = "example-root-secret-for-the-bad-input-table";
/// A secret sent with the wrong type: the refusal must not echo it.
const MISTYPED_SECRET: &str = "mistyped-secret-value-that-must-not-be-echoed";

/// How OpenBao's request parser refuses a body of more than 1,000 JSON strings, before
/// the plugin sees it (so it cannot name the field).
const HOST_COMPLEXITY_GUARD: &str = "refused JSON input due to high complexity";
/// Plugin resident memory the whole table may end with (it idles at ~12 MB).
const RSS_BOUND_MB: f64 = 64.0;

fn base_role_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/base-target")
}

/// How a field is typed in the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Boolean,
    Duration,
    List,
    Pairs,
}

/// A kind from an OpenAPI property schema.
fn kind_of(property: &Value) -> Option<Kind> {
    let format = property["format"].as_str().unwrap_or_default();
    match (property["type"].as_str()?, format) {
        (_, "duration" | "seconds") => Some(Kind::Duration),
        ("string", _) => Some(Kind::Text),
        ("integer", _) => Some(Kind::Integer),
        ("boolean", _) => Some(Kind::Boolean),
        ("array", _) => Some(Kind::List),
        ("object", _) => Some(Kind::Pairs),
        _ => None,
    }
}

/// What a hostile value is expected to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A 4xx naming the field.
    Refused,
    /// Either accepted (and then read back as sent, where readable) or a 4xx naming the
    /// field: the value is odd, not invalid in itself (Vault accepts it).
    Either,
}

/// The hostile values for a field of `kind`, named for the report.
fn hostile_values(kind: Kind) -> Vec<(&'static str, Value, Expect)> {
    let megabyte = "x".repeat(1 << 20);
    let nested = json!({"nested": {"deeper": [1, 2, 3]}});
    let mut cases = vec![("a nested object", nested, Expect::Refused)];
    match kind {
        Kind::Text => cases.extend([
            ("a NUL byte", json!("ab\u{0}cd"), Expect::Refused),
            ("an escape sequence", json!("a\u{1b}[31mb"), Expect::Refused),
            ("a megabyte", json!(megabyte), Expect::Refused),
            ("a list", json!(["a", "b"]), Expect::Refused),
            ("unicode", json!("ünïcødé-🦀"), Expect::Either),
            ("empty", json!(""), Expect::Either),
        ]),
        Kind::Integer => cases.extend([
            ("letters", json!("twelve"), Expect::Refused),
            (
                "beyond i64",
                json!("99999999999999999999999"),
                Expect::Refused,
            ),
            ("a huge number", json!(1e300), Expect::Refused),
            ("a list", json!([1, 2]), Expect::Refused),
        ]),
        Kind::Boolean => cases.extend([
            ("a word", json!("maybe"), Expect::Refused),
            ("a list", json!([true]), Expect::Refused),
            ("empty", json!(""), Expect::Either),
        ]),
        Kind::Duration => cases.extend([
            ("letters", json!("soon"), Expect::Refused),
            ("negative", json!("-5s"), Expect::Refused),
            (
                "beyond i64",
                json!("99999999999999999999h"),
                Expect::Refused,
            ),
            ("a NUL byte", json!("1h\u{0}"), Expect::Refused),
            ("a list", json!(["1h"]), Expect::Refused),
            ("empty", json!(""), Expect::Either),
        ]),
        Kind::List => {
            let arns: Vec<String> = (0..10_000)
                .map(|i| format!("arn:aws:iam::{ACCOUNT_ID}:role/r{i}"))
                .collect();
            cases.extend([
                // OpenBao itself refuses a JSON body of more than 1,000 strings; one
                // comma-separated string reaches the plugin.
                ("ten thousand items", json!(arns), Expect::Refused),
                (
                    "ten thousand comma-separated items",
                    json!(arns.join(",")),
                    Expect::Refused,
                ),
                ("a NUL byte in an item", json!(["a\u{0}b"]), Expect::Refused),
                ("a megabyte item", json!([megabyte]), Expect::Refused),
                ("objects as items", json!([{"a": 1}]), Expect::Refused),
                ("unicode", json!(["ünïcødé-🦀"]), Expect::Either),
                ("empty", json!([]), Expect::Either),
            ]);
        }
        Kind::Pairs => {
            let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
            cases.extend([
                ("51 entries", Value::Object(many), Expect::Refused),
                (
                    "a NUL byte in a value",
                    json!({"k": "v\u{0}"}),
                    Expect::Refused,
                ),
                ("a megabyte value", json!({"k": megabyte}), Expect::Refused),
                ("a word", json!("not-pairs"), Expect::Refused),
                ("unicode", json!({"ünï": "cødé-🦀"}), Expect::Either),
                ("empty", json!({}), Expect::Either),
            ]);
        }
    }
    // Objects are a valid spelling of key/value pairs.
    if kind == Kind::Pairs {
        cases.retain(|(what, _, _)| *what != "a nested object");
        cases.push((
            "a nested object",
            json!({"k": {"nested": 1}}),
            Expect::Refused,
        ));
    }
    cases
}

/// One path of the table: where it is written and what a valid request there holds
/// besides the field under test.
struct Target {
    /// The OpenAPI path (`/aws/roles/{name}`).
    openapi: &'static str,
    /// The request path with the name filled in.
    path: String,
    /// Fields every request carries (the field under test replaces its own).
    base: Value,
    /// Whether an accepted value can be read back at `path`.
    readable: bool,
}

struct World {
    server: OpenBao,
    // Dropped after the server.
    _moto: Moto,
}

impl World {
    fn start() -> Option<Self> {
        let bao = bao_for_acceptance()?;
        let moto_bin = moto_for_acceptance()?;
        let moto = Moto::start(&moto_bin, Auth::Open);
        let server = OpenBao::start(&bao);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let world = World {
            server,
            _moto: moto,
        };
        world.restore();
        Some(world)
    }

    fn endpoint(&self) -> String {
        self._moto.endpoint()
    }

    /// The configuration and base role every case starts from.
    fn restore(&self) {
        let endpoint = self.endpoint();
        let root = json!({
            "access_key": "AKIAEXAMPLEROOTKEY01",
            "secret_key": ROOT_SECRET,
            "region": "us-east-1",
            "iam_endpoint": endpoint,
            "sts_endpoint": endpoint,
            "sts_region": "",
            "sts_fallback_endpoints": [],
            "sts_fallback_regions": [],
            "max_retries": 1,
            "username_template": "",
        });
        self.ok(self.server.write("aws/config/root", &root), "config/root");
        self.ok(
            self.server.write(
                "aws/config/lease",
                &json!({"lease": "1h", "lease_max": "2h"}),
            ),
            "config/lease",
        );
        self.server.delete(&format!("aws/roles/{BASE_ROLE}"));
        self.server.delete(&format!("aws/roles/{PROBE_ROLE}"));
        self.ok(
            self.server.write(
                &format!("aws/roles/{BASE_ROLE}"),
                &json!({"credential_type": "assumed_role", "role_arns": [base_role_arn()]}),
            ),
            "base role",
        );
    }

    fn ok(&self, response: HttpResponse, what: &str) {
        assert!(
            response.status == 200 || response.status == 204,
            "{what}: {} {}",
            response.status,
            response.body
        );
    }

    /// Everything the engine stores that a user can see: the two configs, every role,
    /// and the leases under the mount.
    fn snapshot(&self) -> Value {
        let read = |path: &str| {
            let r = self.server.read(path);
            json!({"status": r.status, "data": if r.status == 200 { r.json()["data"].clone() } else { Value::Null }})
        };
        let list = self.server.http("LIST", "/v1/aws/roles", None);
        let names: Vec<String> = if list.status == 200 {
            list.json()["data"]["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        } else {
            Vec::new()
        };
        let roles: BTreeMap<String, Value> = names
            .iter()
            .map(|n| (n.clone(), read(&format!("aws/roles/{n}"))))
            .collect();
        let leases = |prefix: &str| {
            let r = self.server.http(
                "LIST",
                &format!("/v1/sys/leases/lookup/aws/{prefix}/base"),
                None,
            );
            if r.status == 200 {
                r.json()["data"]["keys"].clone()
            } else {
                Value::Null
            }
        };
        json!({
            "root": read("aws/config/root"),
            "lease": read("aws/config/lease"),
            "roles": roles,
            "leases": [leases("sts"), leases("creds")],
        })
    }

    /// The request fields of each of the plugin's paths, from the OpenAPI document the
    /// plugin itself serves (`?help=1`). The server's merged document
    /// (`sys/internal/specs/openapi`) is no use here: OpenBao decodes plugin documents
    /// with mapstructure, which drops every `$ref`, so request bodies arrive empty.
    fn openapi_fields(&self) -> BTreeMap<String, BTreeMap<String, Value>> {
        let help = self.server.read("aws/?help=1");
        assert_eq!(help.status, 200, "aws/?help=1: {}", help.body);
        let doc = help.json()["openapi"].clone();
        if std::env::var_os("DUMP_OPENAPI").is_some() {
            eprintln!(
                "OPENAPI {}",
                serde_json::to_string(&doc).unwrap_or_default()
            );
        }
        let schemas = &doc["components"]["schemas"];
        let mut out = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().expect("OpenAPI paths") {
            let mut fields = BTreeMap::new();
            for operation in ["post", "put"] {
                let schema =
                    &item[operation]["requestBody"]["content"]["application/json"]["schema"];
                let schema = match schema["$ref"].as_str() {
                    Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
                    None => schema,
                };
                if let Some(props) = schema["properties"].as_object() {
                    fields.extend(props.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            // Fields documented as query parameters (sts/, creds/) are also accepted in
            // a write's body.
            for parameter in item["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query"
                    && let Some(name) = parameter["name"].as_str()
                {
                    fields.insert(name.to_string(), parameter["schema"].clone());
                }
            }
            out.insert(format!("/aws{path}"), fields);
        }
        out
    }
}

/// The paths of the table. `config/rotate-root` takes no fields; the deprecated role
/// fields (`arn`, `policy`) are written like the others.
fn targets() -> Vec<Target> {
    let role = json!({"credential_type": "assumed_role", "role_arns": [base_role_arn()]});
    vec![
        Target {
            openapi: "/aws/config/root",
            path: "aws/config/root".into(),
            base: json!({}),
            readable: true,
        },
        Target {
            openapi: "/aws/config/lease",
            path: "aws/config/lease".into(),
            base: json!({"lease": "1h", "lease_max": "2h"}),
            readable: true,
        },
        Target {
            openapi: "/aws/roles/{name}",
            path: format!("aws/roles/{PROBE_ROLE}"),
            base: role.clone(),
            readable: true,
        },
        Target {
            openapi: "/aws/roles/{name}",
            path: format!("aws/roles/{BASE_ROLE}"),
            base: json!({}),
            readable: true,
        },
        Target {
            openapi: "/aws/sts/{name}",
            path: format!("aws/sts/{BASE_ROLE}"),
            base: json!({}),
            readable: false,
        },
        Target {
            openapi: "/aws/creds/{name}",
            path: format!("aws/creds/{BASE_ROLE}"),
            base: json!({}),
            readable: false,
        },
    ]
}

/// Whether `message` names `field` as a word of its own (so `role_arns` does not name
/// `arn`, nor `max_sts_ttl` `ttl`), as written or with spaces for underscores, which is
/// how Vault words some of its messages ("cannot parse policy document").
fn names_field(message: &str, field: &str) -> bool {
    let lower = message.to_lowercase();
    [field.to_string(), field.replace('_', " ")]
        .iter()
        .any(|name| has_word(&lower, name))
}

fn has_word(text: &str, word: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

#[test]
fn every_field_of_every_path_refuses_hostile_values_with_a_4xx_naming_it() {
    let Some(world) = World::start() else {
        return;
    };
    let fields = world.openapi_fields();
    let pids = world.server.plugin_pids();
    assert_eq!(pids.len(), 1, "one plugin process: {pids:?}");
    let plugin = pids[0];

    let mut failures = Vec::new();
    let mut counts = BTreeMap::<&str, usize>::new();
    let mut covered = Vec::new();
    for target in targets() {
        let schema = fields.get(target.openapi).unwrap_or_else(|| {
            panic!(
                "OpenAPI has no {} (paths: {:?})",
                target.openapi,
                fields.keys()
            )
        });
        for (field, property) in schema {
            if field == "name" {
                continue; // The path capture: the router's business (a 404), not a field.
            }
            let kind = kind_of(property).unwrap_or_else(|| {
                panic!(
                    "{} {field}: unknown OpenAPI type {property}",
                    target.openapi
                )
            });
            covered.push(format!("{} {field}", target.openapi));
            for (what, value, expect) in hostile_values(kind) {
                world.restore();
                let before = world.snapshot();
                let mut body = target.base.clone();
                body[field.as_str()] = value.clone();
                let response = world.server.write(&target.path, &body);
                let case = format!("{} {field} = {what}", target.path);
                let message = response.errors();
                match response.status {
                    400..=499 => {
                        *counts.entry("refused").or_default() += 1;
                        if message.starts_with(HOST_COMPLEXITY_GUARD) {
                            *counts.entry("refused by OpenBao").or_default() += 1;
                        } else if !names_field(&message, field) {
                            failures.push(format!(
                                "{case}: {} does not name the field: {message:?}",
                                response.status
                            ));
                        }
                        let after = world.snapshot();
                        if after != before {
                            failures.push(format!("{case}: refused, but storage changed"));
                        }
                    }
                    200 | 204 if expect == Expect::Either => {
                        *counts.entry("accepted").or_default() += 1;
                        let empty = value == json!("") || value == json!([]) || value == json!({});
                        if target.readable && !empty {
                            let read = world.server.read(&target.path).json();
                            let shown = &read["data"][field.as_str()];
                            // Write-only fields (secret_key) are not shown at all.
                            if !shown.is_null() && shown != &value {
                                failures.push(format!("{case}: accepted but read back as {shown}"));
                            }
                        }
                    }
                    status => failures.push(format!(
                        "{case}: want {}, got {status}: {}",
                        if expect == Expect::Refused {
                            "a 4xx"
                        } else {
                            "a 4xx or success"
                        },
                        &response.body.chars().take(300).collect::<String>()
                    )),
                }
                assert_eq!(
                    world.server.plugin_pids(),
                    vec![plugin],
                    "{case}: the plugin process died or was restarted; server log:\n{}",
                    world.server.log_tail(40)
                );
            }
        }
    }
    world.restore();

    eprintln!(
        "hostile input: {} fields, {counts:?}; covered: {covered:?}",
        covered.len()
    );
    assert!(
        failures.is_empty(),
        "{} case(s) broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The table must really have exercised the engine's fields.
    for must in [
        "/aws/roles/{name} role_arns",
        "/aws/roles/{name} policy_document",
        "/aws/config/root max_retries",
        "/aws/sts/{name} ttl",
    ] {
        assert!(covered.iter().any(|c| c == must), "{must} not covered");
    }
    let (rss, _peak) = procfs::rss_mb(plugin).expect("plugin RSS");
    eprintln!("plugin RSS after the table: {rss:.1} MB");
    assert!(
        rss < RSS_BOUND_MB,
        "the plugin holds {rss:.1} MB after the table (bound {RSS_BOUND_MB} MB)"
    );
    // A secret of the wrong type is refused without being echoed, to the client or the log.
    let mistyped = world
        .server
        .write("aws/config/root", &json!({"secret_key": [MISTYPED_SECRET]}));
    assert_eq!(mistyped.status, 400, "{}", mistyped.body);
    assert!(
        mistyped.errors().contains("secret_key"),
        "{}",
        mistyped.body
    );
    assert!(
        !mistyped.body.contains(MISTYPED_SECRET),
        "the refusal echoes the secret: {}",
        mistyped.body
    );
    let log = world.server.log_text();
    for secret in [ROOT_SECRET, MISTYPED_SECRET] {
        assert!(
            !log.contains(secret),
            "a secret key appears in the server or plugin log"
        );
    }
    // Still serving, with the state restore() wrote.
    let sts = world
        .server
        .write(&format!("aws/sts/{BASE_ROLE}"), &json!({}));
    assert_eq!(sts.status, 200, "after the table: {}", sts.body);
}
