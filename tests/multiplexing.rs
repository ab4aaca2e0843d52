//! Protocol conformance of backend multiplexing (protocol.md §6.2) against the built
//! binary, driven by the go-plugin host of `tests/common/host.rs` holding several mounts
//! on one plugin process, each with its own `multiplex_id`, storage and broker listener,
//! as OpenBao does once `MultiplexingSupport` answers `supported=true`.
//!
//! Proves: the plugin answers `supported=true`; two Setups with different ids make two
//! instances that share nothing (a write on one is not seen on the other, and each keeps
//! its own values in its own storage); Cleanup removes only its own instance; a call for
//! an unknown id, or without exactly one id, is refused rather than routed to some
//! instance; a mount whose Setup fails does not make the watchdog end a process that
//! still serves another mount.

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tonic::metadata::MetadataValue;

use vault_plugin_secrets_aws_rs::logical::StorageExt;
use vault_plugin_secrets_aws_rs::pb::pb;

use common::host::{self, Announce, Host, Launch};

/// The second mount's id (OpenBao's are random 10-character base62 strings).
const SECOND_MOUNT: &str = "Zy9xW8vU7t";

fn lease(lease: &str, lease_max: &str) -> Value {
    json!({"lease": lease, "lease_max": lease_max})
}

fn role_body() -> Value {
    json!({"credential_type": "assumed_role",
           "role_arns": ["arn:aws:iam::123456789012:role/first"]})
}

/// `config/lease` of the selected mount: `Some((lease, lease_max))`, or `None` (a 404).
async fn read_lease(host: &Host) -> Option<(String, String)> {
    let read = host.request("read", "config/lease", None).await;
    assert!(read.err.is_none(), "read error {:?}", read.err);
    let data = read.data?;
    let field = |name: &str| data[name].as_str().expect("string field").to_owned();
    Some((field("lease"), field("lease_max")))
}

async fn write(host: &Host, path: &str, body: Value) {
    let reply = host.request("update", path, Some(body)).await;
    assert!(reply.err.is_none(), "{path}: {:?}", reply.err);
    assert!(reply.error_message().is_none(), "{path}: {:?}", reply.data);
}

/// Two mounts on one process, both set up the way OpenBao mounts them.
async fn two_mounts() -> Host {
    let mut host = Host::mounted().await;
    assert_eq!(host.multiplexing, Ok(true), "MultiplexingSupport");
    host.select(SECOND_MOUNT);
    host.mount().await;
    host
}

fn pair(a: &str, b: &str) -> Option<(String, String)> {
    Some((a.to_owned(), b.to_owned()))
}

#[tokio::test]
async fn two_mounts_on_one_process_share_nothing() {
    let mut host = two_mounts().await;
    host.select(Host::FIRST_MOUNT);
    write(&host, "config/lease", lease("30m", "1h")).await;
    write(&host, "roles/first", role_body()).await;

    host.select(SECOND_MOUNT);
    assert_eq!(read_lease(&host).await, None, "first mount's lease seen");
    let role = host.request("read", "roles/first", None).await;
    assert!(
        role.data.is_none(),
        "first mount's role seen: {:?}",
        role.data
    );
    assert!(
        host.state.storage.keys().is_empty(),
        "the second mount's storage got {:?}",
        host.state.storage.keys()
    );
    write(&host, "config/lease", lease("10m", "20m")).await;
    assert_eq!(read_lease(&host).await, pair("10m0s", "20m0s"));
    let roles = host.request("list", "roles/", None).await;
    let keys = roles.data.as_ref().and_then(|d| d.get("keys"));
    assert!(
        keys.is_none_or(|k| k.as_array().is_some_and(Vec::is_empty)),
        "second mount lists {keys:?}"
    );

    host.select(Host::FIRST_MOUNT);
    assert_eq!(read_lease(&host).await, pair("30m0s", "1h0m0s"));
    let stored: Value = host
        .state
        .storage
        .get_json("config/lease")
        .await
        .expect("get")
        .expect("stored in the first mount's storage");
    assert_eq!(stored["Lease"], 1_800_000_000_000_i64);
    let role = host.request("read", "roles/first", None).await;
    assert!(role.data.is_some(), "the first mount lost its role");
}

