//! Protocol conformance of the built plugin binary, driven by the small go-plugin host in
//! `tests/common/host.rs`, which launches it the way OpenBao 2.7.2 does.
//!
//! Covers the transport contract (magic cookie, protocol version, AutoMTLS, handshake
//! line, stdout discipline, signals, Shutdown), the broker (Setup reaching the host's
//! storage, ConnInfo ordering) and the Vault backend protocol as the server sees it
//! (every `pb.Backend` RPC, error types, JSON-in-string fields, message size limits).
//! Engine behaviour beyond `config/lease` is out of scope; `tests/engine.rs` has it.

mod common;

use std::time::Duration;

use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use vault_plugin_secrets_aws_rs::logical::StorageExt;

use common::host::tls::{self, Identity};
use common::host::{Announce, COOKIE_KEY, Host, Launch, wait_until};

// ProtoError.err_type values the host understands (protocol.md §9.4).
const ERR_UNSUPPORTED_OPERATION: u32 = 5;
const ERR_UNSUPPORTED_PATH: u32 = 6;

/// How long a refusal (bad cookie, bad version, ...) may take to exit.
const REFUSAL_LIMIT: Duration = Duration::from_secs(10);
/// go-plugin's grace between Shutdown and SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

fn lease_body() -> Value {
    json!({"lease": "30m", "lease_max": "1h"})
}

// ---------------------------------------------------------------------------------------
// Start-up refusals: exit 1, a message on stderr, nothing on stdout.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_cookie_exits_1_with_empty_stdout_and_a_message() {
    let out = Launch::openbao()
        .unset(COOKIE_KEY)
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit status; stderr:\n{}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "stdout must stay empty");
    assert!(
        out.stderr.to_lowercase().contains("plugin") && out.stderr.trim().len() > 20,
        "stderr should explain that this binary is a plugin: {:?}",
        out.stderr
    );
}

#[tokio::test]
async fn wrong_cookie_exits_1_with_empty_stdout_and_a_message() {
    let out = Launch::openbao()
        .set(COOKIE_KEY, "00000000-0000-0000-0000-000000000000")
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit status; stderr:\n{}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "stdout must stay empty");
    assert!(
        out.stderr.to_lowercase().contains("plugin"),
        "stderr: {:?}",
        out.stderr
    );
}

/// OpenBao's untyped registration probes every binary as a database plugin first; a
/// secrets engine must fail that probe instead of answering it.
#[tokio::test]
async fn database_plugin_probe_is_refused() {
    let out = Launch::openbao()
        .unset(COOKIE_KEY)
        .set(
            "VAULT_DATABASE_PLUGIN",
            "926a0820-aea2-be28-51d6-83cdf00e8edb",
        )
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[tokio::test]
async fn protocol_versions_without_5_are_refused() {
    let out = Launch::openbao()
        .set("PLUGIN_PROTOCOL_VERSIONS", "3,4")
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.to_lowercase().contains("protocol"),
        "stderr should name the protocol version problem: {:?}",
        out.stderr
    );
}

#[tokio::test]
async fn missing_client_certificate_is_refused() {
    let out = Launch::openbao()
        .unset("PLUGIN_CLIENT_CERT")
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "");
    let lower = out.stderr.to_lowercase();
    assert!(
        lower.contains("plugin_client_cert")
            || lower.contains("certificate")
            || lower.contains("mtls"),
        "stderr should say the AutoMTLS certificate is missing: {:?}",
        out.stderr
    );
}

/// Broker multiplexing is not implemented, so a host asking for it must get a fast,
/// explicit failure rather than a handshake without the 7th field.
#[tokio::test]
async fn broker_multiplexing_request_is_refused() {
    let out = Launch::openbao()
        .set("PLUGIN_MULTIPLEX_GRPC", "true")
        .run_to_exit(REFUSAL_LIMIT)
        .await;
    assert_ne!(out.status.code(), Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "");
}

