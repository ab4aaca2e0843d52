//! \[engine\] The accounts of an account-set role (`role_arn_template`): its
//! `allowed_accounts`, or with `organization_accounts` the ACTIVE accounts of the AWS
//! organization (all of them for `*`, else those of `allowed_accounts` that are
//! active). Backs both the `account` check of `sts/<name>` and the
//! `roles/<name>/accounts` list. The rules themselves are `role::accounts`'.
//!
//! The organization's list is cached per mount for [`ORG_ACCOUNTS_TTL`] (on the
//! engine's clock) and dropped when `config/root` changes, so issuance does not make an
//! Organizations call each time; an account added to or suspended in the organization
//! is seen within five minutes. Two requests that find the cache empty at once may both
//! list: harmless, and simpler than holding a lock across the call.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::backend::AwsBackend;
use super::role::Role;
use super::sts::Step;
use crate::framework::Context;

/// How long the organization's account list is reused.
pub const ORG_ACCOUNTS_TTL: Duration = Duration::from_secs(300);

/// The mount's cached organization account list, with when it was fetched.
#[derive(Debug, Default)]
pub(crate) struct OrgAccountsCache {
    entry: Mutex<Option<(SystemTime, Vec<String>)>>,
}

impl OrgAccountsCache {
    /// The cached list, if younger than the TTL at `now`.
    fn fresh(&self, now: SystemTime) -> Option<Vec<String>> {
        let entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        entry.as_ref().and_then(|(at, accounts)| {
            let age = now.duration_since(*at).unwrap_or(Duration::ZERO);
            (age < ORG_ACCOUNTS_TTL).then(|| accounts.clone())
        })
    }

    fn put(&self, now: SystemTime, accounts: Vec<String>) {
        *self.entry.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, accounts));
    }

    /// Forgets the list (config/root changed).
    pub(crate) fn clear(&self) {
        *self.entry.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The accounts `role` allows, sorted and deduplicated.
pub(crate) async fn resolve(state: &AwsBackend, ctx: &Context, role: &Role) -> Step<Vec<String>> {
    let mut accounts = if role.organization_accounts {
        let active = organization(state, ctx).await?;
        if role.allowed_accounts.iter().any(|a| a == "*") {
            active
        } else {
            role.allowed_accounts
                .iter()
                .filter(|a| active.contains(a))
                .cloned()
                .collect()
        }
    } else {
        role.allowed_accounts.clone()
    };
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}

/// The organization's ACTIVE accounts, from the cache or ListAccounts.
async fn organization(state: &AwsBackend, ctx: &Context) -> Step<Vec<String>> {
    let now = ctx.now();
    if let Some(accounts) = state.org_accounts().fresh(now) {
        return Ok(accounts);
    }
    let api = state.organizations(ctx.storage()).await?;
    let accounts = api.list_active_accounts().await?;
    state.org_accounts().put(now, accounts.clone());
    Ok(accounts)
}
