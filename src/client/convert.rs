//! [host clients] Conversions between the protobuf messages of the host's Storage and
//! SystemView services and `logical` types: storage entries, identity records, server
//! version and `time.Duration` nanoseconds.
//!
//! The Backend-service messages (requests, responses, secrets, special paths) are
//! converted in `backend::convert`; the two halves are split only because the dependency
//! rules let `backend` use this layer but not the other way round. The nanosecond helpers
//! live here so that both halves share one definition.

use std::time::Duration;

use crate::logical::{Alias, Entity, Group, PluginEnvironment, StorageEntry};
use crate::pb;

/// A Go `time.Duration` (int64 nanoseconds) as a `Duration`. Negative values, which Go
/// permits but no TTL can mean, become zero.
pub(crate) fn duration_from_nanos(nanos: i64) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// A `Duration` as Go `time.Duration` nanoseconds, saturating at `i64::MAX` (about 292
/// years) instead of wrapping into a negative TTL.
pub(crate) fn duration_to_nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

pub(crate) fn storage_entry_to_proto(entry: StorageEntry) -> pb::pb::StorageEntry {
    pb::pb::StorageEntry {
        key: entry.key,
        value: entry.value,
        seal_wrap: entry.seal_wrap,
    }
}

pub(crate) fn storage_entry_from_proto(entry: pb::pb::StorageEntry) -> StorageEntry {
    StorageEntry {
        key: entry.key,
        value: entry.value,
        seal_wrap: entry.seal_wrap,
    }
}

pub(crate) fn alias_from_proto(alias: pb::logical::Alias) -> Alias {
    Alias {
        mount_type: alias.mount_type,
        mount_accessor: alias.mount_accessor,
        name: alias.name,
        metadata: alias.metadata,
        id: alias.id,
        namespace_id: alias.namespace_id,
        custom_metadata: alias.custom_metadata,
        local: alias.local,
    }
}

pub(crate) fn entity_from_proto(entity: pb::logical::Entity) -> Entity {
    Entity {
        id: entity.id,
        name: entity.name,
        aliases: entity.aliases.into_iter().map(alias_from_proto).collect(),
        metadata: entity.metadata,
        disabled: entity.disabled,
        namespace_id: entity.namespace_id,
    }
}

pub(crate) fn group_from_proto(group: pb::logical::Group) -> Group {
    Group {
        id: group.id,
        name: group.name,
        metadata: group.metadata,
        namespace_id: group.namespace_id,
    }
}

pub(crate) fn plugin_env_from_proto(env: pb::logical::PluginEnvironment) -> PluginEnvironment {
    PluginEnvironment {
        vault_version: env.vault_version,
        vault_version_prerelease: env.vault_version_prerelease,
        vault_version_metadata: env.vault_version_metadata,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn nanoseconds_are_go_durations() {
        assert_eq!(
            duration_from_nanos(3_600_000_000_000),
            Duration::from_secs(3600)
        );
        assert_eq!(
            duration_to_nanos(Duration::from_secs(3600)),
            3_600_000_000_000
        );
        assert_eq!(duration_to_nanos(Duration::from_millis(1)), 1_000_000);
    }

    #[test]
    fn negative_nanoseconds_clamp_to_zero() {
        assert_eq!(duration_from_nanos(-1), Duration::ZERO);
        assert_eq!(duration_from_nanos(i64::MIN), Duration::ZERO);
    }

    #[test]
    fn huge_durations_saturate_instead_of_wrapping() {
        assert_eq!(duration_to_nanos(Duration::MAX), i64::MAX);
        assert_eq!(
            duration_to_nanos(Duration::from_secs(u64::MAX / 2)),
            i64::MAX
        );
    }

    #[test]
    fn storage_entry_round_trips() {
        let entry = StorageEntry {
            key: "config/root".into(),
            value: b"{\"a\":1}".to_vec(),
            seal_wrap: true,
        };
        let back = storage_entry_from_proto(storage_entry_to_proto(entry.clone()));
        assert_eq!(back, entry);
    }

    #[test]
    fn entity_keeps_every_field_and_its_aliases() {
        let md: HashMap<String, String> = [("team".to_string(), "infra".to_string())].into();
        let pb_entity = pb::logical::Entity {
            id: "e1".into(),
            name: "alice".into(),
            aliases: vec![pb::logical::Alias {
                mount_type: "userpass".into(),
                mount_accessor: "auth_userpass_1".into(),
                name: "alice".into(),
                metadata: md.clone(),
                id: "a1".into(),
                namespace_id: "root".into(),
                custom_metadata: md.clone(),
                local: true,
            }],
            metadata: md.clone(),
            disabled: true,
            namespace_id: "root".into(),
        };
        let e = entity_from_proto(pb_entity);
        assert_eq!(e.id, "e1");
        assert_eq!(e.name, "alice");
        assert!(e.disabled);
        assert_eq!(e.namespace_id, "root");
        assert_eq!(e.metadata, md);
        assert_eq!(
            e.aliases,
            vec![Alias {
                mount_type: "userpass".into(),
                mount_accessor: "auth_userpass_1".into(),
                name: "alice".into(),
                metadata: md.clone(),
                id: "a1".into(),
                namespace_id: "root".into(),
                custom_metadata: md,
                local: true,
            }]
        );
    }

    #[test]
    fn group_and_plugin_env_convert() {
        let g = group_from_proto(pb::logical::Group {
            id: "g1".into(),
            name: "ops".into(),
            metadata: HashMap::new(),
            namespace_id: "ns".into(),
        });
        assert_eq!(
            (g.id.as_str(), g.name.as_str(), g.namespace_id.as_str()),
            ("g1", "ops", "ns")
        );
        let env = plugin_env_from_proto(pb::logical::PluginEnvironment {
            vault_version: "2.7.2".into(),
            vault_version_prerelease: "beta1".into(),
            vault_version_metadata: "meta".into(),
        });
        assert_eq!(env.vault_version, "2.7.2");
        assert_eq!(env.vault_version_prerelease, "beta1");
        assert_eq!(env.vault_version_metadata, "meta");
    }
}
