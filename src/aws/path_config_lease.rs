//! [engine] `config/lease`: the lease TTL and maximum TTL of `iam_user` credentials.
//!
//! Same fields, messages and storage as the Go engine (`path_config_lease.go`): both
//! fields are strings parsed as Vault durations (`1h`, `3600`, `7d`), both are required
//! on write, reads answer Go duration strings (`30m0s`), and the entry is stored as
//! `{"Lease": <ns>, "LeaseMax": <ns>}` — Go marshals its untagged `time.Duration` fields
//! under their Go names as integer nanoseconds. Unlike the Go engine the path also
//! supports DELETE, which removes the setting (leases then fall back to the mount's
//! TTLs). Like Go, there is no existence check, so writes are always updates. The entry
//! is read through the mount's cache (`cache`), which writes here keep current.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OPERATION_PREFIX_AWS;
use super::backend::AwsBackend;
use super::storage::CONFIG_LEASE;
use crate::framework::{
    Context, DisplayAttributes, FieldData, FieldSchema, FieldType, HandlerResult, Path,
    PathOperation, format_go_duration, parse_duration_second_str,
};
use crate::logical::{Error, JsonMap, Operation, Response, Storage, StorageExt};

/// The stored lease settings, in Go `time.Duration` nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeaseConfig {
    /// Lease TTL of `iam_user` credentials.
    #[serde(rename = "Lease")]
    pub(crate) lease: i64,
    /// Maximum lease TTL of `iam_user` credentials.
    #[serde(rename = "LeaseMax")]
    pub(crate) lease_max: i64,
}

/// Reads the lease settings; `None` until first written.
pub(crate) async fn load(storage: &dyn Storage) -> Result<Option<LeaseConfig>, Error> {
    storage.get_json(CONFIG_LEASE).await
}

/// The lease settings through the mount's cache (every `iam_user` issuance reads them).
pub(crate) async fn cached(
    state: &AwsBackend,
    storage: &dyn Storage,
) -> Result<Option<LeaseConfig>, Error> {
    state
        .lease_config_cache()
        .get_or_load(CONFIG_LEASE, || load(storage))
        .await
}

/// The `config/lease` path.
pub(crate) fn path(state: Arc<AwsBackend>) -> Path {
    let on_read = Arc::clone(&state);
    let on_write = Arc::clone(&state);
    let on_delete = state;
    Path::new("config/lease")
        .display(DisplayAttributes::operation_prefix(OPERATION_PREFIX_AWS))
        .field(
            "lease",
            FieldSchema::new(FieldType::String, "Default lease for roles."),
        )
        .field(
            "lease_max",
            FieldSchema::new(FieldType::String, "Maximum time a credential is valid for."),
        )
        .operation(
            Operation::Read,
            PathOperation::new(move |ctx, _req, _data| {
                let state = Arc::clone(&on_read);
                async move { read_lease(&state, ctx).await }
            })
            .display(DisplayAttributes::operation("", "lease-configuration")),
        )
        .operation(
            Operation::Update,
            PathOperation::new(move |ctx, _req, data| {
                let state = Arc::clone(&on_write);
                async move { write_lease(&state, ctx, data).await }
            })
            .display(DisplayAttributes::operation("configure", "lease")),
        )
        .operation(
            Operation::Delete,
            PathOperation::new(move |ctx, _req, _data| {
                let state = Arc::clone(&on_delete);
                async move { delete_lease(&state, ctx).await }
            })
            .display(DisplayAttributes::operation(
                "delete",
                "lease-configuration",
            )),
        )
        .help(CONFIG_LEASE_HELP_SYNOPSIS, CONFIG_LEASE_HELP_DESCRIPTION)
}

async fn read_lease(state: &AwsBackend, ctx: Context) -> HandlerResult {
    let Some(config) = cached(state, ctx.storage()).await? else {
        return Ok(None);
    };
    let mut data = JsonMap::new();
    data.insert(
        "lease".to_string(),
        Value::String(format_go_duration(config.lease)),
    );
    data.insert(
        "lease_max".to_string(),
        Value::String(format_go_duration(config.lease_max)),
    );
    Ok(Some(Response::with_data(data)))
}

async fn write_lease(state: &AwsBackend, ctx: Context, data: FieldData) -> HandlerResult {
    let lease_raw = data.get_string("lease")?;
    let lease_max_raw = data.get_string("lease_max")?;
    if lease_raw.is_empty() {
        return Ok(Some(Response::error("'lease' is a required parameter")));
    }
    if lease_max_raw.is_empty() {
        return Ok(Some(Response::error("'lease_max' is a required parameter")));
    }
    let lease = match parse_duration_second_str(&lease_raw) {
        Ok(nanos) => nanos,
        Err(e) => return Ok(Some(Response::error(format!("Invalid lease: {e}")))),
    };
    let lease_max = match parse_duration_second_str(&lease_max_raw) {
        Ok(nanos) => nanos,
        Err(e) => return Ok(Some(Response::error(format!("Invalid lease_max: {e}")))),
    };
    let config = LeaseConfig { lease, lease_max };
    ctx.storage().put_json(CONFIG_LEASE, &config).await?;
    state.lease_config_cache().put(CONFIG_LEASE, config);
    Ok(None)
}

async fn delete_lease(state: &AwsBackend, ctx: Context) -> HandlerResult {
    ctx.storage().delete(CONFIG_LEASE).await?;
    state.lease_config_cache().remove(CONFIG_LEASE);
    Ok(None)
}

const CONFIG_LEASE_HELP_SYNOPSIS: &str =
    "Configure the default lease information for generated credentials.";

const CONFIG_LEASE_HELP_DESCRIPTION: &str = "
This configures the default lease information used for credentials
generated by this backend. The lease specifies the duration that a
credential will be valid for, as well as the maximum session for
a set of credentials.

The format for the lease is \"1h\" or integer and then unit. The longest
unit is hour.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_json_uses_go_field_names() {
        let c = LeaseConfig {
            lease: 1_800_000_000_000,
            lease_max: 3_600_000_000_000,
        };
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(json, r#"{"Lease":1800000000000,"LeaseMax":3600000000000}"#);
        let back: LeaseConfig = serde_json::from_str(&json).expect("decode");
        assert_eq!(back, c);
    }
}
