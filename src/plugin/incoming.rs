//! \[transport\] Turns a [`Listener`] into a stream of mutually authenticated TLS
//! connections for `tonic::transport::Server::serve_with_incoming`.
//!
//! TLS is terminated here rather than by tonic because tonic's server TLS cannot take a
//! custom client-certificate verifier, and go-plugin needs a pinned one (see `tls`). Each
//! handshake runs in its own task with a timeout, so one slow or hostile peer cannot stall
//! the accept loop. Failed handshakes are logged and dropped, never yielded: tonic would
//! treat an error item as fatal for the whole server. Also used by test hosts to serve
//! their broker listener, which is why it is public.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

use super::listener::{BoxedIo, Listener};
use super::watchdog::{ConnectionGuard, Presence};

/// How long a peer may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One accepted, authenticated TLS connection.
pub struct TlsConn {
    stream: TlsStream<BoxedIo>,
    // Reports the close to the watchdog when tonic drops the connection.
    _presence: Option<ConnectionGuard>,
}

impl TlsConn {
    /// The negotiated ALPN protocol (`h2` with any gRPC peer).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.stream.get_ref().1.alpn_protocol()
    }
}

impl Connected for TlsConn {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accepts connections on `listener` until `stop` is cancelled and yields those that
/// complete a TLS handshake under `config`.
pub fn accept_tls(
    listener: Listener,
    config: Arc<ServerConfig>,
    stop: CancellationToken,
) -> ReceiverStream<io::Result<TlsConn>> {
    accept_tls_watched(listener, config, stop, None)
}

/// [`accept_tls`] that also reports each connection's life to the watchdog.
pub(crate) fn accept_tls_watched(
    listener: Listener,
    config: Arc<ServerConfig>,
    stop: CancellationToken,
    presence: Option<Presence>,
) -> ReceiverStream<io::Result<TlsConn>> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let io = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match io {
                Ok(io) => {
                    let handshake = handshake(acceptor.clone(), io, presence.clone(), tx.clone());
                    tokio::spawn(handshake);
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning on the error.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tracing::debug!("listener closed");
    });
    ReceiverStream::new(rx)
}

async fn handshake(
    acceptor: TlsAcceptor,
    io: BoxedIo,
    presence: Option<Presence>,
    tx: mpsc::Sender<io::Result<TlsConn>>,
) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(stream)) => {
            let conn = TlsConn {
                stream,
                _presence: presence.map(|p| p.connection_opened()),
            };
            tracing::debug!(alpn = ?conn.alpn_protocol().map(String::from_utf8_lossy), "TLS connection accepted");
            // A send error only means the server is shutting down.
            let _ = tx.send(Ok(conn)).await;
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "TLS handshake with a client failed"),
        Err(_) => tracing::warn!(timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake timed out"),
    }
}