// ---------------------------------------------------------------------------------------
// Handshake line and stdout discipline.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn handshake_line_is_go_plugin_v5_grpc_with_unpadded_certificate() {
    let mut plugin = Launch::openbao().spawn().await;
    let hs = plugin.handshake.clone();
    let shape = regex_lite::Regex::new(r"^1\|5\|(unix|tcp)\|[^|]+\|grpc\|[A-Za-z0-9+/]{51,}$")
        .expect("regex");
    assert!(shape.is_match(&hs.line), "handshake line {:?}", hs.line);
    assert!(
        !hs.line.contains('='),
        "base64 must be unpadded: {:?}",
        hs.line
    );
    assert!(
        hs.mux.is_none(),
        "no 7th field unless PLUGIN_MULTIPLEX_GRPC is set"
    );

    // The certificate is a DER certificate that Go would accept for `localhost`.
    let parsed = rustls::server::ParsedCertificate::try_from(&hs.cert_der)
        .expect("field 6 decodes to a parseable X.509 certificate");
    let localhost = ServerName::try_from("localhost").expect("name");
    rustls::client::verify_server_name(&parsed, &localhost).expect("certificate has SAN localhost");

    // The listener exists before the line is printed (the host dials at once).
    match hs.network.as_str() {
        "unix" => {
            let socket = plugin.socket_path().expect("unix socket path");
            assert!(
                socket.is_absolute(),
                "socket path must be absolute: {socket:?}"
            );
            assert!(
                socket.exists(),
                "socket {socket:?} exists while the plugin runs"
            );
        }
        _ => assert!(
            hs.address.starts_with("127.0.0.1:"),
            "tcp address {:?}",
            hs.address
        ),
    }

    plugin.signal("TERM");
    assert!(
        plugin.wait_exit(Duration::from_secs(5)).await.is_some(),
        "exits on SIGTERM"
    );
    assert_eq!(
        plugin.stdout_after_handshake().await,
        "",
        "nothing but the handshake on stdout"
    );
}

#[tokio::test]
async fn each_launch_has_its_own_certificate() {
    let a = Launch::openbao().spawn().await;
    let b = Launch::openbao().spawn().await;
    assert_ne!(a.handshake.cert_der, b.handshake.cert_der);
    assert_ne!(a.handshake.address, b.handshake.address);
}

// ---------------------------------------------------------------------------------------
// AutoMTLS on the plugin's listener.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn host_certificate_gets_tls13_with_alpn_h2() {
    let plugin = Launch::openbao().spawn().await;
    let tls = plugin
        .tls_connect(plugin.host_tls())
        .await
        .expect("TLS with the host certificate");
    let (_, session) = tls.get_ref();
    assert_eq!(
        session.alpn_protocol(),
        Some(&b"h2"[..]),
        "grpc-go enforces ALPN h2"
    );
    assert_eq!(
        session.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

/// Health check as a probe that needs a working TLS + HTTP/2 session.
async fn health_probe(channel: tonic::transport::Channel) -> Result<i32, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: "plugin".to_string(),
    });
    request.set_timeout(Duration::from_secs(5));
    HealthClient::new(channel)
        .check(request)
        .await
        .map(|r| r.into_inner().status)
}

