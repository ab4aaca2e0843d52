//! [protocol adapter] Conversions between the `pb.Backend` messages and `logical` types:
//! requests (JSON data, headers, secret, remote address), responses, secrets and lease
//! options, special paths and the backend type. The host-service messages (storage
//! entries, identity, TTL replies) are converted in `client`, which this layer may use.
//!
//! The host parses every JSON-in-a-string field with Go's `json.Unmarshal`, so whatever we
//! send is valid JSON: response data is `null` or an object, secret internal data is
//! always an object. Durations travel as Go `time.Duration` nanoseconds, and every lease
//! carries an issue time, because the host rejects a secret without one ("invalid nil
//! Timestamp"). On the way in we are lenient where Go would fail: an empty string is read
//! as no data.

use std::collections::HashMap;
use std::time::SystemTime;

use serde_json::Value;

use crate::client::{duration_from_nanos, duration_to_nanos};
use crate::logical::{
    self, BackendType, Error, JsonMap, LeaseOptions, Operation, Secret, SpecialPaths,
};
use crate::pb::pb;

/// `logical.TypeLogical`, what a secrets engine reports from `Type`.
pub(crate) const TYPE_LOGICAL: u32 = 1;
/// `logical.TypeCredential`, what an auth method reports from `Type`.
pub(crate) const TYPE_CREDENTIAL: u32 = 2;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds. The Go SDK encodes an unset
/// issue time as this rather than leaving the field out.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// A host request as a `logical::Request`. Fails (as a 400) only when the data or the
/// secret's internal data is not a JSON object; the message names the field but never
/// echoes its content, which may be a secret.
pub(crate) fn request_from_proto(req: pb::Request) -> Result<logical::Request, Error> {
    let data = json_object_from_text(&req.data, "request data")?;
    let secret = req.secret.map(secret_from_proto).transpose()?;
    let remote_addr = req
        .connection
        .map(|c| c.remote_addr)
        .filter(|addr| !addr.is_empty());
    let headers: HashMap<String, Vec<String>> = req
        .headers
        .into_iter()
        .map(|(name, h)| (name, h.header))
        .collect();
    Ok(logical::Request {
        id: req.id,
        operation: Operation::parse(&req.operation),
        path: req.path,
        data,
        secret,
        client_token: req.client_token,
        client_token_accessor: req.client_token_accessor,
        display_name: req.display_name,
        mount_point: req.mount_point,
        mount_type: req.mount_type,
        mount_accessor: req.mount_accessor,
        entity_id: req.entity_id,
        headers,
        unauthenticated: req.unauthenticated,
        remote_addr,
    })
}

/// A backend's response as the host expects it: data is `null` or a JSON object.
pub(crate) fn response_to_proto(
    resp: logical::Response,
    now: SystemTime,
) -> Result<pb::Response, Error> {
    let data = match &resp.data {
        Some(map) => json_text(map)?,
        None => "null".to_string(),
    };
    let secret = resp.secret.map(|s| secret_to_proto(s, now)).transpose()?;
    Ok(pb::Response {
        secret,
        data,
        warnings: resp.warnings,
        ..pb::Response::default()
    })
}

/// A secret from a renew or revoke request.
pub(crate) fn secret_from_proto(secret: pb::Secret) -> Result<Secret, Error> {
    Ok(Secret {
        lease_options: secret
            .lease_options
            .map(lease_options_from_proto)
            .unwrap_or_default(),
        // Internal data comes from the host's stored lease, not from the user: a broken one
        // is an internal failure, not a bad request.
        internal_data: json_object_from_text(&secret.internal_data, "secret internal data")
            .map_err(|e| Error::Internal(e.to_string()))?,
        lease_id: secret.lease_id,
    })
}

/// A secret for the host. `internal_data` is always a JSON object (at least `{}`) and the
/// lease always has an issue time (`now` when the backend left it unset).
pub(crate) fn secret_to_proto(secret: Secret, now: SystemTime) -> Result<pb::Secret, Error> {
    Ok(pb::Secret {
        lease_options: Some(lease_options_to_proto(&secret.lease_options, now)),
        internal_data: json_text(&secret.internal_data)?,
        lease_id: secret.lease_id,
    })
}

