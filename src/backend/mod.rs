//! [protocol adapter] The Vault backend protocol: serves `pb.Backend` (and
//! `logical.PluginVersion`) on top of an engine held only as `logical::Backend`.
//! Placeholder: the owner of this layer replaces it.

use async_trait::async_trait;

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

use std::sync::Arc;

use crate::logical::Factory;

/// The gRPC services this layer serves on the plugin's listener: `pb.Backend` and
/// `logical.PluginVersion`, with message-size limits raised to match Go's (MaxInt32).
/// The transport adds its own go-plugin services to the returned routes.
pub fn services(factory: Factory, dialer: Arc<dyn Dialer>) -> tonic::service::Routes {
    // Placeholder until the protocol adapter lands.
    let _ = (factory, dialer);
    tonic::service::Routes::default()
}
