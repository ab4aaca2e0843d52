//! The `SystemView` trait: what a backend may ask the host about its mount and its
//! callers (lease TTL limits, taint, replication state, identity, server version), and
//! `StaticSystemView`, a fixed implementation for tests and the framework harness.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;

use super::{Entity, Error, Group, PluginEnvironment};

/// Vault's `logical.SystemView` (the parts a secrets engine uses).
#[async_trait]
pub trait SystemView: Send + Sync {
    /// The mount's default lease TTL.
    async fn default_lease_ttl(&self) -> Result<Duration, Error>;
    /// The mount's maximum lease TTL.
    async fn max_lease_ttl(&self) -> Result<Duration, Error>;
    /// Whether the mount is being unmounted.
    async fn tainted(&self) -> Result<bool, Error>;
    /// Whether the mount is local to this cluster.
    async fn local_mount(&self) -> Result<bool, Error>;
    /// Replication state bit flags (0 when replication is off).
    async fn replication_state(&self) -> Result<u32, Error>;
    /// The identity entity with this ID, if the host knows it.
    async fn entity_info(&self, entity_id: &str) -> Result<Option<Entity>, Error>;
    /// The groups the entity belongs to.
    async fn groups_for_entity(&self, entity_id: &str) -> Result<Vec<Group>, Error>;
    /// The host's version.
    async fn plugin_env(&self) -> Result<PluginEnvironment, Error>;
}

/// A system view with fixed answers, for tests.
#[derive(Debug, Clone)]
pub struct StaticSystemView {
    /// Answer of `default_lease_ttl`.
    pub default_lease_ttl: Duration,
    /// Answer of `max_lease_ttl`.
    pub max_lease_ttl: Duration,
    /// Answer of `tainted`.
    pub tainted: bool,
    /// Answer of `local_mount`.
    pub local_mount: bool,
    /// Answer of `replication_state`.
    pub replication_state: u32,
    /// Entities by ID.
    pub entities: HashMap<String, Entity>,
    /// Groups by entity ID.
    pub groups: HashMap<String, Vec<Group>>,
    /// Answer of `plugin_env`.
    pub plugin_env: PluginEnvironment,
}

impl Default for StaticSystemView {
    /// Vault's out-of-the-box mount: 768 h default and maximum lease TTL.
    fn default() -> Self {
        StaticSystemView {
            default_lease_ttl: Duration::from_secs(768 * 3600),
            max_lease_ttl: Duration::from_secs(768 * 3600),
            tainted: false,
            local_mount: false,
            replication_state: 0,
            entities: HashMap::new(),
            groups: HashMap::new(),
            plugin_env: PluginEnvironment::default(),
        }
    }
}

#[async_trait]
impl SystemView for StaticSystemView {
    async fn default_lease_ttl(&self) -> Result<Duration, Error> {
        Ok(self.default_lease_ttl)
    }
    async fn max_lease_ttl(&self) -> Result<Duration, Error> {
        Ok(self.max_lease_ttl)
    }
    async fn tainted(&self) -> Result<bool, Error> {
        Ok(self.tainted)
    }
    async fn local_mount(&self) -> Result<bool, Error> {
        Ok(self.local_mount)
    }
    async fn replication_state(&self) -> Result<u32, Error> {
        Ok(self.replication_state)
    }
    async fn entity_info(&self, entity_id: &str) -> Result<Option<Entity>, Error> {
        Ok(self.entities.get(entity_id).cloned())
    }
    async fn groups_for_entity(&self, entity_id: &str) -> Result<Vec<Group>, Error> {
        Ok(self.groups.get(entity_id).cloned().unwrap_or_default())
    }
    async fn plugin_env(&self) -> Result<PluginEnvironment, Error> {
        Ok(self.plugin_env.clone())
    }
}
