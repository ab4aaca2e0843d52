//! [framework] `Context`: what every handler and hook is given besides the request — the
//! mount's storage, the host's system view and the clock. Vault's Go SDK carries storage
//! on the request; here the request stays a plain `logical::Request` and the context
//! carries the mount's services, so handlers never reach for globals.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use super::clock::Clock;
use super::wal;
use crate::logical::{Error, Storage, SystemView};

/// The mount's services, cheap to clone (three `Arc`s).
#[derive(Clone)]
pub struct Context {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    clock: Arc<dyn Clock>,
}

impl Context {
    /// A context over the given services.
    pub fn new(
        storage: Arc<dyn Storage>,
        system: Arc<dyn SystemView>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Context {
            storage,
            system,
            clock,
        }
    }

    /// The mount's storage (use `logical::StorageExt` for typed JSON access).
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// The mount's storage, shared.
    pub fn storage_arc(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.storage)
    }

    /// The host's view of the mount (lease TTL limits, identity, version).
    pub fn system(&self) -> &dyn SystemView {
        self.system.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The current time by the backend's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Writes a WAL entry of `kind` stamped with the clock's time; returns its ID. Write
    /// it *before* the external change it guards, delete it once the change is complete.
    pub async fn put_wal(&self, kind: &str, data: &Value) -> Result<String, Error> {
        wal::put_wal(self.storage(), kind, data, self.now()).await
    }

    /// Deletes (commits) the WAL entry `id`.
    pub async fn delete_wal(&self, id: &str) -> Result<(), Error> {
        wal::delete_wal(self.storage(), id).await
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}
