//! The core vocabulary of a Vault backend, free of any transport: requests, responses,
//! secrets and leases, errors, storage, the system view and the `Backend` trait itself.
//!
//! This mirrors Vault's `sdk/logical` package. It imports nothing else from this crate and
//! knows nothing of gRPC, protobuf or AWS: the `backend` layer converts protobuf messages
//! into these types, and the `framework` builds engines on top of them.

mod backend;
mod error;
mod identity;
mod lease;
mod paths;
mod request;
mod response;
mod storage;
mod system_view;

pub use backend::{Backend, BackendConfig, BackendType, ExistenceCheck, Factory};
pub use error::{Error, ErrorKind, READ_ONLY_STORAGE};
pub use identity::{Alias, Entity, Group, PluginEnvironment};
pub use lease::{LeaseOptions, Secret};
pub use paths::SpecialPaths;
pub use request::{Operation, Request};
pub use response::Response;
pub use storage::{InMemoryStorage, Storage, StorageEntry, StorageExt};
pub use system_view::{StaticSystemView, SystemView};

/// A JSON object, the shape of request data, response data and lease internal data.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;
