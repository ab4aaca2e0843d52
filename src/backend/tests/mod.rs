//! [protocol adapter, tests only] Drives `services(..)` the way the host does, over real
//! gRPC: the adapter runs on a plaintext tonic server on 127.0.0.1:0, its Dialer hands
//! back a channel to an in-process fake host (`client::test_host`) serving Storage over an
//! `InMemoryStorage` and a fixed SystemView, and the generated pb clients play the host.
//! The engine and harness are in `harness`.

mod harness;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use tonic::Code;

use super::error_map::*;
use super::server::PANIC_MESSAGE;
use crate::pb::pb::{self as wire, HandleRequestArgs};
use harness::{Harness, data_of, err_of, request, with_id};

#[tokio::test]
async fn calls_before_setup_are_refused_but_version_answers() {
    let mut h = Harness::start(false).await;
    let status = h
        .try_request("read", "kv/a", "null")
        .await
        .expect_err("no instance yet");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("Setup has not been called"),
        "{}",
        status.message()
    );
    let status = h
        .backend
        .r#type(with_id(wire::Empty {}))
        .await
        .expect_err("no instance");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = h
        .backend
        .cleanup(with_id(wire::Empty {}))
        .await
        .expect_err("no instance");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let v = h
        .version
        .version(crate::pb::logical::Empty {})
        .await
        .expect("version");
    assert_eq!(v.into_inner().plugin_version, super::PLUGIN_VERSION);
}

#[tokio::test]
async fn setup_dials_the_broker_and_touches_no_host_service() {
    let mut h = Harness::start(false).await;
    let err = h
        .setup(&[("plugin_name", "aws"), ("plugin_type", "secret")])
        .await;
    assert_eq!(err, "");
    assert_eq!(*h.dialer.dialed.lock().expect("lock"), vec![7]);
    let configs = h.probe.configs.lock().expect("lock").clone();
    assert_eq!(configs.len(), 1);
    assert_eq!(
        configs[0].0.get("plugin_name").map(String::as_str),
        Some("aws")
    );
    assert_eq!(
        configs[0].0.get("plugin_type").map(String::as_str),
        Some("secret")
    );
    assert_eq!(configs[0].1, "uuid-1");
    // The host has no storage behind the broker while probing a registration.
    assert_eq!(h.host.storage_calls(), 0, "Setup must not call storage");
}

