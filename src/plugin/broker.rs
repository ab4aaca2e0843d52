//! \[transport\] go-plugin's GRPCBroker, plugin side: the `StartStream` server, a table of
//! the connections the host announces, and [`Broker::dial`], which the protocol adapter
//! uses (through `backend::Dialer`) to reach the host's Storage and SystemView.
//!
//! Ordering is the whole difficulty. For each Setup the host picks a broker id, then *at
//! the same time* sends `ConnInfo{service_id, network, address}` down the stream and calls
//! `Backend/Setup{broker_id}`, so the ConnInfo may arrive before, during or after Setup.
//! We therefore buffer every ConnInfo by id, and `dial` waits (bounded, 5 s like Go) for
//! its id to appear. The response half of the stream is kept open until shutdown: if we
//! ended it, the host would close its broker and fail every later Setup with "broker
//! closed". We never send on it, because we offer no brokered services of our own.
//!
//! Not implemented: broker multiplexing (knock/ack over yamux), which OpenBao never uses
//! and Vault only for containers; `env` refuses hosts that ask for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rustls::ClientConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};

use super::Error;
use super::dial::{PeerAddr, mtls_channel};
use super::shutdown::{SilentStream, silent_until};
use super::watchdog::Presence;
use crate::backend::Dialer;
use crate::logical;
use crate::pb::plugin::ConnInfo;
use crate::pb::plugin::grpc_broker_server::{GrpcBroker, GrpcBrokerServer};

/// The connections the host announced, and how to dial them.
#[derive(Debug)]
pub struct Broker {
    announced: watch::Sender<HashMap<u32, PeerAddr>>,
    tls: Arc<ClientConfig>,
    wait: Duration,
}

impl Broker {
    /// How long [`Broker::dial`] waits for an id by default (go-plugin's value).
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

    /// A broker dialling with `tls` (our identity, the host certificate pinned), waiting
    /// up to `wait` for each id.
    pub fn new(tls: Arc<ClientConfig>, wait: Duration) -> Self {
        Broker {
            announced: watch::channel(HashMap::new()).0,
            tls,
            wait,
        }
    }

    /// Records that broker id `id` is served at `addr` (what a ConnInfo says).
    pub fn announce(&self, id: u32, addr: PeerAddr) {
        tracing::debug!(broker_id = id, address = ?addr, "host announced a broker connection");
        self.announced.send_modify(|m| {
            m.insert(id, addr);
        });
    }

    /// Waits for the host to announce `id`, then returns a lazily connecting mutual-TLS
    /// channel to it. Connection errors surface on the channel's first call.
    pub async fn dial(&self, id: u32) -> Result<Channel, Error> {
        let mut rx = self.announced.subscribe();
        let found = tokio::time::timeout(self.wait, rx.wait_for(|m| m.contains_key(&id))).await;
        let addr = match found {
            Ok(Ok(table)) => table.get(&id).cloned(),
            // The sender lives in `self`; a closed channel cannot happen while we run.
            Ok(Err(_)) | Err(_) => None,
        };
        let Some(addr) = addr else {
            return Err(Error::BrokerTimeout {
                id,
                waited: self.wait,
            });
        };
        tracing::debug!(broker_id = id, address = ?addr, "dialling the host broker");
        Ok(mtls_channel(addr, self.tls.clone()))
    }

    /// The `plugin.GRPCBroker` service feeding this broker.
    pub(crate) fn service(
        self: &Arc<Self>,
        presence: Presence,
        stop: CancellationToken,
    ) -> GrpcBrokerServer<BrokerService> {
        GrpcBrokerServer::new(BrokerService {
            broker: self.clone(),
            presence,
            stop,
        })
    }

    fn receive(&self, info: ConnInfo) {
        if info.knock.as_ref().is_some_and(|k| k.knock) {
            tracing::warn!(
                broker_id = info.service_id,
                "ignoring a broker multiplexing knock: multiplexing is not supported"
            );
            return;
        }
        match PeerAddr::from_network(&info.network, &info.address) {
            Ok(addr) => self.announce(info.service_id, addr),
            Err(reason) => tracing::warn!(
                broker_id = info.service_id,
                network = %info.network,
                %reason,
                "ignoring an unusable broker ConnInfo"
            ),
        }
    }
}

#[async_trait]
impl Dialer for Broker {
    async fn dial(&self, broker_id: u32) -> Result<Channel, logical::Error> {
        Broker::dial(self, broker_id)
            .await
            .map_err(logical::Error::internal)
    }
}

/// The tonic service behind `plugin.GRPCBroker/StartStream`.
#[derive(Debug)]
pub(crate) struct BrokerService {
    broker: Arc<Broker>,
    presence: Presence,
    stop: CancellationToken,
}

#[tonic::async_trait]
impl GrpcBroker for BrokerService {
    type StartStreamStream = SilentStream<ConnInfo>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let broker = self.broker.clone();
        let presence = self.presence.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    // Our own shutdown is not the host leaving: report nothing.
                    () = stop.cancelled() => return,
                    next = inbound.message() => next,
                };
                match next {
                    Ok(Some(info)) => broker.receive(info),
                    Ok(None) => {
                        tracing::info!("the host closed the broker stream");
                        break;
                    }
                    Err(status) => {
                        tracing::info!(%status, "the broker stream failed");
                        break;
                    }
                }
            }
            presence.broker_stream_ended();
        });
        Ok(Response::new(silent_until(self.stop.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::tls::{Identity, client_config};

    fn broker(wait: Duration) -> Broker {
        let me = Identity::generate().expect("identity");
        let host = Identity::generate_host().expect("host");
        Broker::new(client_config(&me, host.pinned()).expect("tls"), wait)
    }

    fn conn_info(id: u32, network: &str, address: &str) -> ConnInfo {
        ConnInfo {
            service_id: id,
            network: network.to_owned(),
            address: address.to_owned(),
            knock: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_id_times_out_with_a_clear_error() {
        let b = broker(Broker::DEFAULT_WAIT);
        b.receive(conn_info(1, "unix", "/tmp/plugin1"));
        let start = tokio::time::Instant::now();
        let err = b.dial(99).await.expect_err("id 99 never announced");
        assert_eq!(start.elapsed(), Broker::DEFAULT_WAIT);
        let msg = err.to_string();
        assert!(msg.contains("broker connection 99"), "{msg}");
        assert!(msg.contains("5s"), "{msg}");
        // Through the Dialer trait it is an internal error carrying the same text.
        let err = Dialer::dial(&b, 98).await.expect_err("timeout");
        assert!(matches!(err, logical::Error::Internal(m) if m.contains("98")));
    }

    #[tokio::test(start_paused = true)]
    async fn conn_info_after_dial_is_picked_up() {
        let b = Arc::new(broker(Broker::DEFAULT_WAIT));
        let dial = {
            let b = b.clone();
            tokio::spawn(async move { b.dial(7).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!dial.is_finished(), "waiting for the ConnInfo");
        b.receive(conn_info(7, "unix", "/tmp/plugin7"));
        dial.await.expect("join").expect("dial after announce");
    }

    #[tokio::test(start_paused = true)]
    async fn knocks_and_bad_addresses_are_ignored() {
        let b = broker(Duration::from_secs(1));
        let mut knock = conn_info(3, "unix", "/tmp/plugin3");
        knock.knock = Some(crate::pb::plugin::conn_info::Knock {
            knock: true,
            ack: false,
            error: String::new(),
        });
        b.receive(knock);
        b.receive(conn_info(4, "udp", "x"));
        assert!(b.dial(3).await.is_err());
        assert!(b.dial(4).await.is_err());
    }
}
