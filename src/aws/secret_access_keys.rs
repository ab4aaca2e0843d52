//! \[engine\] The `access_keys` secret type (Vault's `secret_access_keys.go`): the lease
//! kind every credential of this engine is issued under, its renew and its revoke, and
//! the lease settings of IAM-user credentials.
//!
//! STS credentials (`is_sts` in the lease data) expire by themselves at AWS: they are
//! issued not renewable, and their revocation is a no-op. IAM-user credentials are
//! renewable with the role's `ttl`/`max_ttl` (our extension) or else `config/lease`'s,
//! and revoked by deleting the user (`revoke`), which also forgets it in the ledger.
//! Revocation errors are always retryable ones (internal, or a coded 502 for
//! throttling): an "invalid request" would make the host mark the lease irrevocable at
//! once and the user would stay. Issuing credentials is not done here (`path_creds`,
//! `sts`, `iam_user`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::backend::AwsBackend;
use super::lease_data::LeaseData;
use super::path_config_lease;
use super::revoke::{self, DeleteError};
use super::role::Role;
use crate::framework::{Context, FieldData, FieldSchema, FieldType, HandlerResult, SecretType};
use crate::logical::{Error, JsonMap, Request, Response};

/// The secret type name stored with every lease; the Go engine's, never to change.
pub const ACCESS_KEYS: &str = "access_keys";

/// The `access_keys` secret type; renew and revoke share the mount's `state`.
pub(crate) fn secret(state: Arc<AwsBackend>) -> SecretType {
    let on_renew = Arc::clone(&state);
    let on_revoke = state;
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
        .renew(move |ctx, req, data| {
            let state = Arc::clone(&on_renew);
            async move { renew(state, ctx, req, data).await }
        })
        .revoke(move |ctx, req, data| {
            let state = Arc::clone(&on_revoke);
            async move { revoke(state, ctx, req, data).await }
        })
}

/// The response issuing STS credentials: `data` for the client, `lease` kept with a
/// lease of `ttl` that is not renewable (STS credentials cannot be extended). A lease
/// needs a non-zero TTL (zero means the mount default), so credentials AWS answered as
/// already expired get one second.
pub(crate) fn sts_response(data: JsonMap, lease: &LeaseData, ttl: Duration) -> Response {
    lease_response(
        data,
        lease,
        ttl.max(Duration::from_secs(1)),
        Duration::ZERO,
        false,
    )
}

/// The response issuing IAM-user credentials: a renewable lease of `ttl` up to `max_ttl`
/// (zero: the mount's).
pub(crate) fn iam_user_response(
    data: JsonMap,
    lease: &LeaseData,
    ttl: Duration,
    max_ttl: Duration,
) -> Response {
    lease_response(data, lease, ttl, max_ttl, true)
}

fn lease_response(
    data: JsonMap,
    lease: &LeaseData,
    ttl: Duration,
    max_ttl: Duration,
    renewable: bool,
) -> Response {
    let mut resp = SecretType::new(ACCESS_KEYS).response(data, lease.to_internal());
    if let Some(secret) = resp.secret.as_mut() {
        secret.lease_options.ttl = ttl;
        secret.lease_options.max_ttl = max_ttl;
        secret.lease_options.renewable = renewable;
    }
    resp
}

/// TTL and maximum TTL of an IAM-user lease made from `role`: the role's own where set,
/// else `config/lease`'s; zero means the mount's. The host caps both by the mount.
pub(crate) async fn iam_user_lease(
    state: &AwsBackend,
    ctx: &Context,
    role: &Role,
) -> Result<(Duration, Duration), Error> {
    let (ttl, max_ttl) = match path_config_lease::cached(state, ctx.storage()).await? {
        Some(config) => (nanos(config.lease), nanos(config.lease_max)),
        // Never configured: zero, i.e. the mount's TTLs (Go's empty `configLease`).
        None => (Duration::ZERO, Duration::ZERO),
    };
    Ok(role.iam_user_lease(ttl, max_ttl))
}

