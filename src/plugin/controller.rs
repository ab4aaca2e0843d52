//! \[transport\] go-plugin's GRPCController: the host's `Shutdown` call, which it makes after
//! `Backend/Cleanup` on unmount, reload, seal and server stop.
//!
//! We cancel the shared shutdown token and reply at once; `plugin::serve` then drains and
//! exits. The reply must get out before the server stops, which tonic's graceful shutdown
//! guarantees for in-flight calls. Without this service the host waits 2 s and SIGKILLs us
//! on every unmount. It does not run Cleanup itself: the host has already done so.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::pb::plugin::Empty;
use crate::pb::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};

/// The `plugin.GRPCController` service.
#[derive(Debug)]
pub(crate) struct Controller {
    stop: CancellationToken,
}

/// The service, cancelling `stop` on Shutdown.
pub(crate) fn service(stop: CancellationToken) -> GrpcControllerServer<Controller> {
    GrpcControllerServer::new(Controller { stop })
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::info!("shutdown requested by the host");
        self.stop.cancel();
        Ok(Response::new(Empty {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_cancels_the_token_and_replies() {
        let stop = CancellationToken::new();
        let controller = Controller { stop: stop.clone() };
        controller
            .shutdown(Request::new(Empty {}))
            .await
            .expect("reply");
        assert!(stop.is_cancelled());
    }
}
