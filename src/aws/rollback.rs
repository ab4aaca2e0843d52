//! \[engine\] What the host's periodic `rollback` tick does for this engine (Vault's
//! `walRollback`, plus the ledger): the framework hands each WAL entry older than the
//! minimum age to [`wal_rollback`], which deletes the half-made IAM user it names; and
//! [`sweep_ledger`], the periodic hook, deletes issued users whose every possible lease
//! has ended (see `ledger`). Both delete through the same routine as lease revocation
//! (`secret_access_keys::delete_issued_user`), for which a missing user is success here:
//! these entries are always older than the minimum age.

use std::time::SystemTime;

use serde_json::Value;

use super::backend::{AwsBackend, Timings};
use super::iam_user::WAL_USERNAME_KEY;
use super::ledger;
use super::secret_access_keys::delete_issued_user;
use super::storage::WAL_KIND_USER;
use crate::framework::{Context, format_errors};
use crate::logical::Error;

/// Rolls back one WAL entry of `kind` with `data`. The only kind is `user`, whose data
/// names the user as Go writes it (`{"UserName": …}`; the key is matched without regard
/// to case, as Go's mapstructure does).
pub(crate) async fn wal_rollback(
    state: &AwsBackend,
    ctx: &Context,
    kind: &str,
    data: &Value,
) -> Result<(), Error> {
    if kind != WAL_KIND_USER {
        return Err(Error::Internal(format!(
            "unknown type to rollback: {kind:?}"
        )));
    }
    let username = wal_username(data)
        .ok_or_else(|| Error::Internal(format!("WAL entry names no user: {data}")))?;
    delete_issued_user(state, ctx, &username, true).await?;
    tracing::info!(user = %username, "rolled back a half-made IAM user");
    Ok(())
}

fn wal_username(data: &Value) -> Option<String> {
    let map = data.as_object()?;
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(WAL_USERNAME_KEY))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Deletes every ledger user past its horizon plus the minimum age, at most once per
/// minimum age. An entry whose deletion keeps failing is dropped, with an error log line
/// naming the user, once it is the maximum age past due. Errors are reported, one line
/// each, after every entry was tried.
pub(crate) async fn sweep_ledger(state: &AwsBackend, ctx: &Context) -> Result<(), Error> {
    let now = ctx.now();
    if !state.sweep_due(now) {
        return Ok(());
    }
    let timings = state.timings();
    let before = now
        .checked_sub(timings.min_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut errors = Vec::new();
    for username in state.ledger().due(ctx.storage(), before).await? {
        if let Err(e) = delete_issued_user(state, ctx, &username, true).await {
            errors.push(format!("deleting expired IAM user {username:?}: {e}"));
            give_up_if_too_old(state, ctx, &username, now, timings).await?;
            continue;
        }
        tracing::warn!(
            user = %username,
            "deleted an IAM user whose lease ended without revoking it"
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(format_errors(&errors)))
    }
}

async fn give_up_if_too_old(
    state: &AwsBackend,
    ctx: &Context,
    username: &str,
    now: SystemTime,
    timings: Timings,
) -> Result<(), Error> {
    let Some(horizon) = ledger::get(ctx.storage(), username)
        .await?
        .and_then(|e| e.horizon_time())
    else {
        return Ok(());
    };
    let due = horizon + timings.min_age;
    if now.duration_since(due).unwrap_or_default() <= timings.max_age {
        return Ok(());
    }
    tracing::error!(
        user = %username,
        "giving up deleting an IAM user whose lease ended long ago; delete it by hand"
    );
    state.ledger().forget(ctx.storage(), username).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_wal_user_is_read_as_go_writes_it_or_in_any_case() {
        assert_eq!(
            wal_username(&json!({"UserName": "vault-a"})).as_deref(),
            Some("vault-a")
        );
        assert_eq!(
            wal_username(&json!({"username": "vault-b"})).as_deref(),
            Some("vault-b")
        );
        assert_eq!(wal_username(&json!({"UserName": ""})), None);
        assert_eq!(wal_username(&json!(null)), None);
        assert_eq!(wal_username(&json!({"UserName": 5})), None);
    }
}
