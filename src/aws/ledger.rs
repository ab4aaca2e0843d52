//! \[engine\] The ledger of issued IAM users: one entry per user this mount handed out,
//! from the moment its credentials are complete until its lease is revoked, holding the
//! *horizon* — the latest time any lease for the user can still be alive (issue time plus
//! the lease's maximum TTL, pushed out when a renew could reach further).
//!
//! The WAL covers "created but not finished". The ledger covers "finished but never
//! handed over, or never revoked": a response the host dropped, a lease the host gave up
//! revoking (it marks it irrevocable after a few failures), leases lost with a restored
//! backup. The periodic pass (`rollback`) deletes any ledger user still present past its
//! horizon plus the minimum age; by then no lease for it can exist, so deleting it is
//! always safe.
//!
//! Entries live under `iam_users/<username>` in replicated (not local) storage, beside the
//! leases they shadow. The Go engine neither writes nor reads them. [`Ledger`] keeps an
//! in-memory index of every entry's horizon, loaded once per process (or after an
//! invalidation) and kept current by this process's own writes, so that a sweep over
//! thousands of live users reads nothing from storage. No AWS, no decisions.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::storage::LEDGER_PREFIX;
use crate::framework::{from_unix_seconds, unix_seconds};
use crate::logical::{Error, Storage, StorageExt};

/// One issued user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When the credentials were issued, Unix seconds.
    pub issued_at: i64,
    /// The latest time a lease for the user can be alive, Unix seconds; `None` when it
    /// cannot be known (the user is then never swept).
    pub horizon: Option<i64>,
}

impl LedgerEntry {
    /// An entry for credentials issued at `issued_at` whose lease ends by `horizon`.
    pub fn new(issued_at: SystemTime, horizon: Option<SystemTime>) -> Self {
        LedgerEntry {
            issued_at: unix_seconds(issued_at),
            horizon: horizon.map(unix_seconds),
        }
    }

    /// The horizon as a time.
    pub fn horizon_time(&self) -> Option<SystemTime> {
        self.horizon.map(from_unix_seconds)
    }
}

fn key(username: &str) -> String {
    format!("{LEDGER_PREFIX}{username}")
}

/// Records `username` as issued.
pub async fn record(
    storage: &dyn Storage,
    username: &str,
    entry: &LedgerEntry,
) -> Result<(), Error> {
    storage.put_json(&key(username), entry).await
}

/// The entry of `username`, if any.
pub async fn get(storage: &dyn Storage, username: &str) -> Result<Option<LedgerEntry>, Error> {
    storage.get_json(&key(username)).await
}

/// Moves the horizon of `username` out to `horizon` if that is later (never earlier: a
/// lease may still run to the old one). A user without an entry (issued by the Go engine,
/// or before the ledger existed) gets one, issued at `issued_at`. Returns the entry stored.
pub async fn extend(
    storage: &dyn Storage,
    username: &str,
    issued_at: SystemTime,
    horizon: Option<SystemTime>,
) -> Result<LedgerEntry, Error> {
    let wanted = LedgerEntry::new(issued_at, horizon);
    let entry = match get(storage, username).await? {
        Some(mut entry) => {
            entry.horizon = match (entry.horizon, wanted.horizon) {
                (Some(old), Some(new)) => Some(old.max(new)),
                _ => None,
            };
            entry
        }
        None => wanted,
    };
    record(storage, username, &entry).await?;
    Ok(entry)
}

/// Forgets `username` (its user is deleted).
pub async fn forget(storage: &dyn Storage, username: &str) -> Result<(), Error> {
    storage.delete(&key(username)).await
}

/// Every user in the ledger.
pub async fn usernames(storage: &dyn Storage) -> Result<Vec<String>, Error> {
    storage.list(LEDGER_PREFIX).await
}

/// What the index knows: every entry's horizon once loaded; until then, the changes this
/// process made (applied over what the load reads, so none is lost to a load in flight).
#[derive(Default)]
struct Index {
    horizons: Option<BTreeMap<String, Option<i64>>>,
    changes: BTreeMap<String, Option<Option<i64>>>,
}

impl Index {
    fn note(&mut self, username: &str, horizon: Option<Option<i64>>) {
        match (&mut self.horizons, horizon) {
            (Some(all), Some(h)) => {
                all.insert(username.to_string(), h);
            }
            (Some(all), None) => {
                all.remove(username);
            }
            (None, change) => {
                self.changes.insert(username.to_string(), change);
            }
        }
    }
}

/// The ledger of one mount: its storage functions plus the in-memory index of horizons.
#[derive(Default)]
pub struct Ledger {
    index: Mutex<Index>,
}

