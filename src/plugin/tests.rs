//! In-process tests of the whole transport: a real listener with real TLS, driven by a
//! host built from the same public helpers a test host would use (a go-plugin-shaped
//! P-521 CA:TRUE certificate, `dial::mtls_channel`, `incoming::accept_tls`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::dial::{PeerAddr, connect_tls, mtls_channel};
use super::listener::Listener;
use super::tls::{Identity, PinnedCert, anonymous_client_config, client_config, server_config};
use super::*;
use crate::logical;
use crate::pb::plugin::grpc_broker_client::GrpcBrokerClient;
use crate::pb::plugin::grpc_controller_client::GrpcControllerClient;
use crate::pb::plugin::{ConnInfo, Empty};

fn factory() -> Factory {
    Arc::new(|_config| {
        Box::pin(async { Err(logical::Error::internal("unused by transport tests")) })
    })
}

fn env_for(host: &Identity) -> PluginEnv {
    PluginEnv {
        client_cert_pem: host.cert_pem().to_owned(),
        min_port: 10000,
        max_port: 25000,
        unix_socket_dir: None,
        unix_socket_group: None,
    }
}

async fn start_plugin(opts: ServeOptions) -> (Identity, Running) {
    let host = Identity::generate_host().expect("host identity");
    let running = start(factory(), &env_for(&host), opts)
        .await
        .expect("start");
    (host, running)
}

fn plugin_addr(running: &Running) -> PeerAddr {
    PeerAddr::Unix(PathBuf::from(&running.handshake().address))
}

fn plugin_pin(running: &Running) -> PinnedCert {
    PinnedCert::new(CertificateDer::from(running.handshake().cert_der.clone()))
}

/// The channel a host with `identity` would open to the plugin.
fn host_channel(running: &Running, identity: &Identity) -> Channel {
    let tls = client_config(identity, plugin_pin(running)).expect("client tls");
    mtls_channel(plugin_addr(running), tls)
}

async fn health(channel: Channel, service: &str) -> Result<i32, tonic::Status> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    Ok(HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner()
        .status)
}