async fn assert_refused(
    plugin: &common::host::PluginProcess,
    config: rustls::ClientConfig,
    who: &str,
) {
    match plugin.channel_with(config).await {
        Err(_) => {}
        Ok(channel) => {
            let probe = health_probe(channel).await;
            assert!(
                probe.is_err(),
                "{who} must not get an answer from the plugin, got {probe:?}"
            );
        }
    }
}

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let mut plugin = Launch::openbao().spawn().await;
    let no_cert = tls::client_config(None, plugin.handshake.cert_der.clone());
    assert_refused(&plugin, no_cert, "a client without a certificate").await;
    // One bad peer must neither kill the plugin nor block the real host.
    assert!(
        plugin.is_running(),
        "plugin died after a refused client; stderr:\n{}",
        plugin.stderr()
    );
    let status = health_probe(plugin.channel().await)
        .await
        .expect("host still served");
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn client_with_another_p521_certificate_is_refused() {
    let mut plugin = Launch::openbao().spawn().await;
    let impostor = Identity::go_plugin_host();
    let config = tls::client_config(Some(&impostor), plugin.handshake.cert_der.clone());
    assert_refused(&plugin, config, "a client with another host's certificate").await;
    assert!(
        plugin.is_running(),
        "plugin died after a refused client; stderr:\n{}",
        plugin.stderr()
    );
    let status = health_probe(plugin.channel().await)
        .await
        .expect("host still served");
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn health_reports_plugin_serving() {
    let plugin = Launch::openbao().spawn().await;
    let status = health_probe(plugin.channel().await)
        .await
        .expect("health check");
    assert_eq!(status, ServingStatus::Serving as i32);
}

// ---------------------------------------------------------------------------------------
// go-plugin services the host calls right after connecting.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn startup_services_answer_like_a_go_plugin() {
    let host = Host::start().await;
    assert_eq!(host.stdio, Ok(()), "GRPCStdio/StreamStdio is served");
    // The plugin multiplexes (tests/multiplexing.rs has the rest); an error here would
    // fail the plugin start in OpenBao.
    assert_eq!(host.multiplexing, Ok(true), "MultiplexingSupport");
    // The plugin offers no brokered servers, so it must not send on StartStream.
    assert!(
        host.sent_by_plugin().is_empty(),
        "plugin sent {:?}",
        host.sent_by_plugin()
    );
}

// ---------------------------------------------------------------------------------------
// Setup through the broker.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn setup_through_the_broker_reaches_the_host_storage() {
    let host = Host::mounted().await;
    assert!(
        host.state.calls().iter().all(|c| !c.during_setup),
        "storage must not be touched during Setup: {:?}",
        host.state.calls()
    );

    let write = host
        .request("update", "config/lease", Some(lease_body()))
        .await;
    assert!(write.err.is_none(), "write error {:?}", write.err);
    assert!(
        write.error_message().is_none(),
        "write error response {:?}",
        write.data
    );
    assert!(
        host.state
            .connections
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1,
        "the plugin dialed the broker listener"
    );

    // Stored exactly like the Go engine (an untagged struct: Go field names, and
    // time.Duration as integer nanoseconds), so a mount can switch binaries.
    let stored: Value = host
        .state
        .storage
        .get_json("config/lease")
        .await
        .expect("storage get")
        .expect("config/lease stored in the host's storage");
    assert_eq!(
        stored,
        json!({"Lease": 1_800_000_000_000_i64, "LeaseMax": 3_600_000_000_000_i64})
    );

    let read = host.request("read", "config/lease", None).await;
    assert!(read.err.is_none(), "read error {:?}", read.err);
    let data = read.data.expect("read returns data");
    assert_eq!(data["lease"], "30m0s");
    assert_eq!(data["lease_max"], "1h0m0s");
}

#[tokio::test]
async fn config_lease_reads_nothing_before_the_first_write_and_delete_removes_it() {
    let host = Host::mounted().await;
    let before = host.request("read", "config/lease", None).await;
    assert!(before.err.is_none(), "{:?}", before.err);
    assert!(
        before.data.is_none(),
        "no data before the first write (HTTP 404): {:?}",
        before.data
    );

    host.request("update", "config/lease", Some(lease_body()))
        .await;
    assert!(
        host.state
            .storage
            .keys()
            .contains(&"config/lease".to_string())
    );
    let delete = host.request("delete", "config/lease", None).await;
    assert!(delete.err.is_none(), "{:?}", delete.err);
    assert!(
        !host
            .state
            .storage
            .keys()
            .contains(&"config/lease".to_string()),
        "deleted from host storage"
    );
}

