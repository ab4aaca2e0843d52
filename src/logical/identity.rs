//! Identity records the host can tell a backend about (Vault's `logical.Entity`,
//! `logical.Alias`, `logical.Group`) and the host's version information. Plain data; the
//! `client` layer fills them from the SystemView service.

use std::collections::HashMap;

/// An identity entity: the person or machine behind a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entity {
    /// Entity ID.
    pub id: String,
    /// Entity name.
    pub name: String,
    /// Aliases of the entity in auth mounts.
    pub aliases: Vec<Alias>,
    /// Entity metadata.
    pub metadata: HashMap<String, String>,
    /// Whether the entity is disabled.
    pub disabled: bool,
    /// Namespace the entity belongs to.
    pub namespace_id: String,
}

/// An entity alias: the entity's name in one auth mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alias {
    /// Type of the auth mount, e.g. `userpass`.
    pub mount_type: String,
    /// Accessor of the auth mount.
    pub mount_accessor: String,
    /// Name of the alias (e.g. the user name).
    pub name: String,
    /// Alias metadata set by the auth method.
    pub metadata: HashMap<String, String>,
    /// Alias ID.
    pub id: String,
    /// Namespace of the alias.
    pub namespace_id: String,
    /// Metadata set by an operator.
    pub custom_metadata: HashMap<String, String>,
    /// Whether the alias is local to the cluster.
    pub local: bool,
}

/// An identity group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// Group ID.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Group metadata.
    pub metadata: HashMap<String, String>,
    /// Namespace of the group.
    pub namespace_id: String,
}

/// Version information about the host server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginEnvironment {
    /// Server version, e.g. `2.7.2`.
    pub vault_version: String,
    /// Prerelease part of the server version.
    pub vault_version_prerelease: String,
    /// Build metadata of the server version.
    pub vault_version_metadata: String,
}
