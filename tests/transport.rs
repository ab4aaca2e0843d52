//! The go-plugin transport of the built binary, driven the way Vault/OpenBao drive it:
//! environment, stdout handshake, mutual TLS with a go-plugin-shaped host certificate,
//! signals and `GRPCController/Shutdown`. Waits poll with deadlines; nothing sleeps for a
//! fixed time except the SIGINT check, which must watch the process *not* exit.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use vault_plugin_secrets_aws_rs::pb::plugin::Empty;
use vault_plugin_secrets_aws_rs::pb::plugin::grpc_controller_client::GrpcControllerClient;
use vault_plugin_secrets_aws_rs::plugin::dial::{PeerAddr, mtls_channel};
use vault_plugin_secrets_aws_rs::plugin::env::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use vault_plugin_secrets_aws_rs::plugin::tls::{Identity, PinnedCert, client_config};
use vault_plugin_secrets_aws_rs::plugin::{HEALTH_SERVICE_NAME, Handshake, Network};

const BINARY: &str = env!("CARGO_BIN_EXE_vault-plugin-secrets-aws-rs");
const HANDSHAKE_PATTERN: &str = r"^1\|5\|(unix|tcp)\|[^|]+\|grpc\|[A-Za-z0-9+/]{51,}$";

/// The binary with a clean environment plus `vars`, stdio piped.
fn command(vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run_to_end(vars: &[(&str, &str)]) -> std::process::Output {
    let child = command(vars).spawn().expect("spawn");
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits promptly")
        .expect("output")
}

#[tokio::test]
async fn without_the_cookie_it_explains_and_exits_1_with_empty_stdout() {
    for vars in [
        vec![],
        vec![(MAGIC_COOKIE_KEY, "wrong")],
        // What OpenBao's database-plugin probe looks like.
        vec![
            (
                "VAULT_DATABASE_PLUGIN",
                "926a0820-aea2-be28-51d6-83cdf00e8edb",
            ),
            ("PLUGIN_PROTOCOL_VERSIONS", "5"),
        ],
    ] {
        let out = run_to_end(&vars).await;
        assert_eq!(out.status.code(), Some(1), "{vars:?}");
        assert!(
            out.stdout.is_empty(),
            "stdout: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(
                "This binary is a plugin. These are not meant to be executed directly."
            ),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn other_protocol_versions_or_no_automtls_exit_1_with_a_clear_log() {
    let host = Identity::generate_host().expect("host cert");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[
                ("PLUGIN_PROTOCOL_VERSIONS", "3,4"),
                ("PLUGIN_CLIENT_CERT", host.cert_pem()),
            ],
            "only speaks version 5",
        ),
        (
            &[("PLUGIN_PROTOCOL_VERSIONS", "5")],
            "PLUGIN_CLIENT_CERT is not set",
        ),
        (
            &[
                ("PLUGIN_PROTOCOL_VERSIONS", "5"),
                ("PLUGIN_CLIENT_CERT", host.cert_pem()),
                ("PLUGIN_MULTIPLEX_GRPC", "true"),
            ],
            "does not support gRPC broker multiplexing",
        ),
    ];
    for (extra, expected) in cases {
        let mut vars = vec![(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)];
        vars.extend_from_slice(extra);
        let out = run_to_end(&vars).await;
        assert_eq!(out.status.code(), Some(1), "{expected}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| {
                panic!("no log line containing {expected:?} in {stderr}");
            });
        let json: serde_json::Value = serde_json::from_str(line).expect("hclog JSON");
        assert_eq!(json["@level"], "error");
    }
}

/// A launched plugin as a host sees it.
struct Plugin {
    child: Child,
    host: Identity,
    handshake: Handshake,
    stderr: Arc<Mutex<String>>,
    stdout_rest: tokio::task::JoinHandle<String>,
}

