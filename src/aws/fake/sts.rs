//! \[engine\] Test support: [`FakeSts`], a recording STS that answers every call with
//! fresh made-up credentials unless a failure is queued.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{FAKE_ACCOUNT, Script, lock};
use crate::aws::api::{
    AssumeRoleInput, AssumedRole, CallerIdentity, FederationToken, FederationTokenInput,
    SessionTokenInput, StsApi, StsCredentials,
};
use crate::aws::error::{AwsOperation, Error};

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
    caller: Mutex<Option<CallerIdentity>>,
}

impl FakeSts {
    /// A fake with no calls and no queued failures.
    pub fn new() -> Arc<Self> {
        Arc::new(FakeSts {
            calls: Mutex::new(Vec::new()),
            script: Script::default(),
            now: Mutex::new(None),
            issued: AtomicU64::new(0),
            caller: Mutex::new(None),
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

    /// Makes GetCallerIdentity answer `identity` (default: the IAM user `vault-root` of
    /// [`FAKE_ACCOUNT`]).
    pub fn set_caller_identity(&self, identity: CallerIdentity) {
        *lock(&self.caller) = Some(identity);
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
        if let Some(identity) = lock(&self.caller).clone() {
            return Ok(identity);
        }
        Ok(CallerIdentity {
            account: FAKE_ACCOUNT.to_string(),
            arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:user/vault-root"),
            user_id: "AIDAFAKEROOT".to_string(),
        })
    }
}
