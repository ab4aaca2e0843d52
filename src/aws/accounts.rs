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
    entry: Mutex<OrgEntry>,
}

/// The list with when it was fetched, and a generation bumped by every [`clear`]
/// (`OrgAccountsCache::clear`), so that a listing still in flight when config/root
/// changed is returned but not kept.
#[derive(Debug, Default)]
struct OrgEntry {
    list: Option<(SystemTime, Vec<String>)>,
    generation: u64,
}

impl OrgAccountsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, OrgEntry> {
        self.entry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached list if younger than the TTL at `now`, else the generation a fetch
    /// must hand back to [`OrgAccountsCache::put`].
    fn fresh(&self, now: SystemTime) -> Result<Vec<String>, u64> {
        let entry = self.lock();
        entry
            .list
            .as_ref()
            .and_then(|(at, accounts)| {
                let age = now.duration_since(*at).unwrap_or(Duration::ZERO);
                (age < ORG_ACCOUNTS_TTL).then(|| accounts.clone())
            })
            .ok_or(entry.generation)
    }

    /// Keeps `accounts` unless the cache was cleared since the fetch began.
    fn put(&self, generation: u64, now: SystemTime, accounts: Vec<String>) {
        let mut entry = self.lock();
        if entry.generation == generation {
            entry.list = Some((now, accounts));
        }
    }

    /// Forgets the list (config/root changed).
    pub(crate) fn clear(&self) {
        let mut entry = self.lock();
        entry.generation = entry.generation.wrapping_add(1);
        entry.list = None;
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
    let generation = match state.org_accounts().fresh(now) {
        Ok(accounts) => return Ok(accounts),
        Err(generation) => generation,
    };
    let api = state.organizations(ctx.storage()).await?;
    let accounts = api.list_active_accounts().await?;
    state.org_accounts().put(generation, now, accounts.clone());
    Ok(accounts)
}
