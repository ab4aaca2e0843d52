//! \[engine\] Test support: recording fakes of [`StsApi`] and [`IamApi`] and a
//! [`FakeClientFactory`] handing them out, so engine tests drive the whole backend (as
//! Vault's do) and then assert the exact inputs each AWS call received, script failures
//! (throttling, access denied, unreachable endpoints, missing groups), and count how
//! often clients were built.
//!
//! Always compiled (it has no test-only dependencies) so integration tests can mount the
//! engine with it through `aws::factory_with`; never used by the plugin at runtime.
//! The STS fake lives in `sts`, the IAM fake (a small model of an IAM account that
//! enforces what AWS enforces on DeleteUser) in `iam`.

mod iam;
mod organizations;
mod sts;

pub use iam::{CALLER, FakeIam, FakeUser, IamCall};
pub use organizations::FakeOrganizations;
pub use sts::{FakeSts, StsCall};

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::api::{IamApi, OrganizationsApi, StsApi};
use super::clients::ClientFactory;
use super::error::{AwsOperation, Error, ServiceFailure};
use super::root_config::RootConfig;
use crate::logical;

/// Account of the fake caller and of ARNs the fakes make up.
pub const FAKE_ACCOUNT: &str = "123456789012";

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// AWS throttling `op` (`Throttling`, HTTP 400 as STS answers it).
pub fn throttling(op: AwsOperation) -> Error {
    Error::Throttled(
        ServiceFailure::new(op, 400, "Throttling", "Rate exceeded")
            .with_request_id("fake-request-id"),
    )
}

/// AWS refusing `op` for lack of permission.
pub fn access_denied(op: AwsOperation) -> Error {
    Error::Rejected(
        ServiceFailure::new(
            op,
            403,
            "AccessDenied",
            "User is not authorized to perform this action",
        )
        .with_request_id("fake-request-id"),
    )
}

/// IAM answering that the entity `what` of `op` does not exist (`NoSuchEntity`, 404).
pub fn no_such_entity(op: AwsOperation, what: &str) -> Error {
    Error::NotFound(ServiceFailure::new(
        op,
        404,
        "NoSuchEntity",
        &format!("The {what} cannot be found."),
    ))
}

/// An endpoint that could not be reached for `op`.
pub fn unreachable(op: AwsOperation) -> Error {
    Error::Unreachable {
        operation: op,
        detail: "dispatch failure: io error: connection refused".to_string(),
    }
}

/// Failures queued per operation; each call of that operation takes the next one.
#[derive(Default)]
pub(crate) struct Script(Mutex<HashMap<AwsOperation, VecDeque<Error>>>);

impl Script {
    pub(crate) fn push(&self, op: AwsOperation, err: Error) {
        lock(&self.0).entry(op).or_default().push_back(err);
    }