/// The latest time a lease issued at `issued` with maximum TTL `max_ttl` can be alive:
/// the host never lets it outlive the smaller of `max_ttl` and the mount's maximum, so
/// `max_ttl` when set (it is at least the real bound), else the mount's maximum. `None`
/// when the host reports no maximum.
pub(crate) async fn horizon(
    ctx: &Context,
    issued: SystemTime,
    max_ttl: Duration,
) -> Result<Option<SystemTime>, Error> {
    let bound = if max_ttl.is_zero() {
        ctx.system().max_lease_ttl().await?
    } else {
        max_ttl
    };
    Ok((!bound.is_zero()).then(|| issued + bound))
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
/// since they are issued not renewable). IAM users get the TTLs of the role they were
/// made from (kept in the lease data), else of `config/lease`, with the lease's data
/// unchanged; the ledger's horizon moves out if the mount now allows a longer life.
async fn renew(
    state: Arc<AwsBackend>,
    ctx: Context,
    req: Request,
    _data: FieldData,
) -> HandlerResult {
    let data = lease_data(&req)?;
    if data.is_sts {
        return Ok(None);
    }
    // The lease keeps the role as it was at issuance; a lease of the Go engine, or one
    // whose role entry cannot be read, renews with `config/lease` as Vault does.
    let role: Role = data
        .policy
        .and_then(|p| serde_json::from_value(p).ok())
        .unwrap_or_default();
    let (ttl, max_ttl) = iam_user_lease(&state, &ctx, &role).await?;
    let mut secret = req
        .secret
        .ok_or_else(|| Error::Internal("request has no secret".to_string()))?;
    if let Some(username) = data.username.as_deref().filter(|u| !u.is_empty()) {
        let issued = secret.lease_options.issue_time.unwrap_or_else(|| ctx.now());
        let horizon = horizon(&ctx, issued, max_ttl).await?;
        state
            .ledger()
            .extend(ctx.storage(), username, issued, horizon)
            .await?;
    }
    secret.lease_options.ttl = ttl;
    secret.lease_options.max_ttl = max_ttl;
    Ok(Some(Response {
        secret: Some(secret),
        ..Response::default()
    }))
}

/// STS credentials cannot be revoked early: nothing to do. Anything else is an IAM user
/// to delete; a lease without `is_sts` predates the flag and is an IAM user too. A user
/// already gone counts as deleted only for a lease older than the minimum age.
async fn revoke(
    state: Arc<AwsBackend>,
    ctx: Context,
    req: Request,
    _data: FieldData,
) -> HandlerResult {
    let data = lease_data(&req)?;
    if data.is_sts {
        return Ok(None);
    }
    let username = data
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::Internal("secret is missing username internal data".to_string()))?;
    let issued = req.secret.as_ref().and_then(|s| s.lease_options.issue_time);
    let old_enough = issued.is_none_or(|t| {
        ctx.now()
            .duration_since(t)
            .is_ok_and(|age| age > state.timings().min_age)
    });
    delete_issued_user(&state, &ctx, &username, old_enough).await?;
    Ok(None)
}

/// Deletes the issued user `username` and forgets it in the ledger: the one path lease
/// revocation, the WAL rollback and the ledger sweep share.
pub(crate) async fn delete_issued_user(
    state: &AwsBackend,
    ctx: &Context,
    username: &str,
    missing_is_gone: bool,
) -> Result<revoke::Outcome, Error> {
    let iam = state.iam(ctx.storage()).await?;
    let outcome = revoke::delete_user(iam.as_ref(), username, missing_is_gone)
        .await
        .map_err(|e| match e {
            DeleteError::Aws(e) => e.into_logical_error(),
            other => Error::Internal(other.to_string()),
        })?;
    state.ledger().forget(ctx.storage(), username).await?;
    Ok(outcome)
}

/// A stored Go `time.Duration`; negative values cannot be written and read as zero.
fn nanos(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}
