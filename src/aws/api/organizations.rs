//! \[engine\] The AWS Organizations call over `aws_sdk_organizations`: one thin function
//! (ListAccounts, every page, ACTIVE accounts only) and [`SdkOrganizations`], the
//! [`OrganizationsApi`] of the organization the root credentials belong to.

use async_trait::async_trait;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::AccountStatus;

use super::OrganizationsApi;
use crate::aws::error::{AwsOperation, Error, classify};

/// The [`OrganizationsApi`] of one endpoint.
#[derive(Debug, Clone)]
pub struct SdkOrganizations {
    client: Client,
}

impl SdkOrganizations {
    /// Calls go through `client`.
    pub fn new(client: Client) -> Self {
        SdkOrganizations { client }
    }
}

#[async_trait]
impl OrganizationsApi for SdkOrganizations {
    async fn list_active_accounts(&self) -> Result<Vec<String>, Error> {
        list_active_accounts(&self.client).await
    }
}

/// Organizations ListAccounts, all pages; accounts that are not ACTIVE (suspended,
/// pending closure) are left out.
pub(crate) async fn list_active_accounts(client: &Client) -> Result<Vec<String>, Error> {
    let op = AwsOperation::ListAccounts;
    let mut pages = client.list_accounts().into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(op, e))?;
        for account in page.accounts() {
            if account.status() == Some(&AccountStatus::Active)
                && let Some(id) = account.id()
            {
                ids.push(id.to_string());
            }
        }
    }
    Ok(ids)
}
