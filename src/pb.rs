//! Generated protobuf and gRPC code, one module per proto package. This is the only entry
//! point of generated code; `backend`, `client` and `plugin` may name it, nothing else may
//! (see tests/architecture.rs). The modules are siblings because `pb` refers to
//! `logical` messages as `super::logical::…`.
#![allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]

/// go-plugin's own services: GRPCBroker, GRPCController, GRPCStdio (package `plugin`).
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// Vault SDK core messages shared by the backend protocol (package `logical`):
/// identity (Entity, Alias, Group), PluginEnvironment and the PluginVersion service.
pub mod logical {
    tonic::include_proto!("logical");
}

/// The Vault backend protocol (package `pb`): Backend, Storage and SystemView services.
pub mod pb {
    tonic::include_proto!("pb");
}

/// Plugin multiplexing support query (package `pluginutil.multiplexing`).
pub mod multiplexing {
    tonic::include_proto!("pluginutil.multiplexing");
}
