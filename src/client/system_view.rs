//! [host clients] `GrpcSystemView`: the host's view of the mount (lease TTL limits, taint,
//! replication, identity, server version), reached through the host's `pb.SystemView`
//! service on the brokered channel, as a `logical::SystemView`.
//!
//! TTLs arrive as Go `time.Duration` nanoseconds. Replies that carry an `err` string report
//! failures in band; those and gRPC statuses become `logical::Error::Internal` with the
//! host's text unchanged. Password policies, response wrapping and cluster info are not
//! used by the engine and are not exposed.

use std::time::Duration;

use async_trait::async_trait;
use tonic::transport::Channel;

use super::MAX_MESSAGE_SIZE;
use super::convert::{
    duration_from_nanos, entity_from_proto, group_from_proto, plugin_env_from_proto,
};
use super::storage::status_error;
use crate::logical::{Entity, Error, Group, PluginEnvironment, SystemView};
use crate::pb::pb::system_view_client::SystemViewClient;
use crate::pb::pb::{Empty, EntityInfoArgs};

/// `logical::SystemView` over the host's `pb.SystemView` service.
#[derive(Debug, Clone)]
pub struct GrpcSystemView {
    client: SystemViewClient<Channel>,
}

impl GrpcSystemView {
    /// A system view client on `channel`; nothing is sent until the first call.
    pub fn new(channel: Channel) -> Self {
        let client = SystemViewClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        GrpcSystemView { client }
    }

    fn client(&self) -> SystemViewClient<Channel> {
        self.client.clone()
    }
}

fn in_band(err: String) -> Result<(), Error> {
    if err.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(err))
    }
}

#[async_trait]
impl SystemView for GrpcSystemView {
    async fn default_lease_ttl(&self) -> Result<Duration, Error> {
        let reply = self
            .client()
            .default_lease_ttl(Empty {})
            .await
            .map_err(status_error)?;
        Ok(duration_from_nanos(reply.into_inner().ttl))
    }

    async fn max_lease_ttl(&self) -> Result<Duration, Error> {
        let reply = self
            .client()
            .max_lease_ttl(Empty {})
            .await
            .map_err(status_error)?;
        Ok(duration_from_nanos(reply.into_inner().ttl))
    }

    async fn tainted(&self) -> Result<bool, Error> {
        let reply = self
            .client()
            .tainted(Empty {})
            .await
            .map_err(status_error)?;
        Ok(reply.into_inner().tainted)
    }

    async fn local_mount(&self) -> Result<bool, Error> {
        let reply = self
            .client()
            .local_mount(Empty {})
            .await
            .map_err(status_error)?;
        Ok(reply.into_inner().local)
    }

    async fn replication_state(&self) -> Result<u32, Error> {
        let reply = self
            .client()
            .replication_state(Empty {})
            .await
            .map_err(status_error)?;
        // Go sends the bit flags as int32; reinterpret the bits rather than the value.
        Ok(u32::from_ne_bytes(reply.into_inner().state.to_ne_bytes()))
    }

    async fn entity_info(&self, entity_id: &str) -> Result<Option<Entity>, Error> {
        let args = EntityInfoArgs {
            entity_id: entity_id.to_string(),
        };
        let reply = self
            .client()
            .entity_info(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)?;
        Ok(reply.entity.map(entity_from_proto))
    }

    async fn groups_for_entity(&self, entity_id: &str) -> Result<Vec<Group>, Error> {
        let args = EntityInfoArgs {
            entity_id: entity_id.to_string(),
        };
        let reply = self
            .client()
            .groups_for_entity(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)?;
        Ok(reply.groups.into_iter().map(group_from_proto).collect())
    }

    async fn plugin_env(&self) -> Result<PluginEnvironment, Error> {
        let reply = self
            .client()
            .plugin_env(Empty {})
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)?;
        Ok(reply
            .plugin_environment
            .map(plugin_env_from_proto)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_host::TestHost;

    #[tokio::test]
    async fn ttls_are_nanoseconds_on_the_wire() {
        let host = TestHost::start().await;
        let sv = GrpcSystemView::new(host.channel());
        // The test host answers 768 h and 24 h, sent as nanoseconds.
        assert_eq!(
            sv.default_lease_ttl().await.expect("ttl"),
            Duration::from_secs(768 * 3600)
        );
        assert_eq!(
            sv.max_lease_ttl().await.expect("max"),
            Duration::from_secs(24 * 3600)
        );
    }

    #[tokio::test]
    async fn flags_and_versions() {
        let host = TestHost::start().await;
        let sv = GrpcSystemView::new(host.channel());
        assert!(sv.tainted().await.expect("tainted"));
        assert!(sv.local_mount().await.expect("local"));
        assert_eq!(sv.replication_state().await.expect("repl"), 0x8000_0001);
        assert_eq!(sv.plugin_env().await.expect("env").vault_version, "2.7.2");
    }

    #[tokio::test]
    async fn identity_lookups() {
        let host = TestHost::start().await;
        let sv = GrpcSystemView::new(host.channel());
        let e = sv.entity_info("e1").await.expect("entity").expect("known");
        assert_eq!(e.name, "alice");
        assert_eq!(e.aliases.len(), 1);
        assert_eq!(sv.entity_info("nobody").await.expect("entity"), None);
        let groups = sv.groups_for_entity("e1").await.expect("groups");
        assert_eq!(
            groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            vec!["ops"]
        );
        // The host reports lookup failures in band.
        assert_eq!(
            sv.entity_info("broken").await,
            Err(Error::Internal("entity store unavailable".into()))
        );
    }

    #[tokio::test]
    async fn status_errors_become_internal_errors() {
        let host = TestHost::start().await;
        let sv = GrpcSystemView::new(host.channel());
        let msg = "missing system view implementation";
        host.fail_with_status(msg);
        assert_eq!(
            sv.default_lease_ttl().await,
            Err(Error::Internal(msg.into()))
        );
        assert_eq!(sv.plugin_env().await, Err(Error::Internal(msg.into())));
    }
}
