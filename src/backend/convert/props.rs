//! Property tests of the protobuf <-> logical conversions (issue #6, "Bad input"):
//! arbitrary host requests (any text for path, operation and the JSON data, invalid and
//! deeply nested JSON, any headers, connection and lease options) become a logical request
//! carrying every field unchanged, or a 400 that names the field without echoing its
//! content; arbitrary responses go out as JSON the host can parse and come back equal.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

use super::*;

fn config(cases: u32) -> ProptestConfig {
    let base = ProptestConfig::default();
    ProptestConfig {
        // `PROPTEST_CASES=<n>` overrides the count for a longer hunt.
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            base.cases
        } else {
            cases
        },
        failure_persistence: None,
        ..base
    }
}

/// Any text, with control characters, Unicode and the odd long string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ -~]{0,16}",
        1 => "[\\x00-\\x1f\\x7f]{0,6}",
        1 => (1usize..3000).prop_map(|n| "é/".repeat(n)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = JsonMap> {
    prop::collection::btree_map(text(), json_value(), 0..6).prop_map(|m| m.into_iter().collect())
}

/// A marker that stands for a secret value inside request data.
const SECRET: &str = "hunter2-MARKER";

/// The `data` text of a host request: valid objects, other JSON, broken JSON (with a
/// secret inside), nesting past serde's recursion limit, and arbitrary text.
fn data_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => json_object().prop_map(|m| Value::Object(m).to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => json_object().prop_map(|m| {
            let mut s = Value::Object(m).to_string();
            s.pop();
            format!("{{\"password\":\"{SECRET}\",{}", s.trim_start_matches('{'))
        }),
        1 => (1usize..5000).prop_map(|n| "[".repeat(n)),
        1 => (100usize..400).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..2000).prop_map(|n| "{\"a\":".repeat(n)),
        1 => prop::sample::select(vec![
                "", " ", "\n\t", "null", "{}", "[]", "\"s\"", "1e999", "-", "{\"a\":1}}",
                "\u{feff}{}",
            ])
            .prop_map(str::to_string),
        2 => text(),
    ]
}

fn operation_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "create",
            "read",
            "update",
            "patch",
            "delete",
            "list",
            "help",
            "renew",
            "revoke",
            "rollback",
            "resolve-path",
            "scan",
            "header",
            "READ",
            "",
        ])
        .prop_map(str::to_string),
        text(),
    ]
}

fn timestamp() -> impl Strategy<Value = prost_types::Timestamp> {
    prop_oneof![
        (any::<i64>(), any::<i32>()),
        (-62_135_596_801i64..4_102_444_800, 0i32..1_000_000_000),
    ]
    .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos })
}

fn lease_options() -> impl Strategy<Value = pb::LeaseOptions> {
    (
        any::<i64>(),
        any::<bool>(),
        any::<i64>(),
        prop::option::of(timestamp()),
        any::<i64>(),
    )
        .prop_map(
            |(ttl, renewable, increment, issue_time, max_ttl)| pb::LeaseOptions {
                ttl,
                renewable,
                increment,
                issue_time,
                max_ttl,
            },
        )
}

fn secret() -> impl Strategy<Value = pb::Secret> {
    (
        prop::option::of(lease_options()),
        prop_oneof![
            json_object().prop_map(|m| Value::Object(m).to_string()),
            data_text()
        ],
        text(),
    )
        .prop_map(|(lease_options, internal_data, lease_id)| pb::Secret {
            lease_options,
            internal_data,
            lease_id,
        })
}

prop_compose! {
    fn pb_request()(
        (id, operation, path, data) in (text(), operation_name(), text(), data_text()),
        headers in prop::collection::hash_map(text(), prop::collection::vec(text(), 0..3), 0..4),
        (client_token, display_name, mount_point, entity_id) in (text(), text(), text(), text()),
        remote_addr in prop::option::of(prop_oneof![Just(String::new()), text()]),
        remote_port in any::<i32>(),
        secret in prop::option::of(secret()),
        unauthenticated in any::<bool>(),
    ) -> pb::Request {
        pb::Request {
            id,
            operation,
            path,
            data,
            secret,
            headers: headers
                .into_iter()
                .map(|(name, header)| (name, pb::Header { header }))
                .collect(),
            client_token,
            display_name,
            mount_point,
            entity_id,
            unauthenticated,
            connection: remote_addr.map(|remote_addr| pb::Connection {
                remote_addr,
                remote_port,
                ..pb::Connection::default()
            }),
            ..pb::Request::default()
        }
    }
}

