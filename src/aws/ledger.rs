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
//! leases they shadow. The Go engine neither writes nor reads them. This module is storage
//! only: no AWS, no decisions.

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
/// or before the ledger existed) gets one, issued at `issued_at`.
pub async fn extend(
    storage: &dyn Storage,
    username: &str,
    issued_at: SystemTime,
    horizon: Option<SystemTime>,
) -> Result<(), Error> {
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
    record(storage, username, &entry).await
}

/// Forgets `username` (its user is deleted).
pub async fn forget(storage: &dyn Storage, username: &str) -> Result<(), Error> {
    storage.delete(&key(username)).await
}

/// Every user in the ledger.
pub async fn usernames(storage: &dyn Storage) -> Result<Vec<String>, Error> {
    storage.list(LEDGER_PREFIX).await
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
}