#[tokio::test]
async fn cleanup_of_one_mount_leaves_the_other_serving() {
    let mut host = two_mounts().await;
    write(&host, "config/lease", lease("10m", "20m")).await;
    host.select(Host::FIRST_MOUNT);
    host.cleanup().await.expect("Cleanup of the first mount");
    let gone = host
        .handle(host::request("read", "config/lease", None))
        .await
        .expect_err("the first mount's instance is gone");
    assert_eq!(gone.code(), tonic::Code::FailedPrecondition, "{gone:?}");

    host.select(SECOND_MOUNT);
    assert_eq!(read_lease(&host).await, pair("10m0s", "20m0s"));
    assert!(host.process.is_running(), "{}", host.process.stderr());

    // The last mount goes the same way, then the host stops the process as before.
    host.cleanup().await.expect("Cleanup of the second mount");
    let _ = host.shutdown().await;
    let status = host.process.wait_exit(Duration::from_secs(2)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[tokio::test]
async fn an_unknown_mount_id_reaches_no_instance() {
    let mut host = Host::mounted().await;
    write(&host, "config/lease", lease("30m", "1h")).await;
    host.select("NoSuchId00");
    let status = host
        .handle(host::request("read", "config/lease", None))
        .await
        .expect_err("no instance for an id that had no Setup");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
}

/// A Backend call with the given `multiplex_id` values (none, one or several).
fn tagged<T>(message: T, ids: &[&'static str]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(host::RPC_TIMEOUT);
    for id in ids {
        request
            .metadata_mut()
            .append("multiplex_id", MetadataValue::from_static(id));
    }
    request
}

#[tokio::test]
async fn calls_without_exactly_one_id_are_refused_like_the_go_sdk() {
    let host = Host::mounted().await;
    let cases: [(&[&'static str], &str); 3] = [
        (&[], "no multiplexing ID found"),
        (&[""], "empty multiplex ID in metadata"),
        (
            &[Host::FIRST_MOUNT, SECOND_MOUNT],
            "unexpected number of IDs in metadata: (2)",
        ),
    ];
    for (ids, message) in cases {
        let args = pb::HandleRequestArgs {
            storage_id: 0,
            request: Some(host::request("read", "config/lease", None)),
        };
        let status = host
            .backend()
            .handle_request(tagged(args, ids))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{ids:?}");
        assert_eq!(status.message(), message, "{ids:?}");
        for status in [
            host.backend().r#type(tagged(pb::Empty {}, ids)).await.err(),
            host.backend()
                .cleanup(tagged(pb::Empty {}, ids))
                .await
                .err(),
            host.backend()
                .setup(tagged(pb::SetupArgs::default(), ids))
                .await
                .err(),
        ] {
            let status = status.expect("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{ids:?}");
        }
    }
    // None of the refused calls touched the mount.
    write(&host, "config/lease", lease("30m", "1h")).await;
    assert_eq!(read_lease(&host).await, pair("30m0s", "1h0m0s"));
}

/// OpenBao leaves a process whose Setup failed alone; the watchdog ends such a process
/// (tests/protocol.rs), but not while it serves another mount.
#[tokio::test]
async fn a_failed_mount_does_not_end_a_process_serving_another() {
    let mut host = Host::start_with(Launch::openbao().set("AWS_RS_WATCHDOG_TIMEOUT", "2")).await;
    host.mount().await;
    host.select(SECOND_MOUNT);
    // The broker id is never announced: Setup fails after the broker wait.
    let reply = host
        .setup_with(Host::mount_config(), Announce::Never)
        .await
        .expect("Setup RPC");
    assert_ne!(reply.err, "", "Setup without a broker connection must fail");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        host.process.is_running(),
        "the failed mount ended the process; stderr:\n{}",
        host.process.stderr()
    );
    host.select(Host::FIRST_MOUNT);
    write(&host, "config/lease", lease("30m", "1h")).await;
    assert_eq!(read_lease(&host).await, pair("30m0s", "1h0m0s"));
}
