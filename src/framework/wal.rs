//! [framework] The write-ahead log (Vault's `framework` WAL): entries under `wal/<uuid>`
//! holding JSON `{"type": kind, "data": any, "created_at": unix seconds}`, byte-compatible
//! with Go's `sdk/framework/wal.go`, so entries left by the Go engine are rolled back by
//! this one and vice versa. Plus the rollback pass the backend runs on every `rollback`
//! tick.
//!
//! An engine writes an entry *before* an external change (say, creating an IAM user) and
//! deletes it when the change is complete. If the process dies in between, the entry
//! stays, and once it is older than the minimum age (longer than any successful
//! operation takes) the rollback hook undoes the half-made change. Unlike Go, an entry
//! whose rollback keeps failing past an optional maximum age is dropped with an error
//! log line, so one broken entry cannot fail every tick forever.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::clock::{from_unix_seconds, unix_seconds};
use super::context::Context;
use super::operation::WalRollbackFunc;
use crate::logical::{Error, Request, Storage, StorageEntry};

/// The storage prefix of WAL entries (declare it as local storage).
pub const WAL_PREFIX: &str = "wal/";

/// Vault's default minimum age before an entry is rolled back.
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(10 * 60);

/// One WAL entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalEntry {
    /// The entry's ID (its key without `wal/`); not stored in the value.
    #[serde(skip)]
    pub id: String,
    /// What kind of change the entry guards; the rollback hook dispatches on it.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whatever the rollback hook needs to undo the change.
    #[serde(default)]
    pub data: Value,
    /// Creation time, Unix seconds (UTC).
    pub created_at: i64,
}

/// Writes a new entry stamped `now`; returns its ID.
pub async fn put_wal(
    storage: &dyn Storage,
    kind: &str,
    data: &Value,
    now: SystemTime,
) -> Result<String, Error> {
    let entry = WalEntry {
        id: uuid::Uuid::new_v4().to_string(),
        kind: kind.to_string(),
        data: data.clone(),
        created_at: unix_seconds(now),
    };
    storage
        .put(StorageEntry::json(
            format!("{WAL_PREFIX}{}", entry.id),
            &entry,
        )?)
        .await?;
    Ok(entry.id)
}

/// Reads entry `id`, or `None` if it is gone.
pub async fn get_wal(storage: &dyn Storage, id: &str) -> Result<Option<WalEntry>, Error> {
    let Some(stored) = storage.get(&format!("{WAL_PREFIX}{id}")).await? else {
        return Ok(None);
    };
    let mut entry: WalEntry = stored.decode()?;
    entry.id = id.to_string();
    Ok(Some(entry))
}

/// Deletes (commits) entry `id`.
pub async fn delete_wal(storage: &dyn Storage, id: &str) -> Result<(), Error> {
    storage.delete(&format!("{WAL_PREFIX}{id}")).await
}

/// The IDs of all entries.
pub async fn list_wal(storage: &dyn Storage) -> Result<Vec<String>, Error> {
    storage.list(WAL_PREFIX).await
}

/// When the rollback pass touches an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalPolicy {
    /// Entries younger than this are left alone (they may belong to a request in flight).
    pub min_age: Duration,
    /// Entries older than this whose rollback fails are deleted anyway, with an error
    /// log line. `None` keeps them forever, as Vault does.
    pub max_age: Option<Duration>,
}

impl Default for WalPolicy {
    fn default() -> Self {
        WalPolicy {
            min_age: DEFAULT_MIN_AGE,
            max_age: None,
        }
    }
}