#[tokio::test]
async fn full_lifecycle_through_the_wire() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");

    let ty = h
        .backend
        .r#type(with_id(wire::Empty {}))
        .await
        .expect("type")
        .into_inner();
    assert_eq!(ty.r#type, 1);
    let paths = h
        .backend
        .special_paths(with_id(wire::Empty {}))
        .await
        .expect("paths");
    let paths = paths.into_inner().paths.expect("paths present");
    assert_eq!(paths.root, vec!["config/*"]);
    assert_eq!(paths.local_storage, vec!["wal/"]);
    assert_eq!(paths.seal_wrap_storage, vec!["config/root"]);

    let init = h
        .backend
        .initialize(with_id(wire::InitializeArgs {}))
        .await
        .expect("init");
    assert_eq!(init.into_inner().err, None);
    assert_eq!(
        h.host.storage.keys(),
        vec!["initialized"],
        "Initialize reached host storage"
    );

    // create vs update: the existence check reads through the broker too.
    let check = h.exists("kv/a").await;
    assert!(
        check.check_found && !check.exists && check.err.is_none(),
        "{check:?}"
    );
    let reply = h.request("create", "kv/a", r#"{"v":"1","n":2}"#).await;
    assert!(reply.response.is_none() && reply.err.is_none(), "{reply:?}");
    assert!(h.host.storage.keys().contains(&"kv/a".to_string()));
    let check = h.exists("kv/a").await;
    assert!(check.check_found && check.exists, "{check:?}");
    let check = h.exists("other").await;
    assert!(!check.check_found && !check.exists, "{check:?}");

    let reply = h.request("read", "kv/a", "null").await;
    assert_eq!(data_of(&reply), json!({"v": "1", "n": 2}));
    let reply = h.request("read", "kv/missing", "null").await;
    assert!(
        reply.response.is_none() && reply.err.is_none(),
        "no response means 404"
    );
    let reply = h.request("delete", "kv/a", "null").await;
    assert!(reply.response.is_none() && reply.err.is_none());
    assert!(!h.host.storage.keys().contains(&"kv/a".to_string()));

    let reply = h.request("read", "ttl", "null").await;
    assert_eq!(
        data_of(&reply),
        json!({"ttl_seconds": 768 * 3600}),
        "SystemView via the broker"
    );

    let invalidate = wire::InvalidateKeyArgs {
        key: "config/root".into(),
    };
    h.backend
        .invalidate_key(with_id(invalidate))
        .await
        .expect("invalidate");
    assert_eq!(
        *h.probe.invalidated.lock().expect("lock"),
        vec!["config/root"]
    );

    h.backend
        .cleanup(with_id(wire::Empty {}))
        .await
        .expect("cleanup");
    assert_eq!(h.probe.cleanups.load(Ordering::SeqCst), 1);
    let status = h
        .try_request("read", "kv/a", "null")
        .await
        .expect_err("gone after Cleanup");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn responses_are_always_valid_json_with_leases_in_nanoseconds() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");

    let reply = h.request("read", "empty", "null").await;
    assert_eq!(data_of(&reply), Value::Null);
    assert_eq!(
        reply.response.as_ref().map(|r| r.data.as_str()),
        Some("null")
    );

    let before = std::time::SystemTime::now();
    let reply = h.request("read", "lease", "null").await;
    assert_eq!(data_of(&reply), json!({"access_key": "AKIA-TEST"}));
    let secret = reply.response.and_then(|r| r.secret).expect("a secret");
    assert_eq!(secret.internal_data, "{}");
    let lo = secret.lease_options.expect("lease options");
    assert_eq!(lo.ttl, 3_600_000_000_000);
    assert_eq!(lo.max_ttl, 7_200_000_000_000);
    assert!(lo.renewable);
    let issued = std::time::SystemTime::try_from(lo.issue_time.expect("issue_time always set"))
        .expect("time");
    assert!(
        issued >= before - Duration::from_secs(1),
        "issue time is now"
    );

    // A renew carries the lease back in; echoing it must preserve everything.
    let mut renew = request("renew", "renew", r#"{"access_key":"AKIA-TEST"}"#);
    let issue_time = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    };
    renew.secret = Some(wire::Secret {
        lease_options: Some(wire::LeaseOptions {
            ttl: 900_000_000_000,
            renewable: true,
            increment: 300_000_000_000,
            issue_time: Some(issue_time),
            max_ttl: 3_600_000_000_000,
        }),
        internal_data: r#"{"secret_type":"access_keys","username":"vault-x"}"#.into(),
        lease_id: String::new(),
    });
    let args = HandleRequestArgs {
        storage_id: 0,
        request: Some(renew),
    };
    let reply = h
        .backend
        .handle_request(with_id(args))
        .await
        .expect("renew")
        .into_inner();
    let secret = reply
        .response
        .and_then(|r| r.secret)
        .expect("secret echoed");
    let lo = secret.lease_options.expect("lease options");
    assert_eq!(
        (lo.ttl, lo.increment, lo.max_ttl),
        (900_000_000_000, 300_000_000_000, 3_600_000_000_000)
    );
    assert_eq!(lo.issue_time, Some(issue_time));
    let internal: Value = serde_json::from_str(&secret.internal_data).expect("json");
    assert_eq!(
        internal,
        json!({"secret_type": "access_keys", "username": "vault-x"})
    );
}

#[tokio::test]
async fn request_fields_reach_the_engine() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");
    let mut req = request("update", "echo", r#"{"role_arns":"a,b"}"#);
    req.connection = Some(wire::Connection {
        remote_addr: "127.0.0.1".into(),
        ..Default::default()
    });
    req.headers.insert(
        "X-Custom".into(),
        wire::Header {
            header: vec!["v".into()],
        },
    );
    let args = HandleRequestArgs {
        storage_id: 0,
        request: Some(req),
    };
    let reply = h
        .backend
        .handle_request(with_id(args))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(
        data_of(&reply),
        json!({
            "data": {"role_arns": "a,b"},
            "remote_addr": "127.0.0.1",
            "headers": {"X-Custom": ["v"]},
            "display_name": "token",
            "mount_point": "aws/",
        })
    );
}

#[tokio::test]
async fn errors_map_to_proto_error_types() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");
    let cases = [
        ("user", ERR_TYPE_USER_ERROR, "no such role", 0),
        ("bad", ERR_TYPE_STATUS_BAD_REQUEST, "ttl is invalid", 0),
        (
            "coded",
            ERR_TYPE_CODED_ERROR,
            "AWS throttled the request",
            502,
        ),
        ("path", ERR_TYPE_UNSUPPORTED_PATH, "unsupported path", 0),
        (
            "op",
            ERR_TYPE_UNSUPPORTED_OPERATION,
            "unsupported operation",
            0,
        ),
        ("invalid", ERR_TYPE_INVALID_REQUEST, "invalid request", 0),
        ("denied", ERR_TYPE_PERMISSION_DENIED, "permission denied", 0),
        (
            "unrecoverable",
            ERR_TYPE_UNRECOVERABLE,
            "unrecoverable error: corrupt lease",
            0,
        ),
        (
            "internal",
            ERR_TYPE_UNKNOWN,
            "cannot write to readonly storage",
            0,
        ),
    ];
    for (kind, ty, msg, code) in cases {
        let reply = h.request("read", &format!("error/{kind}"), "null").await;
        assert!(reply.response.is_none(), "{kind}");
        assert_eq!(err_of(&reply), (ty, msg.to_string(), code), "{kind}");
    }

    // A user-fixable problem is an error *response*, not an error.
    let reply = h.request("update", "respond-error", "{}").await;
    assert!(reply.err.is_none());
    assert_eq!(data_of(&reply), json!({"error": "name is required"}));

    // Data that is not a JSON object is the caller's fault: 400.
    let reply = h.request("update", "kv/a", "[1,2]").await;
    let (ty, msg, _) = err_of(&reply);
    assert_eq!(ty, ERR_TYPE_STATUS_BAD_REQUEST);
    assert_eq!(msg, "request data must be a JSON object, not an array");
    let args = HandleRequestArgs {
        storage_id: 0,
        request: None,
    };
    let reply = h
        .backend
        .handle_request(with_id(args))
        .await
        .expect("rpc")
        .into_inner();
    // A message without a request is the host's fault, not the caller's: internal.
    assert_eq!(err_of(&reply).0, ERR_TYPE_UNKNOWN);

    // Storage failures reported in band reach the host with their text unchanged.
    h.host.fail_in_band("cannot write to readonly storage");
    let reply = h.request("update", "kv/b", r#"{"v":"x"}"#).await;
    assert_eq!(
        err_of(&reply),
        (
            ERR_TYPE_UNKNOWN,
            "cannot write to readonly storage".into(),
            0
        )
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_an_internal_error_and_the_server_lives_on() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");
    let reply = h.request("read", "panic", "null").await;
    assert!(reply.response.is_none());
    assert_eq!(
        err_of(&reply),
        (ERR_TYPE_UNKNOWN, PANIC_MESSAGE.to_string(), 0)
    );

    let check = h.exists("panic").await;
    let err = check.err.expect("existence check error");
    assert_eq!(
        (err.err_type, err.err_msg.as_str()),
        (ERR_TYPE_UNKNOWN, PANIC_MESSAGE)
    );

    // The same instance keeps serving.
    let reply = h.request("update", "kv/after", r#"{"ok":true}"#).await;
    assert!(reply.err.is_none(), "{reply:?}");
    let reply = h.request("read", "kv/after", "null").await;
    assert_eq!(data_of(&reply), json!({"ok": true}));
}

#[tokio::test]
async fn messages_larger_than_tonic_defaults_pass() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");
    // 5 MiB: over tonic's 4 MiB default decode limit, under Go's MaxInt32.
    let big = "x".repeat(5 * 1024 * 1024);
    let data = json!({ "blob": big }).to_string();
    let reply = h.request("update", "kv/big", &data).await;
    assert!(reply.err.is_none(), "{:?}", reply.err);
    let reply = h.request("read", "kv/big", "null").await;
    assert_eq!(
        data_of(&reply)["blob"].as_str().map(str::len),
        Some(big.len())
    );
}

#[tokio::test]
async fn setup_failures_come_back_in_setup_reply() {
    let mut h = Harness::start(true).await;
    let err = h.setup(&[]).await;
    assert!(err.contains("broker id 7"), "{err}");
    assert!(err.contains("timeout waiting for connection info"), "{err}");
    let status = h
        .try_request("read", "kv/a", "null")
        .await
        .expect_err("no instance");
    assert_eq!(status.code(), Code::FailedPrecondition);

    let mut h = Harness::start(false).await;
    let err = h.setup(&[("factory", "fail")]).await;
    assert_eq!(
        err,
        "setup: the backend factory failed: region is not configured"
    );

    let err = h.setup(&[("factory", "panic")]).await;
    assert_eq!(err, PANIC_MESSAGE);
    // The process keeps serving after a panicking factory.
    assert_eq!(h.setup(&[]).await, "");
    let reply = h.request("read", "generation", "null").await;
    assert_eq!(data_of(&reply), json!({"generation": 1}));
}

#[tokio::test]
async fn a_second_setup_replaces_and_cleans_up_the_first() {
    let mut h = Harness::start(false).await;
    assert_eq!(h.setup(&[]).await, "");
    assert_eq!(h.setup(&[]).await, "");
    assert_eq!(
        h.probe.cleanups.load(Ordering::SeqCst),
        1,
        "old instance cleaned up"
    );
    let reply = h.request("read", "generation", "null").await;
    assert_eq!(data_of(&reply), json!({"generation": 2}));
}
