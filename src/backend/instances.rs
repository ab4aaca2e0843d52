//! [protocol adapter] The backend instances this process serves, keyed by the
//! `multiplex_id` gRPC metadata the host attaches to every `pb.Backend` call, and the
//! lookup of that key.
//!
//! We do not advertise multiplexing, so the host starts one process per mount and, in
//! practice, there is exactly one instance, created by Setup and removed by Cleanup. A
//! second Setup with the same key replaces the first. Calls without the metadata use the
//! key `single`, as the Go SDK does for non-multiplexed plugins, and a lookup that misses
//! its own key falls back to `single` the same way. The PluginMultiplexing service itself
//! is not served here (a later change adds it).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tonic::metadata::MetadataMap;

use crate::logical::Backend;

/// The gRPC metadata key carrying the backend instance id (`pluginutil.MultiplexingCtxKey`).
pub(crate) const MULTIPLEX_ID_KEY: &str = "multiplex_id";

/// The key of the instance of a non-multiplexed plugin (the Go SDK's `single`).
pub(crate) const SINGLE_INSTANCE: &str = "single";

/// The instance key of a call: its one non-empty `multiplex_id` value, else `single`.
/// Several values are ambiguous; the Go SDK rejects them in multiplexed mode, and in our
/// non-multiplexed mode they fall back to `single` like a call without any.
pub(crate) fn instance_key(metadata: &MetadataMap) -> String {
    let mut values = metadata.get_all(MULTIPLEX_ID_KEY).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => match value.to_str() {
            Ok(id) if !id.is_empty() => id.to_string(),
            _ => SINGLE_INSTANCE.to_string(),
        },
        _ => SINGLE_INSTANCE.to_string(),
    }
}

/// Backend instances by key. A `std` lock is enough: it is never held across an await,
/// only while cloning an `Arc` in or out.
#[derive(Default)]
pub(crate) struct Instances {
    map: RwLock<HashMap<String, Arc<dyn Backend>>>,
}

impl Instances {
    /// Stores `backend` under `key`, returning the instance it replaces.
    pub(crate) fn insert(
        &self,
        key: String,
        backend: Arc<dyn Backend>,
    ) -> Option<Arc<dyn Backend>> {
        self.write().insert(key, backend)
    }

    /// The instance for `key`, or the `single` instance.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<dyn Backend>> {
        let map = self.read();
        map.get(key).or_else(|| map.get(SINGLE_INSTANCE)).cloned()
    }

    /// Removes and returns the instance for `key`, or the `single` instance.
    pub(crate) fn remove(&self, key: &str) -> Option<Arc<dyn Backend>> {
        let mut map = self.write();
        match map.remove(key) {
            Some(backend) => Some(backend),
            None => map.remove(SINGLE_INSTANCE),
        }
    }

    /// How many instances are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    // A poisoned lock means a panic while holding it, which can only happen inside
    // HashMap itself; the map is still usable, so keep serving rather than failing every
    // later call.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<dyn Backend>>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<dyn Backend>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use tonic::metadata::MetadataValue;

    use super::*;
    use crate::logical::{Error, ExistenceCheck, Request, Response, SpecialPaths};

    /// A backend that only knows its name, reported as its single root path.
    struct Named(&'static str);

    #[async_trait]
    impl Backend for Named {
        async fn handle_request(&self, _: Request) -> Result<Option<Response>, Error> {
            Ok(None)
        }
        async fn handle_existence_check(&self, _: Request) -> Result<ExistenceCheck, Error> {
            Ok(ExistenceCheck::default())
        }
        fn special_paths(&self) -> SpecialPaths {
            SpecialPaths {
                root: vec![self.0.to_string()],
                ..Default::default()
            }
        }
        async fn initialize(&self) -> Result<(), Error> {
            Ok(())
        }
        async fn invalidate(&self, _: &str) {}
        async fn cleanup(&self) {}
    }

    fn name(b: &Arc<dyn Backend>) -> String {
        b.special_paths().root.concat()
    }

    fn md(values: &[&'static str]) -> MetadataMap {
        let mut md = MetadataMap::new();
        for v in values {
            md.append(MULTIPLEX_ID_KEY, MetadataValue::from_static(v));
        }
        md
    }

    #[test]
    fn key_is_the_multiplex_id_or_single() {
        assert_eq!(instance_key(&md(&["Ab3dE6gH9k"])), "Ab3dE6gH9k");
        assert_eq!(instance_key(&md(&[])), SINGLE_INSTANCE);
        assert_eq!(instance_key(&md(&[""])), SINGLE_INSTANCE);
        assert_eq!(instance_key(&md(&["a", "b"])), SINGLE_INSTANCE);
    }

    #[test]
    fn second_setup_replaces_the_first() {
        let instances = Instances::default();
        assert!(
            instances
                .insert("id1".into(), Arc::new(Named("first")))
                .is_none()
        );
        let old = instances
            .insert("id1".into(), Arc::new(Named("second")))
            .expect("replaced");
        assert_eq!(name(&old), "first");
        assert_eq!(name(&instances.get("id1").expect("present")), "second");
        assert_eq!(instances.len(), 1);
    }

    #[test]
    fn instances_are_kept_apart_by_key() {
        let instances = Instances::default();
        instances.insert("a".into(), Arc::new(Named("A")));
        instances.insert("b".into(), Arc::new(Named("B")));
        assert_eq!(name(&instances.get("a").expect("a")), "A");
        assert_eq!(name(&instances.get("b").expect("b")), "B");
        assert!(
            instances.get("c").is_none(),
            "no fallback without a single instance"
        );
        assert_eq!(name(&instances.remove("a").expect("a")), "A");
        assert!(instances.get("a").is_none());
        assert_eq!(instances.len(), 1);
    }

    #[test]
    fn lookups_fall_back_to_the_single_instance() {
        let instances = Instances::default();
        instances.insert(SINGLE_INSTANCE.into(), Arc::new(Named("only")));
        assert_eq!(name(&instances.get("any-id").expect("fallback")), "only");
        assert_eq!(name(&instances.remove("any-id").expect("fallback")), "only");
        assert_eq!(instances.len(), 0);
        assert!(instances.get(SINGLE_INSTANCE).is_none());
        assert!(instances.remove(SINGLE_INSTANCE).is_none());
    }
}
