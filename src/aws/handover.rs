//! \[engine\] The last step of an `iam_user` issuance: committing (deleting) its WAL entry a
//! moment *after* the credentials were handed to the host, not before.
//!
//! Vault deletes the WAL entry and then returns the response. If the plugin dies between
//! the two, the user is complete, no WAL entry guards it and no lease will ever revoke it:
//! a leaked IAM user (seen here with the Go engine under SIGKILL). Deleting the entry
//! `delay` after the handler returned closes that window: a crash before the commit
//! leaves the entry, and the rollback deletes the user. The price is paid only in a
//! crash: credentials answered in the last `delay` before it may lose their user while
//! their lease lives on (its revoke then finds the user gone, which is success for a
//! lease older than the minimum age). Losing credentials beats leaking a user. A response
//! the host dropped without a crash (a request it cancelled as the answer arrived) is
//! covered by the ledger (`ledger`).
//!
//! The default delay is short because the answer is out of the process within
//! microseconds of the handler returning: go-plugin talks over a unix socket, and bytes
//! written to one sit in the host's receive buffer even if this process is killed right
//! after. The delay only has to cover the gap to that write, with room for a busy
//! scheduler.
//!
//! On a clean shutdown (`cleanup`) every pending commit is done at once, and issuances
//! that finish after that commit before they answer, so a plugin reload does not roll back
//! what it just issued. A commit that fails is retried a few times: a commit that never
//! happens would have the rollback delete the user of a live lease.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::framework::delete_wal;
use crate::logical::Storage;

/// How long after an issuance answered its WAL entry is kept by default.
pub const DEFAULT_HANDOVER_DELAY: Duration = Duration::from_millis(100);

/// Attempts at one commit before it is given up (with an error log line).
const COMMIT_ATTEMPTS: u32 = 4;
/// Pause before the first retry of a failed commit; doubled after each.
const COMMIT_RETRY_PAUSE: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Pending {
    /// Set by a flush: from then on commits happen at once.
    closed: bool,
    entries: HashMap<String, Arc<dyn Storage>>,
}

/// The WAL commits waiting for their delay, by WAL ID.
pub struct Handover {
    delay: Duration,
    pending: Arc<Mutex<Pending>>,
}

impl Handover {
    /// Commits wait `delay`.
    pub fn new(delay: Duration) -> Self {
        Handover {
            delay,
            pending: Arc::new(Mutex::new(Pending::default())),
        }
    }

    /// Deletes WAL entry `wal_id` from `storage` once `delay` has passed; after a flush,
    /// at once, before returning. Needs a tokio runtime (every handler runs on one).
    pub async fn schedule(&self, storage: Arc<dyn Storage>, wal_id: String) {
        {
            let mut pending = lock(&self.pending);
            if !pending.closed {
                pending.entries.insert(wal_id.clone(), Arc::clone(&storage));
            }
        }
        if lock(&self.pending).closed {
            commit(storage.as_ref(), &wal_id).await;
            return;
        }
        let pending = Arc::clone(&self.pending);
        let delay = self.delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Taken out first: a flush that ran meanwhile has done the work already.
            let storage = lock(&pending).entries.remove(&wal_id);
            if let Some(storage) = storage {
                commit(storage.as_ref(), &wal_id).await;
            }
        });
    }

    /// Commits every pending entry now, and every later one at once (clean shutdown).
    pub async fn flush(&self) {
        let pending: Vec<_> = {
            let mut pending = lock(&self.pending);
            pending.closed = true;
            pending.entries.drain().collect()
        };
        for (wal_id, storage) in pending {
            commit(storage.as_ref(), &wal_id).await;
        }
    }

    /// How many commits are waiting.
    pub fn pending(&self) -> usize {
        lock(&self.pending).entries.len()
    }
}

