//! \[engine\] Issuing `iam_user` credentials (Vault's `secretAccessKeysCreate`), once
//! `path_creds` has decided the role: generate the user name from `username_template`,
//! write the WAL entry *before* any AWS call, then the named steps — create the user
//! (path, permissions boundary), attach the managed policies, put the inline policy (named
//! after the role), add the groups, tag the user, create the access key — record the user
//! in the ledger, optionally wait until AWS accepts the key, answer with a renewable
//! `access_keys` lease, and commit the WAL entry a moment after answering (`handover`).
//!
//! Failure rules: if AWS refused CreateUser (an answer that says it did nothing: access
//! denied, invalid input, a name already taken, throttling) the WAL entry is deleted at
//! once, as in Vault. If CreateUser's outcome is unknown (no answer, a 5xx), the entry
//! stays: AWS may have made the user, and the rollback deletes it if so (Vault deletes the
//! entry and leaks that user). Any later failure returns AWS's error (a 400 naming the
//! step, or a coded 502 for throttling) and leaves the entry too. Nothing here deletes a
//! user itself.

use std::time::Duration;

use tokio::time::Instant;

use serde_json::{Value, json};

use super::api::{CreateUserInput, IamAccessKey, IamApi};
use super::backend::AwsBackend;
use super::error::Error as AwsError;
use super::lease_data::LeaseData;
use super::ledger::LedgerEntry;
use super::role::Role;
use super::secret_access_keys;
use super::storage::WAL_KIND_USER;
use super::sts::{Step, generate_name};
use super::username::UsernameMetadata;
use crate::framework::Context;
use crate::logical::{Error, JsonMap, Response};

/// Key of the user name in the WAL entry's data: Go's struct field name (`walUser`).
pub const WAL_USERNAME_KEY: &str = "UserName";

/// First pause between readiness probes; doubled after each miss up to
/// [`PROBE_MAX_INTERVAL`].
const PROBE_FIRST_INTERVAL: Duration = Duration::from_millis(250);
const PROBE_MAX_INTERVAL: Duration = Duration::from_secs(2);

/// What the request and the role decided.
pub(crate) struct IamUserIssue<'a> {
    /// The Vault role's name (the inline policy is named after it).
    pub(crate) role_name: &'a str,
    /// The Vault role.
    pub(crate) role: &'a Role,
    /// The requesting token's display name.
    pub(crate) display_name: &'a str,
}

/// Issues the credentials; see the module comment.
pub(crate) async fn issue(
    state: &AwsBackend,
    ctx: &Context,
    issue: &IamUserIssue<'_>,
) -> Step<Response> {
    let username = generate_name(
        state,
        ctx,
        &UsernameMetadata::iam(issue.display_name, issue.role_name),
    )
    .await?;
    let iam = state.iam(ctx.storage()).await?;
    let wal_id = ctx
        .put_wal(WAL_KIND_USER, &json!({ WAL_USERNAME_KEY: username }))
        .await
        .map_err(|e| Error::Internal(format!("error writing WAL entry: {e}")))?;
    if let Err(e) = create_user(iam.as_ref(), &username, issue.role).await {
        if refused(&e) {
            // AWS made no user, so nothing needs rolling back.
            ctx.delete_wal(&wal_id).await.map_err(|w| {
                Error::Internal(format!("failed to delete WAL entry: {w} (after: {e})"))
            })?;
        }
        return Err(e.into());
    }
    let key = complete_user(iam.as_ref(), &username, issue).await?;
    let warning = if issue.role.wait_for_propagation {
        wait_until_accepted(state, ctx, &key).await
    } else {
        None
    };
    // The lease starts when the host gets the answer, so its horizon counts from now.
    let now = ctx.now();
    let (ttl, max_ttl) = secret_access_keys::iam_user_lease(state, ctx, issue.role).await?;
    let horizon = secret_access_keys::horizon(ctx, now, max_ttl).await?;
    // Recorded before answering: from here on, a lost answer is the ledger's to clean up.
    let entry = LedgerEntry::new(now, horizon);
    state
        .ledger()
        .record(ctx.storage(), &username, &entry)
        .await?;
    state.handover().schedule(ctx.storage_arc(), wal_id).await;
    let mut resp = respond(&key, username, issue.role, ttl, max_ttl)?;
    if let Some(warning) = warning {
        resp.add_warning(warning);
    }
    Ok(resp)
}

