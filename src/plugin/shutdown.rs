//! \[transport\] How the process is asked to stop: one `CancellationToken` shared by the
//! controller (host `Shutdown`), the signal handlers and the watchdog, and observed by the
//! server, the accept loop and every long-lived stream.
//!
//! Signals follow go-plugin: SIGINT is ignored, because a Ctrl-C at the server's terminal
//! reaches the whole process group and the host must be able to clean its plugins up
//! (Cleanup, then Shutdown) before they go; SIGTERM asks for a clean exit. Draining after
//! cancellation is bounded in `plugin::Running::wait`. This module never exits the
//! process itself.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tonic::Status;

/// A server stream that yields nothing and ends when the process shuts down.
pub(crate) type SilentStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A [`SilentStream`] bound to `stop`.
pub(crate) fn silent_until<T: Send + 'static>(stop: CancellationToken) -> SilentStream<T> {
    futures::stream::once(stop.cancelled_owned())
        .filter_map(|()| async { None })
        .boxed()
}

/// Installs the handlers: SIGINT is swallowed (logged at debug), SIGTERM cancels `stop`.
/// Call before printing the handshake, so no signal can hit the default action after the
/// host starts talking to us. Needs a tokio runtime.
pub(crate) fn install_signal_handlers(stop: CancellationToken) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let mut interrupts = 0u32;
        loop {
            tokio::select! {
                Some(()) = interrupt.recv() => {
                    interrupts += 1;
                    tracing::debug!(count = interrupts, "plugin received interrupt signal, ignoring");
                }
                Some(()) = terminate.recv() => {
                    tracing::info!("SIGTERM received, shutting down");
                    stop.cancel();
                }
                else => break,
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn silent_stream_ends_at_shutdown_without_items() {
        let stop = CancellationToken::new();
        let mut stream = silent_until::<u32>(stop.clone());
        let early = tokio::time::timeout(std::time::Duration::from_secs(3600), stream.next()).await;
        assert!(early.is_err(), "still open before shutdown");
        stop.cancel();
        assert!(stream.next().await.is_none(), "ends, yielding nothing");
    }
}
