//! The `Backend` trait every engine implements (Vault's `logical.Backend`), the
//! `BackendConfig` it is built from and the `Factory` that builds it. The protocol layer
//! holds engines only as `Arc<dyn Backend>`; the framework implements this trait.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

use super::{Error, Request, Response, SpecialPaths, Storage, SystemView};

/// The kind of backend, as `pb.Backend/Type` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendType {
    /// A secrets engine (`TypeLogical`, 1).
    Logical,
    /// An auth method (`TypeCredential`, 2).
    Credential,
}

/// The answer to an existence check, which makes the host choose create or update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExistenceCheck {
    /// Whether the path has an existence check at all (if not, the host uses update).
    pub check_found: bool,
    /// Whether the object exists (update) or not (create).
    pub exists: bool,
}

/// What a backend instance is built from at Setup.
#[derive(Clone)]
pub struct BackendConfig {
    /// The mount's storage.
    pub storage: Arc<dyn Storage>,
    /// The host's view of the mount.
    pub system_view: Arc<dyn SystemView>,
    /// Mount options (`plugin_name`, `plugin_type`, `plugin_version`, `-options k=v`).
    pub config: HashMap<String, String>,
    /// UUID of the backend instance (empty during registration probing).
    pub backend_uuid: String,
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendConfig")
            .field("config", &self.config)
            .field("backend_uuid", &self.backend_uuid)
            .finish_non_exhaustive()
    }
}

/// A mounted engine (Vault's `logical.Backend`).
#[async_trait]
pub trait Backend: Send + Sync {
    /// Handles one request. `Ok(None)` is "no response": 404 for reads, 204 for writes.
    async fn handle_request(&self, req: Request) -> Result<Option<Response>, Error>;

    /// Decides create vs update for a create/update request.
    async fn handle_existence_check(&self, req: Request) -> Result<ExistenceCheck, Error>;

    /// Paths the host treats specially; read once at mount.
    fn special_paths(&self) -> SpecialPaths;

    /// Called once storage is usable (after mount or unseal).
    async fn initialize(&self) -> Result<(), Error>;

    /// A storage key changed elsewhere (standby, replication): drop what caches it.
    async fn invalidate(&self, key: &str);

    /// The mount is going away (unmount, reload, seal): stop background work.
    async fn cleanup(&self);

    /// The kind of backend.
    fn backend_type(&self) -> BackendType {
        BackendType::Logical
    }
}

/// Builds a backend instance from its configuration. Setup must not touch storage (the
/// host refuses writes during Setup and has no storage at all while probing a new
/// registration), so a factory only wires things up.
pub type Factory =
    Arc<dyn Fn(BackendConfig) -> BoxFuture<'static, Result<Arc<dyn Backend>, Error>> + Send + Sync>;
