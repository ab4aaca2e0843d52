//! The plugin process as a go-plugin host sees it: the launch environment (OpenBao
//! 2.7.2's, with a fresh AutoMTLS host certificate and a private TMPDIR), the handshake
//! line, stdout/stderr capture, signals, and TLS dials into the plugin's listener.
//!
//! It knows nothing of the Vault backend protocol; `host.rs` builds on it. A process is
//! killed by PID when its handle is dropped, so a failing test leaves nothing running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint};

use super::tls::{self, Identity};

/// The magic cookie key of Vault/OpenBao backend plugins.
pub const COOKIE_KEY: &str = "VAULT_BACKEND_PLUGIN";
/// The magic cookie value (`sdk/plugin/serve.go` HandshakeConfig).
pub const COOKIE_VALUE: &str = "6669da05-b1c8-4f49-97d9-c8e5bed98e20";
/// How long go-plugin waits for the handshake line (its StartTimeout is a minute; a
/// debug build on a busy 2-core machine needs far less).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a single RPC may take before the test calls it hung.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// Path of the plugin binary cargo built for this test run.
pub fn plugin_binary() -> &'static str {
    env!("CARGO_BIN_EXE_vault-plugin-secrets-aws-rs")
}

/// How to launch the plugin: the environment (OpenBao 2.7.2's by default), the host
/// identity whose certificate goes into `PLUGIN_CLIENT_CERT`, and a fresh TMPDIR.
pub struct Launch {
    env: BTreeMap<String, String>,
    identity: Arc<Identity>,
    tmp: tempfile::TempDir,
}

