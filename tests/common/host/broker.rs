//! The host's side of the go-plugin broker: a unix-socket listener behind mutual TLS that
//! serves `pb.Storage` over an `InMemoryStorage` and `pb.SystemView` with fixed answers,
//! the way OpenBao's `AcceptAndServe` does for every Setup (protocol.md §8).
//!
//! Every storage call is recorded with the phase it arrived in, so tests can prove the
//! plugin never touches storage during Setup; like OpenBao, writes during Setup are
//! refused in-band. It does not speak the StartStream protocol itself: `host.rs` announces
//! the listener's address there.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use std::{io, pin::Pin};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use vault_plugin_secrets_aws_rs::logical::{InMemoryStorage, Storage, StorageEntry};
use vault_plugin_secrets_aws_rs::pb::logical as lpb;
use vault_plugin_secrets_aws_rs::pb::pb;
use vault_plugin_secrets_aws_rs::pb::pb::storage_server::{Storage as StorageRpc, StorageServer};
use vault_plugin_secrets_aws_rs::pb::pb::system_view_server::{SystemView, SystemViewServer};

/// OpenBao's in-band answer to a storage write made while Setup is running.
pub const SETUP_WRITE_ERROR: &str = "cannot write to storage during setup";

/// The mount's default and maximum lease TTL the fixed SystemView reports (768 h, in ns).
pub const LEASE_TTL_NANOS: i64 = 768 * 3600 * 1_000_000_000;

/// One storage RPC the plugin made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageCall {
    /// RPC name: `List`, `Get`, `Put`, `Delete`, `ListPage`, `IsTransactional`, ...
    pub method: &'static str,
    /// Key or prefix the call named (empty for calls without one).
    pub key: String,
    /// Whether the call arrived while a Setup RPC was in flight.
    pub during_setup: bool,
}

/// State shared by the broker's services and the test.
#[derive(Default)]
pub struct HostState {
    /// The mount's storage as the host keeps it.
    pub storage: InMemoryStorage,
    calls: Mutex<Vec<StorageCall>>,
    in_setup: AtomicBool,
    /// TLS connections the plugin completed to the broker listener.
    pub connections: AtomicUsize,
    /// TLS handshakes on the broker listener that failed.
    pub refused: AtomicUsize,
    fail_writes: Mutex<Option<String>>,
}

impl HostState {
    /// Marks whether a Setup RPC is in flight.
    pub fn set_in_setup(&self, value: bool) {
        self.in_setup.store(value, Ordering::SeqCst);
    }

    /// Makes every later Put and Delete answer `err` in-band with `message` (`None`
    /// restores normal writes), like a standby's read-only storage.
    pub fn fail_writes(&self, message: Option<&str>) {
        *self.fail_writes.lock().unwrap_or_else(|e| e.into_inner()) = message.map(str::to_string);
    }

    fn write_failure(&self) -> Option<String> {
        self.fail_writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every storage call so far, in arrival order.
    pub fn calls(&self) -> Vec<StorageCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, method: &'static str, key: &str) -> bool {
        let during_setup = self.in_setup.load(Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StorageCall {
                method,
                key: key.to_string(),
                during_setup,
            });
        during_setup
    }
}

/// A running broker listener; stops serving when dropped.
pub struct BrokerListener {
    /// Socket path announced to the plugin in ConnInfo.
    pub path: PathBuf,
    stop: CancellationToken,
}

