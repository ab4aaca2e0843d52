//! [host clients] The host's Storage and SystemView services, reached over the channel the
//! broker dialled at Setup, presented as the transport-free `logical::Storage` and
//! `logical::SystemView` traits so engines never see gRPC.
//!
//! This layer imports only `pb` and `logical`. It never dials anything itself: the
//! protocol adapter (`backend`) gets a channel from the transport's `Dialer` and hands it
//! to [`connect`]. Nothing here is called during Setup; the clients are built then, but
//! the first RPC goes out when an engine touches storage (Initialize or a request),
//! because the host has no storage behind the broker while it probes a registration.

mod convert;
mod storage;
mod system_view;
#[cfg(test)]
pub(crate) mod test_host;

use std::sync::Arc;

use tonic::transport::Channel;

pub use storage::GrpcStorage;
pub use system_view::GrpcSystemView;

pub(crate) use convert::{duration_from_nanos, duration_to_nanos};

/// The largest gRPC message we send or accept. Go's gRPC stack in the host is configured
/// with `math.MaxInt32` both ways; tonic defaults to 4 MiB for decoding, which a large
/// storage entry or response would exceed.
pub(crate) const MAX_MESSAGE_SIZE: usize = i32::MAX as usize;

/// Builds the Storage and SystemView clients over one brokered channel. Both share the
/// channel (the host serves both services on the same brokered listener), and neither
/// sends anything until it is first used.
pub fn connect(channel: Channel) -> (Arc<GrpcStorage>, Arc<GrpcSystemView>) {
    (
        Arc::new(GrpcStorage::new(channel.clone())),
        Arc::new(GrpcSystemView::new(channel)),
    )
}
