//! \[transport\] go-plugin's GRPCStdio: the stream through which Go plugins forward the
//! stdout/stderr they redirected after the handshake.
//!
//! We redirect nothing: logs go straight to fd 2 as hclog JSON (see `logging`), and
//! Vault/OpenBao discard this stream anyway. Serving it still matters a little: without it
//! the host logs "stdio service not available" on every spawn. So the stream stays open,
//! yields nothing, and ends at shutdown.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::shutdown::{SilentStream, silent_until};
use crate::pb::plugin::StdioData;
use crate::pb::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};

/// The `plugin.GRPCStdio` service.
#[derive(Debug)]
pub(crate) struct Stdio {
    stop: CancellationToken,
}

/// The service, whose streams end when `stop` is cancelled.
pub(crate) fn service(stop: CancellationToken) -> GrpcStdioServer<Stdio> {
    GrpcStdioServer::new(Stdio { stop })
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = SilentStream<StdioData>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.stop.clone())))
    }
}
