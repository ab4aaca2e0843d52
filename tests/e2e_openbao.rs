//! End-to-end suite against a real OpenBao 2.7.2 dev server (test layer).
//!
//! Gated: runs only with `BAO_ACC=1` (as `scripts/test.sh`, and so CI, always sets it);
//! with the gate on, a missing `bao` binary fails the test instead of skipping it. Each test
//! starts its own server on free loopback ports with its own plugin directory and `TMPDIR`,
//! copies the debug plugin binary cargo built for this run into it, and registers it by
//! SHA-256 under the catalog name `aws`, so tests may run in parallel. Everything started is
//! stopped by PID when the test ends, also when it panics (see `common::openbao`).
//!
//! What this proves: the transport, protocol adapter, framework and storage work together
//! under the real host (mounting, help and OpenAPI, error mapping, real storage with mount
//! isolation, reload, crash recovery and clean teardown). Engine behaviour against the AWS
//! emulator joins this file when the engine paths land.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::http::HttpResponse;
use common::openbao::{OpenBao, bao_for_acceptance, sha256_hex};
use common::{poll_until, send_signal, sockets_under, wait_until};

/// How long processes and sockets get to disappear after the host was told to stop them.
/// go-plugin gives a plugin 2 s to exit after Shutdown before it kills it.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// A dev server with the plugin registered and enabled at each of `mounts`, or `None` when
/// the suite is not enabled.
fn server_with_mounts(mounts: &[&str]) -> Option<OpenBao> {
    let bao = bao_for_acceptance()?;
    let server = OpenBao::start(&bao);
    server.install_plugin();
    for mount in mounts {
        server.enable(mount);
    }
    Some(server)
}

/// Writes `config/lease` on `mount` and asserts the write was accepted.
fn write_lease(server: &OpenBao, mount: &str, lease: &str, lease_max: &str) {
    let response = server.write(
        &format!("{mount}/config/lease"),
        &json!({"lease": lease, "lease_max": lease_max}),
    );
    assert!(
        matches!(response.status, 200 | 204),
        "write {mount}/config/lease: {} {}",
        response.status,
        response.body
    );
}

/// Reads `config/lease` on `mount`: `Some((lease, lease_max))`, or `None` on 404.
fn read_lease(server: &OpenBao, mount: &str) -> Option<(String, String)> {
    parse_lease(mount, &server.read(&format!("{mount}/config/lease")))
}

