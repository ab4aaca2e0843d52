//! [host clients, tests only] A stand-in for the host's side of the broker: an in-process
//! tonic server on 127.0.0.1:0 serving `pb.Storage` over an `InMemoryStorage` and a
//! `pb.SystemView` with fixed answers. It counts storage calls (so tests can prove Setup
//! touched nothing) and can be told to fail in band or with a gRPC status.
//!
//! Plaintext on purpose: TLS belongs to the transport and is tested there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};

use crate::client::MAX_MESSAGE_SIZE;
use crate::logical::{InMemoryStorage, Storage as _, StorageEntry};
use crate::pb::logical as pbl;
use crate::pb::pb::storage_server::{Storage, StorageServer};
use crate::pb::pb::system_view_server::{SystemView, SystemViewServer};
use crate::pb::pb::*;

/// How the host answers the next calls.
#[derive(Debug, Clone, Default)]
enum Failure {
    #[default]
    None,
    InBand(String),
    Status(String),
}

#[derive(Debug, Default)]
struct HostState {
    failure: Mutex<Failure>,
    storage_calls: AtomicUsize,
}

impl HostState {
    fn failure(&self) -> Failure {
        self.failure.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Counts the call, then: Err(status) for a status failure, Ok(Some(err)) for an
    /// in-band failure, Ok(None) to proceed.
    fn storage_call(&self) -> Result<Option<String>, Status> {
        self.storage_calls.fetch_add(1, Ordering::SeqCst);
        match self.failure() {
            Failure::None => Ok(None),
            Failure::InBand(msg) => Ok(Some(msg)),
            Failure::Status(msg) => Err(Status::unknown(msg)),
        }
    }

    fn system_view_call(&self) -> Result<(), Status> {
        match self.failure() {
            Failure::Status(msg) => Err(Status::unknown(msg)),
            _ => Ok(()),
        }
    }
}

/// A running fake host; the server stops when this is dropped.
pub(crate) struct TestHost {
    /// The store behind the host's Storage service.
    pub(crate) storage: Arc<InMemoryStorage>,
    state: Arc<HostState>,
    url: String,
    task: JoinHandle<()>,
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestHost {
    /// Binds 127.0.0.1:0 and serves Storage and SystemView there.
    pub(crate) async fn start() -> TestHost {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind test host");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let storage = Arc::new(InMemoryStorage::new());
        let state = Arc::new(HostState::default());
        let store = StorageServer::new(HostStorage {
            store: storage.clone(),
            state: state.clone(),
        })
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let sys = SystemViewServer::new(HostSystemView {
            state: state.clone(),
        });
        let server = Server::builder()
            .add_service(store)
            .add_service(sys)
            .serve_with_incoming(TcpListenerStream::new(listener));
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        TestHost {
            storage,
            state,
            url,
            task,
        }
    }

    /// `http://127.0.0.1:<port>` of the host's listener.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// A lazily connecting channel to the host, like the broker's.
    pub(crate) fn channel(&self) -> Channel {
        Endpoint::from_shared(self.url())
            .expect("test host url")
            .connect_lazy()
    }

    /// From now on, storage replies carry `msg` in their `err` field.
    pub(crate) fn fail_in_band(&self, msg: &str) {
        self.set_failure(Failure::InBand(msg.to_string()));
    }

    /// From now on, storage and system view calls fail with a gRPC status carrying `msg`.
    pub(crate) fn fail_with_status(&self, msg: &str) {
        self.set_failure(Failure::Status(msg.to_string()));
    }

    fn set_failure(&self, failure: Failure) {
        if let Ok(mut f) = self.state.failure.lock() {
            *f = failure;
        }
    }

    /// How many storage RPCs the host has received.
    pub(crate) fn storage_calls(&self) -> usize {
        self.state.storage_calls.load(Ordering::SeqCst)
    }
}

struct HostStorage {
    store: Arc<InMemoryStorage>,
    state: Arc<HostState>,
}

fn internal(e: crate::logical::Error) -> Status {
    Status::internal(e.to_string())
}

#[tonic::async_trait]
impl Storage for HostStorage {
    async fn list(
        &self,
        req: Request<StorageListArgs>,
    ) -> Result<Response<StorageListReply>, Status> {
        if let Some(err) = self.state.storage_call()? {
            return Ok(Response::new(StorageListReply { keys: vec![], err }));
        }
        let keys = self
            .store
            .list(&req.into_inner().prefix)
            .await
            .map_err(internal)?;
        Ok(Response::new(StorageListReply {
            keys,
            err: String::new(),
        }))
    }

    async fn list_page(
        &self,
        _: Request<StorageListPageArgs>,
    ) -> Result<Response<StorageListReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn get(&self, req: Request<StorageGetArgs>) -> Result<Response<StorageGetReply>, Status> {
        if let Some(err) = self.state.storage_call()? {
            return Ok(Response::new(StorageGetReply { entry: None, err }));
        }
        let entry = self
            .store
            .get(&req.into_inner().key)
            .await
            .map_err(internal)?;
        let entry = entry.map(|e| crate::pb::pb::StorageEntry {
            key: e.key,
            value: e.value,
            seal_wrap: e.seal_wrap,
        });
        Ok(Response::new(StorageGetReply {
            entry,
            err: String::new(),
        }))
    }

