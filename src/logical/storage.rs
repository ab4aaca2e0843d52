//! The `Storage` trait a backend keeps its state in, the `StorageEntry` record, and
//! `InMemoryStorage`, a map-backed implementation for tests and the framework harness.
//!
//! Keys are relative to the mount's storage view. `list` returns the immediate children
//! of a prefix, with sub-"directories" ending in `/`, exactly as Vault's physical
//! storage does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Error;

/// One stored value (Vault's `logical.StorageEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageEntry {
    /// Storage key.
    pub key: String,
    /// Raw value; engines store JSON.
    pub value: Vec<u8>,
    /// Whether the host should seal-wrap the value.
    pub seal_wrap: bool,
}

impl StorageEntry {
    /// An entry holding `value` serialised as JSON, like Go's `logical.StorageEntryJSON`.
    pub fn json<T: Serialize + ?Sized>(key: impl Into<String>, value: &T) -> Result<Self, Error> {
        Ok(StorageEntry {
            key: key.into(),
            value: serde_json::to_vec(value)?,
            seal_wrap: false,
        })
    }

    /// Decodes the JSON value.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.value)
            .map_err(|e| Error::Internal(format!("decoding storage entry {:?}: {e}", self.key)))
    }
}

/// A backend's storage (Vault's `logical.Storage`).
#[async_trait]
pub trait Storage: Send + Sync {
    /// Immediate children of `prefix`; sub-prefixes end in `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error>;
    /// The entry at `key`, or `None`.
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, Error>;
    /// Writes an entry.
    async fn put(&self, entry: StorageEntry) -> Result<(), Error>;
    /// Deletes `key`; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), Error>;
}

/// Typed JSON helpers over any [`Storage`].
#[async_trait]
pub trait StorageExt: Storage {
    /// Reads and decodes the JSON value at `key`.
    async fn get_json<T: DeserializeOwned + Send>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.get(key).await? {
            Some(entry) => entry.decode().map(Some),
            None => Ok(None),
        }
    }

    /// Encodes `value` as JSON and writes it at `key`.
    async fn put_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), Error> {
        self.put(StorageEntry::json(key, value)?).await
    }
}

impl<S: Storage + ?Sized> StorageExt for S {}

/// Storage in a map, for tests and the framework harness.
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    entries: Mutex<BTreeMap<String, StorageEntry>>,
}

impl InMemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key currently stored, sorted; for assertions in tests.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StorageEntry>> {
        // A poisoned lock only means another test thread panicked mid-insert; the map
        // itself is still consistent, so keep using it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Storage for InMemoryStorage {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let entries = self.lock();
        let mut out: Vec<String> = Vec::new();
        for key in entries.keys().filter(|k| k.starts_with(prefix)) {
            let rest = &key[prefix.len()..];
            let child = match rest.find('/') {
                Some(i) => &rest[..=i],
                None => rest,
            };
            if out.last().map(String::as_str) != Some(child) {
                out.push(child.to_string());
            }
        }
        out.dedup();
        Ok(out)
    }

    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, Error> {
        Ok(self.lock().get(key).cloned())
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), Error> {
        self.lock().insert(entry.key.clone(), entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn list_returns_immediate_children() {
        let s = InMemoryStorage::new();
        for k in [
            "role/a",
            "role/b",
            "role/sub/c",
            "role/sub/d",
            "config/root",
        ] {
            s.put(StorageEntry {
                key: k.into(),
                ..Default::default()
            })
            .await
            .expect("put");
        }
        assert_eq!(s.list("role/").await.expect("list"), vec!["a", "b", "sub/"]);
        assert_eq!(s.list("").await.expect("list"), vec!["config/", "role/"]);
        assert!(s.list("nothing/").await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn json_round_trip_and_delete() {
        let s = InMemoryStorage::new();
        s.put_json("k", &serde_json::json!({"a": 1}))
            .await
            .expect("put");
        let v: Option<serde_json::Value> = s.get_json("k").await.expect("get");
        assert_eq!(v, Some(serde_json::json!({"a": 1})));
        s.delete("k").await.expect("delete");
        s.delete("k").await.expect("delete twice");
        assert!(s.get("k").await.expect("get").is_none());
    }
}
