//! End-to-end suite of the engine under AWS faults (test layer): a real OpenBao 2.7.2 dev
//! server running our plugin, whose `config/root` points IAM and STS at a fault-injecting
//! proxy (`common::fault_proxy`) in front of strict moto (signatures, IAM policies and
//! AWS's DeleteUser rules enforced). The proxy throttles, fails, resets, delays or refuses
//! chosen AWS actions and counts every attempt, so each test asserts what the engine did
//! on the wire, what the caller saw, and what "AWS" holds afterwards (read by an inspector
//! straight from moto, never through the proxy).
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`). Each test builds its own world
//! (moto, seed, proxy, dev server); at most [`MAX_WORLDS`] run at once, because the
//! machine has two cores and some tests mostly wait.
//!
//! Covered: throttling is retried exactly `max_retries` times and answered 502 in bounded
//! time, or succeeds when it stops in time; 5xx and reset connections give a clear 500
//! naming the AWS error; an answer slower than the per-attempt timeout fails in bounded
//! time, a slow one within it succeeds; CreateUser is sent once (and retried by the engine
//! only on throttling); users half-made by a 5xx in the middle of issuance are deleted by
//! the periodic rollback; a revocation while AWS is unreachable is retried by OpenBao
//! until the user is gone; STS fails over to `sts_fallback_endpoints` on 5xx, resets and
//! refused connections, but not on throttling.

mod common;

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::aws::AwsClients;
use common::fault_proxy::{Answer, Fault, FaultProxy, Rule};
use common::http::HttpResponse;
use common::iam_seed::{GROUP, READ_ONLY, ROOT_USER, SEED_CALLS, Seeded, seed};
use common::moto::{ACCOUNT_ID, Auth, Moto, moto_for_acceptance};
use common::openbao::{OpenBao, bao_for_acceptance};
use common::wait_until;

/// Worlds running at once, whatever `--test-threads` says (libtest's default is one per
/// core). Most of a fault test is waiting (a timeout, a backoff, the rollback tick), so
/// three fit on two cores.
const MAX_WORLDS: usize = 3;
/// The role in "AWS" that `assumed_role` credentials are for.
const TARGET_ROLE: &str = "ec2-admin";
/// The Vault role for it.
const STS_ROLE: &str = "ec2";
/// What the engine's user may do besides the IAM calls of `iam_seed`.
const ASSUME_ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
/// A generous but real bound for a failure that involves only retries with backoff.
const RETRY_BOUND: Duration = Duration::from_secs(20);

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// A place among the [`MAX_WORLDS`] running worlds, given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Self {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= MAX_WORLDS {
            running = FREED.wait(running).unwrap_or_else(PoisonError::into_inner);
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        FREED.notify_one();
    }
}

/// One test's world: strict moto, seeded, with a role to assume; the proxy in front of
/// it; a dev server with the plugin mounted at `aws/`, `config/root` pointing at the proxy.
struct World {
    admin: AwsClients,
    seeded: Seeded,
    role_arn: String,
    started: Instant,
    // Dropped in declaration order: the server (and its plugin), the proxy, the emulator,
    // and last the slot.
    server: OpenBao,
    proxy: FaultProxy,
    moto: Moto,
    _slot: Slot,
}

impl World {
    /// The world, with `env` on the server; `None` when the suite is not enabled.
    fn start(env: &[(&str, &str)]) -> Option<Self> {
        let bao = bao_for_acceptance()?;
        let moto_bin = moto_for_acceptance()?;
        let slot = Slot::take();
        let started = Instant::now();
        let (moto, seeded, admin) = common::iam_seed::start_seeded(&moto_bin);
        let role_arn = allow_assume_role(&admin);
        let proxy = FaultProxy::start(&moto.host_port());
        let server = OpenBao::start_with_env(&bao, env);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let world = World {
            admin,
            seeded,
            role_arn,
            started,
            server,
            proxy,
            moto,
            _slot: slot,
        };
        world.configure(-1, json!({}));
        world.ok(&world.server.write(
            &format!("aws/roles/{STS_ROLE}"),
            &json!({"credential_type": "assumed_role", "role_arns": [world.role_arn]}),
        ));
        Some(world)
    }

    /// Writes `config/root`: the engine's key, IAM and STS through the proxy, `max_retries`,
    /// and `extra` fields on top.
    fn configure(&self, max_retries: i64, extra: Value) {
        let mut body = json!({
            "access_key": self.seeded.root.access_key,
            "secret_key": self.seeded.root.secret_key,
            "region": "us-east-1",
            "iam_endpoint": self.proxy.endpoint(),
            "sts_endpoint": self.proxy.endpoint(),
            "max_retries": max_retries,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.ok(&self.server.write("aws/config/root", &body));
    }

    fn ok(&self, response: &HttpResponse) {
        assert!(
            response.status == 200 || response.status == 204,
            "{} {}",
            response.status,
            response.body
        );
    }

    /// `POST aws/sts/<role>`, timed.
    fn sts(&self) -> (HttpResponse, Duration) {
        let at = Instant::now();
        let response =
            self.server
                .http("POST", &format!("/v1/aws/sts/{STS_ROLE}"), Some(&json!({})));
        (response, at.elapsed())
    }

    /// `GET aws/creds/<role>`, timed.
    fn creds(&self, role: &str) -> (HttpResponse, Duration) {
        let at = Instant::now();
        let response = self.server.read(&format!("aws/creds/{role}"));
        (response, at.elapsed())
    }

    fn iam_user_role(&self, name: &str, body: Value) {
        self.ok(&self.server.write(&format!("aws/roles/{name}"), &body));
    }

    /// Users "AWS" holds besides the seeded ones, read straight from moto.
    fn issued_users(&self) -> BTreeSet<String> {
        common::iam_seed::issued_users(&self.admin)
    }

    /// Whether `lease_id` still exists.
    fn lease_exists(&self, lease_id: &str) -> bool {
        let response = self.server.http(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(&json!({"lease_id": lease_id})),
        );
        match response.status {
            200 => true,
            400 | 404 => false,
            other => panic!("lease lookup: {other} {}", response.body),
        }
    }
}

/// Creates the role to assume (trusting the engine's user) and lets the engine's user
/// assume it, with the inspector's admin key (moto enforces authentication by now).
fn allow_assume_role(admin: &AwsClients) -> String {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:user/{ROOT_USER}")},
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string();
    let role = admin
        .block(
            admin
                .iam
                .create_role()
                .role_name(TARGET_ROLE)
                .assume_role_policy_document(trust)
                .send(),
        )
        .expect("CreateRole");
    admin
        .block(
            admin
                .iam
                .put_user_policy()
                .user_name(ROOT_USER)
                .policy_name("vault-sts")
                .policy_document(ASSUME_ROLE_POLICY)
                .send(),
        )
        .expect("PutUserPolicy");
    role.role().expect("role").arn().to_string()
}

/// The error text of a failed request (OpenBao's `errors` list, joined).
fn errors_of(response: &HttpResponse) -> String {
    let errors = response.errors();
    if errors.is_empty() {
        response.body.clone()
    } else {
        errors
    }
}

/// Asserts a failed request: `status`, and an error naming every one of `needles`.
fn assert_failed(what: &str, response: &HttpResponse, status: u16, needles: &[&str]) -> String {
    assert_eq!(response.status, status, "{what}: {}", response.body);
    let errors = errors_of(response);
    for needle in needles {
        assert!(errors.contains(needle), "{what}: no {needle:?} in {errors}");
    }
    errors
}

/// The answers the proxy gave to `action`, in order.
fn answers(proxy: &FaultProxy, action: &str) -> Vec<Answer> {
    proxy
        .seen_action(action)
        .into_iter()
        .map(|s| s.answer)
        .collect()
}

/// Asserts a successful STS issuance and that its credentials work, as their holder
/// would use them (straight against moto).
fn assert_issued(world: &World, response: &HttpResponse) {
    assert_eq!(response.status, 200, "{}", response.body);
    let data = &response.json()["data"];
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_string();
    assert!(
        text("access_key").starts_with("ASIA"),
        "not STS credentials"
    );
    let holder = AwsClients::new(
        &world.moto.endpoint(),
        &text("access_key"),
        &text("secret_key"),
        Some(&text("session_token")),
    );
    let arn = holder.caller_arn().expect("the issued credentials work");
    assert!(
        arn.contains(&format!(":assumed-role/{TARGET_ROLE}/")),
        "{arn}"
    );
}

#[test]
fn throttling_is_retried_exactly_max_retries_times_then_answered_502() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world.configure(2, json!({}));

    // Throttled every time: three attempts, then a coded 502 naming AWS's error.
    world
        .proxy
        .push_rule(Rule::on("AssumeRole", Fault::Throttle));
    let (response, took) = world.sts();
    assert_failed(
        "always throttled",
        &response,
        502,
        &["upstream rate limited", "Throttling", "Rate exceeded"],
    );
    assert!(took < RETRY_BOUND, "answered after {took:?}");
    assert_eq!(
        answers(&world.proxy, "AssumeRole"),
        vec![Answer::Injected(400); 3],
        "max_retries=2 is three attempts"
    );
    eprintln!("always throttled: 502 after {took:?}");

    // Throttled twice, then let through: the third attempt succeeds.
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world
        .proxy
        .push_rule(Rule::on("AssumeRole", Fault::Throttle).times(2));
    let (response, took) = world.sts();
    assert_issued(&world, &response);
    assert_eq!(
        answers(&world.proxy, "AssumeRole"),
        [
            Answer::Injected(400),
            Answer::Injected(400),
            Answer::Forwarded(200)
        ]
    );
    assert!(took < RETRY_BOUND, "answered after {took:?}");

    // max_retries=0 means one attempt: a single throttle is final; the next call is fine.
    world.configure(0, json!({}));
    world.proxy.clear_seen();
    world
        .proxy
        .push_rule(Rule::on("AssumeRole", Fault::Throttle).times(1));
    let (response, _) = world.sts();
    assert_failed("max_retries=0", &response, 502, &["Throttling"]);
    assert_eq!(answers(&world.proxy, "AssumeRole"), [Answer::Injected(400)]);
    let (response, _) = world.sts();
    assert_issued(&world, &response);
}

#[test]
fn server_errors_and_reset_connections_give_a_clear_500_in_bounded_time() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world.configure(1, json!({}));
    for (status, code) in [(500, "InternalFailure"), (503, "ServiceUnavailable")] {
        world.proxy.clear_rules();
        world.proxy.clear_seen();
        world
            .proxy
            .push_rule(Rule::on("AssumeRole", Fault::ServerError(status)));
        let (response, took) = world.sts();
        let errors = assert_failed(
            code,
            &response,
            500,
            &["assuming role", "AWS STS failed on its side", code],
        );
        assert!(took < RETRY_BOUND, "{code}: answered after {took:?}");
        assert_eq!(
            answers(&world.proxy, "AssumeRole"),
            vec![Answer::Injected(status); 2],
            "max_retries=1 is two attempts"
        );
        eprintln!("{status}: 500 after {took:?}: {errors}");
    }

    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world.proxy.push_rule(Rule::on("AssumeRole", Fault::Reset));
    let (response, took) = world.sts();
    let errors = assert_failed(
        "reset",
        &response,
        500,
        &["assuming role", "could not reach AWS STS"],
    );
    assert!(took < RETRY_BOUND, "reset: answered after {took:?}");
    assert_eq!(
        answers(&world.proxy, "AssumeRole"),
        vec![Answer::Reset; 2],
        "a reset connection is retried like a 5xx"
    );
    eprintln!("reset: 500 after {took:?}: {errors}");

    // Once AWS recovers, so does the engine.
    world.proxy.clear_rules();
    let (response, _) = world.sts();
    assert_issued(&world, &response);
}

#[test]
fn a_slow_answer_succeeds_within_the_attempt_timeout_and_fails_in_bounded_time_beyond_it() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world.configure(0, json!({}));

    world
        .proxy
        .push_rule(Rule::on("AssumeRole", Fault::Delay(Duration::from_secs(2))));
    let (response, took) = world.sts();
    assert_issued(&world, &response);
    assert!(
        took >= Duration::from_secs(2),
        "the delay applied: {took:?}"
    );
    assert_eq!(
        answers(&world.proxy, "AssumeRole"),
        [Answer::Forwarded(200)]
    );

    // Beyond the engine's per-attempt timeout (clients::ATTEMPT_TIMEOUT, 30 s): the
    // attempt is abandoned and, with no retries allowed, the request fails.
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world.proxy.push_rule(Rule::on(
        "AssumeRole",
        Fault::Delay(Duration::from_secs(45)),
    ));
    let (response, took) = world.sts();
    let errors = assert_failed(
        "beyond the timeout",
        &response,
        500,
        &["assuming role", "could not reach AWS STS"],
    );
    assert!(
        took >= Duration::from_secs(29) && took < Duration::from_secs(40),
        "failed after {took:?}, expected the 30 s attempt timeout"
    );
    assert_eq!(
        answers(&world.proxy, "AssumeRole"),
        [Answer::Pending],
        "one attempt, abandoned while the proxy still held it"
    );
    eprintln!("beyond the timeout: 500 after {took:?}: {errors}");
}

#[test]
fn a_failure_in_the_middle_of_issuance_leaves_a_user_the_periodic_rollback_deletes() {
    // A short minimum age, so the rollback (every 60 s in OpenBao) takes leftovers at its
    // first tick. The longest test of the suite, so its name sorts first: libtest starts
    // tests in name order.
    let Some(world) = World::start(&[("AWS_RS_WAL_MIN_AGE", "5s")]) else {
        return;
    };
    world.configure(1, json!({}));
    world.iam_user_role(
        "grouped",
        json!({"credential_type": "iam_user", "policy_arns": [READ_ONLY], "iam_groups": [GROUP]}),
    );

    // CreateUser is sent once and retried by the engine only while throttled.
    world
        .proxy
        .push_rule(Rule::on("CreateUser", Fault::Throttle));
    let (response, took) = world.creds("grouped");
    assert_failed(
        "CreateUser throttled",
        &response,
        502,
        &["creating IAM user", "Throttling"],
    );
    assert_eq!(
        answers(&world.proxy, "CreateUser"),
        vec![Answer::Injected(400); 3],
        "the engine's three attempts, no SDK retries on top"
    );
    assert!(took < RETRY_BOUND, "{took:?}");
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world
        .proxy
        .push_rule(Rule::on("CreateUser", Fault::ServerError(500)));
    let (response, _) = world.creds("grouped");
    assert_failed(
        "CreateUser 500",
        &response,
        500,
        &["creating IAM user", "InternalFailure"],
    );
    assert_eq!(
        answers(&world.proxy, "CreateUser"),
        [Answer::Injected(500)],
        "CreateUser is never retried after an unknown outcome"
    );
    assert_eq!(world.issued_users(), BTreeSet::new(), "no user was made");

    // A 5xx on AddUserToGroup: the user exists, with its policy, in no group.
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world
        .proxy
        .push_rule(Rule::on("AddUserToGroup", Fault::ServerError(500)));
    let (response, _) = world.creds("grouped");
    assert_failed(
        "AddUserToGroup 500",
        &response,
        500,
        &["adding user to group", "InternalFailure"],
    );
    assert_eq!(world.proxy.count("CreateUser"), 1);
    assert_eq!(world.proxy.count("AddUserToGroup"), 2, "max_retries=1");
    assert_eq!(world.proxy.count("CreateAccessKey"), 0);
    let first = world.issued_users();
    assert_eq!(first.len(), 1, "the half-made user: {first:?}");

    // A 5xx on CreateAccessKey: the user is complete but for its key, and in the group
    // (so moto, as strict as AWS, refuses a plain DeleteUser).
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    world
        .proxy
        .push_rule(Rule::on("CreateAccessKey", Fault::ServerError(503)));
    let (response, _) = world.creds("grouped");
    assert_failed(
        "CreateAccessKey 503",
        &response,
        500,
        &["creating access keys", "ServiceUnavailable"],
    );
    assert_eq!(world.proxy.count("AddUserToGroup"), 1);
    assert_eq!(world.proxy.count("CreateAccessKey"), 2, "max_retries=1");
    let half_made = world.issued_users();
    assert_eq!(half_made.len(), 2, "{half_made:?}");
    let failed_at = world.started.elapsed();

    // No lease exists for them: only the WAL rollback can delete them.
    world.proxy.clear_rules();
    world.proxy.clear_seen();
    let gone = wait_until(
        Duration::from_secs(100),
        "the periodic rollback to delete the half-made users",
        || {
            world
                .issued_users()
                .is_empty()
                .then(|| world.started.elapsed())
        },
    );
    eprintln!("half-made users made by {failed_at:?}, rolled back by {gone:?} (world time)");
    assert_eq!(
        world.proxy.count("DeleteUser"),
        2,
        "the engine deleted them, through the proxy"
    );
    let leases = world
        .server
        .cli(&["list", "sys/leases/lookup/aws/creds/grouped"]);
    assert!(!leases.success, "no lease was issued: {}", leases.stdout);
}

#[test]
fn a_revocation_while_aws_is_unreachable_is_retried_until_the_user_is_gone() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world.configure(0, json!({}));
    world.iam_user_role("plain", json!({"credential_type": "iam_user"}));
    let out = world
        .server
        .cli_ok(&["read", "-format=json", "aws/creds/plain"]);
    let issued: Value = serde_json::from_str(&out).expect("CLI JSON");
    let lease_id = issued["lease_id"].as_str().expect("lease_id").to_string();
    let users = world.issued_users();
    assert_eq!(users.len(), 1, "{users:?}");

    world.proxy.set_unreachable(true);
    world.proxy.clear_seen();
    let revoked_at = Instant::now();
    world.server.cli_ok(&["lease", "revoke", &lease_id]);
    // OpenBao's expiration manager tries at once, fails, and schedules a retry.
    wait_until(
        Duration::from_secs(20),
        "the first revocation attempt to fail",
        || {
            let log = world.server.log_text();
            log.lines()
                .any(|l| l.contains("failed to revoke lease") && l.contains(&lease_id))
                .then_some(())
        },
    );
    assert_eq!(world.issued_users(), users, "the user is still in AWS");
    assert!(
        world.lease_exists(&lease_id),
        "the lease is kept for a retry"
    );
    let irrevocable = world.server.read("sys/leases/count?type=irrevocable");
    assert_eq!(irrevocable.status, 200, "{}", irrevocable.body);
    assert_eq!(
        irrevocable.json()["data"]["lease_count"],
        0,
        "not irrevocable after one failure: {}",
        irrevocable.body
    );
    assert!(
        world.proxy.seen().is_empty(),
        "refused connections are not requests"
    );

    world.proxy.set_unreachable(false);
    let restored_at = Instant::now();
    wait_until(
        Duration::from_secs(60),
        "the retried revocation to delete the user",
        || (world.issued_users().is_empty() && !world.lease_exists(&lease_id)).then_some(()),
    );
    eprintln!(
        "revoked {:?} after the request, {:?} after AWS came back",
        revoked_at.elapsed(),
        restored_at.elapsed()
    );
    assert_eq!(
        answers(&world.proxy, "DeleteUser"),
        [Answer::Forwarded(200)]
    );
}

#[test]
fn sts_fails_over_to_the_fallback_endpoint_on_5xx_resets_and_refusals_but_not_throttling() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    let primary = FaultProxy::start(&world.moto.host_port());
    world.configure(
        1,
        json!({
            "sts_endpoint": primary.endpoint(),
            "sts_fallback_endpoints": [world.proxy.endpoint()],
            "sts_fallback_regions": ["us-west-2"],
        }),
    );

    for (fault, seen) in [
        (Fault::ServerError(503), Answer::Injected(503)),
        (Fault::Reset, Answer::Reset),
    ] {
        primary.clear_rules();
        primary.clear_seen();
        world.proxy.clear_seen();
        primary.push_rule(Rule::any(fault));
        let (response, took) = world.sts();
        assert_issued(&world, &response);
        assert!(took < RETRY_BOUND, "{fault:?}: {took:?}");
        assert_eq!(
            answers(&primary, "AssumeRole"),
            vec![seen; 2],
            "{fault:?}: the primary endpoint was tried, with its retry"
        );
        assert_eq!(
            answers(&world.proxy, "AssumeRole"),
            [Answer::Forwarded(200)],
            "{fault:?}: then the fallback"
        );
    }

    // A primary endpoint that refuses connections.
    primary.clear_rules();
    world.proxy.clear_seen();
    primary.set_unreachable(true);
    let (response, _) = world.sts();
    assert_issued(&world, &response);
    assert_eq!(world.proxy.count("AssumeRole"), 1);
    primary.set_unreachable(false);

    // Throttling is an answer, the same everywhere: no failover, a 502.
    primary.clear_seen();
    world.proxy.clear_seen();
    primary.push_rule(Rule::any(Fault::Throttle));
    let (response, _) = world.sts();
    assert_failed("primary throttles", &response, 502, &["Throttling"]);
    assert_eq!(primary.count("AssumeRole"), 2);
    assert_eq!(
        world.proxy.count("AssumeRole"),
        0,
        "no failover on throttling"
    );
}

/// The suite's own check that the proxy forwards faithfully: signed calls through it
/// reach moto and come back unchanged, and a rule limited to K requests stops after K.
#[test]
fn the_proxy_forwards_signed_calls_and_counts_what_it_saw() {
    if bao_for_acceptance().is_none() {
        return;
    }
    let Some(moto_bin) = moto_for_acceptance() else {
        return;
    };
    let moto = Moto::start_strict(&moto_bin, Auth::EnforcedAfter(SEED_CALLS));
    let seeded = seed(&moto);
    let proxy = FaultProxy::start(&moto.host_port());
    let through = AwsClients::new(
        &proxy.endpoint(),
        &seeded.inspector.access_key,
        &seeded.inspector.secret_key,
        None,
    );
    assert!(
        through.user_exists(ROOT_USER),
        "a signed call through the proxy"
    );
    assert_eq!(answers(&proxy, "GetUser"), [Answer::Forwarded(200)]);
    proxy.push_rule(Rule::on("ListUsers", Fault::ServerError(500)).times(1));
    let refused = through.block(through.iam.list_users().send());
    assert!(refused.is_err(), "the injected 500 reached the SDK");
    assert_eq!(through.user_names().len(), 2, "the rule was used up");
    assert_eq!(
        answers(&proxy, "ListUsers"),
        [Answer::Injected(500), Answer::Forwarded(200)]
    );
}
