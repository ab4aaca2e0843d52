//! [protocol adapter] The backend instances this process serves, one per mount, keyed
//! by the `multiplex_id` the host attaches to every `pb.Backend` call (see `multiplex`
//! for how a call's key is read).
//!
//! Setup inserts, Cleanup removes only its own key, and a second Setup with the same key
//! replaces the first. Without multiplexing, a lookup that misses its key falls back to
//! the `single` instance, as the Go SDK's does. Multiplexed lookups never fall back (the
//! Go SDK would, but there a multiplexed Setup can never create `single`; here a host
//! that talked to us before asking could have), so no mount can reach another's
//! instance. Each instance
//! owns everything of its mount (its broker channel to Storage and SystemView, its
//! engine state); nothing here is shared between them but the map.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::multiplex::SINGLE_INSTANCE;
use crate::logical::Backend;

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

    /// The instance for `key`, else (with `fallback`) the `single` instance.
    pub(crate) fn get(&self, key: &str, fallback: bool) -> Option<Arc<dyn Backend>> {
        let map = self.read();
        let single = || map.get(SINGLE_INSTANCE).filter(|_| fallback);
        map.get(key).or_else(single).cloned()
    }

    /// Removes and returns the instance for `key`, else (with `fallback`) the `single`
    /// instance.
    pub(crate) fn remove(&self, key: &str, fallback: bool) -> Option<Arc<dyn Backend>> {
        let mut map = self.write();
        match map.remove(key) {
            Some(backend) => Some(backend),
            None if fallback => map.remove(SINGLE_INSTANCE),
            None => None,
        }
    }

    /// How many instances are live.
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
        assert_eq!(
            name(&instances.get("id1", true).expect("present")),
            "second"
        );
        assert_eq!(instances.len(), 1);
    }

    #[test]
    fn instances_are_kept_apart_by_key() {
        let instances = Instances::default();
        instances.insert("a".into(), Arc::new(Named("A")));
        instances.insert("b".into(), Arc::new(Named("B")));
        assert_eq!(name(&instances.get("a", true).expect("a")), "A");
        assert_eq!(name(&instances.get("b", true).expect("b")), "B");
        assert!(
            instances.get("c", true).is_none(),
            "no fallback without a single instance"
        );
        assert_eq!(name(&instances.remove("a", true).expect("a")), "A");
        assert!(instances.get("a", true).is_none());
        assert_eq!(instances.len(), 1);
    }

    #[test]
    fn lookups_fall_back_to_the_single_instance() {
        let instances = Instances::default();
        instances.insert(SINGLE_INSTANCE.into(), Arc::new(Named("only")));
        assert_eq!(
            name(&instances.get("any-id", true).expect("fallback")),
            "only"
        );
        assert_eq!(
            name(&instances.remove("any-id", true).expect("fallback")),
            "only"
        );
        assert_eq!(instances.len(), 0);
        assert!(instances.get(SINGLE_INSTANCE, true).is_none());
        assert!(instances.remove(SINGLE_INSTANCE, true).is_none());
    }

    #[test]
    fn multiplexed_lookups_never_fall_back() {
        let instances = Instances::default();
        instances.insert(SINGLE_INSTANCE.into(), Arc::new(Named("only")));
        instances.insert("a".into(), Arc::new(Named("A")));
        assert!(instances.get("other", false).is_none());
        assert!(instances.remove("other", false).is_none());
        assert_eq!(name(&instances.remove("a", false).expect("a")), "A");
        assert_eq!(instances.len(), 1, "single untouched");
    }
}
