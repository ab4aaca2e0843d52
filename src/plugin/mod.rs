//! \[transport\] The go-plugin side of a Vault/OpenBao external plugin: everything between
//! being spawned by the host and serving `pb.Backend` over mutual TLS. It knows nothing of
//! paths, roles or AWS; the engine arrives as a `logical::Factory` and is handed, with the
//! broker as `backend::Dialer`, to the protocol adapter (`backend::services`).
//!
//! [`serve`] runs the whole life cycle:
//! 1. parse the environment ([`env`](mod@env)): magic cookie, protocol 5, AutoMTLS certificate;
//! 2. generate our certificate and TLS configurations ([`tls`]);
//! 3. bind a unix socket in a private directory ([`listener`]);
//! 4. start the gRPC server on TLS connections ([`incoming`]) with the backend services
//!    plus go-plugin's broker, controller, stdio and health services;
//! 5. install signal handlers, then print the handshake line ([`handshake`]) and flush;
//! 6. run until the host calls Shutdown, SIGTERM arrives, or the watchdog decides the host
//!    is gone (never connected, disconnected, or went silent after Setup: see `watchdog`);
//!    drain briefly; unlink the socket; return the exit code.
//!
//! One process may serve many mounts (backend multiplexing, see `backend`): that changes
//! nothing here but the watchdog's Setup rule, since the host keeps one connection and
//! one broker stream per process and only calls Shutdown once its last mount is gone.
//!
//! Nothing but the handshake line ever goes to stdout; logs are hclog JSON on stderr
//! ([`logging`]). Broker multiplexing and protocol versions 3/4 are refused at step 1.

mod broker;
mod controller;
pub mod dial;
pub mod env;
mod error;
pub mod handshake;
mod health;
pub mod incoming;
pub mod listener;
pub mod logging;
mod shutdown;
mod stdio;
pub mod tls;
mod watchdog;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codegen::http;

pub use broker::Broker;
pub use env::PluginEnv;
pub use error::Error;
pub use handshake::{Handshake, Network};
pub use health::SERVICE_NAME as HEALTH_SERVICE_NAME;
pub use watchdog::{Limits, Verdict};

use crate::backend::{self, Dialer};
use crate::logical::Factory;
use listener::SocketCleanup;
use tls::{Identity, PinnedCert};
use watchdog::Presence;

/// Timings of a running plugin. The defaults are what the binary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// When to give up on an absent host (see [`Limits`]).
    pub watchdog: Limits,
    /// How long a broker dial waits for the host's ConnInfo.
    pub broker_wait: Duration,
    /// How long in-flight calls may finish after shutdown starts. The host SIGKILLs 2 s
    /// after its Shutdown call, so this stays well below that.
    pub drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            watchdog: Limits {
                connect: Duration::from_secs(30),
                grace: Duration::from_secs(5),
                setup: Duration::from_secs(30),
            },
            broker_wait: Broker::DEFAULT_WAIT,
            drain: Duration::from_secs(1),
        }
    }
}

/// How a running plugin ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Shutdown was asked for: the host's `GRPCController/Shutdown`, or SIGTERM.
    Requested,
    /// The watchdog gave up on the host.
    Abandoned(Verdict),
    /// The gRPC server stopped by itself with this error.
    ServerFailed(String),
}

impl Exit {
    /// The process exit code: success only for a requested shutdown.
    pub fn code(&self) -> ExitCode {
        match self {
            Exit::Requested => ExitCode::SUCCESS,
            Exit::Abandoned(_) | Exit::ServerFailed(_) => ExitCode::FAILURE,
        }
    }
}

