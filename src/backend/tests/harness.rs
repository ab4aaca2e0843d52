//! [protocol adapter, tests only] The fixture for the in-process protocol tests: a tiny
//! engine (`kv/<key>` stores request data through the host's storage; other paths panic,
//! fail with each error kind, return a lease, echo a renewed secret or read the system
//! view), its factory, a Dialer that hands out lazy channels to the fake host, and a
//! harness that serves `services(..)` on 127.0.0.1:0 and holds the host-side pb clients.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Server};

use crate::backend::{Dialer, services};
use crate::client::MAX_MESSAGE_SIZE;
use crate::client::test_host::TestHost;
use crate::logical::{
    self, Backend, BackendConfig, Error, ExistenceCheck, Factory, JsonMap, LeaseOptions, Operation,
    Secret, SpecialPaths, StorageExt,
};
use crate::pb::logical::plugin_version_client::PluginVersionClient;
use crate::pb::pb::backend_client::BackendClient;
use crate::pb::pb::{self as wire, HandleExistenceCheckArgs, HandleRequestArgs, SetupArgs};

/// What the engine saw, for assertions.
#[derive(Default)]
pub(super) struct Probe {
    pub(super) configs: Mutex<Vec<(HashMap<String, String>, String)>>,
    pub(super) invalidated: Mutex<Vec<String>>,
    pub(super) cleanups: AtomicUsize,
    pub(super) built: AtomicUsize,
}

/// A test-only engine: `kv/<key>` stores request data, plus paths that panic, fail with
/// each error kind, return a lease, echo a renewed secret and read the system view.
struct Engine {
    config: BackendConfig,
    pub(super) probe: Arc<Probe>,
    generation: usize,
}

fn object(v: Value) -> JsonMap {
    match v {
        Value::Object(m) => m,
        _ => JsonMap::new(),
    }
}

impl Engine {
    fn error_for(kind: &str) -> Error {
        match kind {
            "user" => Error::User("no such role".into()),
            "bad" => Error::BadRequest("ttl is invalid".into()),
            "coded" => Error::coded(502, "AWS throttled the request"),
            "path" => Error::UnsupportedPath,
            "op" => Error::UnsupportedOperation,
            "invalid" => Error::InvalidRequest,
            "denied" => Error::PermissionDenied,
            "unrecoverable" => Error::Unrecoverable("corrupt lease".into()),
            _ => Error::Internal("cannot write to readonly storage".into()),
        }
    }

    async fn kv(
        &self,
        req: logical::Request,
        key: String,
    ) -> Result<Option<logical::Response>, Error> {
        let storage = &self.config.storage;
        match req.operation {
            Operation::Create | Operation::Update => {
                storage.put_json(&key, &Value::Object(req.data)).await?;
                Ok(None)
            }
            Operation::Read => {
                let value: Option<Value> = storage.get_json(&key).await?;
                Ok(value.map(|v| logical::Response::with_data(object(v))))
            }
            Operation::Delete => storage.delete(&key).await.map(|()| None),
            _ => Err(Error::UnsupportedOperation),
        }
    }

    fn lease() -> logical::Response {
        let mut resp = logical::Response::with_data(object(json!({"access_key": "AKIA-TEST"})));
        resp.secret = Some(Secret {
            lease_options: LeaseOptions {
                ttl: Duration::from_secs(3600),
                max_ttl: Duration::from_secs(7200),
                renewable: true,
                ..Default::default()
            },
            internal_data: JsonMap::new(),
            lease_id: String::new(),
        });
        resp
    }
}

#[async_trait]
impl Backend for Engine {
    async fn handle_request(
        &self,
        req: logical::Request,
    ) -> Result<Option<logical::Response>, Error> {
        let path = req.path.clone();
        if let Some(key) = path.strip_prefix("kv/") {
            return self.kv(req, format!("kv/{key}")).await;
        }
        if let Some(kind) = path.strip_prefix("error/") {
            return Err(Self::error_for(kind));
        }
        match path.as_str() {
            "panic" => panic!("engine bug"),
            "respond-error" => Ok(Some(logical::Response::error("name is required"))),
            "lease" => Ok(Some(Self::lease())),
            "renew" => {
                let mut resp = logical::Response::with_data(req.data);
                resp.secret = req.secret;
                Ok(Some(resp))
            }
            "empty" => Ok(Some(logical::Response::default())),
            "generation" => Ok(Some(logical::Response::with_data(object(
                json!({"generation": self.generation}),
            )))),
            "ttl" => {
                let ttl = self.config.system_view.default_lease_ttl().await?;
                Ok(Some(logical::Response::with_data(object(
                    json!({"ttl_seconds": ttl.as_secs()}),
                ))))
            }
            "echo" => Ok(Some(logical::Response::with_data(object(json!({
                "data": req.data,
                "remote_addr": req.remote_addr,
                "headers": req.headers,
                "display_name": req.display_name,
                "mount_point": req.mount_point,
            }))))),
            _ => Err(Error::UnsupportedPath),
        }
    }