impl Ledger {
    /// A ledger whose index is loaded on the first [`Ledger::due`].
    pub fn new() -> Self {
        Ledger::default()
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        // Every change leaves the index whole; recovering from poisoning is safe.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`record`], noted in the index.
    pub async fn record(
        &self,
        storage: &dyn Storage,
        username: &str,
        entry: &LedgerEntry,
    ) -> Result<(), Error> {
        record(storage, username, entry).await?;
        self.index().note(username, Some(entry.horizon));
        Ok(())
    }

    /// [`extend`], noted in the index.
    pub async fn extend(
        &self,
        storage: &dyn Storage,
        username: &str,
        issued_at: SystemTime,
        horizon: Option<SystemTime>,
    ) -> Result<(), Error> {
        let entry = extend(storage, username, issued_at, horizon).await?;
        self.index().note(username, Some(entry.horizon));
        Ok(())
    }

    /// [`forget`], noted in the index.
    pub async fn forget(&self, storage: &dyn Storage, username: &str) -> Result<(), Error> {
        forget(storage, username).await?;
        self.index().note(username, None);
        Ok(())
    }

    /// Another node changed the ledger: the index is read again at the next sweep.
    pub fn invalidate(&self) {
        *self.index() = Index::default();
    }

    /// The users whose horizon is before `before`, loading the index first if needed.
    pub async fn due(
        &self,
        storage: &dyn Storage,
        before: SystemTime,
    ) -> Result<Vec<String>, Error> {
        if self.index().horizons.is_none() {
            let mut loaded = BTreeMap::new();
            for username in usernames(storage).await? {
                if let Some(entry) = get(storage, &username).await? {
                    loaded.insert(username, entry.horizon);
                }
            }
            let mut index = self.index();
            for (username, change) in std::mem::take(&mut index.changes) {
                match change {
                    Some(h) => loaded.insert(username, h),
                    None => loaded.remove(&username),
                };
            }
            index.horizons = Some(loaded);
        }
        let before = unix_seconds(before);
        Ok(self
            .index()
            .horizons
            .iter()
            .flatten()
            .filter(|(_, h)| h.is_some_and(|h| h < before))
            .map(|(u, _)| u.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::InMemoryStorage;

    fn at(s: i64) -> SystemTime {
        from_unix_seconds(s)
    }

    #[tokio::test]
    async fn entries_round_trip_under_their_prefix() {
        let s = InMemoryStorage::new();
        record(&s, "vault-u1", &LedgerEntry::new(at(10), Some(at(100))))
            .await
            .expect("record");
        let raw = s
            .get("iam_users/vault-u1")
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(
            String::from_utf8(raw.value).expect("utf8"),
            r#"{"issued_at":10,"horizon":100}"#
        );
        assert_eq!(usernames(&s).await.expect("list"), vec!["vault-u1"]);
        forget(&s, "vault-u1").await.expect("forget");
        assert_eq!(get(&s, "vault-u1").await.expect("get"), None);
    }

    #[tokio::test]
    async fn extend_never_pulls_the_horizon_in_and_adopts_unknown_users() {
        let s = InMemoryStorage::new();
        record(&s, "u", &LedgerEntry::new(at(10), Some(at(100))))
            .await
            .expect("record");
        extend(&s, "u", at(10), Some(at(50))).await.expect("extend");
        assert_eq!(
            get(&s, "u").await.expect("get").and_then(|e| e.horizon),
            Some(100)
        );
        extend(&s, "u", at(10), Some(at(500)))
            .await
            .expect("extend");
        assert_eq!(
            get(&s, "u").await.expect("get").and_then(|e| e.horizon),
            Some(500)
        );
        extend(&s, "u", at(10), None).await.expect("unknown");
        assert_eq!(
            get(&s, "u").await.expect("get").and_then(|e| e.horizon),
            None
        );

        extend(&s, "go-user", at(7), Some(at(70)))
            .await
            .expect("adopt");
        assert_eq!(
            get(&s, "go-user").await.expect("get"),
            Some(LedgerEntry::new(at(7), Some(at(70))))
        );
    }

    #[tokio::test]
    async fn the_index_is_loaded_once_and_follows_this_processes_writes() {
        let s = InMemoryStorage::new();
        record(&s, "old", &LedgerEntry::new(at(1), Some(at(10))))
            .await
            .expect("record");
        let ledger = Ledger::new();
        // Written before the first load: must not be lost.
        ledger
            .record(&s, "early", &LedgerEntry::new(at(1), Some(at(20))))
            .await
            .expect("record");
        assert_eq!(
            ledger.due(&s, at(100)).await.expect("due"),
            ["early", "old"]
        );

        // From now on no storage read: entries written behind the index's back are not
        // seen until an invalidation.
        record(&s, "behind", &LedgerEntry::new(at(1), Some(at(5))))
            .await
            .expect("record");
        ledger.forget(&s, "old").await.expect("forget");
        ledger
            .extend(&s, "early", at(1), Some(at(200)))
            .await
            .expect("extend");
        assert_eq!(
            ledger.due(&s, at(100)).await.expect("due"),
            Vec::<String>::new()
        );
        ledger.invalidate();
        assert_eq!(ledger.due(&s, at(100)).await.expect("due"), ["behind"]);
        assert_eq!(
            ledger.due(&s, at(300)).await.expect("due"),
            ["behind", "early"]
        );
    }
}