/// Runs the plugin for the host that spawned this process, on a small tokio runtime (2
/// workers), and returns the exit code. Install logging ([`logging::init`]) first.
/// Command-line arguments are ignored, as hosts may pass legacy TLS flags.
pub fn serve(factory: Factory) -> ExitCode {
    let env = match PluginEnv::from_process() {
        Ok(env) => env,
        Err(e) => return refuse(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return refuse(&Error::Runtime(e)),
    };
    let mut opts = ServeOptions::default();
    if let Some(limit) = env.watchdog_timeout {
        opts.watchdog.connect = limit;
        opts.watchdog.setup = limit;
    }
    let code = runtime.block_on(serve_async(factory, &env, opts));
    // Leftover tasks (a stalled TLS handshake, a backend's background work) are dropped,
    // not awaited: the host asked us to go, or is gone.
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

/// The async body of [`serve`], for callers that bring their own runtime.
pub async fn serve_async(factory: Factory, env: &PluginEnv, opts: ServeOptions) -> ExitCode {
    let running = match start(factory, env, opts).await {
        Ok(running) => running,
        Err(e) => return refuse(&e),
    };
    // Signals before the handshake: once the host reads the line it may SIGINT its whole
    // process group (Ctrl-C) at any moment, and the default action would kill us.
    if let Err(e) = shutdown::install_signal_handlers(running.stop_token()) {
        running.stop();
        running.wait().await;
        return refuse(&Error::Runtime(e));
    }
    if let Err(e) = print_handshake(running.handshake()) {
        running.stop();
        running.wait().await;
        return refuse(&Error::Handshake(e));
    }
    tracing::info!(
        network = running.handshake().network.as_str(),
        address = %running.handshake().address,
        version = env!("CARGO_PKG_VERSION"),
        "plugin serving"
    );
    running.wait().await.code()
}

fn refuse(e: &Error) -> ExitCode {
    match e {
        // A person at a terminal: the plain go-plugin message, not a JSON log line.
        Error::NotLaunchedByHost => eprintln!("{e}"),
        _ => tracing::error!(error = %e, "the plugin cannot run"),
    }
    ExitCode::FAILURE
}

fn print_handshake(handshake: &Handshake) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{handshake}")?;
    out.flush()
}

/// Binds, builds TLS and starts serving; does not print the handshake line. The plugin
/// runs until [`Running::wait`] returns.
pub async fn start(
    factory: Factory,
    env: &PluginEnv,
    opts: ServeOptions,
) -> Result<Running, Error> {
    let identity = Identity::generate()?;
    let host = PinnedCert::from_pem(&env.client_cert_pem)?;
    let server_tls = tls::server_config(&identity, host.clone())?;
    let client_tls = tls::client_config(&identity, host)?;
    let stop = CancellationToken::new();
    let presence = Presence::new();
    let broker = Arc::new(Broker::new(client_tls, opts.broker_wait));
    let bound = listener::bind(env)?;

    let dialer: Arc<dyn Dialer> = broker.clone();
    let routes = backend::services(factory, dialer)
        .add_service(broker.service(presence.clone(), stop.clone()))
        .add_service(controller::service(stop.clone()))
        .add_service(stdio::service(stop.clone()))
        .add_service(health::service(stop.clone()).await);
    let incoming = incoming::accept_tls_watched(
        bound.listener,
        server_tls,
        stop.clone(),
        Some(presence.clone()),
    );
    // The watchdog's Setup rule needs to see method paths and which backend instance a
    // call is for; a layer sees them before routing, so it works whichever services
    // `backend::services` provides.
    let observer = presence.clone();
    let observe =
        tower::util::MapRequestLayer::new(move |req: http::Request<tonic::body::Body>| {
            observer.observe_call(req.uri().path(), multiplex_id(req.headers()));
            req
        });
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(observe)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned()),
    );
    Ok(Running {
        handshake: Handshake {
            network: bound.network,
            address: bound.address,
            cert_der: identity.cert_der().to_vec(),
        },
        stop,
        presence,
        broker,
        cleanup: bound.cleanup,
        server,
        opts,
    })
}

/// The `multiplex_id` header of a call, if it has exactly one (gRPC metadata travels as
/// HTTP/2 headers; the protocol adapter decides what a missing or repeated one means).
fn multiplex_id(headers: &http::HeaderMap) -> Option<&str> {
    let mut values = headers.get_all("multiplex_id").iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

/// A started plugin: its handshake, its broker, and the means to stop and await it.
#[derive(Debug)]
pub struct Running {
    handshake: Handshake,
    stop: CancellationToken,
    presence: Presence,
    broker: Arc<Broker>,
    cleanup: SocketCleanup,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    opts: ServeOptions,
}

impl Running {
    /// What the handshake line announces.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The broker, as the protocol adapter sees it.
    pub fn broker(&self) -> Arc<Broker> {
        self.broker.clone()
    }

    /// The socket file, for a unix listener.
    pub fn socket_path(&self) -> Option<&Path> {
        self.cleanup.socket_path()
    }

    /// The token whose cancellation shuts the plugin down.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Starts shutting down (what the host's Shutdown call does).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Runs until shutdown is requested or the watchdog gives up, drains in-flight calls
    /// for at most [`ServeOptions::drain`], and removes the socket file.
    pub async fn wait(self) -> Exit {
        let Running {
            stop,
            presence,
            cleanup,
            mut server,
            opts,
            ..
        } = self;
        let exit = tokio::select! {
            // The server finishes *because* the token was cancelled, so both branches can
            // be ready at once: check the token first, or a requested shutdown would be
            // reported as a server failure.
            biased;
            () = stop.cancelled() => Exit::Requested,
            verdict = presence.watch(opts.watchdog) => {
                tracing::error!(?verdict, limits = ?opts.watchdog, "no host is talking to this plugin any more; exiting");
                Exit::Abandoned(verdict)
            }
            joined = &mut server => {
                cleanup.remove();
                if stop.is_cancelled() {
                    return Exit::Requested;
                }
                stop.cancel();
                let reason = match joined {
                    Ok(Ok(())) => "the server stopped unexpectedly".to_owned(),
                    Ok(Err(e)) => Error::Serve(e).to_string(),
                    Err(e) => format!("the server task failed: {e}"),
                };
                tracing::error!(%reason, "exiting");
                return Exit::ServerFailed(reason);
            }
        };
        stop.cancel();
        match tokio::time::timeout(opts.drain, &mut server).await {
            Ok(Ok(Ok(()))) => tracing::debug!("server drained"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the server task failed"),
            Err(_) => {
                tracing::debug!(drain = ?opts.drain, "drain timed out; closing remaining connections");
                server.abort();
            }
        }
        cleanup.remove();
        exit
    }
}
