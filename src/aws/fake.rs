//! \[engine\] Test support: recording fakes of [`StsApi`] and [`IamApi`] and a
//! [`FakeClientFactory`] handing them out, so engine tests drive the whole backend (as
//! Vault's do) and then assert the exact inputs each AWS call received, script failures
//! (throttling, access denied, unreachable endpoints, missing groups), and count how
//! often clients were built.
//!
//! Always compiled (it has no test-only dependencies) so integration tests can mount the
//! engine with it through `aws::factory_with`; never used by the plugin at runtime.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::api::{
    AssumeRoleInput, AssumedRole, AttachedPolicy, CallerIdentity, FederationToken,
    FederationTokenInput, IamApi, SessionTokenInput, StsApi, StsCredentials,
};
use super::clients::ClientFactory;
use super::error::{AwsOperation, Error, ServiceFailure};
use super::root_config::RootConfig;
use crate::logical;

/// Account of the fake caller and of ARNs the fakes make up.
pub const FAKE_ACCOUNT: &str = "123456789012";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// An endpoint that could not be reached for `op`.
pub fn unreachable(op: AwsOperation) -> Error {
    Error::Unreachable {
        operation: op,
        detail: "dispatch failure: io error: connection refused".to_string(),
    }
}

/// Failures queued per operation; each call of that operation takes the next one.
#[derive(Default)]
struct Script(Mutex<HashMap<AwsOperation, VecDeque<Error>>>);

impl Script {
    fn push(&self, op: AwsOperation, err: Error) {
        lock(&self.0).entry(op).or_default().push_back(err);
    }

    fn next(&self, op: AwsOperation) -> Result<(), Error> {
        match lock(&self.0).get_mut(&op).and_then(VecDeque::pop_front) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// One call a [`FakeSts`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsCall {
    /// AssumeRole with its input.
    AssumeRole(AssumeRoleInput),
    /// GetFederationToken with its input.
    GetFederationToken(FederationTokenInput),
    /// GetSessionToken with its input.
    GetSessionToken(SessionTokenInput),
    /// GetCallerIdentity.
    GetCallerIdentity,
}

/// A recording STS: answers every call with fresh made-up credentials that expire at
/// "now" (settable) plus the requested duration, unless a failure is queued.
pub struct FakeSts {
    calls: Mutex<Vec<StsCall>>,
    script: Script,
    now: Mutex<Option<SystemTime>>,
    issued: AtomicU64,
}

impl FakeSts {
    /// A fake with no calls and no queued failures.
    pub fn new() -> Arc<Self> {
        Arc::new(FakeSts {
            calls: Mutex::new(Vec::new()),
            script: Script::default(),
            now: Mutex::new(None),
            issued: AtomicU64::new(0),
        })
    }

    /// The next call of `op` fails with `err` (queue several for several calls).
    pub fn fail_next(&self, op: AwsOperation, err: Error) {
        self.script.push(op, err);
    }

    /// Fixes the time expirations are computed from (default: the system clock).
    pub fn set_now(&self, now: SystemTime) {
        *lock(&self.now) = Some(now);
    }

    /// Every call so far, in order (failed ones included).
    pub fn calls(&self) -> Vec<StsCall> {
        lock(&self.calls).clone()
    }

