//! \[transport\] Dials a go-plugin peer (unix socket or loopback TCP) with our mutual-TLS
//! client configuration and hands back a tonic [`Channel`].
//!
//! tonic's own client TLS always verifies with webpki, which rejects go-plugin's
//! certificates, so we connect and run TLS ourselves inside a connector and give tonic an
//! `http://localhost` URI: Go's gRPC server ignores `:scheme` and `:authority`. Channels
//! are lazy, like grpc-go's `Dial`: nothing connects until the first call, and a broken
//! connection is re-dialled on the next one. Used by the broker and by test hosts.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint};

use super::listener::BoxedIo;
use super::tls::SERVER_NAME;

/// How long one connection attempt (socket plus TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a peer listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAddr {
    /// A unix domain socket path.
    Unix(PathBuf),
    /// A TCP `host:port` (loopback in practice).
    Tcp(String),
}

impl PeerAddr {
    /// Reads go-plugin's `(network, address)` pair, as in a broker `ConnInfo`.
    pub fn from_network(network: &str, address: &str) -> Result<Self, String> {
        match network {
            _ if address.is_empty() => Err("empty address".to_owned()),
            "unix" => Ok(PeerAddr::Unix(PathBuf::from(address))),
            "tcp" => Ok(PeerAddr::Tcp(address.to_owned())),
            other => Err(format!("unsupported network {other:?}")),
        }
    }
}

/// Opens the socket and completes the TLS handshake (SNI `localhost`).
pub async fn connect_tls(
    addr: &PeerAddr,
    config: Arc<ClientConfig>,
) -> io::Result<TlsStream<BoxedIo>> {
    let io: BoxedIo = match addr {
        PeerAddr::Unix(path) => Box::new(UnixStream::connect(path).await?),
        PeerAddr::Tcp(host_port) => {
            let stream = TcpStream::connect(host_port).await?;
            stream.set_nodelay(true)?;
            Box::new(stream)
        }
    };
    let name = ServerName::try_from(SERVER_NAME).map_err(io::Error::other)?;
    TlsConnector::from(config).connect(name, io).await
}

/// A lazily connecting gRPC channel to `addr` over mutual TLS.
pub fn mtls_channel(addr: PeerAddr, config: Arc<ClientConfig>) -> Channel {
    let connector = tower::service_fn(move |_uri: tonic::codegen::http::Uri| {
        let addr = addr.clone();
        let config = config.clone();
        async move { connect_tls(&addr, config).await.map(TokioIo::new) }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(CONNECT_TIMEOUT)
        .connect_with_connector_lazy(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_info_addresses() {
        assert_eq!(
            PeerAddr::from_network("unix", "/tmp/plugin123"),
            Ok(PeerAddr::Unix(PathBuf::from("/tmp/plugin123")))
        );
        assert_eq!(
            PeerAddr::from_network("tcp", "127.0.0.1:10001"),
            Ok(PeerAddr::Tcp("127.0.0.1:10001".to_owned()))
        );
        assert!(PeerAddr::from_network("udp", "x").is_err());
        assert!(PeerAddr::from_network("unix", "").is_err());
    }
}