#[tokio::test]
async fn the_host_certificate_completes_tls_with_h2_and_grpc_works() {
    let (host, running) = start_plugin(ServeOptions::default()).await;
    assert_eq!(running.handshake().network, Network::Unix);

    let tls = client_config(&host, plugin_pin(&running)).expect("tls");
    let stream = connect_tls(&plugin_addr(&running), tls)
        .await
        .expect("mTLS handshake");
    let (_, session) = stream.get_ref();
    assert_eq!(session.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(
        session.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    // The refusal probe used below does see a working peer as working.
    let tls = client_config(&host, plugin_pin(&running)).expect("tls");
    assert!(!refused(&running, tls).await);

    let status = health(host_channel(&running, &host), HEALTH_SERVICE_NAME)
        .await
        .expect("health over mTLS");
    assert_eq!(status, ServingStatus::Serving as i32);
    running.stop();
    assert_eq!(running.wait().await, Exit::Requested);
}

/// Reads from a TLS client whose handshake "completed" locally: under TLS 1.3 the
/// server's verdict on the client certificate arrives afterwards, as an alert.
async fn refused(running: &Running, tls: Arc<rustls::ClientConfig>) -> bool {
    let Ok(mut stream) = connect_tls(&plugin_addr(running), tls.clone()).await else {
        return true;
    };
    let mut buf = [0u8; 64];
    // An accepted client gets the server's HTTP/2 SETTINGS; a refused one an alert.
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    let raw_refused = !matches!(read, Ok(Ok(n)) if n > 0);
    let grpc_refused = health(mtls_channel(plugin_addr(running), tls), "")
        .await
        .is_err();
    raw_refused && grpc_refused
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let (_host, running) = start_plugin(ServeOptions::default()).await;
    let anonymous = anonymous_client_config(plugin_pin(&running)).expect("tls");
    assert!(refused(&running, anonymous).await);
    running.stop();
    running.wait().await;
}

#[tokio::test]
async fn a_client_with_another_certificate_is_refused() {
    let (host, running) = start_plugin(ServeOptions::default()).await;
    for stranger in [
        Identity::generate_host().expect("other host-shaped cert"),
        Identity::generate().expect("other plugin-shaped cert"),
    ] {
        let tls = client_config(&stranger, plugin_pin(&running)).expect("tls");
        assert!(refused(&running, tls).await);
    }
    // The listener survives refused peers.
    let status = health(host_channel(&running, &host), HEALTH_SERVICE_NAME).await;
    assert_eq!(
        status.expect("still serving"),
        ServingStatus::Serving as i32
    );
    running.stop();
    running.wait().await;
}

#[tokio::test]
async fn a_host_that_pins_another_plugin_certificate_refuses_us() {
    let (host, running) = start_plugin(ServeOptions::default()).await;
    let wrong_pin = Identity::generate().expect("identity").pinned();
    let tls = client_config(&host, wrong_pin).expect("tls");
    assert!(connect_tls(&plugin_addr(&running), tls).await.is_err());
    running.stop();
    running.wait().await;
}

/// A host broker listener, as go-plugin's AcceptAndServe opens one: host certificate,
/// the plugin's certificate pinned as client, serving a health service named
/// `host-broker` so a dial can be proven end to end.
async fn host_broker(host: &Identity, running: &Running, dir: &std::path::Path) -> PathBuf {
    let path = dir.join("broker.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind broker");
    let tls = server_config(host, plugin_pin(running)).expect("tls");
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("host-broker", tonic_health::ServingStatus::Serving)
        .await;
    let stop = running.stop_token();
    let incoming = incoming::accept_tls(Listener::Unix(listener), tls, stop.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned()),
    );
    path
}

fn conn_info(id: u32, path: &std::path::Path) -> ConnInfo {
    ConnInfo {
        service_id: id,
        network: "unix".to_owned(),
        address: path.to_string_lossy().into_owned(),
        knock: None,
    }
}

#[tokio::test]
async fn broker_dials_the_host_before_and_after_conn_info() {
    let opts = ServeOptions {
        broker_wait: Duration::from_millis(300),
        ..ServeOptions::default()
    };
    let (host, running) = start_plugin(opts).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker_path = host_broker(&host, &running, dir.path()).await;

    // The host opens StartStream and keeps it open, as go-plugin does.
    let (tx, rx) = mpsc::channel(4);
    let mut client = GrpcBrokerClient::new(host_channel(&running, &host));
    let _responses = client
        .start_stream(ReceiverStream::new(rx))
        .await
        .expect("StartStream");

    // ConnInfo first, then dial.
    tx.send(conn_info(1, &broker_path)).await.expect("send");
    let channel = running.broker().dial(1).await.expect("dial 1");
    let status = health(channel, "host-broker")
        .await
        .expect("call via broker");
    assert_eq!(status, ServingStatus::Serving as i32);

    // Dial first, then ConnInfo. On this single-threaded runtime yield_now lets the
    // spawned dial run until it parks waiting for id 2.
    let broker = running.broker();
    let pending = tokio::spawn(async move { broker.dial(2).await });
    tokio::task::yield_now().await;
    assert!(!pending.is_finished(), "dial 2 must wait for its ConnInfo");
    tx.send(conn_info(2, &broker_path)).await.expect("send");
    let channel = pending.await.expect("join").expect("dial 2");
    assert!(health(channel, "host-broker").await.is_ok());

    // An id the host never announces.
    let err = running.broker().dial(99).await.expect_err("unknown id");
    assert!(err.to_string().contains("broker connection 99"), "{err}");

    running.stop();
    assert_eq!(running.wait().await, Exit::Requested);
}

#[tokio::test]
async fn controller_shutdown_drains_and_removes_the_socket() {
    let (host, running) = start_plugin(ServeOptions::default()).await;
    let socket = running.socket_path().expect("unix").to_path_buf();
    let dir = socket.parent().expect("dir").to_path_buf();
    let channel = host_channel(&running, &host);
    // Long-lived streams like the host's must not hold the drain up.
    let (_tx, rx) = mpsc::channel::<ConnInfo>(1);
    let _broker_stream = GrpcBrokerClient::new(channel.clone())
        .start_stream(ReceiverStream::new(rx))
        .await
        .expect("StartStream");

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown replies");
    let started = tokio::time::Instant::now();
    assert_eq!(running.wait().await, Exit::Requested);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(!socket.exists(), "socket removed");
    assert!(!dir.exists(), "private dir removed");
}

#[tokio::test]
async fn exits_when_the_host_never_connects() {
    let opts = ServeOptions {
        watchdog: Limits {
            connect: Duration::from_millis(200),
            grace: Duration::from_millis(200),
            setup: Duration::from_secs(30),
        },
        ..ServeOptions::default()
    };
    let (_host, running) = start_plugin(opts).await;
    let socket = running.socket_path().expect("unix").to_path_buf();
    let exit = running.wait().await;
    assert_eq!(exit, Exit::Abandoned(Verdict::HostNeverConnected));
    assert_ne!(exit.code(), ExitCode::SUCCESS);
    assert!(!socket.exists());
}

#[tokio::test]
async fn exits_when_the_host_goes_away() {
    let opts = ServeOptions {
        watchdog: Limits {
            connect: Duration::from_secs(30),
            grace: Duration::from_millis(200),
            setup: Duration::from_secs(30),
        },
        ..ServeOptions::default()
    };
    let (host, running) = start_plugin(opts).await;
    let channel = host_channel(&running, &host);
    assert!(health(channel.clone(), HEALTH_SERVICE_NAME).await.is_ok());
    drop(channel);
    let exit = tokio::time::timeout(Duration::from_secs(20), running.wait())
        .await
        .expect("the watchdog fires within its grace");
    assert_eq!(exit, Exit::Abandoned(Verdict::HostGone));
}

#[tokio::test]
async fn exits_when_a_setup_is_never_followed_up() {
    let opts = ServeOptions {
        watchdog: Limits {
            connect: Duration::from_secs(30),
            grace: Duration::from_secs(30),
            setup: Duration::from_millis(300),
        },
        broker_wait: Duration::from_millis(100),
        ..ServeOptions::default()
    };
    let (host, running) = start_plugin(opts).await;
    let channel = host_channel(&running, &host);
    // Whatever Setup answers (the broker id is never announced), the host then goes
    // silent while keeping its connection, as OpenBao does after a failed mount.
    let _ = crate::pb::pb::backend_client::BackendClient::new(channel.clone())
        .setup(crate::pb::pb::SetupArgs::default())
        .await;
    let exit = tokio::time::timeout(Duration::from_secs(20), running.wait())
        .await
        .expect("the watchdog fires");
    assert_eq!(exit, Exit::Abandoned(Verdict::SetupAbandoned));
    drop(channel);
}