impl Plugin {
    async fn launch(args: &[&str]) -> Plugin {
        let host = Identity::generate_host().expect("host cert");
        let mut child = command(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5"),
            ("PLUGIN_CLIENT_CERT", host.cert_pem()),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "25000"),
            ("VAULT_PLUGIN_AUTOMTLS_ENABLED", "true"),
            ("BAO_LOG_LEVEL", "debug"),
        ])
        .args(args)
        .spawn()
        .expect("spawn");

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text).await;
            sink.lock().expect("lock").push_str(&text);
        });

        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line))
            .await
            .expect("handshake within 20 s")
            .expect("read stdout");
        let re = regex_lite::Regex::new(HANDSHAKE_PATTERN).expect("pattern");
        assert!(line.ends_with('\n'), "{line:?}");
        assert!(re.is_match(line.trim_end()), "handshake {line:?}");
        let handshake: Handshake = line.parse().expect("parse");
        // Keep reading stdout: anything more is a defect, checked once the process ends.
        let stdout_rest = tokio::spawn(async move {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest).await;
            rest
        });
        Plugin {
            child,
            host,
            handshake,
            stderr,
            stdout_rest,
        }
    }

    fn socket(&self) -> PathBuf {
        assert_eq!(self.handshake.network, Network::Unix);
        PathBuf::from(&self.handshake.address)
    }

    fn channel(&self) -> Channel {
        let pin = PinnedCert::new(CertificateDer::from(self.handshake.cert_der.clone()));
        let tls = client_config(&self.host, pin).expect("tls");
        mtls_channel(PeerAddr::Unix(self.socket()), tls)
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .expect("kill(1)");
        assert!(status.success());
    }

    /// Waits for the exit, then checks that stdout carried nothing after the handshake.
    async fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("not exited within {within:?}; stderr:\n{}", self.stderr()))
            .expect("wait");
        let rest = (&mut self.stdout_rest).await.expect("stdout reader");
        assert!(rest.is_empty(), "stdout after the handshake: {rest:?}");
        status.code()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

async fn health(channel: Channel) -> Result<i32, tonic::Status> {
    let request = HealthCheckRequest {
        service: HEALTH_SERVICE_NAME.to_owned(),
    };
    Ok(HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner()
        .status)
}

fn assert_gone(socket: &Path) {
    assert!(!socket.exists(), "socket {} left behind", socket.display());
    let dir = socket.parent().expect("dir");
    assert!(!dir.exists(), "private dir {} left behind", dir.display());
}

#[tokio::test]
async fn serves_mtls_ignores_sigint_and_exits_cleanly_on_sigterm() {
    // Unknown flags (Go builds accept legacy TLS flags) are ignored.
    let mut plugin = Plugin::launch(&["-ca-cert=/nonexistent", "--whatever"]).await;
    let socket = plugin.socket();
    assert!(socket.exists(), "socket bound before the handshake");
    assert!(
        health(plugin.channel()).await.is_ok(),
        "serves gRPC over mTLS"
    );

    plugin.signal("INT");
    // Must *not* exit: watch for a while, then prove it still serves.
    let survived = tokio::time::timeout(Duration::from_millis(500), plugin.child.wait()).await;
    assert!(survived.is_err(), "exited on SIGINT: {:?}", survived);
    assert!(
        health(plugin.channel()).await.is_ok(),
        "still serving after SIGINT"
    );

    plugin.signal("TERM");
    assert_eq!(plugin.exit_code(Duration::from_secs(5)).await, Some(0));
    assert_gone(&socket);

    let stderr = plugin.stderr();
    assert!(stderr.contains("ignoring"), "SIGINT logged: {stderr}");
    for line in stderr.lines() {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not hclog JSON: {line}"));
        for key in ["@level", "@message", "@timestamp"] {
            assert!(json[key].is_string(), "{key} in {line}");
        }
    }
}

#[tokio::test]
async fn controller_shutdown_exits_within_two_seconds() {
    let mut plugin = Plugin::launch(&[]).await;
    let socket = plugin.socket();
    GrpcControllerClient::new(plugin.channel())
        .shutdown(Empty {})
        .await
        .expect("Shutdown replies before the process goes");
    assert_eq!(plugin.exit_code(Duration::from_secs(2)).await, Some(0));
    assert_gone(&socket);
}

#[tokio::test]
async fn exits_by_itself_when_the_host_goes_away() {
    let mut plugin = Plugin::launch(&[]).await;
    let socket = plugin.socket();
    let channel = plugin.channel();
    assert!(health(channel.clone()).await.is_ok());
    drop(channel);
    // Grace is 5 s; allow generously for a loaded machine.
    assert_eq!(plugin.exit_code(Duration::from_secs(20)).await, Some(1));
    assert_gone(&socket);
    assert!(
        plugin
            .stderr()
            .contains("no host is talking to this plugin")
    );
}
