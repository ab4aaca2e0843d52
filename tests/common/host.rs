//! A minimal go-plugin host written in Rust: it launches the built plugin binary exactly
//! as OpenBao 2.7.2 does (environment, AutoMTLS certificate, per-launch TMPDIR), parses
//! the handshake line, dials the plugin with mutual TLS, opens the broker stream, serves
//! Storage and SystemView behind the broker (see `host/broker.rs`) and drives
//! `pb.Backend` the way the server's mount and request paths do (protocol.md §1, §10).
//!
//! It is test support, not product code: it panics (with the plugin's stderr attached)
//! when the plugin does not get far enough for a test to mean anything, and it never
//! decides whether a behaviour is right — `tests/protocol.rs` does. The child process is
//! killed by PID when the handle is dropped, so a failing test leaves nothing behind.
#![allow(dead_code)]

pub mod broker;
pub mod tls;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint};

use vault_plugin_secrets_aws_rs::pb::logical::plugin_version_client::PluginVersionClient;
use vault_plugin_secrets_aws_rs::pb::multiplexing::MultiplexingSupportRequest;
use vault_plugin_secrets_aws_rs::pb::multiplexing::plugin_multiplexing_client::PluginMultiplexingClient;
use vault_plugin_secrets_aws_rs::pb::pb;
use vault_plugin_secrets_aws_rs::pb::pb::backend_client::BackendClient;
use vault_plugin_secrets_aws_rs::pb::plugin::grpc_broker_client::GrpcBrokerClient;
use vault_plugin_secrets_aws_rs::pb::plugin::grpc_controller_client::GrpcControllerClient;
use vault_plugin_secrets_aws_rs::pb::plugin::grpc_stdio_client::GrpcStdioClient;
use vault_plugin_secrets_aws_rs::pb::plugin::{self as gp, ConnInfo};

use broker::{BrokerListener, HostState};
use tls::Identity;

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

/// The outcome of one HandleRequest, with the JSON text fields already decoded (a host
/// would fail the request if they were not valid JSON, so decoding failures panic).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The raw response, if any.
    pub response: Option<pb::Response>,
    /// `response.data` decoded (`None` when there is no response or data is `null`).
    pub data: Option<Value>,
    /// The ProtoError, if any.
    pub err: Option<pb::ProtoError>,
}

impl Outcome {
    /// `data.error` of an error response.
    pub fn error_message(&self) -> Option<&str> {
        self.data.as_ref()?.get("error")?.as_str()
    }
}

/// When the host announces the broker listener relative to calling Setup.
#[derive(Debug, Clone, Copy)]
pub enum Announce {
    /// Concurrently with Setup, as OpenBao does.
    Concurrent,
    /// Before Setup is called.
    Before,
    /// This long after Setup was called.
    After(Duration),
    /// Never (the plugin must give up in bounded time).
    Never,
}

/// A host connected to a running plugin: main channel, broker stream and listener.
pub struct Host {
    /// The plugin process.
    pub process: PluginProcess,
    /// The host's channel to the plugin.
    pub channel: Channel,
    /// Storage and call log behind the broker.
    pub state: Arc<HostState>,
    broker: BrokerListener,
    broker_tx: mpsc::Sender<ConnInfo>,
    from_plugin: Arc<Mutex<Vec<ConnInfo>>>,
    /// The answer to MultiplexingSupport: supported flag, or the gRPC code of the error.
    pub multiplexing: Result<bool, tonic::Code>,
    /// Whether StreamStdio was served (not Unimplemented).
    pub stdio: Result<(), tonic::Code>,
    next_broker_id: u32,
    multiplex_id: String,
    host_tmp: tempfile::TempDir,
}

impl Host {
    /// Launches the plugin like OpenBao and connects (no Setup yet).
    pub async fn start() -> Host {
        Host::start_with(Launch::openbao()).await
    }

    /// Launches with a custom environment and connects: StartStream, StreamStdio and
    /// MultiplexingSupport, as go-plugin and OpenBao do right after dialing.
    pub async fn start_with(launch: Launch) -> Host {
        let process = launch.spawn().await;
        let channel = process.channel().await;
        let host_tmp = tempfile::Builder::new()
            .prefix("host")
            .tempdir()
            .expect("host temp dir");
        let state = Arc::new(HostState::default());
        let tls = tls::broker_server_config(process.identity(), process.handshake.cert_der.clone());
        let broker =
            BrokerListener::start(host_tmp.path(), tls, state.clone()).expect("broker listener");

        let (broker_tx, rx) = mpsc::channel::<ConnInfo>(16);
        let mut broker_client = GrpcBrokerClient::new(channel.clone());
        let stream = tokio::time::timeout(
            RPC_TIMEOUT,
            broker_client.start_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
        )
        .await
        .expect("StartStream answered in time")
        .unwrap_or_else(|s| panic!("StartStream refused: {s:?}; stderr:\n{}", process.stderr()));
        let from_plugin = Arc::new(Mutex::new(Vec::new()));
        let sink = from_plugin.clone();
        let mut inbound = stream.into_inner();
        tokio::spawn(async move {
            while let Ok(Some(info)) = inbound.message().await {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(info);
            }
        });

        let stdio = match GrpcStdioClient::new(channel.clone()).stream_stdio(()).await {
            Ok(stream) => {
                let mut stream = stream.into_inner();
                tokio::spawn(async move { while let Ok(Some(_)) = stream.message().await {} });
                Ok(())
            }
            Err(s) => Err(s.code()),
        };
        let multiplexing = PluginMultiplexingClient::new(channel.clone())
            .multiplexing_support(MultiplexingSupportRequest {})
            .await
            .map(|r| r.into_inner().supported)
            .map_err(|s| s.code());

        Host {
            process,
            channel,
            state,
            broker,
            broker_tx,
            from_plugin,
            multiplexing,
            stdio,
            next_broker_id: 1,
            multiplex_id: "aBcD3fGh1j".to_string(),
            host_tmp,
        }
    }

