//! \[transport\] `plugin::Error`: everything that can stop the go-plugin transport from
//! starting or running: a process not launched by a host, an environment we cannot honour,
//! listener and TLS set-up failures, and a broker connection the host never announced.
//!
//! It does not cover errors inside requests: those are `logical::Error` and travel to the
//! host in-band. Messages name the variable or step at fault, because the only reader is
//! an operator looking at the server log (or at a terminal, for the cookie message).

use std::time::Duration;

/// Why the transport could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The magic cookie is missing or wrong: a person (or another program) ran the binary.
    /// The text is go-plugin's own, so operators recognise it.
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins, which will\n\
         load any plugins automatically"
    )]
    NotLaunchedByHost,

    /// `PLUGIN_PROTOCOL_VERSIONS` does not offer version 5, the only one we speak.
    #[error(
        "the host offered plugin protocol versions {offered:?} (PLUGIN_PROTOCOL_VERSIONS) but this \
         plugin only speaks version 5 (AutoMTLS); the host falls back to 3/4 only after version 5 \
         failed, so look for the earlier error in this plugin's log"
    )]
    UnsupportedProtocol {
        /// The raw value of `PLUGIN_PROTOCOL_VERSIONS` (empty when unset).
        offered: String,
    },

    /// `PLUGIN_CLIENT_CERT` is absent: the host did not enable AutoMTLS.
    #[error(
        "PLUGIN_CLIENT_CERT is not set: this plugin only supports go-plugin AutoMTLS \
         (plugin protocol version 5), so it must be launched by Vault or OpenBao"
    )]
    MissingClientCert,

    /// `PLUGIN_CLIENT_CERT` holds no parseable PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not contain a PEM certificate: {0}")]
    InvalidClientCert(String),

    /// The host asked for gRPC broker multiplexing, which we do not implement.
    #[error(
        "PLUGIN_MULTIPLEX_GRPC is set: this plugin does not support gRPC broker multiplexing \
         (Vault only requests it for containerized plugins); run it as a plain binary plugin"
    )]
    MultiplexNotSupported,

    /// Another environment variable has a value we cannot use.
    #[error("{var}={value:?} is invalid: {reason}")]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Neither a unix socket nor a loopback TCP port could be bound.
    #[error("could not create the plugin listener: {0}")]
    Listen(#[source] std::io::Error),

    /// Our own certificate could not be generated.
    #[error("could not generate the plugin's TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),

    /// rustls refused the TLS configuration.
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),

    /// The handshake line could not be written to stdout.
    #[error("could not write the handshake line to stdout: {0}")]
    Handshake(#[source] std::io::Error),

    /// The tokio runtime or the signal handlers could not be set up.
    #[error("could not start the runtime: {0}")]
    Runtime(#[source] std::io::Error),

    /// The host never announced the broker connection a dial asked for.
    #[error(
        "timed out after {waited:?} waiting for the host to announce broker connection {id} \
         (GRPCBroker/StartStream ConnInfo)"
    )]
    BrokerTimeout {
        /// The broker id that was asked for.
        id: u32,
        /// How long we waited.
        waited: Duration,
    },

    /// The gRPC server stopped with an error.
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}