/// What `request_from_proto` must make of `text` as request data.
fn expected_data(text: &str) -> Result<JsonMap, &'static str> {
    if text.trim().is_empty() {
        return Ok(JsonMap::new());
    }
    match serde_json::from_str::<Value>(text) {
        Err(_) => Err("request data is not valid JSON: "),
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(JsonMap::new()),
        Ok(_) => Err("request data must be a JSON object, not "),
    }
}

fn expected_lease_options(lo: &pb::LeaseOptions) -> LeaseOptions {
    let nanos = |n: i64| Duration::from_nanos(u64::try_from(n).unwrap_or(0));
    LeaseOptions {
        ttl: nanos(lo.ttl),
        max_ttl: nanos(lo.max_ttl),
        renewable: lo.renewable,
        increment: nanos(lo.increment),
        issue_time: lo
            .issue_time
            .filter(|ts| ts.seconds > GO_ZERO_TIME_SECONDS)
            .and_then(|ts| SystemTime::try_from(ts).ok()),
    }
}

/// JSON equality, with floats compared to within a few units in the last place (or the
/// smallest normal number): serde_json's default float parser is best-effort, while the
/// text we send is the shortest exact form, which the host's (Go's) parser reads exactly.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            // Subnormals lose most of their precision in the best-effort parse.
            x == y
                || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
                || (x - y).abs() <= f64::MIN_POSITIVE
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && json_eq(va, vb))
        }
        _ => a == b,
    }
}

fn issue_time() -> impl Strategy<Value = Option<SystemTime>> {
    prop::option::of(
        (0u64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, n)| UNIX_EPOCH + Duration::new(s, n)),
    )
}

