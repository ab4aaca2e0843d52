//! [framework] The engine test harness: a backend built from its factory (or a
//! framework builder) over `InMemoryStorage` and a `StaticSystemView`, initialised as
//! the host would, with request helpers that behave like the host's HTTP layer — a write
//! runs the existence check first and becomes `create` or `update` from its answer, a
//! list path gets its trailing `/`. Tests drive the whole backend through
//! `handle_request` and can inspect storage directly.
//!
//! Always compiled (it has no test-only dependencies) so integration tests and other
//! crates' tests can use it. Not used by the plugin at runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::builder::BackendBuilder;
use crate::logical::{
    Backend, BackendConfig, Error, ExistenceCheck, Factory, InMemoryStorage, JsonMap, Operation,
    Request, Response, Secret, StaticSystemView,
};

/// A mounted backend over in-memory services.
pub struct TestBackend {
    backend: Arc<dyn Backend>,
    storage: Arc<InMemoryStorage>,
    system: Arc<StaticSystemView>,
    next_id: AtomicU64,
}

/// The JSON object `value`, or an error naming what it was instead.
pub fn json_map(value: Value) -> Result<JsonMap, Error> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(JsonMap::new()),
        other => Err(Error::Internal(format!(
            "request data must be a JSON object, not {other}"
        ))),
    }
}

impl TestBackend {
    /// The backend configuration a harness over `storage` and `system` mounts with.
    pub fn config(storage: Arc<InMemoryStorage>, system: Arc<StaticSystemView>) -> BackendConfig {
        BackendConfig {
            storage,
            system_view: system,
            config: Default::default(),
            backend_uuid: "00000000-0000-0000-0000-000000000000".to_string(),
        }
    }

    /// Mounts the backend `factory` builds, with Vault's default mount TTLs.
    pub async fn new(factory: &Factory) -> Result<Self, Error> {
        Self::with_system_view(factory, StaticSystemView::default()).await
    }

    /// Mounts the backend `factory` builds, with the given system view.
    pub async fn with_system_view(
        factory: &Factory,
        system: StaticSystemView,
    ) -> Result<Self, Error> {
        let storage = Arc::new(InMemoryStorage::new());
        let system = Arc::new(system);
        let backend = factory(Self::config(Arc::clone(&storage), Arc::clone(&system))).await?;
        Self::mounted(backend, storage, system).await
    }

    /// Mounts a framework backend described by `builder` (so tests can set its clock).
    pub async fn from_builder(builder: BackendBuilder) -> Result<Self, Error> {
        Self::from_builder_with(builder, StaticSystemView::default()).await
    }

    /// [`TestBackend::from_builder`] with the given system view.
    pub async fn from_builder_with(
        builder: BackendBuilder,
        system: StaticSystemView,
    ) -> Result<Self, Error> {
        let storage = Arc::new(InMemoryStorage::new());
        let system = Arc::new(system);
        let backend = builder.build(&Self::config(Arc::clone(&storage), Arc::clone(&system)))?;
        Self::mounted(Arc::new(backend), storage, system).await
    }

    async fn mounted(
        backend: Arc<dyn Backend>,
        storage: Arc<InMemoryStorage>,
        system: Arc<StaticSystemView>,
    ) -> Result<Self, Error> {
        // The host calls Initialize after Setup, before any request.
        backend.initialize().await?;
        Ok(TestBackend {
            backend,
            storage,
            system,
            next_id: AtomicU64::new(1),
        })
    }

    /// The backend under test.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The mount's storage.
    pub fn storage(&self) -> &Arc<InMemoryStorage> {
        &self.storage
    }

    /// The system view the backend sees.
    pub fn system_view(&self) -> &Arc<StaticSystemView> {
        &self.system
    }