    /// Launches, connects and mounts (Setup, Type, SpecialPaths, Initialize), panicking
    /// if any step fails: the starting point of most request tests.
    pub async fn mounted() -> Host {
        let mut host = Host::start().await;
        host.mount().await;
        host
    }

    /// The `pb.Backend` client, limits raised like Go's (MaxInt32).
    pub fn backend(&self) -> BackendClient<Channel> {
        BackendClient::new(self.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// Wraps a message with the `multiplex_id` metadata OpenBao puts on every Backend call.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(RPC_TIMEOUT);
        request.metadata_mut().insert(
            "multiplex_id",
            self.multiplex_id.parse().expect("ascii metadata"),
        );
        request
    }

    /// The mount's Setup config, as OpenBao sends it.
    pub fn mount_config() -> HashMap<String, String> {
        HashMap::from([
            ("plugin_name".to_string(), "aws".to_string()),
            ("plugin_type".to_string(), "secret".to_string()),
            ("plugin_version".to_string(), String::new()),
        ])
    }

    /// Setup with the mount config, announcing the broker concurrently.
    pub async fn setup(&mut self) -> Result<pb::SetupReply, tonic::Status> {
        self.setup_with(Host::mount_config(), Announce::Concurrent)
            .await
    }

    /// Setup with the given config and broker announcement timing. Storage calls made
    /// while it runs are recorded as `during_setup`.
    pub async fn setup_with(
        &mut self,
        config: HashMap<String, String>,
        announce: Announce,
    ) -> Result<pb::SetupReply, tonic::Status> {
        let id = self.next_broker_id;
        self.next_broker_id += 1;
        let info = ConnInfo {
            service_id: id,
            network: "unix".to_string(),
            address: self.broker.path.display().to_string(),
            knock: None,
        };
        let args = pb::SetupArgs {
            broker_id: id,
            config,
            backend_uuid: uuid::Uuid::new_v4().to_string(),
        };
        let tx = self.broker_tx.clone();
        if matches!(announce, Announce::Before) {
            tx.send(info.clone()).await.expect("broker stream open");
        }
        let announcer = async move {
            match announce {
                Announce::Concurrent => {
                    let _ = tx.send(info).await;
                }
                Announce::After(delay) => {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(info).await;
                }
                Announce::Before | Announce::Never => {}
            }
        };
        self.state.set_in_setup(true);
        let request = self.req(args);
        let mut backend = self.backend();
        let (reply, ()) = tokio::join!(backend.setup(request), announcer);
        self.state.set_in_setup(false);
        reply.map(tonic::Response::into_inner)
    }

    /// OpenBao's mount sequence: Setup, Type, SpecialPaths, Initialize; panics on failure.
    pub async fn mount(&mut self) {
        let setup = self.setup().await;
        let stderr = self.process.stderr();
        let setup = setup.unwrap_or_else(|s| panic!("Setup RPC failed: {s:?}; stderr:\n{stderr}"));
        assert_eq!(setup.err, "", "Setup failed; stderr:\n{stderr}");
        assert_eq!(self.backend_type().await, 1, "Type");
        let _ = self.special_paths().await;
        let init = self.initialize().await;
        assert!(init.err.is_none(), "Initialize failed: {:?}", init.err);
    }

    /// `pb.Backend/Initialize`.
    pub async fn initialize(&self) -> pb::InitializeReply {
        self.backend()
            .initialize(self.req(pb::InitializeArgs {}))
            .await
            .expect("Initialize RPC")
            .into_inner()
    }

    /// `pb.Backend/Type`.
    pub async fn backend_type(&self) -> u32 {
        self.backend()
            .r#type(self.req(pb::Empty {}))
            .await
            .expect("Type RPC")
            .into_inner()
            .r#type
    }

    /// `pb.Backend/SpecialPaths`.
    pub async fn special_paths(&self) -> pb::Paths {
        self.backend()
            .special_paths(self.req(pb::Empty {}))
            .await
            .expect("SpecialPaths RPC")
            .into_inner()
            .paths
            .unwrap_or_default()
    }

    /// `logical.PluginVersion/Version`.
    pub async fn version(&self) -> Result<String, tonic::Status> {
        let mut client = PluginVersionClient::new(self.channel.clone());
        let mut request = tonic::Request::new(vault_plugin_secrets_aws_rs::pb::logical::Empty {});
        request
            .metadata_mut()
            .insert("multiplex_id", self.multiplex_id.parse().expect("ascii"));
        client
            .version(request)
            .await
            .map(|r| r.into_inner().plugin_version)
    }

    /// `pb.Backend/InvalidateKey`.
    pub async fn invalidate(&self, key: &str) -> Result<(), tonic::Status> {
        let args = pb::InvalidateKeyArgs {
            key: key.to_string(),
        };
        self.backend()
            .invalidate_key(self.req(args))
            .await
            .map(|_| ())
    }

    /// `pb.Backend/HandleRequest`, raw.
    pub async fn handle(
        &self,
        request: pb::Request,
    ) -> Result<pb::HandleRequestReply, tonic::Status> {
        let args = pb::HandleRequestArgs {
            storage_id: 0,
            request: Some(request),
        };
        self.backend()
            .handle_request(self.req(args))
            .await
            .map(tonic::Response::into_inner)
    }

    /// HandleRequest for `operation` on `path` with optional JSON data; panics on a gRPC
    /// error (the host would turn it into an opaque 500) or on invalid JSON in the reply.
    pub async fn request(&self, operation: &str, path: &str, data: Option<Value>) -> Outcome {
        let reply = match self.handle(request(operation, path, data)).await {
            Ok(r) => r,
            Err(s) => panic!(
                "HandleRequest {operation} {path:?}: gRPC error {s:?}; stderr:\n{}",
                self.process.stderr()
            ),
        };
        let data = reply
            .response
            .as_ref()
            .and_then(|r| decode_json("Response.data", &r.data));
        if let Some(secret) = reply.response.as_ref().and_then(|r| r.secret.as_ref()) {
            decode_json("Secret.internal_data", &secret.internal_data);
        }
        Outcome {
            response: reply.response,
            data,
            err: reply.err,
        }
    }

    /// `pb.Backend/HandleExistenceCheck`.
    pub async fn existence_check(
        &self,
        operation: &str,
        path: &str,
        data: Option<Value>,
    ) -> Result<pb::HandleExistenceCheckReply, tonic::Status> {
        let args = pb::HandleExistenceCheckArgs {
            storage_id: 0,
            request: Some(request(operation, path, data)),
        };
        self.backend()
            .handle_existence_check(self.req(args))
            .await
            .map(tonic::Response::into_inner)
    }

    /// `pb.Backend/Cleanup`, then stop the broker listener as go-plugin does.
    pub async fn cleanup(&self) -> Result<(), tonic::Status> {
        let result = self
            .backend()
            .cleanup(self.req(pb::Empty {}))
            .await
            .map(|_| ());
        self.broker.stop();
        result
    }

    /// `plugin.GRPCController/Shutdown`. The reply may be lost if the plugin exits first,
    /// which go-plugin ignores too, so the result is returned for information only.
    pub async fn shutdown(&self) -> Result<(), tonic::Status> {
        let mut request = tonic::Request::new(gp::Empty {});
        request.set_timeout(Duration::from_secs(2));
        GrpcControllerClient::new(self.channel.clone())
            .shutdown(request)
            .await
            .map(|_| ())
    }

    /// ConnInfo messages the plugin sent on StartStream (none expected without
    /// multiplexing).
    pub fn sent_by_plugin(&self) -> Vec<ConnInfo> {
        self.from_plugin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A request as OpenBao builds one for a client call on mount `aws/`.
pub fn request(operation: &str, path: &str, data: Option<Value>) -> pb::Request {
    pb::Request {
        id: uuid::Uuid::new_v4().to_string(),
        operation: operation.to_string(),
        path: path.to_string(),
        data: data.map_or_else(|| "null".to_string(), |d| d.to_string()),
        client_token: "hmac-sha256:0c2d1b9bde0fa6a8d1b6d4a4f1b55e5b".to_string(),
        client_token_accessor: "accessor-test".to_string(),
        display_name: "token".to_string(),
        mount_point: "aws/".to_string(),
        mount_type: "aws".to_string(),
        mount_accessor: "aws_5c2a9f3e".to_string(),
        connection: Some(pb::Connection {
            remote_addr: "127.0.0.1".to_string(),
            remote_port: 50512,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn decode_json(field: &str, text: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Null) => None,
        Ok(v @ Value::Object(_)) => Some(v),
        Ok(other) => panic!("{field} must be a JSON object or null, got {other}"),
        Err(e) => panic!("{field} is not valid JSON ({e}): {text:?}"),
    }
}

/// Polls `check` every 20 ms until it holds or `limit` passes; returns whether it held.
pub async fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