/// Deletes the entry, retrying a failure a few times (well within the minimum age). One
/// that still fails leaves the entry, and the rollback deletes the user: logged, because
/// the holder of those credentials will lose them.
async fn commit(storage: &dyn Storage, wal_id: &str) {
    let mut pause = COMMIT_RETRY_PAUSE;
    for attempt in 1..=COMMIT_ATTEMPTS {
        match delete_wal(storage, wal_id).await {
            Ok(()) => return,
            Err(e) if attempt == COMMIT_ATTEMPTS => tracing::error!(
                wal_id,
                error = %e,
                "could not commit the WAL entry of issued IAM user credentials; the \
                 rollback will delete that user"
            ),
            Err(e) => {
                tracing::warn!(wal_id, attempt, error = %e, "retrying a WAL commit");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}

// The map only ever holds whole entries; a panic while it was locked cannot leave it
// half-written.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_unix_seconds, list_wal, put_wal};
    use crate::logical::InMemoryStorage;
    use serde_json::json;

    async fn storage_with_entry() -> (Arc<InMemoryStorage>, String) {
        let storage = Arc::new(InMemoryStorage::new());
        let id = put_wal(storage.as_ref(), "user", &json!({}), from_unix_seconds(1))
            .await
            .expect("put");
        (storage, id)
    }

    #[tokio::test(start_paused = true)]
    async fn commits_after_the_delay_not_before() {
        let (storage, id) = storage_with_entry().await;
        let handover = Handover::new(Duration::from_secs(1));
        handover.schedule(storage.clone(), id.clone()).await;
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(list_wal(storage.as_ref()).await.expect("list"), vec![id]);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(list_wal(storage.as_ref()).await.expect("list").is_empty());
        assert_eq!(handover.pending(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn flush_commits_everything_at_once_and_only_once() {
        let (storage, id) = storage_with_entry().await;
        let handover = Handover::new(Duration::from_secs(60));
        handover.schedule(storage.clone(), id).await;
        assert_eq!(handover.pending(), 1);
        handover.flush().await;
        assert!(list_wal(storage.as_ref()).await.expect("list").is_empty());
        assert_eq!(handover.pending(), 0);
        // The delayed task finds nothing left to do.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(handover.pending(), 0);

        // An issuance finishing after the flush commits before it answers.
        let later = put_wal(storage.as_ref(), "user", &json!({}), from_unix_seconds(2))
            .await
            .expect("put");
        handover.schedule(storage.clone(), later).await;
        assert!(list_wal(storage.as_ref()).await.expect("list").is_empty());
    }

    /// Storage whose first `failures` deletes fail.
    struct Flaky {
        inner: InMemoryStorage,
        failures: std::sync::atomic::AtomicU32,
    }

    #[async_trait::async_trait]
    impl Storage for Flaky {
        async fn list(&self, prefix: &str) -> Result<Vec<String>, crate::logical::Error> {
            self.inner.list(prefix).await
        }
        async fn get(
            &self,
            key: &str,
        ) -> Result<Option<crate::logical::StorageEntry>, crate::logical::Error> {
            self.inner.get(key).await
        }
        async fn put(
            &self,
            entry: crate::logical::StorageEntry,
        ) -> Result<(), crate::logical::Error> {
            self.inner.put(entry).await
        }
        async fn delete(&self, key: &str) -> Result<(), crate::logical::Error> {
            use std::sync::atomic::Ordering;
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(crate::logical::Error::Internal("storage busy".into()));
            }
            self.inner.delete(key).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_commit_is_retried() {
        let storage = Arc::new(Flaky {
            inner: InMemoryStorage::new(),
            failures: std::sync::atomic::AtomicU32::new(2),
        });
        let id = put_wal(storage.as_ref(), "user", &json!({}), from_unix_seconds(1))
            .await
            .expect("put");
        let handover = Handover::new(Duration::from_millis(100));
        handover.schedule(storage.clone(), id).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(list_wal(storage.as_ref()).await.expect("list").is_empty());
    }
}