/// Runs `hook` over every entry old enough (any age when the request data has
/// `immediate`), deleting each entry it rolls back. Returns the errors met, one line
/// each; none of them stops the pass.
pub(crate) async fn rollback_pass(
    ctx: &Context,
    req: &Request,
    hook: &WalRollbackFunc,
    policy: WalPolicy,
) -> Vec<String> {
    let ids = match list_wal(ctx.storage()).await {
        Ok(ids) => ids,
        Err(e) => return vec![format!("listing WAL entries: {e}")],
    };
    let immediate = req.data.contains_key("immediate");
    let mut errors = Vec::new();
    for id in ids {
        // Read the clock per entry: a slow hook must not make later entries look younger.
        let now = ctx.now();
        if let Err(e) = roll_back_one(ctx, req, hook, policy, &id, immediate, now).await {
            errors.push(e);
        }
    }
    errors
}

async fn roll_back_one(
    ctx: &Context,
    req: &Request,
    hook: &WalRollbackFunc,
    policy: WalPolicy,
    id: &str,
    immediate: bool,
    now: SystemTime,
) -> Result<(), String> {
    let entry = match get_wal(ctx.storage(), id).await {
        Ok(Some(entry)) => entry,
        // Gone since the listing (committed by its request), or a sub-prefix: nothing to do.
        Ok(None) => return Ok(()),
        Err(e) => return Err(format!("reading WAL entry {id:?}: {e}")),
    };
    let age = now
        .duration_since(from_unix_seconds(entry.created_at))
        .unwrap_or(Duration::ZERO);
    // Strictly older than the minimum, as Go compares `created.Before(now - minAge)`.
    if !immediate && age <= policy.min_age {
        return Ok(());
    }
    let failure = match hook(
        ctx.clone(),
        req.clone(),
        entry.kind.clone(),
        entry.data.clone(),
    )
    .await
    {
        Ok(()) => {
            return delete_wal(ctx.storage(), id)
                .await
                .map_err(|e| format!("deleting WAL entry {id:?}: {e}"));
        }
        Err(e) => format!("error rolling back {:?} entry: {e}", entry.kind),
    };
    if policy.max_age.is_some_and(|max| age > max) {
        // The entry's data names what it guarded (engines keep no secrets in WAL data:
        // it is stored in plain storage), so an operator can clean up by hand.
        tracing::error!(
            wal_id = id,
            kind = %entry.kind,
            data = %entry.data,
            age_secs = age.as_secs(),
            error = %failure,
            "dropping WAL entry older than the maximum age whose rollback keeps failing; \
             what it guarded may need manual cleanup"
        );
        delete_wal(ctx.storage(), id)
            .await
            .map_err(|e| format!("deleting WAL entry {id:?}: {e}"))?;
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::InMemoryStorage;
    use serde_json::json;

    #[tokio::test]
    async fn entries_are_stored_as_go_writes_them() {
        let s = InMemoryStorage::new();
        let now = from_unix_seconds(1_700_000_000);
        let id = put_wal(&s, "user", &json!({"username": "u1"}), now)
            .await
            .expect("put");
        assert_eq!(id.len(), 36, "uuid");
        let raw = s
            .get(&format!("wal/{id}"))
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(
            String::from_utf8(raw.value).expect("utf8"),
            r#"{"type":"user","data":{"username":"u1"},"created_at":1700000000}"#
        );
        assert_eq!(list_wal(&s).await.expect("list"), vec![id.clone()]);
        let entry = get_wal(&s, &id).await.expect("get").expect("entry");
        assert_eq!(
            (entry.id.as_str(), entry.kind.as_str(), entry.created_at),
            (id.as_str(), "user", 1_700_000_000)
        );
        delete_wal(&s, &id).await.expect("delete");
        assert_eq!(get_wal(&s, &id).await.expect("get"), None);
        assert!(list_wal(&s).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn entries_written_by_go_are_read() {
        let s = InMemoryStorage::new();
        let go = br#"{"type":"user","data":null,"created_at":1}"#.to_vec();
        s.put(StorageEntry {
            key: "wal/abc".into(),
            value: go,
            seal_wrap: false,
        })
        .await
        .expect("put");
        let e = get_wal(&s, "abc").await.expect("get").expect("entry");
        assert_eq!(
            (e.kind.as_str(), &e.data, e.created_at),
            ("user", &Value::Null, 1)
        );
    }
}
