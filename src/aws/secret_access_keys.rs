//! \[engine\] The `access_keys` secret type (Vault's `secret_access_keys.go`): the lease
//! kind every credential of this engine is issued under, its renew and its revoke.
//!
//! STS credentials (`is_sts` in the lease data) expire by themselves at AWS: they are
//! issued not renewable, and their revocation is a no-op. IAM-user credentials are
//! renewed with the TTLs of `config/lease`, and revoked by deleting the user. Issuing
//! credentials is not done here (`path_creds`, `sts`); neither is deleting an IAM user,
//! which arrives with iam_user issuance.

use std::time::Duration;

use super::lease_data::LeaseData;
use super::path_config_lease;
use crate::framework::{Context, FieldData, FieldSchema, FieldType, HandlerResult, SecretType};
use crate::logical::{Error, JsonMap, Request, Response};

/// The secret type name stored with every lease; the Go engine's, never to change.
pub const ACCESS_KEYS: &str = "access_keys";

/// The `access_keys` secret type.
pub(crate) fn secret() -> SecretType {
    SecretType::new(ACCESS_KEYS)
        .field(
            "access_key",
            FieldSchema::new(FieldType::String, "Access Key"),
        )
        .field(
            "secret_key",
            FieldSchema::new(FieldType::String, "Secret Key"),
        )
        .field(
            "security_token",
            FieldSchema::new(FieldType::String, "Security Token"),
        )
        .renew(renew)
        .revoke(revoke)
}

/// The response issuing STS credentials: `data` for the client, `lease` kept with a
/// lease of `ttl` that is not renewable (STS credentials cannot be extended). A lease
/// needs a non-zero TTL (zero means the mount default), so credentials AWS answered as
/// already expired get one second.
pub(crate) fn sts_response(data: JsonMap, lease: &LeaseData, ttl: Duration) -> Response {
    let mut resp = secret().response(data, lease.to_internal());
    if let Some(secret) = resp.secret.as_mut() {
        secret.lease_options.ttl = ttl.max(Duration::from_secs(1));
        secret.lease_options.renewable = false;
    }
    resp
}

/// The lease data of a renew or revoke request.
fn lease_data(req: &Request) -> Result<LeaseData, Error> {
    let secret = req
        .secret
        .as_ref()
        .ok_or_else(|| Error::Internal("request has no secret".to_string()))?;
    LeaseData::from_internal(&secret.internal_data).map_err(Error::internal)
}

/// STS credentials have their own lifetime and are not renewed (the host refuses anyway,
/// since they are issued not renewable); IAM users get `config/lease`'s TTLs, with the
/// lease's data unchanged.
async fn renew(ctx: Context, req: Request, _data: FieldData) -> HandlerResult {
    if lease_data(&req)?.is_sts {
        return Ok(None);
    }
    let (ttl, max_ttl) = match path_config_lease::load(ctx.storage()).await? {
        Some(config) => (nanos(config.lease), nanos(config.lease_max)),
        // Never configured: zero, i.e. the mount's TTLs (Go's empty `configLease`).
        None => (Duration::ZERO, Duration::ZERO),
    };
    let mut secret = req
        .secret
        .ok_or_else(|| Error::Internal("request has no secret".to_string()))?;
    secret.lease_options.ttl = ttl;
    secret.lease_options.max_ttl = max_ttl;
    Ok(Some(Response {
        secret: Some(secret),
        ..Response::default()
    }))
}

/// STS credentials cannot be revoked early: nothing to do. Anything else is an IAM user
/// to delete; a lease without `is_sts` predates the flag and is an IAM user too.
async fn revoke(ctx: Context, req: Request, _data: FieldData) -> HandlerResult {
    let data = lease_data(&req)?;
    if data.is_sts {
        return Ok(None);
    }
    let username = data
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::Internal("secret is missing username internal data".to_string()))?;
    revoke_iam_user(&ctx, &username).await?;
    Ok(None)
}

/// Deletes the IAM user `username` and everything attached to it.
///
/// TODO(issue 4, iam_user credentials): delete the user's keys, policies, group
/// memberships and the user, treating an already missing user as revoked. This binary
/// does not issue iam_user credentials yet, so only a lease issued by the Go engine
/// before switching binaries can reach this; it stays revocable once issue 4 lands,
/// because the host retries failed revocations.
async fn revoke_iam_user(_ctx: &Context, _username: &str) -> Result<(), Error> {
    Err(Error::Internal(
        "revoking IAM users is not implemented yet".to_string(),
    ))
}

/// A stored Go `time.Duration`; negative values cannot be written and read as zero.
fn nanos(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}
