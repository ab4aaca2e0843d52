//! A minimal go-plugin host written in Rust: it launches the built plugin binary exactly
//! as OpenBao 2.7.2 does (environment, AutoMTLS certificate, per-launch TMPDIR), parses
//! the handshake line, dials the plugin with mutual TLS, opens the broker stream, serves
//! Storage and SystemView behind the broker (see `host/broker.rs`) and drives
//! `pb.Backend` the way the server's mount and request paths do (protocol.md §1, §10).
//! Like OpenBao with a multiplexing plugin it can hold several mounts on one process,
//! each with its own `multiplex_id`, storage and broker listener ([`Host::select`]).
//!
//! It is test support, not product code: it panics (with the plugin's stderr attached)
//! when the plugin does not get far enough for a test to mean anything, and it never
//! decides whether a behaviour is right — `tests/protocol.rs` does. The child process is
//! killed by PID when the handle is dropped, so a failing test leaves nothing behind.
#![allow(dead_code)]

pub mod broker;
pub mod process;
pub mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tonic::transport::Channel;

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
// Re-exported for callers; not every test crate uses every name.
#[allow(unused_imports)]
pub use process::{
    COOKIE_KEY, COOKIE_VALUE, Exited, Handshake, Launch, PluginProcess, RPC_TIMEOUT,
};

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
    /// The mounts not selected at the moment: storage and broker listener by id.
    others: HashMap<String, (Arc<HostState>, BrokerListener)>,
    host_tmp: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Host {
    /// The `multiplex_id` of the mount a new host starts with.
    pub const FIRST_MOUNT: &'static str = "aBcD3fGh1j";

    /// Makes `multiplex_id` the mount every later call is for: its id tags the calls,
    /// and its own storage and broker listener (new and empty the first time) serve it,
    /// as OpenBao gives each mount of a multiplexed plugin. The mount left keeps its
    /// state and can be selected again.
    pub fn select(&mut self, multiplex_id: &str) {
        if multiplex_id == self.multiplex_id {
            return;
        }
        let (state, broker) = self.others.remove(multiplex_id).unwrap_or_else(|| {
            let state = Arc::new(HostState::default());
            let tls = tls::broker_server_config(
                self.process.identity(),
                self.process.handshake.cert_der.clone(),
            );
            let broker = BrokerListener::start(self.host_tmp.path(), tls, state.clone())
                .expect("broker listener");
            (state, broker)
        });
        let old_state = std::mem::replace(&mut self.state, state);
        let old_broker = std::mem::replace(&mut self.broker, broker);
        let old_id = std::mem::replace(&mut self.multiplex_id, multiplex_id.to_string());
        self.others.insert(old_id, (old_state, old_broker));
    }

    /// The `multiplex_id` of the selected mount.
    pub fn multiplex_id(&self) -> &str {
        &self.multiplex_id
    }

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
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(info)) = inbound.message().await {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(info);
            }
        }));

        let stdio = match GrpcStdioClient::new(channel.clone()).stream_stdio(()).await {
            Ok(stream) => {
                let mut stream = stream.into_inner();
                tasks.push(tokio::spawn(async move {
                    while let Ok(Some(_)) = stream.message().await {}
                }));
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
            multiplex_id: Host::FIRST_MOUNT.to_string(),
            others: HashMap::new(),
            host_tmp,
            tasks,
        }
    }

    /// Walks away like a crashed host: closes the broker stream, the stdio stream, the
    /// broker listener and the connection, and keeps only the process handle.
    pub fn abandon(self) -> PluginProcess {
        for task in &self.tasks {
            task.abort();
        }
        let Host { process, .. } = self;
        process
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