/// The `config/lease` answer: `Some((lease, lease_max))` on 200, `None` on 404, and a
/// panic naming the mount on anything else.
fn parse_lease(mount: &str, response: &HttpResponse) -> Option<(String, String)> {
    match response.status {
        404 => None,
        200 => {
            let body = response.json();
            let field = |name: &str| {
                body["data"][name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{mount}/config/lease has no string {name}: {body}"))
                    .to_owned()
            };
            Some((field("lease"), field("lease_max")))
        }
        other => panic!(
            "read {mount}/config/lease: unexpected {other}: {}",
            response.body
        ),
    }
}

/// Reads `config/lease` on `mount` right after its plugin process was killed and the host
/// logged that it exited. go-plugin marks its client as gone only after that log line (it
/// fsyncs its log first), and only then does OpenBao restart the plugin and retry; a
/// request landing in between gets the raw gRPC `Unavailable` error as a 500 from the
/// host itself (observed on a loaded machine). That answer, and only that one, is retried
/// until a deadline; the first other answer is checked like any read.
fn read_lease_after_crash(server: &OpenBao, mount: &str) -> Option<(String, String)> {
    let response = wait_until(
        TEARDOWN_TIMEOUT,
        &format!("{mount} to answer after its plugin was killed"),
        || {
            let response = server.read(&format!("{mount}/config/lease"));
            let host_race = response.status == 500 && response.body.contains("code = Unavailable");
            if host_race {
                eprintln!(
                    "{mount}: host had not yet noticed the crash: {}",
                    response.body
                );
            }
            (!host_race).then_some(response)
        },
    );
    parse_lease(mount, &response)
}

fn lease(lease: &str, lease_max: &str) -> Option<(String, String)> {
    Some((lease.to_owned(), lease_max.to_owned()))
}

#[test]
fn registers_by_sha256_and_serves_help_and_openapi_on_two_mounts() {
    let Some(server) = server_with_mounts(&["aws", "aws2"]) else {
        return;
    };

    let mounts: Value = serde_json::from_str(&server.cli_ok(&["secrets", "list", "-format=json"]))
        .expect("secrets list JSON");
    // The host runs exactly the binary we registered: the catalog's checksum of our file.
    let sha256 = sha256_hex(&server.plugin_path());
    for mount in ["aws/", "aws2/"] {
        assert_eq!(
            mounts[mount]["type"], "aws",
            "{mount} in secrets list: {mounts}"
        );
        assert_eq!(
            mounts[mount]["running_sha256"],
            sha256.as_str(),
            "{mount} in secrets list: {mounts}"
        );
    }
    assert!(
        !server.plugin_pids().is_empty(),
        "no plugin process runs from the plugin directory"
    );

    for mount in ["aws", "aws2"] {
        let help = server.cli_ok(&["path-help", mount]);
        assert!(
            help.contains("config/lease"),
            "`bao path-help {mount}` does not mention config/lease:\n{help}"
        );
        let help = server.cli_ok(&["path-help", &format!("{mount}/config/lease")]);
        assert!(
            help.contains("lease_max"),
            "`bao path-help {mount}/config/lease` lacks its fields:\n{help}"
        );
    }

    let openapi = server.read("sys/internal/specs/openapi");
    assert_eq!(
        openapi.status, 200,
        "sys/internal/specs/openapi: {}",
        openapi.body
    );
    let paths = &openapi.json()["paths"];
    for mount in ["aws", "aws2"] {
        assert!(
            paths.get(format!("/{mount}/config/lease")).is_some(),
            "the OpenAPI document has no /{mount}/config/lease; its paths: {:?}",
            paths.as_object().map(|p| p.keys().collect::<Vec<_>>())
        );
    }
}

#[test]
fn unknown_path_answers_404_unsupported_path() {
    let Some(server) = server_with_mounts(&["aws"]) else {
        return;
    };

    let write = server.write("aws/nope/zzz", &json!({"x": 1}));
    assert_eq!(
        write.status, 404,
        "write to an unknown path: {}",
        write.body
    );
    assert!(
        write.errors().contains("unsupported path"),
        "write body: {}",
        write.body
    );

    let read = server.read("aws/nope/zzz");
    assert_eq!(read.status, 404, "read of an unknown path: {}", read.body);
    assert!(
        read.errors().contains("unsupported path"),
        "read body: {}",
        read.body
    );
}

#[test]
fn config_lease_round_trips_through_real_storage_and_mounts_are_isolated() {
    let Some(server) = server_with_mounts(&["aws", "aws2"]) else {
        return;
    };

    assert_eq!(
        read_lease(&server, "aws"),
        None,
        "config/lease exists before the first write"
    );
    write_lease(&server, "aws", "30m", "1h");
    assert_eq!(read_lease(&server, "aws"), lease("30m0s", "1h0m0s"));
    // The CLI path an operator uses gives the same answer.
    let cli: Value =
        serde_json::from_str(&server.cli_ok(&["read", "-format=json", "aws/config/lease"]))
            .expect("bao read JSON");
    assert_eq!(
        (
            cli["data"]["lease"].as_str(),
            cli["data"]["lease_max"].as_str()
        ),
        (Some("30m0s"), Some("1h0m0s"))
    );

    assert_eq!(
        read_lease(&server, "aws2"),
        None,
        "aws2 sees aws's config/lease"
    );
    write_lease(&server, "aws2", "90s", "7200");
    assert_eq!(read_lease(&server, "aws2"), lease("1m30s", "2h0m0s"));
    assert_eq!(
        read_lease(&server, "aws"),
        lease("30m0s", "1h0m0s"),
        "aws2's write changed aws"
    );

    let deleted = server.delete("aws/config/lease");
    assert!(
        matches!(deleted.status, 200 | 204),
        "delete aws/config/lease: {} {}",
        deleted.status,
        deleted.body
    );
    assert_eq!(
        read_lease(&server, "aws"),
        None,
        "config/lease still there after delete"
    );
    assert_eq!(
        read_lease(&server, "aws2"),
        lease("1m30s", "2h0m0s"),
        "deleting aws's config touched aws2"
    );
}

#[test]
fn plugin_reload_restarts_the_process_and_keeps_data() {
    let Some(server) = server_with_mounts(&["aws"]) else {
        return;
    };
    write_lease(&server, "aws", "30m", "1h");
    let before = server.plugin_pids();
    assert!(!before.is_empty(), "no plugin process before the reload");

    server.cli_ok(&["plugin", "reload", "-plugin=aws"]);

    // The old process must go away; the mount answers from a fresh one.
    wait_until(
        TEARDOWN_TIMEOUT,
        "the pre-reload plugin process to exit",
        || {
            let now = server.plugin_pids();
            before.iter().all(|pid| !now.contains(pid)).then_some(())
        },
    );
    assert_eq!(
        read_lease(&server, "aws"),
        lease("30m0s", "1h0m0s"),
        "data lost across plugin reload"
    );
    let after = server.plugin_pids();
    assert!(
        !after.is_empty(),
        "no plugin process serves the mount after the reload"
    );
}

#[test]
fn sigkill_of_the_plugin_process_is_recovered_on_the_next_request() {
    let Some(server) = server_with_mounts(&["aws", "aws2"]) else {
        return;
    };
    write_lease(&server, "aws", "30m", "1h");
    let victims = server.plugin_pids();
    assert!(!victims.is_empty(), "no plugin process to kill");

    for pid in &victims {
        assert!(
            send_signal(*pid, "KILL"),
            "could not SIGKILL plugin process {pid}"
        );
    }
    // Wait until the host has seen each death (go-plugin reaps the process and logs it).
    wait_until(
        TEARDOWN_TIMEOUT,
        "the host to notice that the killed plugin processes exited",
        || {
            let log = server.log_text();
            victims
                .iter()
                .all(|pid| {
                    log.lines().any(|line| {
                        line.contains("plugin process exited")
                            && line.contains(&format!("id={pid} "))
                    })
                })
                .then_some(())
        },
    );

    // The next request on each mount must work: the host starts a new process instead of
    // failing the request.
    assert_eq!(
        read_lease_after_crash(&server, "aws"),
        lease("30m0s", "1h0m0s"),
        "first request after SIGKILL on aws"
    );
    assert_eq!(
        read_lease_after_crash(&server, "aws2"),
        None,
        "first request after SIGKILL on aws2"
    );
    write_lease(&server, "aws2", "10m", "20m");
    assert_eq!(read_lease(&server, "aws2"), lease("10m0s", "20m0s"));
    let replacements = server.plugin_pids();
    assert!(
        !replacements.is_empty() && replacements.iter().all(|pid| !victims.contains(pid)),
        "expected new plugin processes, had {victims:?}, now {replacements:?}"
    );
}

#[test]
fn disabling_both_mounts_leaves_no_process_and_no_socket() {
    let Some(server) = server_with_mounts(&["aws", "aws2"]) else {
        return;
    };
    write_lease(&server, "aws", "30m", "1h");
    assert!(
        !server.plugin_pids().is_empty(),
        "no plugin process while mounted"
    );
    let sockets_while_mounted = sockets_under(&server.socket_dir());
    assert!(
        !sockets_while_mounted.is_empty(),
        "no unix socket under the server's TMPDIR {} while mounted: is TMPDIR honoured?",
        server.socket_dir().display()
    );

    server.cli_ok(&["secrets", "disable", "aws"]);
    server.cli_ok(&["secrets", "disable", "aws2"]);

    let leftovers = poll_until(TEARDOWN_TIMEOUT, || {
        let pids = server.plugin_pids();
        let sockets = sockets_under(&server.socket_dir());
        (pids.is_empty() && sockets.is_empty()).then_some(())
    });
    assert!(
        leftovers.is_some(),
        "after disabling both mounts: plugin processes {:?}, sockets {:?}",
        server.plugin_pids(),
        sockets_under(&server.socket_dir())
    );
}

#[test]
fn aws_emulator_harness_starts_answers_and_resets() {
    let Some(bin) = common::moto::moto_for_acceptance() else {
        return;
    };
    let moto = common::moto::Moto::start(&bin, common::moto::Auth::Open);
    let created = moto.query("iam", "CreateUser", &[("UserName", "e2e-probe")]);
    assert_eq!(created.status, 200, "CreateUser: {}", created.body);
    assert!(moto.iam_user_exists("e2e-probe"));
    let identity = moto.query("sts", "GetCallerIdentity", &[]);
    assert!(
        identity.body.contains(common::moto::ACCOUNT_ID),
        "GetCallerIdentity: {}",
        identity.body
    );
    moto.reset();
    assert!(
        !moto.iam_user_exists("e2e-probe"),
        "moto reset kept the user"
    );
}