    pub(crate) fn next(&self, op: AwsOperation) -> Result<(), Error> {
        match lock(&self.0).get_mut(&op).and_then(VecDeque::pop_front) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

type BuildHook = Arc<dyn Fn() + Send + Sync>;

/// A [`ClientFactory`] handing out one [`FakeSts`] and one [`FakeIam`], counting builds
/// and remembering the configuration of the last one.
pub struct FakeClientFactory {
    sts: Arc<FakeSts>,
    iam: Arc<FakeIam>,
    organizations: Arc<FakeOrganizations>,
    sts_builds: AtomicUsize,
    iam_builds: AtomicUsize,
    last_config: Mutex<Option<RootConfig>>,
    on_build: Mutex<Option<BuildHook>>,
}

impl FakeClientFactory {
    /// A factory with fresh fakes.
    pub fn new() -> Arc<Self> {
        Arc::new(FakeClientFactory {
            sts: FakeSts::new(),
            iam: FakeIam::new(),
            organizations: FakeOrganizations::new(),
            sts_builds: AtomicUsize::new(0),
            iam_builds: AtomicUsize::new(0),
            last_config: Mutex::new(None),
            on_build: Mutex::new(None),
        })
    }

    /// The Organizations fake every build returns.
    pub fn fake_organizations(&self) -> &Arc<FakeOrganizations> {
        &self.organizations
    }

    /// The STS fake every build returns.
    pub fn fake_sts(&self) -> &Arc<FakeSts> {
        &self.sts
    }

    /// The IAM fake every build returns.
    pub fn fake_iam(&self) -> &Arc<FakeIam> {
        &self.iam
    }

    /// How many STS clients were built.
    pub fn sts_builds(&self) -> usize {
        self.sts_builds.load(Ordering::SeqCst)
    }

    /// How many IAM clients were built.
    pub fn iam_builds(&self) -> usize {
        self.iam_builds.load(Ordering::SeqCst)
    }

    /// The configuration the last build was given.
    pub fn last_config(&self) -> Option<RootConfig> {
        lock(&self.last_config).clone()
    }

    /// Runs `hook` in the middle of every build (to stage races).
    pub fn on_build(&self, hook: impl Fn() + Send + Sync + 'static) {
        *lock(&self.on_build) = Some(Arc::new(hook));
    }

    fn built(&self, config: &RootConfig) {
        *lock(&self.last_config) = Some(config.clone());
        let hook = lock(&self.on_build).clone();
        if let Some(hook) = hook {
            hook();
        }
    }
}

#[async_trait]
impl ClientFactory for FakeClientFactory {
    async fn iam(&self, config: &RootConfig) -> Result<Arc<dyn IamApi>, logical::Error> {
        self.iam_builds.fetch_add(1, Ordering::SeqCst);
        self.built(config);
        Ok(Arc::clone(&self.iam) as Arc<dyn IamApi>)
    }

    async fn sts(&self, config: &RootConfig) -> Result<Arc<dyn StsApi>, logical::Error> {
        self.sts_builds.fetch_add(1, Ordering::SeqCst);
        self.built(config);
        Ok(Arc::clone(&self.sts) as Arc<dyn StsApi>)
    }

    async fn organizations(
        &self,
        config: &RootConfig,
    ) -> Result<Arc<dyn OrganizationsApi>, logical::Error> {
        self.built(config);
        Ok(Arc::clone(&self.organizations) as Arc<dyn OrganizationsApi>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::AssumeRoleInput;
    use std::time::{Duration, SystemTime};

    #[tokio::test]
    async fn sts_fake_records_inputs_and_replays_failures() {
        let sts = FakeSts::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        sts.set_now(now);
        sts.fail_next(
            AwsOperation::AssumeRole,
            throttling(AwsOperation::AssumeRole),
        );
        let input = AssumeRoleInput {
            role_arn: "arn:aws:iam::111122223333:role/team/ec2-admin".into(),
            role_session_name: "vault-token-ec2-admin".into(),
            duration: Some(Duration::from_secs(900)),
            ..Default::default()
        };
        let err = sts.assume_role(input.clone()).await.expect_err("scripted");
        assert!(err.is_throttled());
        let out = sts.assume_role(input.clone()).await.expect("then succeeds");
        assert_eq!(
            out.arn,
            "arn:aws:sts::111122223333:assumed-role/ec2-admin/vault-token-ec2-admin"
        );
        assert_eq!(out.credentials.expiration, now + Duration::from_secs(900));
        assert_eq!(sts.assume_role_inputs(), vec![input.clone(), input]);
    }

    #[tokio::test]
    async fn iam_fake_answers_no_such_entity_for_unknown_groups() {
        let iam = FakeIam::new();
        iam.put_group_policy("dev", "s3", r#"{"Statement":[]}"#);
        iam.attach_group_policy("dev", "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert_eq!(
            iam.list_group_policies("dev").await.expect("list"),
            vec!["s3"]
        );
        assert_eq!(
            iam.list_attached_group_policies("dev").await.expect("list")[0].name,
            "ReadOnlyAccess"
        );
        let err = iam.list_group_policies("ops").await.expect_err("unknown");
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(
            iam.calls(),
            vec![
                IamCall::ListGroupPolicies("dev".into()),
                IamCall::ListAttachedGroupPolicies("dev".into()),
                IamCall::ListGroupPolicies("ops".into()),
            ]
        );
    }
}