/// Attempts at CreateUser while AWS throttles it (the SDK does not retry this call).
const CREATE_USER_ATTEMPTS: u32 = 3;

/// CreateUser under the role's path and permissions boundary, retried (with backoff)
/// only while AWS throttles it: a throttled call did nothing, so a retry cannot meet a
/// user of its own making.
async fn create_user(iam: &dyn IamApi, username: &str, role: &Role) -> Result<(), AwsError> {
    let input = CreateUserInput {
        user_name: username.to_string(),
        path: role.effective_user_path().to_string(),
        permissions_boundary: non_empty(&role.permissions_boundary_arn),
    };
    let mut attempt = 1;
    loop {
        match iam.create_user(&input).await {
            Err(e) if e.is_throttled() && attempt < CREATE_USER_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether AWS's answer says it did nothing: a refusal, a missing entity or throttling.
/// Anything else (no answer, a 5xx, an unreadable answer) leaves the outcome open.
fn refused(e: &AwsError) -> bool {
    matches!(
        e,
        AwsError::Rejected(_) | AwsError::NotFound(_) | AwsError::Throttled(_)
    )
}

/// Every step after CreateUser, in Vault's order, ending with the access key.
async fn complete_user(
    iam: &dyn IamApi,
    username: &str,
    issue: &IamUserIssue<'_>,
) -> Result<IamAccessKey, AwsError> {
    let role = issue.role;
    // One call after the other, as Vault: the first refusal names the step that failed.
    for arn in &role.policy_arns {
        iam.attach_user_policy(username, arn).await?;
    }
    if !role.policy_document.is_empty() {
        iam.put_user_policy(username, issue.role_name, &role.policy_document)
            .await?;
    }
    for group in &role.iam_groups {
        iam.add_user_to_group(username, group).await?;
    }
    if !role.iam_tags.is_empty() {
        iam.tag_user(username, &role.iam_tags).await?;
    }
    iam.create_access_key(Some(username)).await
}

/// Probes STS with the new key until AWS accepts it or the timeout passes (IAM is
/// eventually consistent: a fresh key is often refused for a few seconds). Any failure
/// counts as "not yet". On timeout the credentials are still returned, with a warning;
/// so they are when no probe can be made at all. Time is tokio's, so tests can pause it.
async fn wait_until_accepted(
    state: &AwsBackend,
    ctx: &Context,
    key: &IamAccessKey,
) -> Option<String> {
    let sts = match state.sts_for_key(ctx.storage(), key).await {
        Ok(sts) => sts,
        Err(e) => {
            return Some(format!(
                "could not check that AWS accepts the new access key: {e}"
            ));
        }
    };
    // Well within the minimum age, so that the WAL rollback cannot take the user of an
    // issuance that is still waiting here.
    let timings = state.timings();
    let timeout = timings.propagation_timeout.min(timings.min_age / 2);
    let started = Instant::now();
    let mut pause = PROBE_FIRST_INTERVAL;
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        // Each probe is bounded too: one SDK attempt alone may take far longer.
        let probe = tokio::time::timeout(left, sts.get_caller_identity()).await;
        let last = match probe {
            Err(_) => "no answer in time".to_string(),
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => {
                tracing::debug!(
                    ready_after_ms = started.elapsed().as_millis() as u64,
                    "new IAM access key accepted by AWS"
                );
                return None;
            }
        };
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Some(format!(
                "AWS did not accept the new access key within {}s (last answer: {last}); \
                 it may take a few more seconds before it works",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(PROBE_MAX_INTERVAL);
    }
}

/// The answer: the key (no session token, under both names as in Vault), and a renewable
/// lease keeping the user name and the whole role entry, the Go engine's lease data.
fn respond(
    key: &IamAccessKey,
    username: String,
    role: &Role,
    ttl: Duration,
    max_ttl: Duration,
) -> Result<Response, Error> {
    let mut data = JsonMap::new();
    data.insert("access_key".into(), json!(key.access_key_id));
    data.insert("secret_key".into(), json!(key.secret_access_key));
    data.insert("session_token".into(), Value::Null);
    data.insert("security_token".into(), Value::Null);
    let lease = LeaseData::iam_user(
        username,
        serde_json::to_value(role).map_err(Error::internal)?,
    );
    Ok(secret_access_keys::iam_user_response(
        data, &lease, ttl, max_ttl,
    ))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}