/// Lease options from the host; negative durations become zero and Go's zero time
/// becomes "unknown".
pub(crate) fn lease_options_from_proto(lo: pb::LeaseOptions) -> LeaseOptions {
    LeaseOptions {
        ttl: duration_from_nanos(lo.ttl),
        max_ttl: duration_from_nanos(lo.max_ttl),
        renewable: lo.renewable,
        increment: duration_from_nanos(lo.increment),
        issue_time: lo.issue_time.and_then(system_time_from_proto),
    }
}

/// Lease options for the host, in nanoseconds, with an issue time always present.
pub(crate) fn lease_options_to_proto(lo: &LeaseOptions, now: SystemTime) -> pb::LeaseOptions {
    pb::LeaseOptions {
        ttl: duration_to_nanos(lo.ttl),
        renewable: lo.renewable,
        increment: duration_to_nanos(lo.increment),
        issue_time: Some(prost_types::Timestamp::from(lo.issue_time.unwrap_or(now))),
        max_ttl: duration_to_nanos(lo.max_ttl),
    }
}

/// The special paths as the host's `Paths` message (Vault-only fields left empty).
pub(crate) fn special_paths_to_proto(paths: SpecialPaths) -> pb::Paths {
    pb::Paths {
        root: paths.root,
        unauthenticated: paths.unauthenticated,
        local_storage: paths.local_storage,
        seal_wrap_storage: paths.seal_wrap_storage,
        write_forwarded_storage: paths.write_forwarded_storage,
        binary: Vec::new(),
        limited: Vec::new(),
    }
}

/// The number `Type` reports.
pub(crate) fn backend_type_to_proto(ty: BackendType) -> u32 {
    match ty {
        BackendType::Logical => TYPE_LOGICAL,
        BackendType::Credential => TYPE_CREDENTIAL,
    }
}

fn system_time_from_proto(ts: prost_types::Timestamp) -> Option<SystemTime> {
    if ts.seconds <= GO_ZERO_TIME_SECONDS {
        return None;
    }
    SystemTime::try_from(ts).ok()
}

