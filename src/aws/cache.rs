//! \[engine\] [`StoredCache`]: values this mount keeps in memory in front of storage (the
//! roles and `config/lease`), so that issuing credentials does not pay a brokered storage
//! round trip for what rarely changes.
//!
//! Only this plugin process writes those entries on the node that serves writes, and it
//! updates the cache as it writes. Another node's write (a performance standby or
//! secondary) arrives as an invalidation, which drops the entry. A read that raced an
//! invalidation (or this process's own write) does not put back what it read before it: a
//! generation counter, bumped by every invalidation and write, tells the read its value may be stale, and it is then returned but
//! not kept. Misses are not cached, so a requester naming roles that do not exist cannot
//! grow the cache.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{PoisonError, RwLock};

use crate::logical::Error;

/// A cache of `T` by name; see the module comment.
pub struct StoredCache<T> {
    inner: RwLock<Inner<T>>,
}

struct Inner<T> {
    generation: u64,
    values: HashMap<String, T>,
}

impl<T: Clone> Default for StoredCache<T> {
    fn default() -> Self {
        StoredCache {
            inner: RwLock::new(Inner {
                generation: 0,
                values: HashMap::new(),
            }),
        }
    }
}

impl<T: Clone> StoredCache<T> {
    /// The cached value of `name`, or what `load` reads from storage (kept when found and
    /// no invalidation ran meanwhile).
    pub async fn get_or_load<F, Fut>(&self, name: &str, load: F) -> Result<Option<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        let generation = {
            let inner = self.read();
            if let Some(value) = inner.values.get(name) {
                return Ok(Some(value.clone()));
            }
            inner.generation
        };
        let loaded = load().await?;
        if let Some(value) = &loaded {
            let mut inner = self.write();
            if inner.generation == generation {
                inner.values.insert(name.to_string(), value.clone());
            }
        }
        Ok(loaded)
    }

    /// `name` was just written with `value` by this process. Bumps the generation like an
    /// invalidation: a read that loaded the entry before this write must not put the old
    /// value back over the new one.
    pub fn put(&self, name: &str, value: T) {
        let mut inner = self.write();
        inner.generation = inner.generation.wrapping_add(1);
        inner.values.insert(name.to_string(), value);
    }

    /// `name` was just deleted by this process, or changed elsewhere.
    pub fn remove(&self, name: &str) {
        let mut inner = self.write();
        inner.generation = inner.generation.wrapping_add(1);
        inner.values.remove(name);
    }

    // Entries are whole values; a panic while the lock was held cannot leave one torn.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<T>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<T>> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn hits_skip_storage_and_misses_are_not_kept() {
        let cache = StoredCache::<u32>::default();
        let loads = AtomicUsize::new(0);
        let load = |v: Option<u32>| {
            loads.fetch_add(1, Ordering::SeqCst);
            async move { Ok(v) }
        };
        assert_eq!(cache.get_or_load("a", || load(Some(1))).await, Ok(Some(1)));
        assert_eq!(cache.get_or_load("a", || load(Some(2))).await, Ok(Some(1)));
        assert_eq!(cache.get_or_load("b", || load(None)).await, Ok(None));
        assert_eq!(cache.get_or_load("b", || load(Some(3))).await, Ok(Some(3)));
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        cache.put("a", 9);
        assert_eq!(cache.get_or_load("a", || load(None)).await, Ok(Some(9)));
        cache.remove("a");
        assert_eq!(cache.get_or_load("a", || load(None)).await, Ok(None));
    }

    #[tokio::test]
    async fn a_read_racing_an_invalidation_is_not_kept() {
        let cache = StoredCache::<u32>::default();
        let read = cache
            .get_or_load("a", || async {
                // Another node changes the entry while this read is in flight.
                cache.remove("a");
                Ok(Some(1))
            })
            .await;
        assert_eq!(read, Ok(Some(1)), "returned");
        let again = cache.get_or_load("a", || async { Ok(Some(2)) }).await;
        assert_eq!(again, Ok(Some(2)), "but not kept");
    }

    #[tokio::test]
    async fn a_read_racing_a_write_does_not_put_the_old_value_back() {
        let cache = StoredCache::<u32>::default();
        let read = cache
            .get_or_load("a", || async {
                // This process writes the entry while the read of the old one is in flight.
                cache.put("a", 2);
                Ok(Some(1))
            })
            .await;
        assert_eq!(read, Ok(Some(1)), "returned");
        let again = cache.get_or_load("a", || async { Ok(Some(9)) }).await;
        assert_eq!(
            again,
            Ok(Some(2)),
            "the write's value is kept, not the stale read"
        );
    }
}
