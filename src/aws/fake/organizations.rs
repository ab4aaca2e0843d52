//! \[engine, test support\] A recording fake of AWS Organizations: the accounts a test
//! sets (with their status), answered ACTIVE-only as the SDK function does, and a count
//! of ListAccounts calls, so tests see the per-mount cache at work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::aws::api::OrganizationsApi;
use crate::aws::error::Error;

/// The fake organization.
#[derive(Debug, Default)]
pub struct FakeOrganizations {
    accounts: Mutex<Vec<(String, bool)>>,
    calls: AtomicUsize,
}

impl FakeOrganizations {
    /// An organization without accounts.
    pub fn new() -> Arc<Self> {
        Arc::new(FakeOrganizations::default())
    }

    /// Replaces the accounts: (ID, whether ACTIVE).
    pub fn set_accounts(&self, accounts: &[(&str, bool)]) {
        *self.accounts.lock().unwrap_or_else(PoisonError::into_inner) = accounts
            .iter()
            .map(|(id, active)| (id.to_string(), *active))
            .collect();
    }

    /// How many ListAccounts calls were made.
    pub fn list_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl OrganizationsApi for FakeOrganizations {
    async fn list_active_accounts(&self) -> Result<Vec<String>, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(accounts
            .iter()
            .filter(|(_, active)| *active)
            .map(|(id, _)| id.clone())
            .collect())
    }
}