/// JSON text as an object. `null` and the empty string are no data; anything that is not
/// an object is a bad request naming `what`.
fn json_object_from_text(text: &str, what: &str) -> Result<JsonMap, Error> {
    if text.trim().is_empty() {
        return Ok(JsonMap::new());
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::BadRequest(format!("{what} is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(JsonMap::new()),
        other => Err(Error::BadRequest(format!(
            "{what} must be a JSON object, not {}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_text(map: &JsonMap) -> Result<String, Error> {
    // Serialising a map of `Value`s cannot fail (keys are strings, values are plain
    // data); the error arm only keeps this free of `unwrap`.
    serde_json::to_string(map).map_err(|e| Error::Internal(format!("encoding response JSON: {e}")))
}

/// Properties over arbitrary requests and responses (issue #6).
#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::json;

    use super::*;

    fn pb_request(data: &str) -> pb::Request {
        pb::Request {
            id: "req-1".into(),
            operation: "update".into(),
            path: "roles/x".into(),
            data: data.into(),
            ..pb::Request::default()
        }
    }

    fn obj(v: Value) -> JsonMap {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn request_data_null_and_empty_are_no_data() {
        for text in ["null", "", "  "] {
            let req = request_from_proto(pb_request(text)).expect("converts");
            assert!(req.data.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn request_data_object_is_kept() {
        let req = request_from_proto(pb_request(r#"{"ttl":"15m","n":3,"tags":["a"]}"#))
            .expect("converts");
        assert_eq!(
            Value::Object(req.data),
            json!({"ttl": "15m", "n": 3, "tags": ["a"]})
        );
        assert_eq!(req.operation, Operation::Update);
        assert_eq!(req.path, "roles/x");
        assert_eq!(req.id, "req-1");
    }

    #[test]
    fn request_data_that_is_not_an_object_is_a_bad_request() {
        let err = request_from_proto(pb_request("[1,2]")).expect_err("array");
        assert_eq!(
            err,
            Error::BadRequest("request data must be a JSON object, not an array".into())
        );
        let err = request_from_proto(pb_request("\"secret-value\"")).expect_err("string");
        assert!(
            matches!(&err, Error::BadRequest(m) if !m.contains("secret-value")),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_request_json_is_a_bad_request_without_the_content() {
        let err =
            request_from_proto(pb_request("{\"password\":\"hunter2\"")).expect_err("truncated");
        match err {
            Error::BadRequest(m) => {
                assert!(m.starts_with("request data is not valid JSON"), "{m}");
                assert!(!m.contains("hunter2"), "{m}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn request_metadata_headers_and_remote_addr() {
        let mut req = pb_request("null");
        req.client_token = "hashed".into();
        req.client_token_accessor = "acc".into();
        req.display_name = "token".into();
        req.mount_point = "aws/".into();
        req.mount_type = "aws".into();
        req.mount_accessor = "aws_123".into();
        req.entity_id = "e1".into();
        req.unauthenticated = true;
        req.headers.insert(
            "X-Test".into(),
            pb::Header {
                header: vec!["a".into(), "b".into()],
            },
        );
        req.connection = Some(pb::Connection {
            remote_addr: "127.0.0.1".into(),
            ..Default::default()
        });
        let r = request_from_proto(req).expect("converts");
        assert_eq!(r.client_token, "hashed");
        assert_eq!(r.client_token_accessor, "acc");
        assert_eq!(r.display_name, "token");
        assert_eq!(r.mount_point, "aws/");
        assert_eq!(r.mount_type, "aws");
        assert_eq!(r.mount_accessor, "aws_123");
        assert_eq!(r.entity_id, "e1");
        assert!(r.unauthenticated);
        assert_eq!(r.headers["X-Test"], vec!["a", "b"]);
        assert_eq!(r.remote_addr.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn missing_or_empty_connection_has_no_remote_addr() {
        assert_eq!(
            request_from_proto(pb_request("null"))
                .expect("ok")
                .remote_addr,
            None
        );
        let mut req = pb_request("null");
        req.connection = Some(pb::Connection::default());
        assert_eq!(request_from_proto(req).expect("ok").remote_addr, None);
    }

    #[test]
    fn unknown_operations_are_kept_verbatim() {
        let mut req = pb_request("null");
        req.operation = "scan".into();
        assert_eq!(
            request_from_proto(req).expect("ok").operation,
            Operation::Other("scan".into())
        );
    }

    #[test]
    fn revoke_secret_is_decoded_with_nanosecond_durations() {
        let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut req = pb_request(r#"{"access_key":"AKIA"}"#);
        req.operation = "revoke".into();
        req.secret = Some(pb::Secret {
            lease_options: Some(pb::LeaseOptions {
                ttl: 900_000_000_000,
                renewable: true,
                increment: 60_000_000_000,
                issue_time: Some(issued.into()),
                max_ttl: -5,
            }),
            internal_data: r#"{"secret_type":"access_keys","username":"u"}"#.into(),
            lease_id: String::new(),
        });
        let r = request_from_proto(req).expect("converts");
        let s = r.secret.expect("secret");
        assert_eq!(s.lease_options.ttl, Duration::from_secs(900));
        assert_eq!(s.lease_options.increment, Duration::from_secs(60));
        assert_eq!(
            s.lease_options.max_ttl,
            Duration::ZERO,
            "negative clamps to zero"
        );
        assert!(s.lease_options.renewable);
        assert_eq!(s.lease_options.issue_time, Some(issued));
        assert_eq!(
            Value::Object(s.internal_data),
            json!({"secret_type": "access_keys", "username": "u"})
        );
    }

    #[test]
    fn secret_internal_data_must_be_an_object() {
        let s = pb::Secret {
            internal_data: "[]".into(),
            ..Default::default()
        };
        assert_eq!(
            secret_from_proto(s),
            // It comes from the host's stored lease, not the caller: an internal failure.
            Err(Error::Internal(
                "secret internal data must be a JSON object, not an array".into()
            ))
        );
        let empty = pb::Secret::default();
        assert!(
            secret_from_proto(empty)
                .expect("empty is no data")
                .internal_data
                .is_empty()
        );
    }

    #[test]
    fn go_zero_issue_time_is_unknown() {
        let lo = pb::LeaseOptions {
            issue_time: Some(prost_types::Timestamp {
                seconds: GO_ZERO_TIME_SECONDS,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(lease_options_from_proto(lo).issue_time, None);
    }

    #[test]
    fn response_data_is_null_or_an_object() {
        let now = SystemTime::now();
        let none = response_to_proto(logical::Response::default(), now).expect("ok");
        assert_eq!(none.data, "null");
        let empty =
            response_to_proto(logical::Response::with_data(JsonMap::new()), now).expect("ok");
        assert_eq!(empty.data, "{}");
        let some = response_to_proto(
            logical::Response::with_data(obj(json!({"a": [1, "x"]}))),
            now,
        )
        .expect("ok");
        assert_eq!(
            serde_json::from_str::<Value>(&some.data).expect("json"),
            json!({"a": [1, "x"]})
        );
        assert!(none.secret.is_none() && none.auth.is_none() && none.wrap_info.is_none());
    }

    #[test]
    fn response_warnings_and_error_responses_survive() {
        let mut r = logical::Response::error("role name is required");
        r.add_warning("ttl was capped");
        let p = response_to_proto(r, SystemTime::now()).expect("ok");
        assert_eq!(p.warnings, vec!["ttl was capped"]);
        assert_eq!(
            serde_json::from_str::<Value>(&p.data).expect("json"),
            json!({"error": "role name is required"})
        );
    }

    #[test]
    fn secret_out_has_nanoseconds_issue_time_and_object_internal_data() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let secret = Secret {
            lease_options: LeaseOptions {
                ttl: Duration::from_secs(3600),
                max_ttl: Duration::from_secs(7200),
                renewable: true,
                increment: Duration::ZERO,
                issue_time: None,
            },
            internal_data: JsonMap::new(),
            lease_id: String::new(),
        };
        let p = secret_to_proto(secret, now).expect("ok");
        assert_eq!(
            p.internal_data, "{}",
            "empty internal data is still valid JSON"
        );
        let lo = p.lease_options.expect("lease options always present");
        assert_eq!(lo.ttl, 3_600_000_000_000);
        assert_eq!(lo.max_ttl, 7_200_000_000_000);
        assert!(lo.renewable);
        assert_eq!(
            lo.issue_time,
            Some(now.into()),
            "unset issue time becomes now"
        );
    }

    #[test]
    fn secret_out_keeps_an_explicit_issue_time_and_internal_data() {
        let issued = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let secret = Secret {
            lease_options: LeaseOptions {
                issue_time: Some(issued),
                ..Default::default()
            },
            internal_data: obj(json!({"secret_type": "access_keys"})),
            lease_id: String::new(),
        };
        let p = secret_to_proto(secret, SystemTime::now()).expect("ok");
        assert_eq!(p.lease_options.expect("lo").issue_time, Some(issued.into()));
        assert_eq!(
            serde_json::from_str::<Value>(&p.internal_data).expect("json"),
            json!({"secret_type": "access_keys"})
        );
    }

    #[test]
    fn renewed_secret_round_trips() {
        let issued = UNIX_EPOCH + Duration::from_secs(1_650_000_000);
        let secret = Secret {
            lease_options: LeaseOptions {
                ttl: Duration::from_secs(900),
                max_ttl: Duration::from_secs(3600),
                renewable: true,
                increment: Duration::from_secs(300),
                issue_time: Some(issued),
            },
            internal_data: obj(json!({"secret_type": "access_keys", "username": "vault-x"})),
            lease_id: "aws/creds/x/abc".into(),
        };
        let back =
            secret_from_proto(secret_to_proto(secret.clone(), SystemTime::now()).expect("out"))
                .expect("in");
        assert_eq!(back, secret);
    }

    #[test]
    fn special_paths_and_type() {
        let paths = SpecialPaths {
            root: vec!["config/*".into()],
            unauthenticated: vec!["public".into()],
            local_storage: vec!["wal/".into()],
            seal_wrap_storage: vec!["config/root".into()],
            write_forwarded_storage: vec!["fwd/".into()],
        };
        let p = special_paths_to_proto(paths);
        assert_eq!(p.root, vec!["config/*"]);
        assert_eq!(p.unauthenticated, vec!["public"]);
        assert_eq!(p.local_storage, vec!["wal/"]);
        assert_eq!(p.seal_wrap_storage, vec!["config/root"]);
        assert_eq!(p.write_forwarded_storage, vec!["fwd/"]);
        assert!(p.binary.is_empty() && p.limited.is_empty());
        assert_eq!(backend_type_to_proto(BackendType::Logical), 1);
        assert_eq!(backend_type_to_proto(BackendType::Credential), 2);
    }
}
