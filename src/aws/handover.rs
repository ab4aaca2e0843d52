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
//! On a clean shutdown (`cleanup`) every pending commit is done at once, so a plugin
//! reload does not roll back what it just issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::framework::delete_wal;
use crate::logical::Storage;

/// How long after an issuance answered its WAL entry is kept by default.
pub const DEFAULT_HANDOVER_DELAY: Duration = Duration::from_millis(100);

/// The WAL commits waiting for their delay, by WAL ID.
pub struct Handover {
    delay: Duration,
    pending: Arc<Mutex<HashMap<String, Arc<dyn Storage>>>>,
}

impl Handover {
    /// Commits wait `delay`.
    pub fn new(delay: Duration) -> Self {
        Handover {
            delay,
            pending: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Deletes WAL entry `wal_id` from `storage` once `delay` has passed. Needs a tokio
    /// runtime (every handler runs on one).
    pub fn schedule(&self, storage: Arc<dyn Storage>, wal_id: String) {
        lock(&self.pending).insert(wal_id.clone(), storage);
        let pending = Arc::clone(&self.pending);
        let delay = self.delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Taken out first: a flush that ran meanwhile has done the work already.
            let storage = lock(&pending).remove(&wal_id);
            if let Some(storage) = storage {
                commit(storage.as_ref(), &wal_id).await;
            }
        });
    }

    /// Commits every pending entry now (clean shutdown).
    pub async fn flush(&self) {
        let pending: Vec<_> = lock(&self.pending).drain().collect();
        for (wal_id, storage) in pending {
            commit(storage.as_ref(), &wal_id).await;
        }
    }

    /// How many commits are waiting.
    pub fn pending(&self) -> usize {
        lock(&self.pending).len()
    }
}

/// A commit that fails leaves the entry, and the rollback deletes the user: logged,
/// because the holder of those credentials will lose them.
async fn commit(storage: &dyn Storage, wal_id: &str) {
    if let Err(e) = delete_wal(storage, wal_id).await {
        tracing::error!(
            wal_id,
            error = %e,
            "could not commit the WAL entry of issued IAM user credentials; the rollback \
             will delete that user"
        );
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
        handover.schedule(storage.clone(), id.clone());
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
        handover.schedule(storage.clone(), id);
        assert_eq!(handover.pending(), 1);
        handover.flush().await;
        assert!(list_wal(storage.as_ref()).await.expect("list").is_empty());
        assert_eq!(handover.pending(), 0);
        // The delayed task finds nothing left to do.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(handover.pending(), 0);
    }
}