    async fn handle_existence_check(&self, req: logical::Request) -> Result<ExistenceCheck, Error> {
        if req.path == "panic" {
            panic!("existence check bug");
        }
        match req.path.strip_prefix("kv/") {
            Some(_) => Ok(ExistenceCheck {
                check_found: true,
                exists: self.config.storage.get(&req.path).await?.is_some(),
            }),
            None => Ok(ExistenceCheck::default()),
        }
    }

    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            root: vec!["config/*".into()],
            local_storage: vec!["wal/".into()],
            seal_wrap_storage: vec!["config/root".into()],
            ..Default::default()
        }
    }

    async fn initialize(&self) -> Result<(), Error> {
        self.config.storage.put_json("initialized", &true).await
    }

    async fn invalidate(&self, key: &str) {
        if let Ok(mut keys) = self.probe.invalidated.lock() {
            keys.push(key.to_string());
        }
    }

    async fn cleanup(&self) {
        self.probe.cleanups.fetch_add(1, Ordering::SeqCst);
    }
}

fn factory(probe: Arc<Probe>) -> Factory {
    Arc::new(move |config: BackendConfig| {
        let probe = probe.clone();
        Box::pin(async move {
            match config.config.get("factory").map(String::as_str) {
                Some("fail") => return Err(Error::Internal("region is not configured".into())),
                Some("panic") => panic!("factory bug"),
                _ => {}
            }
            if let Ok(mut c) = probe.configs.lock() {
                c.push((config.config.clone(), config.backend_uuid.clone()));
            }
            let generation = probe.built.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Arc::new(Engine {
                config,
                probe,
                generation,
            }) as Arc<dyn Backend>)
        })
    })
}

/// Hands out lazy channels to the fake host, like the broker; records the ids asked for.
pub(super) struct FakeDialer {
    url: String,
    fail: bool,
    pub(super) dialed: Mutex<Vec<u32>>,
}

#[async_trait]
impl Dialer for FakeDialer {
    async fn dial(&self, broker_id: u32) -> Result<Channel, Error> {
        if let Ok(mut d) = self.dialed.lock() {
            d.push(broker_id);
        }
        if self.fail {
            return Err(Error::Internal(
                "timeout waiting for connection info".into(),
            ));
        }
        Endpoint::from_shared(self.url.clone())
            .map(|e| e.connect_lazy())
            .map_err(Error::internal)
    }
}

/// The adapter under test, the fake host behind its broker, and host-side clients.
pub(super) struct Harness {
    pub(super) host: TestHost,
    pub(super) probe: Arc<Probe>,
    pub(super) dialer: Arc<FakeDialer>,
    pub(super) backend: BackendClient<Channel>,
    pub(super) version: PluginVersionClient<Channel>,
    server: JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    pub(super) async fn start(dialer_fails: bool) -> Harness {
        let host = TestHost::start().await;
        let probe = Arc::new(Probe::default());
        let dialer = Arc::new(FakeDialer {
            url: host.url(),
            fail: dialer_fails,
            dialed: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind plugin");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let routes = services(factory(probe.clone()), dialer.clone());
        let serve = Server::builder()
            .add_routes(routes)
            .serve_with_incoming(TcpListenerStream::new(listener));
        let server = tokio::spawn(async move {
            let _ = serve.await;
        });
        let channel = Endpoint::from_shared(url).expect("url").connect_lazy();
        let backend = BackendClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Harness {
            host,
            probe,
            dialer,
            backend,
            version: PluginVersionClient::new(channel),
            server,
        }
    }

    pub(super) async fn setup(&mut self, config: &[(&str, &str)]) -> String {
        let args = SetupArgs {
            broker_id: 7,
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            backend_uuid: "uuid-1".into(),
        };
        self.backend
            .setup(with_id(args))
            .await
            .expect("setup rpc")
            .into_inner()
            .err
    }

    pub(super) async fn request(
        &mut self,
        operation: &str,
        path: &str,
        data: &str,
    ) -> wire::HandleRequestReply {
        self.try_request(operation, path, data).await.expect("rpc")
    }

    pub(super) async fn try_request(
        &mut self,
        operation: &str,
        path: &str,
        data: &str,
    ) -> Result<wire::HandleRequestReply, tonic::Status> {
        let args = HandleRequestArgs {
            storage_id: 0,
            request: Some(request(operation, path, data)),
        };
        self.backend
            .handle_request(with_id(args))
            .await
            .map(|r| r.into_inner())
    }

    pub(super) async fn exists(&mut self, path: &str) -> wire::HandleExistenceCheckReply {
        let args = HandleExistenceCheckArgs {
            storage_id: 0,
            request: Some(request("update", path, "null")),
        };
        self.backend
            .handle_existence_check(with_id(args))
            .await
            .expect("rpc")
            .into_inner()
    }
}

/// The host tags every Backend call with the instance id.
pub(super) fn with_id<T>(msg: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("multiplex_id", MetadataValue::from_static("Ab3dE6gH9k"));
    req
}

pub(super) fn request(operation: &str, path: &str, data: &str) -> wire::Request {
    wire::Request {
        id: "req-id".into(),
        operation: operation.into(),
        path: path.into(),
        data: data.into(),
        mount_point: "aws/".into(),
        display_name: "token".into(),
        ..Default::default()
    }
}

/// Response data must always be JSON the host can parse: `null` or an object.
pub(super) fn data_of(reply: &wire::HandleRequestReply) -> Value {
    let resp = reply.response.as_ref().expect("a response");
    let data: Value = serde_json::from_str(&resp.data).expect("response data is valid JSON");
    assert!(data.is_null() || data.is_object(), "data is {data}");
    data
}

pub(super) fn err_of(reply: &wire::HandleRequestReply) -> (u32, String, i64) {
    let e = reply.err.as_ref().expect("an error");
    (e.err_type, e.err_msg.clone(), e.err_code)
}
