//! \[transport\] The standard `grpc.health.v1.Health` service, as go-plugin registers it:
//! service name `plugin` is SERVING while we run and NOT_SERVING once shutdown begins.
//!
//! Vault and OpenBao never call it (only go-plugin's `Client.Ping` does), but it is cheap
//! and gives test hosts a harmless call to prove a connection works end to end.

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};

/// The service name go-plugin reports (`GRPCServiceName`).
pub const SERVICE_NAME: &str = "plugin";

/// The health service; flips to NOT_SERVING when `stop` is cancelled.
pub(crate) async fn service(stop: CancellationToken) -> HealthServer<impl Health> {
    let (reporter, server) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(SERVICE_NAME, ServingStatus::Serving)
        .await;
    tokio::spawn(async move {
        stop.cancelled().await;
        reporter
            .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
            .await;
    });
    server
}