prop_compose! {
    fn logical_secret()(
        ttl in any::<u64>(),
        max_ttl in any::<u64>(),
        increment in 0u64..=(i64::MAX as u64),
        renewable in any::<bool>(),
        issue_time in issue_time(),
        internal_data in json_object(),
        lease_id in text(),
    ) -> Secret {
        Secret {
            lease_options: LeaseOptions {
                ttl: Duration::from_nanos(ttl),
                max_ttl: Duration::from_nanos(max_ttl),
                renewable,
                increment: Duration::from_nanos(increment),
                issue_time,
            },
            internal_data,
            lease_id,
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any host request converts to a logical request carrying every field unchanged, or
    /// is refused: bad request data as a 400 naming "request data" (never echoing its
    /// content), bad lease internal data (the host's own, not the caller's) as internal.
    #[test]
    fn any_host_request_converts_or_is_refused_by_name(req in pb_request()) {
        let original = req.clone();
        let expected = expected_data(&req.data);
        let secret_ok = req.secret.as_ref().is_none_or(|s| expected_data(&s.internal_data).is_ok());
        match request_from_proto(req) {
            Ok(r) => {
                prop_assert!(secret_ok, "bad secret internal data accepted");
                prop_assert_eq!(Ok(&r.data), expected.as_ref());
                prop_assert_eq!(&r.id, &original.id);
                prop_assert_eq!(&r.path, &original.path);
                prop_assert_eq!(r.operation.as_str(), original.operation.as_str());
                prop_assert_eq!(&r.client_token, &original.client_token);
                prop_assert_eq!(&r.display_name, &original.display_name);
                prop_assert_eq!(&r.mount_point, &original.mount_point);
                prop_assert_eq!(&r.entity_id, &original.entity_id);
                prop_assert_eq!(r.unauthenticated, original.unauthenticated);
                let headers: HashMap<String, Vec<String>> = original
                    .headers
                    .iter()
                    .map(|(k, h)| (k.clone(), h.header.clone()))
                    .collect();
                prop_assert_eq!(&r.headers, &headers);
                let addr = original
                    .connection
                    .as_ref()
                    .map(|c| c.remote_addr.clone())
                    .filter(|a| !a.is_empty());
                prop_assert_eq!(&r.remote_addr, &addr);
                match (&r.secret, &original.secret) {
                    (None, None) => {}
                    (Some(got), Some(sent)) => {
                        let lo = sent.lease_options.unwrap_or_default();
                        prop_assert_eq!(&got.lease_options, &expected_lease_options(&lo));
                        prop_assert_eq!(&got.lease_id, &sent.lease_id);
                        let want = expected_data(&sent.internal_data);
                        prop_assert_eq!(Ok(&got.internal_data), want.as_ref());
                    }
                    other => prop_assert!(false, "secret lost or invented: {other:?}"),
                }
            }
            Err(Error::BadRequest(message)) => {
                let prefix = expected.as_ref().err().copied();
                prop_assert!(prefix.is_some(), "valid data refused: {message}");
                prop_assert!(message.starts_with(prefix.unwrap_or_default()), "{message}");
                prop_assert!(message.len() > prefix.unwrap_or_default().len(), "{message}");
                prop_assert!(!message.contains(SECRET), "{message} echoes the data");
                prop_assert_eq!(
                    super::super::error_map::to_proto(&Error::BadRequest(message.clone())).err_type,
                    super::super::error_map::ERR_TYPE_STATUS_BAD_REQUEST
                );
            }
            Err(Error::Internal(message)) => {
                prop_assert!(
                    expected.is_ok() && !secret_ok,
                    "internal error for caller input: {message}"
                );
                prop_assert!(message.starts_with("secret internal data "), "{message}");
            }
            Err(other) => prop_assert!(false, "unexpected error kind {other:?}"),
        }
    }

    /// Every operation name survives the trip through `Operation`.
    #[test]
    fn operation_names_round_trip(name in operation_name()) {
        let op = Operation::parse(&name);
        prop_assert_eq!(op.as_str(), name.as_str());
    }

    /// Any response goes out as JSON the host parses back to the same data (`null` for
    /// none), with its warnings, and a lease that always has an issue time and object
    /// internal data.
    #[test]
    fn any_response_goes_out_as_parsable_json(
        data in prop::option::of(json_object()),
        warnings in prop::collection::vec(text(), 0..3),
        secret in prop::option::of(logical_secret()),
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let resp = logical::Response {
            data: data.clone(),
            secret: secret.clone(),
            warnings: warnings.clone(),
        };
        let out = response_to_proto(resp, now);
        prop_assert!(out.is_ok(), "{out:?}");
        let out = out.unwrap_or_default();
        let parsed: Result<Value, _> = serde_json::from_str(&out.data);
        prop_assert!(parsed.is_ok(), "unparsable data {:?}", out.data);
        let want = data.map_or(Value::Null, Value::Object);
        prop_assert!(json_eq(&parsed.unwrap_or_default(), &want), "{} vs {}", out.data, want);
        prop_assert_eq!(&out.warnings, &warnings);
        prop_assert_eq!(out.secret.is_some(), secret.is_some());
        if let (Some(sent), Some(wire)) = (secret, out.secret) {
            let lo = wire.lease_options.unwrap_or_default();
            prop_assert!(lo.issue_time.is_some(), "lease without an issue time");
            let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
            prop_assert_eq!(lo.ttl, nanos(sent.lease_options.ttl));
            prop_assert_eq!(lo.max_ttl, nanos(sent.lease_options.max_ttl));
            let internal: Result<Value, _> = serde_json::from_str(&wire.internal_data);
            prop_assert!(
                internal
                    .as_ref()
                    .is_ok_and(|v| json_eq(v, &Value::Object(sent.internal_data.clone()))),
                "{:?}", wire.internal_data
            );
            // And back, as a renew or revoke brings it: the same secret, with the issue
            // time filled in.
            let back = secret_from_proto(wire);
            prop_assert!(back.is_ok(), "{back:?}");
            let back = back.unwrap_or_default();
            let mut expected = sent.clone();
            let cap = |d: Duration| Duration::from_nanos(nanos(d).unsigned_abs());
            expected.lease_options.ttl = cap(sent.lease_options.ttl);
            expected.lease_options.max_ttl = cap(sent.lease_options.max_ttl);
            expected.lease_options.issue_time = Some(sent.lease_options.issue_time.unwrap_or(now));
            prop_assert_eq!(&back.lease_options, &expected.lease_options);
            prop_assert_eq!(&back.lease_id, &expected.lease_id);
            let (got, want) = (back.internal_data, expected.internal_data);
            prop_assert!(json_eq(&Value::Object(got), &Value::Object(want)));
        }
    }
}
