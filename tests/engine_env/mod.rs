//! The world of the engine tests (test layer; `sts.rs`, `iam_user.rs`, `revoke.rs`,
//! `rotate_root.rs`): the engine mounted through its factory over the framework's
//! `TestBackend` with the recording AWS fakes and a pinned clock, plus the helpers those
//! tests share — role writes, reading responses, the WAL and ledger as stored, moving the
//! engine's clock past the minimum age.
//!
//! Time: the engine's clock (`ManualClock`) decides ages (WAL, leases, ledger); tokio's
//! clock, paused in these tests, drives sleeps (the WAL handover, readiness probes).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws;
use vault_plugin_secrets_aws_rs::aws::api::AssumeRoleInput;
use vault_plugin_secrets_aws_rs::aws::fake::{FakeClientFactory, FakeIam, FakeSts, IamCall};
use vault_plugin_secrets_aws_rs::aws::ledger::{self, LedgerEntry};
use vault_plugin_secrets_aws_rs::framework::testing::TestBackend;
use vault_plugin_secrets_aws_rs::framework::{ManualClock, get_wal, list_wal};
use vault_plugin_secrets_aws_rs::logical::{
    Error, JsonMap, Operation, Response, Secret, StaticSystemView,
};

/// The engine's clock at mount: 2023-11-14T22:13:20Z.
pub const NOW: u64 = 1_700_000_000;
/// The engine's default minimum age (WAL rollback, young leases, ledger sweeps).
pub const MIN_AGE: Duration = Duration::from_secs(300);

pub const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
pub const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/VaultBoundary";
pub const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

pub struct Env {
    pub tb: TestBackend,
    pub fakes: Arc<FakeClientFactory>,
    pub clock: Arc<ManualClock>,
}

pub async fn env() -> Env {
    env_with(StaticSystemView::default()).await
}

pub async fn env_with(system: StaticSystemView) -> Env {
    let fakes = FakeClientFactory::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    fakes.fake_sts().set_now(start);
    let clock = Arc::new(ManualClock::new(start));
    let factory = aws::factory_with_clock(fakes.clone(), clock.clone());
    let tb = TestBackend::with_system_view(&factory, system)
        .await
        .expect("mount");
    Env { tb, fakes, clock }
}

/// The role every lifecycle test uses: every attachment Vault knows.
pub fn full_role() -> Value {
    json!({
        "credential_type": "iam_user",
        "user_path": "/vault/",
        "permissions_boundary_arn": BOUNDARY,
        "policy_arns": [READ_ONLY, S3_READ],
        "policy_document": DOC,
        "iam_groups": ["dev", "ops"],
        "iam_tags": ["team=infra", "env=prod"],
    })
}

impl Env {
    pub fn iam(&self) -> &Arc<FakeIam> {
        self.fakes.fake_iam()
    }

    pub fn sts(&self) -> &Arc<FakeSts> {
        self.fakes.fake_sts()
    }

    /// The groups of [`full_role`], the role itself, and `config/lease` of 1h / 24h.
    pub async fn full_setup(&self) {
        self.iam().add_group("dev");
        self.iam().add_group("ops");
        self.write_ok("config/lease", json!({"lease": "1h", "lease_max": "24h"}))
            .await;
        self.write_ok("roles/deploy", full_role()).await;
    }

    /// Writes the role `name`, which must be accepted.
    pub async fn role(&self, name: &str, body: Value) {
        self.write_ok(&format!("roles/{name}"), body).await;
    }

    /// Asserts that nothing reached AWS: no call, not even a client built.
    pub fn assert_no_aws(&self) {
        assert_eq!(self.sts().calls(), vec![], "STS calls");
        assert_eq!(self.iam().calls(), vec![], "IAM calls");
        assert_eq!(
            (self.fakes.sts_builds(), self.fakes.iam_builds()),
            (0, 0),
            "clients built"
        );
    }

    /// The inputs of every AssumeRole call.
    pub fn assume_role_inputs(&self) -> Vec<AssumeRoleInput> {
        self.sts().assume_role_inputs()
    }

    pub async fn write_ok(&self, path: &str, body: Value) {
        let resp = self.tb.write(path, body).await.expect("write");
        assert!(
            resp.as_ref().is_none_or(|r| !r.is_error()),
            "{path} refused: {resp:?}"
        );
    }

    /// The engine's clock.
    pub fn clock_now(&self) -> SystemTime {
        use vault_plugin_secrets_aws_rs::framework::Clock;
        self.clock.now()
    }