    /// The inputs of every AssumeRole call.
    pub fn assume_role_inputs(&self) -> Vec<AssumeRoleInput> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                StsCall::AssumeRole(input) => Some(input),
                _ => None,
            })
            .collect()
    }

    /// The inputs of every GetFederationToken call.
    pub fn federation_token_inputs(&self) -> Vec<FederationTokenInput> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                StsCall::GetFederationToken(input) => Some(input),
                _ => None,
            })
            .collect()
    }

    /// The inputs of every GetSessionToken call.
    pub fn session_token_inputs(&self) -> Vec<SessionTokenInput> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                StsCall::GetSessionToken(input) => Some(input),
                _ => None,
            })
            .collect()
    }

    fn record(&self, call: StsCall, op: AwsOperation) -> Result<(), Error> {
        lock(&self.calls).push(call);
        self.script.next(op)
    }

    /// Credentials numbered by issue order, valid for `duration` from "now".
    fn credentials(&self, duration: Duration) -> StsCredentials {
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        let now = lock(&self.now).unwrap_or_else(SystemTime::now);
        StsCredentials {
            access_key_id: format!("ASIAFAKE{n:012}"),
            secret_access_key: format!("fake-secret-key-{n}"),
            session_token: format!("fake-session-token-{n}"),
            expiration: now + duration,
        }
    }
}

/// AWS's default lifetimes when a request names none.
const ASSUME_ROLE_DEFAULT: Duration = Duration::from_secs(3600);
const TOKEN_DEFAULT: Duration = Duration::from_secs(12 * 3600);

#[async_trait]
impl StsApi for FakeSts {
    async fn assume_role(&self, input: AssumeRoleInput) -> Result<AssumedRole, Error> {
        self.record(StsCall::AssumeRole(input.clone()), AwsOperation::AssumeRole)?;
        // arn:aws:iam::<account>:role/<path/>name -> arn:aws:sts::<account>:assumed-role/name/session
        let account = input.role_arn.split(':').nth(4).unwrap_or(FAKE_ACCOUNT);
        let role = input.role_arn.rsplit('/').next().unwrap_or_default();
        Ok(AssumedRole {
            credentials: self.credentials(input.duration.unwrap_or(ASSUME_ROLE_DEFAULT)),
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{role}/{}",
                input.role_session_name
            ),
            assumed_role_id: format!("AROAFAKE:{}", input.role_session_name),
        })
    }

    async fn get_federation_token(
        &self,
        input: FederationTokenInput,
    ) -> Result<FederationToken, Error> {
        self.record(
            StsCall::GetFederationToken(input.clone()),
            AwsOperation::GetFederationToken,
        )?;
        Ok(FederationToken {
            credentials: self.credentials(input.duration.unwrap_or(TOKEN_DEFAULT)),
            arn: format!("arn:aws:sts::{FAKE_ACCOUNT}:federated-user/{}", input.name),
            federated_user_id: format!("{FAKE_ACCOUNT}:{}", input.name),
        })
    }

    async fn get_session_token(&self, input: SessionTokenInput) -> Result<StsCredentials, Error> {
        let duration = input.duration.unwrap_or(TOKEN_DEFAULT);
        self.record(
            StsCall::GetSessionToken(input),
            AwsOperation::GetSessionToken,
        )?;
        Ok(self.credentials(duration))
    }

    async fn get_caller_identity(&self) -> Result<CallerIdentity, Error> {
        self.record(StsCall::GetCallerIdentity, AwsOperation::GetCallerIdentity)?;
        Ok(CallerIdentity {
            account: FAKE_ACCOUNT.to_string(),
            arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:user/vault-root"),
            user_id: "AIDAFAKEROOT".to_string(),
        })
    }
}

/// One call a [`FakeIam`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamCall {
    /// ListGroupPolicies of a group.
    ListGroupPolicies(String),
    /// GetGroupPolicy: group and policy name.
    GetGroupPolicy(String, String),
    /// ListAttachedGroupPolicies of a group.
    ListAttachedGroupPolicies(String),
}

#[derive(Default)]
struct FakeGroup {
    inline: BTreeMap<String, String>,
    attached: Vec<AttachedPolicy>,
}

/// A recording IAM holding groups with inline and attached policies; a group it does
/// not hold is answered with `NoSuchEntity`, as AWS does.
#[derive(Default)]
pub struct FakeIam {
    groups: Mutex<BTreeMap<String, FakeGroup>>,
    calls: Mutex<Vec<IamCall>>,
    script: Script,
}

