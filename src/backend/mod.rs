//! [protocol adapter] The Vault backend protocol: serves `pb.Backend` and
//! `logical.PluginVersion` on top of an engine held only as a `logical::Backend`.
//!
//! This layer imports `pb`, `logical` and `client`, never the transport (`plugin`) or the
//! engine kit (`framework`, `aws`). The transport hands it a [`Dialer`] for the broker and
//! mounts the routes returned by [`services`] next to its own go-plugin services. It
//! serves PluginMultiplexing with `supported=true`, so the host runs every mount of the
//! catalog entry in this one process, one backend instance per `multiplex_id`.
//!
//! Layout: `server` (the RPCs), `instances` (Setup/Cleanup bookkeeping keyed by
//! `multiplex_id`), `multiplex` (the PluginMultiplexing service and the id rules),
//! `convert` (pb <-> logical messages), `error_map` (logical errors <-> `ProtoError`),
//! `version` (PluginVersion).

mod convert;
pub mod error_map;
mod instances;
mod multiplex;
mod server;
mod version;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;

use crate::client::MAX_MESSAGE_SIZE;
use crate::logical::Factory;
use crate::pb::logical::plugin_version_server::PluginVersionServer;
use crate::pb::multiplexing::plugin_multiplexing_server::PluginMultiplexingServer;
use crate::pb::pb::backend_server::BackendServer as PbBackendServer;
use multiplex::{Multiplexing, MultiplexingService};

pub use server::BackendServer;
pub use version::PLUGIN_VERSION;

/// Dials the host's brokered listener with the given broker id and returns a gRPC channel
/// to it (Storage and SystemView live there). Implemented by `plugin::broker`; injected so
/// this layer never imports the transport.
#[async_trait]
pub trait Dialer: Send + Sync {
    /// Waits (bounded) for the host to announce `broker_id`, then dials it with mTLS.
    async fn dial(
        &self,
        broker_id: u32,
    ) -> Result<tonic::transport::Channel, crate::logical::Error>;
}

/// The gRPC services this layer serves on the plugin's listener: `pb.Backend`,
/// `logical.PluginVersion` and `pluginutil.multiplexing.PluginMultiplexing`, with
/// message-size limits raised to match Go's (MaxInt32). The transport adds its own
/// go-plugin services to the returned routes.
pub fn services(factory: Factory, dialer: Arc<dyn Dialer>) -> tonic::service::Routes {
    let mode = Multiplexing::default();
    let server = BackendServer::with_mode(factory, dialer, mode.clone());
    let multiplexing = PluginMultiplexingServer::new(MultiplexingService::new(mode));
    let backend = PbBackendServer::new(server)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let version = PluginVersionServer::new(version::VersionServer)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    tonic::service::Routes::new(backend)
        .add_service(version)
        .add_service(multiplexing)
}