    async fn put(&self, req: Request<StoragePutArgs>) -> Result<Response<StoragePutReply>, Status> {
        if let Some(err) = self.state.storage_call()? {
            return Ok(Response::new(StoragePutReply { err }));
        }
        let Some(e) = req.into_inner().entry else {
            return Ok(Response::new(StoragePutReply {
                err: "missing entry".into(),
            }));
        };
        let entry = StorageEntry {
            key: e.key,
            value: e.value,
            seal_wrap: e.seal_wrap,
        };
        self.store.put(entry).await.map_err(internal)?;
        Ok(Response::new(StoragePutReply { err: String::new() }))
    }

    async fn delete(
        &self,
        req: Request<StorageDeleteArgs>,
    ) -> Result<Response<StorageDeleteReply>, Status> {
        if let Some(err) = self.state.storage_call()? {
            return Ok(Response::new(StorageDeleteReply { err }));
        }
        self.store
            .delete(&req.into_inner().key)
            .await
            .map_err(internal)?;
        Ok(Response::new(StorageDeleteReply { err: String::new() }))
    }

    async fn is_transactional(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<StorageIsTransactionalReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn begin_read_only_tx(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<StorageBeginTxReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn begin_tx(&self, _: Request<Empty>) -> Result<Response<StorageBeginTxReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn commit(
        &self,
        _: Request<StorageCommitTxArgs>,
    ) -> Result<Response<StorageCommitTxReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn rollback(
        &self,
        _: Request<StorageRollbackTxArgs>,
    ) -> Result<Response<StorageRollbackTxReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }
}

/// Fixed answers: 768 h default TTL, 24 h max TTL, tainted, local, replication bits
/// 0x8000_0001, entity `e1` (alice, one alias, group `ops`), entity `broken` failing in
/// band, server version 2.7.2.
struct HostSystemView {
    state: Arc<HostState>,
}

const HOUR_NS: i64 = 3_600_000_000_000;

#[tonic::async_trait]
impl SystemView for HostSystemView {
    async fn default_lease_ttl(&self, _: Request<Empty>) -> Result<Response<TtlReply>, Status> {
        self.state.system_view_call()?;
        Ok(Response::new(TtlReply { ttl: 768 * HOUR_NS }))
    }

    async fn max_lease_ttl(&self, _: Request<Empty>) -> Result<Response<TtlReply>, Status> {
        self.state.system_view_call()?;
        Ok(Response::new(TtlReply { ttl: 24 * HOUR_NS }))
    }

    async fn tainted(&self, _: Request<Empty>) -> Result<Response<TaintedReply>, Status> {
        self.state.system_view_call()?;
        Ok(Response::new(TaintedReply { tainted: true }))
    }

    async fn caching_disabled(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<CachingDisabledReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn replication_state(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<ReplicationStateReply>, Status> {
        self.state.system_view_call()?;
        let state = i32::from_ne_bytes(0x8000_0001_u32.to_ne_bytes());
        Ok(Response::new(ReplicationStateReply { state }))
    }

    async fn response_wrap_data(
        &self,
        _: Request<ResponseWrapDataArgs>,
    ) -> Result<Response<ResponseWrapDataReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn mlock_enabled(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<MlockEnabledReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn local_mount(&self, _: Request<Empty>) -> Result<Response<LocalMountReply>, Status> {
        self.state.system_view_call()?;
        Ok(Response::new(LocalMountReply { local: true }))
    }

    async fn entity_info(
        &self,
        req: Request<EntityInfoArgs>,
    ) -> Result<Response<EntityInfoReply>, Status> {
        self.state.system_view_call()?;
        let reply = match req.into_inner().entity_id.as_str() {
            "e1" => EntityInfoReply {
                entity: Some(pbl::Entity {
                    id: "e1".into(),
                    name: "alice".into(),
                    aliases: vec![pbl::Alias {
                        mount_type: "userpass".into(),
                        name: "alice".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                err: String::new(),
            },
            "broken" => EntityInfoReply {
                entity: None,
                err: "entity store unavailable".into(),
            },
            _ => EntityInfoReply::default(),
        };
        Ok(Response::new(reply))
    }

    async fn plugin_env(&self, _: Request<Empty>) -> Result<Response<PluginEnvReply>, Status> {
        self.state.system_view_call()?;
        Ok(Response::new(PluginEnvReply {
            plugin_environment: Some(pbl::PluginEnvironment {
                vault_version: "2.7.2".into(),
                ..Default::default()
            }),
            err: String::new(),
        }))
    }

    async fn groups_for_entity(
        &self,
        req: Request<EntityInfoArgs>,
    ) -> Result<Response<GroupsForEntityReply>, Status> {
        self.state.system_view_call()?;
        let groups = if req.into_inner().entity_id == "e1" {
            vec![pbl::Group {
                id: "g1".into(),
                name: "ops".into(),
                ..Default::default()
            }]
        } else {
            vec![]
        };
        Ok(Response::new(GroupsForEntityReply {
            groups,
            err: String::new(),
        }))
    }

    async fn generate_password_from_policy(
        &self,
        _: Request<GeneratePasswordFromPolicyRequest>,
    ) -> Result<Response<GeneratePasswordFromPolicyReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }

    async fn cluster_info(&self, _: Request<Empty>) -> Result<Response<ClusterInfoReply>, Status> {
        Err(Status::unimplemented("not in the test host"))
    }
}