    /// A request as a client's would arrive: with an ID, a token and the dev root
    /// token's display name.
    pub fn request(&self, operation: Operation, path: &str, data: JsonMap) -> Request {
        let mut req = Request::new(operation, path).with_data(data);
        req.id = format!(
            "test-request-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        req.client_token = "test-client-token".to_string();
        req.display_name = "token".to_string();
        req.mount_point = "test/".to_string();
        req
    }

    /// Sends `req` as is.
    pub async fn handle(&self, req: Request) -> Result<Option<Response>, Error> {
        self.backend.handle_request(req).await
    }

    /// Runs the existence check for a write to `path`.
    pub async fn existence_check(&self, path: &str, data: Value) -> Result<ExistenceCheck, Error> {
        let req = self.request(Operation::Update, path, json_map(data)?);
        self.backend.handle_existence_check(req).await
    }

    /// GET `path`.
    pub async fn read(&self, path: &str) -> Result<Option<Response>, Error> {
        self.read_with(path, Value::Null).await
    }

    /// GET `path` with query parameters.
    pub async fn read_with(&self, path: &str, query: Value) -> Result<Option<Response>, Error> {
        self.handle(self.request(Operation::Read, path, json_map(query)?))
            .await
    }

    /// POST `data` to `path` as the host does: the existence check decides `create` or
    /// `update` (an `unsupported path` from the check means "no check", as in Vault).
    pub async fn write(&self, path: &str, data: Value) -> Result<Option<Response>, Error> {
        let data = json_map(data)?;
        let check = match self
            .backend
            .handle_existence_check(self.request(Operation::Update, path, data.clone()))
            .await
        {
            Ok(check) => check,
            Err(Error::UnsupportedPath) => ExistenceCheck::default(),
            Err(e) => return Err(e),
        };
        let op = if check.check_found && !check.exists {
            Operation::Create
        } else {
            Operation::Update
        };
        self.handle(self.request(op, path, data)).await
    }

    /// LIST `path` (a trailing `/` is added, as the host does).
    pub async fn list(&self, path: &str) -> Result<Option<Response>, Error> {
        let path = if path.ends_with('/') || path.is_empty() {
            path.to_string()
        } else {
            format!("{path}/")
        };
        self.handle(self.request(Operation::List, &path, JsonMap::new()))
            .await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<Option<Response>, Error> {
        self.handle(self.request(Operation::Delete, path, JsonMap::new()))
            .await
    }

    /// `path-help` on `path` (`""` is the root).
    pub async fn help(&self, path: &str) -> Result<Option<Response>, Error> {
        self.handle(self.request(Operation::Help, path, JsonMap::new()))
            .await
    }

    /// A renew of the lease `secret` issued at `path`, with the lease's response `data`,
    /// shaped as the host's expiration manager sends it.
    pub async fn renew(
        &self,
        path: &str,
        secret: Secret,
        data: JsonMap,
    ) -> Result<Option<Response>, Error> {
        self.handle(host_request(Operation::Renew, path, secret, data))
            .await
    }

    /// A revoke of the lease `secret` issued at `path`, with the lease's response `data`.
    pub async fn revoke(
        &self,
        path: &str,
        secret: Secret,
        data: JsonMap,
    ) -> Result<Option<Response>, Error> {
        self.handle(host_request(Operation::Revoke, path, secret, data))
            .await
    }

    /// The periodic rollback tick (path `""`, no data).
    pub async fn rollback(&self) -> Result<Option<Response>, Error> {
        self.handle(Request::new(Operation::Rollback, "")).await
    }

    /// A rollback that ignores the WAL minimum age (`immediate` in the data).
    pub async fn rollback_immediate(&self) -> Result<Option<Response>, Error> {
        let mut data = JsonMap::new();
        data.insert("immediate".to_string(), Value::Bool(true));
        self.handle(Request::new(Operation::Rollback, "").with_data(data))
            .await
    }
}

/// A host-originated lease request: no request ID, an empty lease ID, as OpenBao sends.
fn host_request(operation: Operation, path: &str, secret: Secret, data: JsonMap) -> Request {
    let mut req = Request::new(operation, path).with_data(data);
    req.secret = Some(Secret {
        lease_id: String::new(),
        ..secret
    });
    req
}