impl BrokerListener {
    /// Binds a socket named `plugin<random>` in `dir` (as go-plugin's `os.CreateTemp`
    /// does) and serves Storage and SystemView over mTLS on it.
    pub fn start(
        dir: &Path,
        tls: rustls::ServerConfig,
        state: Arc<HostState>,
    ) -> io::Result<BrokerListener> {
        let path = dir.join(format!("plugin{}", rand::random::<u32>()));
        let listener = UnixListener::bind(&path)?;
        let stop = CancellationToken::new();
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<TlsIo>>(8);
        tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(Arc::new(tls)),
            tx,
            state.clone(),
            stop.clone(),
        ));
        let server = tonic::transport::Server::builder()
            .add_service(
                StorageServer::new(HostStorage(state.clone()))
                    .max_decoding_message_size(usize::MAX)
                    .max_encoding_message_size(usize::MAX),
            )
            .add_service(SystemViewServer::new(FixedSystemView));
        let signal = stop.clone();
        tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::ReceiverStream::new(rx);
            let _ = server
                .serve_with_incoming_shutdown(incoming, signal.cancelled_owned())
                .await;
        });
        Ok(BrokerListener { path, stop })
    }

    /// Stops serving, as go-plugin's broker does on Cleanup.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for BrokerListener {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn accept_loop(
    listener: UnixListener,
    acceptor: TlsAcceptor,
    tx: tokio::sync::mpsc::Sender<io::Result<TlsIo>>,
    state: Arc<HostState>,
    stop: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => return,
            },
        };
        // Handshake off the accept loop so one stalled peer cannot block the next.
        let (acceptor, tx, state) = (acceptor.clone(), tx.clone(), state.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
            match handshake.await {
                // grpc-go >= 1.67 refuses a client that did not negotiate ALPN h2.
                Ok(Ok(tls)) if tls.get_ref().1.alpn_protocol() == Some(b"h2") => {
                    state.connections.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.send(Ok(TlsIo(tls))).await;
                }
                _ => {
                    state.refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
}

/// A TLS stream tonic can serve (it needs `Connected`, which tokio-rustls streams only
/// get with tonic's own TLS features).
pub struct TlsIo(TlsStream<UnixStream>);

impl tonic::transport::server::Connected for TlsIo {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for TlsIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// `pb.Storage` over the host's `InMemoryStorage`. Errors travel in-band in `err`, as the
/// Go host sends them; transactions are not offered.
struct HostStorage(Arc<HostState>);

#[tonic::async_trait]
impl StorageRpc for HostStorage {
    async fn list(
        &self,
        request: Request<pb::StorageListArgs>,
    ) -> Result<Response<pb::StorageListReply>, Status> {
        let prefix = request.into_inner().prefix;
        self.0.record("List", &prefix);
        let reply = match self.0.storage.list(&prefix).await {
            Ok(keys) => pb::StorageListReply {
                keys,
                err: String::new(),
            },
            Err(e) => pb::StorageListReply {
                keys: vec![],
                err: e.to_string(),
            },
        };
        Ok(Response::new(reply))
    }

    async fn list_page(
        &self,
        request: Request<pb::StorageListPageArgs>,
    ) -> Result<Response<pb::StorageListReply>, Status> {
        let args = request.into_inner();
        self.0.record("ListPage", &args.prefix);
        let mut keys = match self.0.storage.list(&args.prefix).await {
            Ok(keys) => keys,
            Err(e) => {
                return Ok(Response::new(pb::StorageListReply {
                    keys: vec![],
                    err: e.to_string(),
                }));
            }
        };
        keys.retain(|k| args.after.is_empty() || k.as_str() > args.after.as_str());
        if args.limit > 0 {
            keys.truncate(args.limit as usize);
        }
        Ok(Response::new(pb::StorageListReply {
            keys,
            err: String::new(),
        }))
    }

    async fn get(
        &self,
        request: Request<pb::StorageGetArgs>,
    ) -> Result<Response<pb::StorageGetReply>, Status> {
        let key = request.into_inner().key;
        self.0.record("Get", &key);
        let reply = match self.0.storage.get(&key).await {
            Ok(entry) => pb::StorageGetReply {
                entry: entry.map(|e| pb::StorageEntry {
                    key: e.key,
                    value: e.value,
                    seal_wrap: e.seal_wrap,
                }),
                err: String::new(),
            },
            Err(e) => pb::StorageGetReply {
                entry: None,
                err: e.to_string(),
            },
        };
        Ok(Response::new(reply))
    }

    async fn put(
        &self,
        request: Request<pb::StoragePutArgs>,
    ) -> Result<Response<pb::StoragePutReply>, Status> {
        let entry = request.into_inner().entry.unwrap_or_default();
        if self.0.record("Put", &entry.key) {
            return Ok(Response::new(pb::StoragePutReply {
                err: SETUP_WRITE_ERROR.to_string(),
            }));
        }
        if let Some(err) = self.0.write_failure() {
            return Ok(Response::new(pb::StoragePutReply { err }));
        }
        let entry = StorageEntry {
            key: entry.key,
            value: entry.value,
            seal_wrap: entry.seal_wrap,
        };
        let err = self
            .0
            .storage
            .put(entry)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        Ok(Response::new(pb::StoragePutReply { err }))
    }

    async fn delete(
        &self,
        request: Request<pb::StorageDeleteArgs>,
    ) -> Result<Response<pb::StorageDeleteReply>, Status> {
        let key = request.into_inner().key;
        if self.0.record("Delete", &key) {
            return Ok(Response::new(pb::StorageDeleteReply {
                err: SETUP_WRITE_ERROR.to_string(),
            }));
        }
        if let Some(err) = self.0.write_failure() {
            return Ok(Response::new(pb::StorageDeleteReply { err }));
        }
        let err = self
            .0
            .storage
            .delete(&key)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        Ok(Response::new(pb::StorageDeleteReply { err }))
    }

    async fn is_transactional(
        &self,
        _request: Request<pb::Empty>,
    ) -> Result<Response<pb::StorageIsTransactionalReply>, Status> {
        self.0.record("IsTransactional", "");
        Ok(Response::new(pb::StorageIsTransactionalReply {
            transactional: false,
        }))
    }

    async fn begin_read_only_tx(
        &self,
        _request: Request<pb::Empty>,
    ) -> Result<Response<pb::StorageBeginTxReply>, Status> {
        self.0.record("BeginReadOnlyTx", "");
        Err(Status::unimplemented(
            "transactions are not offered by the test host",
        ))
    }

    async fn begin_tx(
        &self,
        _request: Request<pb::Empty>,
    ) -> Result<Response<pb::StorageBeginTxReply>, Status> {
        self.0.record("BeginTx", "");
        Err(Status::unimplemented(
            "transactions are not offered by the test host",
        ))
    }

    async fn commit(
        &self,
        _request: Request<pb::StorageCommitTxArgs>,
    ) -> Result<Response<pb::StorageCommitTxReply>, Status> {
        self.0.record("Commit", "");
        Err(Status::unimplemented(
            "transactions are not offered by the test host",
        ))
    }

    async fn rollback(
        &self,
        _request: Request<pb::StorageRollbackTxArgs>,
    ) -> Result<Response<pb::StorageRollbackTxReply>, Status> {
        self.0.record("Rollback", "");
        Err(Status::unimplemented(
            "transactions are not offered by the test host",
        ))
    }
}

/// `pb.SystemView` with the answers of a fresh OpenBao 2.7.2 dev mount.
struct FixedSystemView;

#[tonic::async_trait]
impl SystemView for FixedSystemView {
    async fn default_lease_ttl(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::TtlReply>, Status> {
        Ok(Response::new(pb::TtlReply {
            ttl: LEASE_TTL_NANOS,
        }))
    }
    async fn max_lease_ttl(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::TtlReply>, Status> {
        Ok(Response::new(pb::TtlReply {
            ttl: LEASE_TTL_NANOS,
        }))
    }
    async fn tainted(&self, _r: Request<pb::Empty>) -> Result<Response<pb::TaintedReply>, Status> {
        Ok(Response::new(pb::TaintedReply { tainted: false }))
    }
    async fn caching_disabled(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::CachingDisabledReply>, Status> {
        Ok(Response::new(pb::CachingDisabledReply { disabled: false }))
    }
    async fn replication_state(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::ReplicationStateReply>, Status> {
        Ok(Response::new(pb::ReplicationStateReply { state: 0 }))
    }
    async fn response_wrap_data(
        &self,
        _r: Request<pb::ResponseWrapDataArgs>,
    ) -> Result<Response<pb::ResponseWrapDataReply>, Status> {
        Ok(Response::new(pb::ResponseWrapDataReply {
            wrap_info: None,
            err: "response wrapping is not offered by the test host".to_string(),
        }))
    }
    async fn mlock_enabled(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::MlockEnabledReply>, Status> {
        Ok(Response::new(pb::MlockEnabledReply { enabled: false }))
    }
    async fn local_mount(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::LocalMountReply>, Status> {
        Ok(Response::new(pb::LocalMountReply { local: false }))
    }
    async fn entity_info(
        &self,
        _r: Request<pb::EntityInfoArgs>,
    ) -> Result<Response<pb::EntityInfoReply>, Status> {
        Ok(Response::new(pb::EntityInfoReply {
            entity: None,
            err: String::new(),
        }))
    }
    async fn plugin_env(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::PluginEnvReply>, Status> {
        Ok(Response::new(pb::PluginEnvReply {
            plugin_environment: Some(lpb::PluginEnvironment {
                vault_version: "2.7.2".to_string(),
                vault_version_prerelease: String::new(),
                vault_version_metadata: String::new(),
            }),
            err: String::new(),
        }))
    }
    async fn groups_for_entity(
        &self,
        _r: Request<pb::EntityInfoArgs>,
    ) -> Result<Response<pb::GroupsForEntityReply>, Status> {
        Ok(Response::new(pb::GroupsForEntityReply {
            groups: vec![],
            err: String::new(),
        }))
    }
    async fn generate_password_from_policy(
        &self,
        _r: Request<pb::GeneratePasswordFromPolicyRequest>,
    ) -> Result<Response<pb::GeneratePasswordFromPolicyReply>, Status> {
        Err(Status::not_found("no password policies on the test host"))
    }
    async fn cluster_info(
        &self,
        _r: Request<pb::Empty>,
    ) -> Result<Response<pb::ClusterInfoReply>, Status> {
        Ok(Response::new(pb::ClusterInfoReply {
            cluster_name: "vault-cluster-test".to_string(),
            cluster_id: "00000000-0000-0000-0000-000000000000".to_string(),
            err: String::new(),
        }))
    }
}