#[tokio::test]
async fn setup_waits_for_conn_info_that_arrives_after_it() {
    let mut host = Host::start().await;
    let reply = host
        .setup_with(
            Host::mount_config(),
            Announce::After(Duration::from_millis(700)),
        )
        .await
        .expect("Setup RPC");
    assert_eq!(
        reply.err, "",
        "ConnInfo arriving after Setup must be waited for"
    );
    assert!(host.initialize().await.err.is_none());
    let write = host
        .request("update", "config/lease", Some(lease_body()))
        .await;
    assert!(write.err.is_none(), "{:?}", write.err);
    assert!(
        host.state
            .storage
            .keys()
            .contains(&"config/lease".to_string())
    );
}

#[tokio::test]
async fn setup_uses_conn_info_buffered_before_it() {
    let mut host = Host::start().await;
    let reply = host
        .setup_with(Host::mount_config(), Announce::Before)
        .await
        .expect("Setup RPC");
    assert_eq!(reply.err, "");
    assert!(host.initialize().await.err.is_none());
    let write = host
        .request("update", "config/lease", Some(lease_body()))
        .await;
    assert!(write.err.is_none(), "{:?}", write.err);
    assert!(
        host.state
            .storage
            .keys()
            .contains(&"config/lease".to_string())
    );
}