impl Launch {
    /// OpenBao 2.7.2's launch of a v5 backend plugin (test-environment.md §4).
    pub fn openbao() -> Launch {
        let identity = Arc::new(Identity::go_plugin_host());
        let tmp = tempfile::Builder::new()
            .prefix("plug")
            .tempdir()
            .expect("plugin TMPDIR");
        let mut env = BTreeMap::new();
        for (k, v) in [
            (COOKIE_KEY, COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5"),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "25000"),
            ("BAO_VERSION", "2.7.2"),
            ("VAULT_VERSION", "2.7.2"),
            ("BAO_PLUGIN_METADATA_MODE", "false"),
            ("VAULT_PLUGIN_METADATA_MODE", "false"),
            ("BAO_PLUGIN_AUTOMTLS_ENABLED", "true"),
            ("VAULT_PLUGIN_AUTOMTLS_ENABLED", "true"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        env.insert("PLUGIN_CLIENT_CERT".into(), identity.cert_pem.clone());
        env.insert("TMPDIR".into(), tmp.path().display().to_string());
        // The server's own environment is inherited in production; keep only what a
        // process needs to run, plus the plugin's log level for debugging a failure.
        for key in ["PATH", "HOME", "AWS_RS_LOG", "RUST_BACKTRACE"] {
            if let Ok(v) = std::env::var(key) {
                env.insert(key.to_string(), v);
            }
        }
        Launch { env, identity, tmp }
    }

    /// Sets (or overrides) one environment variable.
    pub fn set(mut self, key: &str, value: &str) -> Launch {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Removes one environment variable.
    pub fn unset(mut self, key: &str) -> Launch {
        self.env.remove(key);
        self
    }

    /// The plugin's TMPDIR.
    pub fn tmpdir(&self) -> &Path {
        self.tmp.path()
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(plugin_binary());
        cmd.env_clear()
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs the plugin expecting it to exit by itself within `limit` (refusals).
    /// Panics if it is still running then.
    pub async fn run_to_exit(self, limit: Duration) -> Exited {
        let child = self.command().spawn().expect("spawn plugin");
        let output = tokio::time::timeout(limit, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("plugin still running after {limit:?}"))
            .expect("collect plugin output");
        Exited {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts the plugin and waits for its handshake line.
    pub async fn spawn(self) -> PluginProcess {
        let mut child = self.command().spawn().expect("spawn plugin");
        let pid = child.id().expect("running child has a pid");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_task = tokio::spawn(collect(
            child.stderr.take().expect("stderr"),
            stderr.clone(),
        ));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, stdout.read_line(&mut line)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
            panic!(
                "no handshake line from the plugin ({read:?}); stderr:\n{}",
                stderr.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
        let handshake = match Handshake::parse(&line) {
            Ok(h) => h,
            Err(e) => panic!("bad handshake line {line:?}: {e}"),
        };
        let rest = tokio::spawn(read_rest(stdout));
        PluginProcess {
            child,
            pid,
            handshake,
            identity: self.identity,
            tmp: self.tmp,
            stderr,
            stdout_rest: Some(rest),
        }
    }
}

async fn collect(mut pipe: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        into.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

async fn read_rest(mut stdout: BufReader<ChildStdout>) -> String {
    let mut rest = Vec::new();
    let _ = stdout.read_to_end(&mut rest).await;
    String::from_utf8_lossy(&rest).into_owned()
}

/// What a plugin that exited by itself left behind.
#[derive(Debug)]
pub struct Exited {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything it wrote on stdout.
    pub stdout: String,
    /// Everything it wrote on stderr.
    pub stderr: String,
}

/// The parsed go-plugin handshake line.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The line as printed, without the trailing newline.
    pub line: String,
    /// Field 1, go-plugin's core protocol version.
    pub core_version: u32,
    /// Field 2, the negotiated app protocol version.
    pub app_version: u32,
    /// Field 3, `unix` or `tcp`.
    pub network: String,
    /// Field 4, socket path or `127.0.0.1:port`.
    pub address: String,
    /// Field 5, `grpc` or `netrpc`.
    pub protocol: String,
    /// Field 6 as printed (unpadded standard base64).
    pub cert_b64: String,
    /// Field 6 decoded the way go-plugin does (RawStdEncoding).
    pub cert_der: CertificateDer<'static>,
    /// Field 7 (multiplexing), only when printed.
    pub mux: Option<String>,
}

impl Handshake {
    /// Parses a handshake line as go-plugin's `client.go` does, but strictly: all six
    /// fields are required because the host runs AutoMTLS.
    pub fn parse(line: &str) -> Result<Handshake, String> {
        let line = line.trim_end_matches('\n').to_string();
        let parts: Vec<&str> = line.trim().split('|').collect();
        if parts.len() < 6 || parts.len() > 7 {
            return Err(format!("expected 6 or 7 fields, got {}", parts.len()));
        }
        let number = |i: usize| {
            parts[i]
                .parse::<u32>()
                .map_err(|e| format!("field {}: {e}", i + 1))
        };
        let cert = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .map_err(|e| format!("certificate field is not unpadded base64: {e}"))?;
        Ok(Handshake {
            core_version: number(0)?,
            app_version: number(1)?,
            network: parts[2].to_string(),
            address: parts[3].to_string(),
            protocol: parts[4].to_string(),
            cert_b64: parts[5].to_string(),
            cert_der: CertificateDer::from(cert),
            mux: parts.get(6).map(|s| s.to_string()),
            line,
        })
    }
}

/// Anything a TLS session can run over (unix or TCP stream).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A running plugin process; killed by PID when dropped.
pub struct PluginProcess {
    child: Child,
    pid: u32,
    /// Its handshake line.
    pub handshake: Handshake,
    identity: Arc<Identity>,
    tmp: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    stdout_rest: Option<tokio::task::JoinHandle<String>>,
}

impl PluginProcess {
    /// Process ID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The host identity given to it in `PLUGIN_CLIENT_CERT`.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The TMPDIR it was started with.
    pub fn tmpdir(&self) -> &Path {
        self.tmp.path()
    }

    /// Its listener's socket path, when it listens on a unix socket.
    pub fn socket_path(&self) -> Option<PathBuf> {
        (self.handshake.network == "unix").then(|| PathBuf::from(&self.handshake.address))
    }

    /// Everything it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`) to its PID.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} {} failed", self.pid);
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for it to exit; `None` if it is still running after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// What it wrote on stdout after the handshake line; call after it exited.
    pub async fn stdout_after_handshake(&mut self) -> String {
        let task = self
            .stdout_rest
            .take()
            .expect("stdout_after_handshake called once");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stdout closes when the plugin exits")
            .expect("stdout reader task")
    }

    /// Opens a TLS session to its listener with `config` (SNI `localhost`).
    pub async fn tls_connect(
        &self,
        config: ClientConfig,
    ) -> std::io::Result<TlsStream<Box<dyn Io>>> {
        dial(&self.handshake.network, &self.handshake.address, config).await
    }

    /// The host's client TLS configuration: host certificate, plugin certificate pinned.
    pub fn host_tls(&self) -> ClientConfig {
        tls::client_config(Some(&self.identity), self.handshake.cert_der.clone())
    }

    /// A gRPC channel over `config`, connected eagerly.
    pub async fn channel_with(
        &self,
        config: ClientConfig,
    ) -> Result<Channel, tonic::transport::Error> {
        let (network, address) = (
            self.handshake.network.clone(),
            self.handshake.address.clone(),
        );
        let config = Arc::new(config);
        let connector = tower::service_fn(move |_uri: tonic::codegen::http::Uri| {
            let (network, address, config) = (network.clone(), address.clone(), config.clone());
            async move {
                let tls = dial(&network, &address, (*config).clone()).await?;
                // grpc-go >= 1.67 drops a connection without ALPN h2; so do we.
                if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                    return Err(std::io::Error::other(
                        "credentials: cannot check peer: missing selected ALPN property",
                    ));
                }
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
            }
        });
        // The scheme is http because TLS is ours; Go's gRPC server ignores :scheme.
        Endpoint::from_static("http://localhost")
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector(connector)
            .await
    }

    /// The channel the host itself uses.
    pub async fn channel(&self) -> Channel {
        match self.channel_with(self.host_tls()).await {
            Ok(c) => c,
            Err(e) => panic!(
                "host could not connect to the plugin: {e:?}; stderr:\n{}",
                self.stderr()
            ),
        }
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        // SIGKILL by PID; a no-op if it already exited and was reaped.
        let _ = self.child.start_kill();
    }
}

async fn dial(
    network: &str,
    address: &str,
    config: ClientConfig,
) -> std::io::Result<TlsStream<Box<dyn Io>>> {
    let stream: Box<dyn Io> = match network {
        "unix" => Box::new(UnixStream::connect(address).await?),
        "tcp" => Box::new(TcpStream::connect(address).await?),
        other => return Err(std::io::Error::other(format!("unknown network {other}"))),
    };
    let name = ServerName::try_from("localhost").expect("valid server name");
    TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
}