    /// Moves the engine's clock (not tokio's).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Every WAL entry: (kind, data).
    pub async fn wal(&self) -> Vec<(String, Value)> {
        let storage = self.tb.storage().as_ref();
        let mut out = Vec::new();
        for id in list_wal(storage).await.expect("list wal") {
            let entry = get_wal(storage, &id).await.expect("get").expect("entry");
            out.push((entry.kind, entry.data));
        }
        out
    }

    pub async fn ledger(&self, user: &str) -> Option<LedgerEntry> {
        ledger::get(self.tb.storage().as_ref(), user)
            .await
            .expect("ledger")
    }

    pub async fn ledger_users(&self) -> Vec<String> {
        ledger::usernames(self.tb.storage().as_ref())
            .await
            .expect("ledger")
    }

    /// The stored role `name` as JSON.
    pub async fn stored_role(&self, name: &str) -> Value {
        use vault_plugin_secrets_aws_rs::logical::Storage;
        let entry = self
            .tb
            .storage()
            .get(&format!("role/{name}"))
            .await
            .expect("storage")
            .expect("role stored");
        serde_json::from_slice(&entry.value).expect("json")
    }

    /// Issues credentials from `creds/<role>` and returns them with their lease, stamped
    /// with its issue time as the host stamps it.
    pub async fn issue(&self, role: &str) -> (JsonMap, Secret) {
        let (data, mut secret) = issued(self.tb.read(&format!("creds/{role}")).await);
        secret.lease_options.issue_time = Some(self.clock_now());
        (data, secret)
    }

    /// Revokes a lease the way the host's expiration manager does.
    pub async fn revoke(&self, secret: &Secret) -> Result<Option<Response>, Error> {
        self.tb
            .revoke("creds/deploy", secret.clone(), JsonMap::new())
            .await
    }

    pub async fn renew(&self, secret: &Secret) -> Result<Option<Response>, Error> {
        self.tb
            .renew("creds/deploy", secret.clone(), JsonMap::new())
            .await
    }

    /// A rollback tick after the engine's clock moved past the minimum age.
    pub async fn rollback_after_min_age(&self) {
        self.advance(MIN_AGE + Duration::from_secs(1));
        let resp = self.tb.rollback().await.expect("rollback");
        assert!(resp.is_none(), "rollback reported errors: {resp:?}");
    }
}

/// `vault-token-<role>-<unix time>-<20 random>`: Vault's default IAM user and session
/// name for the dev root token (display name `token`) at [`NOW`].
pub fn assert_default_name(name: &str, role: &str) {
    let prefix = format!("vault-token-{role}-{NOW}-");
    let random = name
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{name:?} does not start with {prefix:?}"));
    assert_eq!(random.len(), 20, "{name:?}");
    assert!(
        random.chars().all(|c| c.is_ascii_alphanumeric()),
        "{name:?}"
    );
}

/// The user name an issuance created (from its CreateUser call).
pub fn created_user(calls: &[IamCall]) -> String {
    calls
        .iter()
        .find_map(|c| match c {
            IamCall::CreateUser(name, ..) => Some(name.clone()),
            _ => None,
        })
        .expect("a CreateUser call")
}

pub fn issued(resp: Result<Option<Response>, Error>) -> (JsonMap, Secret) {
    let resp = resp.expect("handled").expect("a response");
    assert!(!resp.is_error(), "refused: {:?}", resp.error_message());
    (resp.data.expect("data"), resp.secret.expect("a lease"))
}

pub fn error_of(resp: Result<Option<Response>, Error>) -> String {
    resp.expect("handled")
        .expect("a response")
        .error_message()
        .expect("an error response")
        .to_string()
}

/// A request for `creds/<role>` from a token whose display name is `display_name`.
pub async fn issue_as(
    env: &Env,
    role: &str,
    display_name: &str,
) -> Result<Option<Response>, Error> {
    let mut req = env
        .tb
        .request(Operation::Read, &format!("creds/{role}"), JsonMap::new());
    req.display_name = display_name.to_string();
    env.tb.handle(req).await
}

/// Writes `base` merged with each case's fields to `roles/r` and asserts each is refused
/// with a message containing the case's text, and that nothing was stored.
pub async fn assert_role_writes_refused(env: &Env, base: &Value, cases: &[(Value, &str)]) {
    for (extra, expected) in cases {
        let mut body = base.clone();
        body.as_object_mut()
            .expect("obj")
            .extend(extra.as_object().expect("obj").clone());
        let err = error_of(env.tb.write("roles/r", body.clone()).await);
        assert!(err.contains(expected), "{body}: {err}");
        assert!(
            env.tb.read("roles/r").await.expect("read").is_none(),
            "{body} stored"
        );
    }
}