#[tokio::test]
async fn setup_without_conn_info_fails_in_bounded_time() {
    let mut host = Host::start().await;
    let started = std::time::Instant::now();
    let reply = host.setup_with(Host::mount_config(), Announce::Never).await;
    let elapsed = started.elapsed();
    match reply {
        Ok(r) => assert_ne!(r.err, "", "Setup must report the missing broker connection"),
        // A gRPC error fails Setup too, but Unimplemented would mean no backend at all.
        Err(status) => assert_ne!(status.code(), tonic::Code::Unimplemented, "{status:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(12),
        "Setup gave up after {elapsed:?}"
    );
    assert!(
        host.process.is_running(),
        "a failed Setup must not kill the plugin"
    );
}

/// Registration probing: Setup with an empty config and no storage behind the broker,
/// then Version, then Shutdown (protocol.md §10).
#[tokio::test]
async fn registration_probe_sequence() {
    let mut host = Host::start().await;
    let reply = host
        .setup_with(Default::default(), Announce::Concurrent)
        .await
        .expect("Setup RPC");
    assert_eq!(reply.err, "", "Setup with an empty config succeeds");
    let version = host.version().await.expect("Version RPC");
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(
        host.state.calls().is_empty(),
        "no storage calls while probing: {:?}",
        host.state.calls()
    );
    let _ = host.shutdown().await;
    let status = host.process.wait_exit(SHUTDOWN_GRACE).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after Shutdown: {status:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The other Backend RPCs.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn type_special_paths_and_version() {
    let host = Host::mounted().await;
    assert_eq!(
        host.backend_type().await,
        1,
        "a secrets engine is TypeLogical"
    );
    let paths = host.special_paths().await;
    assert!(
        paths.seal_wrap_storage.contains(&"config/root".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.local_storage.contains(&"wal/".to_string()),
        "{paths:?}"
    );
    let version = host.version().await.expect("PluginVersion/Version");
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn existence_check_answers_and_tracks_storage() {
    let host = Host::mounted().await;
    let unknown = host
        .existence_check("update", "no/such/path", None)
        .await
        .expect("RPC");
    assert_eq!(
        unknown.err.map(|e| e.err_type),
        Some(ERR_UNSUPPORTED_PATH),
        "unknown path"
    );

    let before = host
        .existence_check("create", "config/lease", Some(lease_body()))
        .await
        .expect("RPC");
    assert!(before.err.is_none(), "{:?}", before.err);
    host.request("update", "config/lease", Some(lease_body()))
        .await;
    let after = host
        .existence_check("update", "config/lease", Some(lease_body()))
        .await
        .expect("RPC");
    assert!(after.err.is_none(), "{:?}", after.err);
    assert_eq!(
        before.check_found, after.check_found,
        "a path either has a check or not"
    );
    if after.check_found {
        assert!(
            !before.exists && after.exists,
            "exists follows storage: {before:?} / {after:?}"
        );
        // check_found=true means the host may send `create`: it must be handled.
        let create = host
            .request("create", "config/lease", Some(lease_body()))
            .await;
        assert!(
            create.err.is_none(),
            "create after check_found: {:?}",
            create.err
        );
    }
}

#[tokio::test]
async fn rollback_answers_ok() {
    let host = Host::mounted().await;
    let out = host.request("rollback", "", None).await;
    assert!(
        out.err.is_none(),
        "rollback must not be an error (logged every minute): {:?}",
        out.err
    );
    assert!(out.error_message().is_none(), "{:?}", out.data);
}

#[tokio::test]
async fn root_help_has_help_text_and_an_openapi_document() {
    let host = Host::mounted().await;
    let out = host
        .request("help", "", Some(json!({"requestResponsePrefix": "aws"})))
        .await;
    assert!(
        out.err.is_none(),
        "root help must never fail: {:?}",
        out.err
    );
    let data = out
        .data
        .expect("root help must never be empty (breaks sys/internal/specs/openapi)");
    assert!(
        data["help"].as_str().is_some_and(|h| !h.is_empty()),
        "help text: {data}"
    );
    let openapi = data["openapi"].as_object().expect("openapi is an object");
    assert!(
        openapi.contains_key("paths"),
        "OpenAPI document has paths: {openapi:?}"
    );

    let path_help = host.request("help", "config/lease", None).await;
    assert!(path_help.err.is_none(), "{:?}", path_help.err);
    let text = path_help
        .data
        .as_ref()
        .and_then(|d| d["help"].as_str())
        .unwrap_or_default();
    assert!(
        text.contains("lease"),
        "path help mentions its fields: {text:?}"
    );
}

/// OpenBao 2.7 sends `resolve-path` before every client request; an error type other
/// than "unsupported" would fail the client's request.
#[tokio::test]
async fn resolve_path_is_answered_or_declined() {
    let host = Host::mounted().await;
    let out = host.request("resolve-path", "config/lease", None).await;
    if let Some(err) = out.err {
        assert!(
            [ERR_UNSUPPORTED_OPERATION, ERR_UNSUPPORTED_PATH].contains(&err.err_type),
            "resolve-path may only be declined as unsupported: {err:?}"
        );
    }
}

#[tokio::test]
async fn invalidate_key_is_accepted() {
    let host = Host::mounted().await;
    host.invalidate("config/lease")
        .await
        .expect("InvalidateKey");
    host.invalidate("")
        .await
        .expect("InvalidateKey with an empty key");
}

#[tokio::test]
async fn concurrent_requests_share_the_broker_connection() {
    let host = Host::mounted().await;
    host.request("update", "config/lease", Some(lease_body()))
        .await;
    let reads = (0..24).map(|_| host.request("read", "config/lease", None));
    for out in futures::future::join_all(reads).await {
        assert!(out.err.is_none(), "{:?}", out.err);
        assert_eq!(out.data.expect("data")["lease"], "30m0s");
    }
}

// ---------------------------------------------------------------------------------------
// Error mapping through the wire.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_path_is_unsupported_path() {
    let host = Host::mounted().await;
    let out = host.request("read", "no/such/path", None).await;
    let err = out.err.expect("an error");
    assert_eq!(err.err_type, ERR_UNSUPPORTED_PATH, "{err:?}");
    assert!(
        out.response.is_none() || out.data.is_none(),
        "{:?}",
        out.response
    );
}

#[tokio::test]
async fn unsupported_operation_on_a_known_path() {
    let host = Host::mounted().await;
    for operation in ["list", "patch"] {
        let out = host.request(operation, "config/lease", None).await;
        let err = out
            .err
            .unwrap_or_else(|| panic!("{operation} on config/lease must fail: {:?}", out.data));
        assert_eq!(
            err.err_type, ERR_UNSUPPORTED_OPERATION,
            "{operation}: {err:?}"
        );
    }
}

#[tokio::test]
async fn validation_failure_is_an_error_response() {
    let host = Host::mounted().await;
    for body in [
        json!({"lease": "abc", "lease_max": "1h"}),
        json!({"lease_max": "1h"}),
    ] {
        let out = host
            .request("update", "config/lease", Some(body.clone()))
            .await;
        assert!(
            out.err.is_none(),
            "{body}: validation is a response, not a ProtoError: {:?}",
            out.err
        );
        let message = out
            .error_message()
            .unwrap_or_else(|| panic!("{body}: error response expected, got {:?}", out.data));
        assert!(
            message.contains("lease"),
            "{body}: message should name the field: {message:?}"
        );
    }
    assert!(
        host.state.storage.keys().is_empty(),
        "nothing stored after invalid input"
    );
}

#[tokio::test]
async fn storage_errors_reach_the_host_with_their_text() {
    let host = Host::mounted().await;
    // OpenBao forwards a request to the active node by matching this text.
    host.state
        .fail_writes(Some("cannot write to readonly storage"));
    let out = host
        .request("update", "config/lease", Some(lease_body()))
        .await;
    let err = out.err.expect("a failed storage write is an error");
    assert!(
        err.err_msg.contains("cannot write to readonly storage"),
        "message kept: {err:?}"
    );
}

#[tokio::test]
async fn request_before_setup_is_a_clean_error() {
    let mut host = Host::start().await;
    match host
        .handle(common::host::request("read", "config/lease", None))
        .await
    {
        Ok(reply) => assert!(
            reply.err.is_some(),
            "a request before Setup must fail: {reply:?}"
        ),
        Err(status) => assert_ne!(status.code(), tonic::Code::Unimplemented, "{status:?}"),
    }
    assert!(
        host.process.is_running(),
        "the plugin survives; stderr:\n{}",
        host.process.stderr()
    );
    host.mount().await;
}

/// tonic's default 4 MiB limit would turn a large request into a transport error; Go
/// allows MaxInt32 both ways.
#[tokio::test]
async fn large_messages_pass_both_ways() {
    let host = Host::mounted().await;
    let big = "x".repeat(5 * 1024 * 1024);
    let out = host
        .request("update", "no/such/path", Some(json!({ "blob": big })))
        .await;
    assert_eq!(out.err.map(|e| e.err_type), Some(ERR_UNSUPPORTED_PATH));

    // A stored entry above 4 MiB must come back through the plugin's Storage client.
    let entry =
        json!({"Lease": 1_800_000_000_000_i64, "LeaseMax": 3_600_000_000_000_i64, "pad": big});
    host.state
        .storage
        .put_json("config/lease", &entry)
        .await
        .expect("seed storage");
    let read = host.request("read", "config/lease", None).await;
    assert!(read.err.is_none(), "large storage entry: {:?}", read.err);
    assert_eq!(read.data.expect("data")["lease"], "30m0s");
}

// ---------------------------------------------------------------------------------------
// Shutdown and signals.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cleanup_then_shutdown_exits_cleanly_within_two_seconds() {
    let mut host = Host::mounted().await;
    host.cleanup().await.expect("Cleanup");
    let _ = host.shutdown().await;
    let status = host.process.wait_exit(SHUTDOWN_GRACE).await;
    assert!(
        status.is_some_and(|s| s.code() == Some(0)),
        "exit 0 within 2 s of Shutdown, got {status:?}; stderr:\n{}",
        host.process.stderr()
    );
    let socket = host.process.socket_path().expect("unix socket");
    assert!(!socket.exists(), "socket {socket:?} removed on exit");
    assert_tmpdir_empty(&host.process);
    assert_eq!(host.process.stdout_after_handshake().await, "");
}

#[tokio::test]
async fn sigterm_exits_cleanly_and_removes_the_socket() {
    let mut host = Host::start().await;
    host.process.signal("TERM");
    let status = host.process.wait_exit(Duration::from_secs(5)).await;
    assert!(
        status.is_some_and(|s| s.code() == Some(0)),
        "SIGTERM is a requested shutdown (exit 0), got {status:?}; stderr:\n{}",
        host.process.stderr()
    );
    let socket = host.process.socket_path().expect("unix socket");
    assert!(!socket.exists(), "socket {socket:?} removed on SIGTERM");
    assert_tmpdir_empty(&host.process);
}

/// The plugin's private socket directory must go with the socket: OpenBao launches a
/// process per mount, reload and registration probe.
fn assert_tmpdir_empty(process: &common::host::PluginProcess) {
    let leftovers: Vec<_> = std::fs::read_dir(process.tmpdir())
        .expect("tmpdir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    assert!(leftovers.is_empty(), "left behind in TMPDIR: {leftovers:?}");
}

#[tokio::test]
async fn sigint_is_ignored() {
    let mut host = Host::start().await;
    host.process.signal("INT");
    // Ctrl-C on the server's terminal reaches the plugin too; it must keep serving
    // until the server shuts it down.
    let died = wait_until(Duration::from_millis(600), || !host.process.is_running()).await;
    assert!(
        !died,
        "plugin died on SIGINT; stderr:\n{}",
        host.process.stderr()
    );
    let status = health_probe(host.channel.clone())
        .await
        .expect("still serving after SIGINT");
    assert_eq!(status, ServingStatus::Serving as i32);
}

// ---------------------------------------------------------------------------------------
// Watchdog: OpenBao does not always kill plugins it gave up on (prototype-findings §8).
// ---------------------------------------------------------------------------------------

/// The transport gives the host 30 s to connect after the handshake line (and after a
/// Setup); these tests shorten both to [`WATCHDOG_SECS`] through the plugin's test knob.
const NEVER_CONNECTED_LIMIT: Duration = Duration::from_secs(15);
const WATCHDOG_SECS: &str = "3";
/// ... and 5 s of absence once it was connected.
const HOST_GONE_LIMIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn plugin_exits_when_the_host_never_connects() {
    let mut plugin = Launch::openbao()
        .set("AWS_RS_WATCHDOG_TIMEOUT", WATCHDOG_SECS)
        .spawn()
        .await;
    let status = plugin.wait_exit(NEVER_CONNECTED_LIMIT).await;
    assert!(
        status.is_some(),
        "still running {NEVER_CONNECTED_LIMIT:?} after the handshake with no host"
    );
    let socket = plugin.socket_path().expect("unix socket");
    assert!(!socket.exists(), "socket {socket:?} removed");
    assert_tmpdir_empty(&plugin);
}

#[tokio::test]
async fn plugin_exits_when_the_host_goes_away() {
    let host = Host::mounted().await;
    host.request("update", "config/lease", Some(lease_body()))
        .await;
    let mut plugin = host.abandon();
    let status = plugin.wait_exit(HOST_GONE_LIMIT).await;
    assert!(
        status.is_some(),
        "still running {HOST_GONE_LIMIT:?} after the host went away; stderr:\n{}",
        plugin.stderr()
    );
    let socket = plugin.socket_path().expect("unix socket");
    assert!(!socket.exists(), "socket {socket:?} removed");
}

/// The transport's third rule: a Setup that the host never follows up (OpenBao leaves
/// the process running when Setup fails at mount time).
#[tokio::test]
async fn plugin_exits_when_setup_is_never_followed_up() {
    let mut host =
        Host::start_with(Launch::openbao().set("AWS_RS_WATCHDOG_TIMEOUT", WATCHDOG_SECS)).await;
    let reply = host.setup().await.expect("Setup RPC");
    assert_eq!(reply.err, "", "Setup; stderr:\n{}", host.process.stderr());
    let status = host.process.wait_exit(NEVER_CONNECTED_LIMIT).await;
    assert!(
        status.is_some(),
        "still running {NEVER_CONNECTED_LIMIT:?} after a Setup with no follow-up"
    );
}
