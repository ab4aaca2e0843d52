//! \[engine\] Deleting an IAM user and everything attached to it: the one routine behind
//! lease revocation, lease expiry, the WAL rollback of a half-made user and the ledger
//! sweep (Vault's `pathUserRollback`, made complete).
//!
//! AWS refuses DeleteUser (`DeleteConflict`) while anything hangs off the user, and a
//! holder can attach more than the engine did (a console password, an MFA device, SSH
//! keys, signing certificates, service-specific credentials), which is how Vault leaks
//! users (GH-16685). So the deletion runs in up to two passes:
//!
//! 1. What the engine itself attached, with exactly the calls (and so the IAM permissions)
//!    Vault's engine uses: ListGroupsForUser (which also tells whether the user exists),
//!    ListUserPolicies, ListAttachedUserPolicies and ListAccessKeys, every page; their
//!    removal; DeleteUser. A mount switched over from the Go engine keeps working with
//!    the policy Vault documents.
//! 2. Only if DeleteUser answers `DeleteConflict`: everything else a user can hold — login
//!    profile, MFA devices (deactivated; virtual ones deleted), SSH keys, signing
//!    certificates, service-specific credentials — and the first pass's kinds again (a
//!    holder may have added keys or policies meanwhile); then DeleteUser once more. A
//!    missing permission for one of these calls is AWS's AccessDenied, naming the action.
//!
//! Lists run together, removals up to [`MAX_PARALLEL`] at a time.
//!
//! Idempotent: a part that is already gone (`NoSuchEntity`) is success, so a retry resumes
//! where the last attempt stopped. A user that does not exist at all counts as deleted only
//! when the caller says the guard is old enough: IAM is eventually consistent, and a user
//! created a moment ago may not be visible yet (Vault's rule, GH-5202). Otherwise it is an
//! error that stays retryable. This module never decides what to answer the host; it
//! reports [`Outcome`] or [`DeleteError`].

use futures::stream::{self, StreamExt};

use super::api::IamApi;
use super::error::Error as AwsError;

/// Most IAM calls one deletion has in flight at once.
pub const MAX_PARALLEL: usize = 8;

/// What a deletion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user existed and is deleted, with this many parts removed first.
    Deleted {
        /// Parts removed (keys, policies, memberships, …; the login profile counts when
        /// there was one).
        parts: usize,
    },
    /// The user did not exist.
    AlreadyGone,
}

/// Why a deletion did not finish; every variant is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The user is not there, but its guard is too young to trust that.
    #[error(
        "IAM user {0:?} does not exist yet or any more; it is younger than the minimum age \
         (IAM is eventually consistent), so it is not counted as deleted: retry later"
    )]
    NotYetVisible(String),
}

/// One thing hanging off a user.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    AccessKey(String),
    LoginProfile,
    MfaDevice(String),
    SshPublicKey(String),
    SigningCertificate(String),
    ServiceSpecificCredential(String),
    InlinePolicy(String),
    ManagedPolicy(String),
    Group(String),
}

/// Deletes `user` and everything attached to it; see the module comment.
/// `missing_is_gone` says whether a user that does not exist counts as deleted.
pub async fn delete_user(
    iam: &dyn IamApi,
    user: &str,
    missing_is_gone: bool,
) -> Result<Outcome, DeleteError> {
    let missing = || {
        if missing_is_gone {
            Ok(Outcome::AlreadyGone)
        } else {
            Err(DeleteError::NotYetVisible(user.to_string()))
        }
    };
    // The existence probe Vault uses (it needs no permission beyond Vault's policy).
    let groups = match iam.list_groups_for_user(user).await {
        Ok(groups) => groups,
        Err(e) if e.is_not_found() => return missing(),
        Err(e) => return Err(e.into()),
    };
    let mut parts = engine_parts(iam, user).await?;
    parts.extend(groups.into_iter().map(Part::Group));
    let mut removed = remove_parts(iam, user, parts).await?;
    match iam.delete_user(user).await {
        Ok(()) => {}
        // Seen a moment ago, gone now: someone (another node's revoke, an operator) was
        // quicker. For a young guard that could also be a lagging replica: not trusted.
        Err(e) if e.is_not_found() => {
            return missing().map(|_| Outcome::Deleted { parts: removed });
        }
        Err(e) if e.code() == Some(DELETE_CONFLICT) => {
            let (more, unlisted) = remove_everything(iam, user).await?;
            removed += more;
            match iam.delete_user(user).await {
                Err(e) if e.is_not_found() => {
                    return missing().map(|_| Outcome::Deleted { parts: removed });
                }
                // Still attached: what could not be listed is the likely reason, and its
                // error names the permission or the failure to fix.
                Err(e) if e.code() == Some(DELETE_CONFLICT) => {
                    return Err(unlisted.unwrap_or(e).into());
                }
                other => other?,
            }
        }
        Err(e) => return Err(e.into()),
    }
    tracing::debug!(user, parts = removed, "deleted IAM user");
    Ok(Outcome::Deleted { parts: removed })
}

/// AWS's code for "the entity still has things attached".
const DELETE_CONFLICT: &str = "DeleteConflict";