impl FakeIam {
    /// A fake with no groups.
    pub fn new() -> Arc<Self> {
        Arc::new(FakeIam::default())
    }

    /// Creates `group` (without policies) if it does not exist.
    pub fn add_group(&self, group: &str) {
        lock(&self.groups).entry(group.to_string()).or_default();
    }

    /// Puts an inline policy `name` with `document` on `group`, creating the group.
    pub fn put_group_policy(&self, group: &str, name: &str, document: &str) {
        lock(&self.groups)
            .entry(group.to_string())
            .or_default()
            .inline
            .insert(name.to_string(), document.to_string());
    }

    /// Attaches the managed policy `arn` to `group`, creating the group.
    pub fn attach_group_policy(&self, group: &str, arn: &str) {
        let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
        lock(&self.groups)
            .entry(group.to_string())
            .or_default()
            .attached
            .push(AttachedPolicy {
                name,
                arn: arn.to_string(),
            });
    }

    /// The next call of `op` fails with `err`.
    pub fn fail_next(&self, op: AwsOperation, err: Error) {
        self.script.push(op, err);
    }

    /// Every call so far, in order (failed ones included).
    pub fn calls(&self) -> Vec<IamCall> {
        lock(&self.calls).clone()
    }

    fn record(&self, call: IamCall, op: AwsOperation) -> Result<(), Error> {
        lock(&self.calls).push(call);
        self.script.next(op)
    }

    fn no_such_group(op: AwsOperation, group: &str) -> Error {
        Error::NotFound(ServiceFailure::new(
            op,
            404,
            "NoSuchEntity",
            &format!("The group with name {group} cannot be found."),
        ))
    }
}

#[async_trait]
impl IamApi for FakeIam {
    async fn list_group_policies(&self, group_name: &str) -> Result<Vec<String>, Error> {
        let op = AwsOperation::ListGroupPolicies;
        self.record(IamCall::ListGroupPolicies(group_name.to_string()), op)?;
        let groups = lock(&self.groups);
        let group = groups
            .get(group_name)
            .ok_or_else(|| Self::no_such_group(op, group_name))?;
        Ok(group.inline.keys().cloned().collect())
    }

    async fn get_group_policy(&self, group_name: &str, policy_name: &str) -> Result<String, Error> {
        let op = AwsOperation::GetGroupPolicy;
        let call = IamCall::GetGroupPolicy(group_name.to_string(), policy_name.to_string());
        self.record(call, op)?;
        let groups = lock(&self.groups);
        let group = groups
            .get(group_name)
            .ok_or_else(|| Self::no_such_group(op, group_name))?;
        group.inline.get(policy_name).cloned().ok_or_else(|| {
            Error::NotFound(ServiceFailure::new(
                op,
                404,
                "NoSuchEntity",
                &format!("The group policy with name {policy_name} cannot be found."),
            ))
        })
    }

    async fn list_attached_group_policies(
        &self,
        group_name: &str,
    ) -> Result<Vec<AttachedPolicy>, Error> {
        let op = AwsOperation::ListAttachedGroupPolicies;
        self.record(
            IamCall::ListAttachedGroupPolicies(group_name.to_string()),
            op,
        )?;
        let groups = lock(&self.groups);
        let group = groups
            .get(group_name)
            .ok_or_else(|| Self::no_such_group(op, group_name))?;
        Ok(group.attached.clone())
    }
}

type BuildHook = Arc<dyn Fn() + Send + Sync>;

/// A [`ClientFactory`] handing out one [`FakeSts`] and one [`FakeIam`], counting builds
/// and remembering the configuration of the last one.
pub struct FakeClientFactory {
    sts: Arc<FakeSts>,
    iam: Arc<FakeIam>,
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
            sts_builds: AtomicUsize::new(0),
            iam_builds: AtomicUsize::new(0),
            last_config: Mutex::new(None),
            on_build: Mutex::new(None),
        })
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
