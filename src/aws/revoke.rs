//! \[engine\] Deleting an IAM user and everything attached to it: the one routine behind
//! lease revocation, lease expiry, the WAL rollback of a half-made user and the ledger
//! sweep (Vault's `pathUserRollback`, made complete).
//!
//! AWS refuses DeleteUser (`DeleteConflict`) while anything hangs off the user, and a
//! holder can attach more than the engine did (a console password, an MFA device, SSH
//! keys, signing certificates, service-specific credentials), which is how Vault leaks
//! users (GH-16685). So every kind is listed, every page, and removed: access keys, login
//! profile, MFA devices (deactivated; virtual ones deleted), SSH keys, signing
//! certificates, service-specific credentials, inline policies, managed policies, group
//! memberships; then the user. Lists run together, removals up to [`MAX_PARALLEL`] at a
//! time; DeleteUser comes last. Service-specific credentials (CodeCommit, Keyspaces) are
//! rare, so they are looked for only when DeleteUser answers `DeleteConflict`: that saves
//! a call on every revoke, and some IAM-compatible endpoints (moto) lack the call.
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
    match iam.get_user(Some(user)).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() && missing_is_gone => return Ok(Outcome::AlreadyGone),
        Err(e) if e.is_not_found() => return Err(DeleteError::NotYetVisible(user.to_string())),
        Err(e) => return Err(e.into()),
    }
    let parts = list_parts(iam, user).await?;
    let mut removed = remove_parts(iam, user, parts).await?;
    if let Err(e) = finish(iam, user).await {
        if e.code() != Some(DELETE_CONFLICT) {
            return Err(e.into());
        }
        // Something is still attached: the rare kinds, or a part a holder added meanwhile.
        // One more pass over everything, then the last word is AWS's.
        let parts = list_parts(iam, user).await?;
        let rare = listed(iam.list_service_specific_credentials(user).await)?;
        let parts = parts
            .into_iter()
            .chain(rare.into_iter().map(Part::ServiceSpecificCredential))
            .collect();
        removed += remove_parts(iam, user, parts).await?;
        finish(iam, user).await?;
    }
    tracing::debug!(user, parts = removed, "deleted IAM user");
    Ok(Outcome::Deleted { parts: removed })
}

/// AWS's code for "the entity still has things attached".
const DELETE_CONFLICT: &str = "DeleteConflict";

/// DeleteUser; a user already gone counts, since someone (another node's revoke, an
/// operator) was quicker and the goal is reached.
async fn finish(iam: &dyn IamApi, user: &str) -> Result<(), AwsError> {
    match iam.delete_user(user).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// Everything hanging off `user` but service-specific credentials, every list call at
/// once. A list answered `NoSuchEntity` (the user vanished meanwhile) is empty.
async fn list_parts(iam: &dyn IamApi, user: &str) -> Result<Vec<Part>, AwsError> {
    let (keys, mfa, ssh, certs, inline, managed, groups) = tokio::join!(
        iam.list_access_keys(user),
        iam.list_mfa_devices(user),
        iam.list_ssh_public_keys(user),
        iam.list_signing_certificates(user),
        iam.list_user_policies(user),
        iam.list_attached_user_policies(user),
        iam.list_groups_for_user(user),
    );
    let mut parts = vec![Part::LoginProfile];
    parts.extend(listed(keys)?.into_iter().map(Part::AccessKey));
    parts.extend(listed(mfa)?.into_iter().map(Part::MfaDevice));
    parts.extend(listed(ssh)?.into_iter().map(Part::SshPublicKey));
    parts.extend(listed(certs)?.into_iter().map(Part::SigningCertificate));
    parts.extend(listed(inline)?.into_iter().map(Part::InlinePolicy));
    parts.extend(listed(managed)?.into_iter().map(Part::ManagedPolicy));
    parts.extend(listed(groups)?.into_iter().map(Part::Group));
    Ok(parts)
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
