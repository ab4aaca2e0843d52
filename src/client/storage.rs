//! [host clients] `GrpcStorage`: the mount's storage, reached through the host's
//! `pb.Storage` service on the brokered channel, as a `logical::Storage`.
//!
//! The host reports storage failures *in band*, in the reply's `err` string, and those
//! strings are passed on unchanged as `logical::Error::Internal`: OpenBao decides whether
//! to forward a request to the active node by matching text such as "cannot write to
//! readonly storage". A gRPC status (for example OpenBao's "missing storage
//! implementation" while it probes a registration) is passed on the same way, with its
//! message unchanged. OpenBao's paging and transaction RPCs are not used yet.

use async_trait::async_trait;
use tonic::transport::Channel;

use super::MAX_MESSAGE_SIZE;
use super::convert::{storage_entry_from_proto, storage_entry_to_proto};
use crate::logical::{Error, Storage, StorageEntry};
use crate::pb::pb::storage_client::StorageClient;
use crate::pb::pb::{StorageDeleteArgs, StorageGetArgs, StorageListArgs, StoragePutArgs};

/// `logical::Storage` over the host's `pb.Storage` service.
#[derive(Debug, Clone)]
pub struct GrpcStorage {
    client: StorageClient<Channel>,
}

impl GrpcStorage {
    /// A storage client on `channel`; nothing is sent until the first call.
    pub fn new(channel: Channel) -> Self {
        let client = StorageClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        GrpcStorage { client }
    }

    // Every call clones the client: that is a handle copy over the shared channel and
    // lets concurrent requests use storage without a lock.
    fn client(&self) -> StorageClient<Channel> {
        self.client.clone()
    }
}

/// A gRPC status as a storage error, keeping the host's message verbatim.
pub(super) fn status_error(status: tonic::Status) -> Error {
    Error::Internal(status.message().to_string())
}

/// An in-band `err` string: empty means success.
fn in_band(err: String) -> Result<(), Error> {
    if err.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(err))
    }
}

#[async_trait]
impl Storage for GrpcStorage {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let args = StorageListArgs {
            prefix: prefix.to_string(),
            txn: String::new(),
        };
        let reply = self
            .client()
            .list(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)?;
        Ok(reply.keys)
    }

    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, Error> {
        let args = StorageGetArgs {
            key: key.to_string(),
            txn: String::new(),
        };
        let reply = self
            .client()
            .get(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)?;
        // A missing key is a reply with no entry and no error.
        Ok(reply.entry.map(storage_entry_from_proto))
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), Error> {
        let args = StoragePutArgs {
            entry: Some(storage_entry_to_proto(entry)),
            txn: String::new(),
        };
        let reply = self
            .client()
            .put(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        let args = StorageDeleteArgs {
            key: key.to_string(),
            txn: String::new(),
        };
        let reply = self
            .client()
            .delete(args)
            .await
            .map_err(status_error)?
            .into_inner();
        in_band(reply.err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_host::TestHost;

    #[tokio::test]
    async fn round_trip_through_the_host() {
        let host = TestHost::start().await;
        let storage = GrpcStorage::new(host.channel());
        assert_eq!(storage.get("role/a").await.expect("get"), None);
        let entry = StorageEntry {
            key: "role/a".into(),
            value: b"{\"x\":1}".to_vec(),
            seal_wrap: true,
        };
        storage.put(entry.clone()).await.expect("put");
        storage
            .put(StorageEntry {
                key: "role/sub/b".into(),
                ..Default::default()
            })
            .await
            .expect("put");
        assert_eq!(storage.get("role/a").await.expect("get"), Some(entry));
        assert_eq!(
            storage.list("role/").await.expect("list"),
            vec!["a", "sub/"]
        );
        // The write really reached the host's store, not a local cache.
        assert_eq!(host.storage.keys(), vec!["role/a", "role/sub/b"]);
        storage.delete("role/a").await.expect("delete");
        assert_eq!(storage.get("role/a").await.expect("get"), None);
        assert_eq!(host.storage.keys(), vec!["role/sub/b"]);
    }

    #[tokio::test]
    async fn in_band_errors_keep_the_host_text() {
        let host = TestHost::start().await;
        let storage = GrpcStorage::new(host.channel());
        let readonly = "cannot write to readonly storage";
        host.fail_in_band(readonly);
        let put = storage.put(StorageEntry {
            key: "k".into(),
            ..Default::default()
        });
        assert_eq!(put.await, Err(Error::Internal(readonly.to_string())));
        assert_eq!(
            storage.get("k").await,
            Err(Error::Internal(readonly.to_string()))
        );
        assert_eq!(
            storage.list("").await,
            Err(Error::Internal(readonly.to_string()))
        );
        assert_eq!(
            storage.delete("k").await,
            Err(Error::Internal(readonly.to_string()))
        );
        assert!(
            host.storage.keys().is_empty(),
            "a failed put must not be stored"
        );
    }

    #[tokio::test]
    async fn grpc_status_errors_keep_the_host_message() {
        let host = TestHost::start().await;
        let storage = GrpcStorage::new(host.channel());
        let msg =
            "missing storage implementation: this method should not be called during plugin Setup";
        host.fail_with_status(msg);
        assert_eq!(
            storage.get("k").await,
            Err(Error::Internal(msg.to_string()))
        );
        assert_eq!(
            storage.list("x/").await,
            Err(Error::Internal(msg.to_string()))
        );
    }

    #[tokio::test]
    async fn large_values_exceed_the_default_grpc_limit() {
        let host = TestHost::start().await;
        let storage = GrpcStorage::new(host.channel());
        // 5 MiB is above tonic's 4 MiB default decode limit on both ends.
        let value = vec![b'x'; 5 * 1024 * 1024];
        let entry = StorageEntry {
            key: "big".into(),
            value: value.clone(),
            seal_wrap: false,
        };
        storage.put(entry).await.expect("put big");
        let got = storage.get("big").await.expect("get big").expect("present");
        assert_eq!(got.value.len(), value.len());
    }

    #[tokio::test]
    async fn unreachable_host_is_an_internal_error() {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let storage = GrpcStorage::new(channel);
        assert!(matches!(storage.get("k").await, Err(Error::Internal(_))));
    }
}