/// The kinds the engine attaches itself (groups aside, which the probe listed): inline
/// and managed policies and access keys, listed together. A list answered `NoSuchEntity`
/// (the user vanished meanwhile) is empty.
async fn engine_parts(iam: &dyn IamApi, user: &str) -> Result<Vec<Part>, AwsError> {
    let (inline, managed, keys) = tokio::join!(
        iam.list_user_policies(user),
        iam.list_attached_user_policies(user),
        iam.list_access_keys(user),
    );
    let mut parts = Vec::new();
    parts.extend(listed(inline)?.into_iter().map(Part::InlinePolicy));
    parts.extend(listed(managed)?.into_iter().map(Part::ManagedPolicy));
    parts.extend(listed(keys)?.into_iter().map(Part::AccessKey));
    Ok(parts)
}

/// The second pass: every kind of part, listed together, then removed. Service-specific
/// credentials are the exception to "every list must succeed": some IAM-compatible
/// endpoints (moto) lack the call, and skipping it cannot lose a user, because DeleteUser
/// refuses while any exist. Their listing's failure is returned beside the count.
async fn remove_everything(
    iam: &dyn IamApi,
    user: &str,
) -> Result<(usize, Option<AwsError>), AwsError> {
    let (engine, groups, mfa, ssh, certs, service) = tokio::join!(
        engine_parts(iam, user),
        iam.list_groups_for_user(user),
        iam.list_mfa_devices(user),
        iam.list_ssh_public_keys(user),
        iam.list_signing_certificates(user),
        iam.list_service_specific_credentials(user),
    );
    let mut parts = engine?;
    parts.push(Part::LoginProfile);
    parts.extend(listed(groups)?.into_iter().map(Part::Group));
    parts.extend(listed(mfa)?.into_iter().map(Part::MfaDevice));
    parts.extend(listed(ssh)?.into_iter().map(Part::SshPublicKey));
    parts.extend(listed(certs)?.into_iter().map(Part::SigningCertificate));
    let unlisted = match listed(service) {
        Ok(ids) => {
            parts.extend(ids.into_iter().map(Part::ServiceSpecificCredential));
            None
        }
        Err(e) => Some(e),
    };
    Ok((remove_parts(iam, user, parts).await?, unlisted))
}

fn listed(result: Result<Vec<String>, AwsError>) -> Result<Vec<String>, AwsError> {
    match result {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        other => other,
    }
}

/// Removes every part, [`MAX_PARALLEL`] at a time; a part already gone is removed. Every
/// part is tried even after a failure, so that a retry has less to do; the first failure
/// is returned. Counts what was removed (the login profile only when there was one).
async fn remove_parts(iam: &dyn IamApi, user: &str, parts: Vec<Part>) -> Result<usize, AwsError> {
    let results: Vec<Result<bool, AwsError>> = stream::iter(parts)
        .map(|part| remove(iam, user, part))
        .buffer_unordered(MAX_PARALLEL)
        .collect()
        .await;
    let mut removed = 0;
    for result in results {
        if result? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes one part; `Ok(false)` when it was already gone.
async fn remove(iam: &dyn IamApi, user: &str, part: Part) -> Result<bool, AwsError> {
    let result = match &part {
        Part::AccessKey(id) => iam.delete_access_key(Some(user), id).await,
        Part::LoginProfile => iam.delete_login_profile(user).await,
        Part::MfaDevice(serial) => remove_mfa_device(iam, user, serial).await,
        Part::SshPublicKey(id) => iam.delete_ssh_public_key(user, id).await,
        Part::SigningCertificate(id) => iam.delete_signing_certificate(user, id).await,
        Part::ServiceSpecificCredential(id) => {
            iam.delete_service_specific_credential(user, id).await
        }
        Part::InlinePolicy(name) => iam.delete_user_policy(user, name).await,
        Part::ManagedPolicy(arn) => iam.detach_user_policy(user, arn).await,
        Part::Group(group) => iam.remove_user_from_group(user, group).await,
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deactivates the device; a virtual one (its serial is an ARN) is then deleted too, since
/// it would otherwise stay behind in the account, unassigned. A hardware device belongs to
/// someone: only detached.
async fn remove_mfa_device(iam: &dyn IamApi, user: &str, serial: &str) -> Result<(), AwsError> {
    match iam.deactivate_mfa_device(user, serial).await {
        Err(e) if !e.is_not_found() => return Err(e),
        _ => {}
    }
    if is_virtual_mfa(serial) {
        match iam.delete_virtual_mfa_device(serial).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Virtual MFA devices have ARN serials (`arn:aws:iam::<account>:mfa/<name>`); hardware
/// and U2F devices have plain serials or other ARN kinds (`…:u2f/…`).
fn is_virtual_mfa(serial: &str) -> bool {
    serial.starts_with("arn:") && serial.contains(":mfa/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mfa_arns_are_virtual_devices() {
        assert!(is_virtual_mfa("arn:aws:iam::123456789012:mfa/jane"));
        assert!(is_virtual_mfa(
            "arn:aws-us-gov:iam::123456789012:mfa/path/jane"
        ));
        assert!(!is_virtual_mfa("GAHT12345678"));
        assert!(!is_virtual_mfa(
            "arn:aws:iam::123456789012:u2f/user/jane/key-ABC"
        ));
    }
}
