//! End-to-end suite of the plugin in real OpenBao servers with integrated (Raft) storage,
//! not dev mode (test layer): a three-node HA cluster that loses its active node, and a
//! single node restarted on its storage. moto is "AWS", with request signing and IAM
//! policies enforced and DeleteUser as strict as AWS's (`Moto::start_strict`); what it
//! holds is checked with the AWS SDK for Rust signed by the seeded inspector.
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`). Every server, plugin process and
//! emulator is started per test on free loopback ports and stopped by PID, also on panic;
//! each node has its own plugin directory, so the plugin processes of a node (and the
//! orphans OpenBao leaves when it is SIGKILLed) are found by their executable's path.
//! The tests are serialised: each is timing-sensitive and the machine has two cores.
//!
//! Covered: `iam_user` credentials and configuration asked of a standby are forwarded to
//! and served by the active node; after a SIGKILL of the active node a standby takes
//! over, revokes a lease on demand, expires a short lease on time and keeps issuing, the
//! orphaned plugin process exits by itself, and the killed node rejoins as a follower; a
//! node restarted on its Raft storage keeps its leases and rolls back a WAL entry left
//! before the restart; STS credentials and `config/rotate-root` asked of a standby are
//! forwarded too (the plugin refuses them on a performance standby before calling AWS);
//! and no plugin process outlives a test.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::aws::{AwsClients, error_code};
use common::http::HttpResponse;
use common::iam_seed::{ROOT_USER, Seeded};
use common::moto::{ACCOUNT_ID, Moto, moto_for_acceptance};
use common::openbao::bao_for_acceptance;
use common::raft::{Health, RaftCluster, RaftNode};
use common::{poll_until, wait_until};

/// One test at a time: all three are timing-sensitive (a failover, a lease expiry, a rollback
/// tick) and four OpenBao servers with two emulators would share two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// The short lease of the failover test: long enough to outlive the failover (measured
/// 11–15 s here), short enough to keep the suite quick.
const SHORT_LEASE: Duration = Duration::from_secs(25);
/// How late after its expiry a lease's user may still exist: the expiration manager
/// revokes within a second or two; the rest is slack for a loaded machine.
const REVOKE_SLACK: Duration = Duration::from_secs(20);
/// How long a standby may redirect instead of forwarding after a leader change.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node may take to name the new leader after a failover or its own restart:
/// 2–10 s on a quiet machine, over 30 s seen while other builds loaded both cores. A
/// deadline, not a sleep: only a slow run waits this long.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a plugin process may outlive its SIGKILLed host: the plugin's watchdog gives
/// the host 5 s to come back, then exits.
const ORPHAN_EXIT: Duration = Duration::from_secs(20);
/// The role `assumed_role` credentials are issued for.
const STS_ROLE: &str = "cluster-target";

/// moto, seeded, and the inspector's SDK clients.
struct Emulator {
    admin: AwsClients,
    seeded: Seeded,
    moto: Moto,
}

impl Emulator {
    fn start(moto_bin: &std::path::Path) -> Self {
        let (moto, seeded, admin) = common::iam_seed::start_seeded(moto_bin);
        Emulator {
            admin,
            seeded,
            moto,
        }
    }

    /// Users "AWS" holds besides the seeded ones.
    fn issued_users(&self) -> BTreeSet<String> {
        common::iam_seed::issued_users(&self.admin)
    }

    /// The one issued user holding `access_key`.
    fn user_holding(&self, access_key: &str) -> String {
        let holders: Vec<String> = self
            .issued_users()
            .into_iter()
            .filter(|user| {
                let keys = self
                    .admin
                    .block(self.admin.iam.list_access_keys().user_name(user).send());
                match keys {
                    Ok(out) => out
                        .access_key_metadata()
                        .iter()
                        .any(|k| k.access_key_id() == Some(access_key)),
                    Err(e) if error_code(&e) == "NoSuchEntity" => false,
                    Err(e) => panic!("ListAccessKeys {user}: {}", error_code(&e)),
                }
            })
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "one user holds the issued key: {holders:?}"
        );
        holders[0].clone()
    }

    /// A role `assumed_role` credentials can be issued for, trusting the engine's user, and
    /// the permission for that user to assume it (the seeded policy has IAM actions only).
    fn add_sts_target(&self) -> String {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:user/{ROOT_USER}")},
                "Action": "sts:AssumeRole",
            }],
        });
        let iam = &self.admin.iam;
        let role = self
            .admin
            .block(
                iam.create_role()
                    .role_name(STS_ROLE)
                    .assume_role_policy_document(trust.to_string())
                    .send(),
            )
            .expect("CreateRole");
        let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        self.admin
            .block(
                iam.put_user_policy()
                    .user_name(ROOT_USER)
                    .policy_name("vault-assume-role")
                    .policy_document(allow)
                    .send(),
            )
            .expect("PutUserPolicy");
        role.role().expect("role").arn().to_owned()
    }
}

/// Issued credentials and their lease. No `Debug`: it holds a secret.
struct Issued {
    lease_id: String,
    lease_duration: u64,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    arn: Option<String>,
}

/// One request through `node`. A standby forwards to the active node, except for a moment
/// after a leader change, while its forwarding connection is not up yet: it then answers
/// 307, a redirect to the active node, having served nothing (clients such as the `bao`
/// CLI follow it). The request is repeated until the standby forwards.
fn through(
    node: &RaftNode,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> HttpResponse {
    let asked = Instant::now();
    let mut redirects = 0;
    let response = wait_until(FORWARD_TIMEOUT, "a standby to forward", || {
        let response = node.http(method, &format!("/v1/{path}"), Some(token), body);
        if response.status == 307 {
            redirects += 1;
            return None;
        }
        Some(response)
    });
    if redirects > 0 {
        eprintln!(
            "{} redirected {method} {path} {redirects} time(s) before forwarding it, {:?} \
             in all",
            node.name(),
            asked.elapsed()
        );
    }
    response
}

/// `GET /v1/<path>` through `node` (any node: a standby forwards to the active one);
/// panics with the status and OpenBao's error unless credentials come back.
fn issue(node: &RaftNode, token: &str, path: &str) -> Issued {
    let response = through(node, "GET", path, token, None);
    assert_eq!(
        response.status,
        200,
        "{path} through {}: {}",
        node.name(),
        response.body
    );
    let body = response.json();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Issued {
        lease_id: text(&body["lease_id"]).expect("lease_id"),
        lease_duration: body["lease_duration"].as_u64().expect("lease_duration"),
        access_key: text(&body["data"]["access_key"]).expect("access_key"),
        secret_key: text(&body["data"]["secret_key"]).expect("secret_key"),
        session_token: text(&body["data"]["session_token"]),
        arn: text(&body["data"]["arn"]),
    }
}

/// `PUT /v1/<path>` through `node`, which must answer 200 or 204.
fn write(node: &RaftNode, token: &str, path: &str, body: &Value) {
    let response = through(node, "PUT", path, token, Some(body));
    assert!(
        response.status == 200 || response.status == 204,
        "write {path} through {}: {} {}",
        node.name(),
        response.status,
        response.body
    );
}

/// The remaining TTL of `lease_id` in seconds, or `None` when the lease is gone.
fn lease_ttl(node: &RaftNode, token: &str, lease_id: &str) -> Option<u64> {
    let response = node.http(
        "PUT",
        "/v1/sys/leases/lookup",
        Some(token),
        Some(&json!({"lease_id": lease_id})),
    );
    match response.status {
        200 => response.json()["data"]["ttl"].as_u64(),
        400 | 404 => None,
        other => panic!(
            "lease lookup through {}: {other} {}",
            node.name(),
            response.body
        ),
    }
}

/// Registers the plugin through `via`, mounts it at `aws/` and points `config/root` at
/// moto. Written over HTTP so the secret key never appears on a command line or in a
/// failure message.
fn mount_engine(cluster: &RaftCluster, via: usize, emulator: &Emulator) {
    cluster.register_plugin(via);
    let node = &cluster.nodes[via];
    let token = cluster.token();
    node.cli_ok(token, &["secrets", "enable", "aws"]);
    let endpoint = emulator.moto.endpoint();
    write(
        node,
        token,
        "aws/config/root",
        &json!({
            "access_key": emulator.seeded.root.access_key,
            "secret_key": emulator.seeded.root.secret_key,
            "region": "us-east-1",
            "iam_endpoint": endpoint,
            "sts_endpoint": endpoint,
        }),
    );
    // A standby learns of a new mount from the Raft log a moment later; until then it
    // answers "no handler for route" instead of forwarding.
    let mounting = Instant::now();
    for node in &cluster.nodes {
        wait_until(Duration::from_secs(30), "every node to route aws/", || {
            let response = node.http("GET", "/v1/aws/config/lease", Some(token), None);
            (!response.body.contains("no handler for route")).then_some(())
        });
    }
    eprintln!(
        "aws/ routed on every node {:?} after the mount",
        mounting.elapsed()
    );
}

/// The gates: `None` (after saying so) unless `BAO_ACC=1`.
fn tools() -> Option<(PathBuf, PathBuf)> {
    Some((bao_for_acceptance()?, moto_for_acceptance()?))
}

/// Stops every server and asserts that no plugin process of this test is left: none
/// survived its server's graceful stop, and none runs from any node's plugin directory.
fn shut_down(cluster: &mut RaftCluster) {
    let survivors = cluster.shutdown();
    assert!(
        survivors.is_empty(),
        "plugin processes outlived their stopped servers (killed now): {survivors:?}"
    );
    assert_eq!(
        cluster.plugin_pids(),
        Vec::<u32>::new(),
        "plugin processes left"
    );
}

#[test]
fn a_raft_cluster_issues_through_standbys_and_survives_the_loss_of_its_active_node() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((bao, moto_bin)) = tools() else {
        return;
    };
    let emulator = Emulator::start(&moto_bin);
    let sts_role_arn = emulator.add_sts_target();

    // The cluster: node1 initialised and unsealed, node2 and node3 joined, three voters.
    let started = Instant::now();
    let mut cluster = RaftCluster::start(&bao, 3, &[]);
    let listening = started.elapsed();
    let election = cluster.init_first();
    // Autopilot promotes a joined node to voter once it has been healthy for the
    // stabilisation time (10 s by default); a second is plenty on loopback.
    write(
        &cluster.nodes[0],
        cluster.token(),
        "sys/storage/raft/autopilot/configuration",
        &json!({"server_stabilization_time": "1s"}),
    );
    cluster.join(1, 0);
    cluster.join(2, 0);
    wait_until(Duration::from_secs(90), "three Raft voters", || {
        let servers = cluster.raft_servers(0);
        (servers.len() == 3 && servers.iter().all(|(_, voter)| *voter)).then_some(())
    });
    let ready = started.elapsed();
    eprintln!(
        "cluster: listening after {listening:?}, node1 active {election:?} after unseal, \
         3 voters after {ready:?}"
    );
    assert_eq!(cluster.active(), Some(0), "node1 is the active node");
    let token = cluster.token().to_owned();

    mount_engine(&cluster, 0, &emulator);
    // Everything else goes through the standbys, which forward to the active node.
    let (s1, s2) = (&cluster.nodes[1], &cluster.nodes[2]);
    write(
        s1,
        &token,
        "aws/roles/cluster-user",
        &json!({"credential_type": "iam_user"}),
    );
    write(
        s2,
        &token,
        "aws/roles/cluster-sts",
        &json!({"credential_type": "assumed_role", "role_arns": [sts_role_arn]}),
    );
    write(
        s1,
        &token,
        "aws/config/lease",
        &json!({"lease": "1h", "lease_max": "24h"}),
    );
    let long = issue(s1, &token, "aws/creds/cluster-user");
    assert_eq!(long.lease_duration, 3600, "config/lease's TTL");
    let long_user = emulator.user_holding(&long.access_key);
    let short_lease = format!("{}s", SHORT_LEASE.as_secs());
    write(
        s2,
        &token,
        "aws/config/lease",
        &json!({"lease": short_lease, "lease_max": short_lease}),
    );
    let short_asked = Instant::now();
    let short = issue(s2, &token, "aws/creds/cluster-user");
    assert_eq!(short.lease_duration, SHORT_LEASE.as_secs());
    let short_user = emulator.user_holding(&short.access_key);
    assert_ne!(long_user, short_user);
    // STS credentials are asked of the active node: through a standby they fail (see
    // `standbys_forward_sts_credentials_and_rotate_root`).
    let sts = issue(&cluster.nodes[0], &token, "aws/sts/cluster-sts");
    assert_sts_works(&emulator, &sts);
    // Every node runs the plugin (standbys too): so the killed node leaves an orphan.
    let per_node: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|n| n.plugin_pids().len())
        .collect();
    eprintln!("plugin processes per node before the kill: {per_node:?}");

    // SIGKILL the active node: a standby takes over. The node's plugin process is
    // orphaned (its host can no longer stop it); the plugin's watchdog makes it exit by
    // itself once the host has been gone for 5 s. Any still running after
    // `ORPHAN_EXIT` is killed by PID, and the test fails.
    let killed_at = Instant::now();
    cluster.nodes[0].kill();
    let orphans = cluster.nodes[0].plugin_pids();
    assert!(!orphans.is_empty(), "node1 ran a plugin process");
    let mut orphans_exited = None;
    let new_active = wait_until(
        Duration::from_secs(60),
        "a standby to become active",
        || {
            if orphans_exited.is_none() && cluster.nodes[0].plugin_pids().is_empty() {
                orphans_exited = Some(killed_at.elapsed());
            }
            cluster.active()
        },
    );
    let failover = killed_at.elapsed();
    let orphans_exited = orphans_exited.or_else(|| {
        poll_until(ORPHAN_EXIT.saturating_sub(failover), || {
            cluster.nodes[0]
                .plugin_pids()
                .is_empty()
                .then(|| killed_at.elapsed())
        })
    });
    let killed = cluster.nodes[0].kill_plugins();
    eprintln!(
        "failover: {} active {failover:?} after the SIGKILL of node1; its orphaned plugin \
         process(es) {orphans:?} exited by themselves {orphans_exited:?} after the kill; \
         killed by PID: {killed:?}",
        cluster.nodes[new_active].name(),
    );
    assert_eq!(cluster.nodes[0].plugin_pids(), Vec::<u32>::new());
    assert_eq!(
        killed,
        Vec::<u32>::new(),
        "orphaned plugin processes still ran {ORPHAN_EXIT:?} after their host was killed"
    );
    let standby = 3 - new_active; // the other survivor: indices 1 and 2
    let active = &cluster.nodes[new_active];
    assert_eq!(active.leader()["is_self"], true);
    wait_until(
        FOLLOW_TIMEOUT,
        "the standby to follow the new leader",
        || {
            (cluster.nodes[standby].leader()["leader_address"] == active.addr().as_str())
                .then_some(())
        },
    );

    // Both leases survived the failover (the short one unless it already expired).
    if short_asked.elapsed() + Duration::from_secs(2) < SHORT_LEASE {
        assert!(
            lease_ttl(active, &token, &short.lease_id).is_some(),
            "the short lease survived the failover"
        );
    }

    // The long lease, revoked on demand through the new active node.
    assert!(
        lease_ttl(active, &token, &long.lease_id).is_some(),
        "long lease survived"
    );
    assert!(emulator.admin.user_exists(&long_user), "{long_user} exists");
    let revoking = Instant::now();
    active.cli_ok(&token, &["lease", "revoke", "-sync", &long.lease_id]);
    let revoke_took = revoking.elapsed();
    assert!(
        !emulator.admin.user_exists(&long_user),
        "{long_user} still exists"
    );
    assert_eq!(lease_ttl(active, &token, &long.lease_id), None);

    // The new active node's plugin issues: iam_user through the remaining standby, STS
    // directly.
    let after = issue(&cluster.nodes[standby], &token, "aws/creds/cluster-user");
    let after_user = emulator.user_holding(&after.access_key);
    active.cli_ok(&token, &["lease", "revoke", "-sync", &after.lease_id]);
    assert!(
        !emulator.admin.user_exists(&after_user),
        "{after_user} still exists"
    );
    let sts = issue(active, &token, "aws/sts/cluster-sts");
    assert_sts_works(&emulator, &sts);

    // The short lease, expired on time by the new active node.
    let gone_after = wait_until(
        SHORT_LEASE + failover + REVOKE_SLACK + Duration::from_secs(20),
        "the short lease's user to be deleted",
        || (!emulator.admin.user_exists(&short_user)).then(|| short_asked.elapsed()),
    );
    let late = gone_after.saturating_sub(SHORT_LEASE);
    eprintln!(
        "revoke -sync of the long lease took {revoke_took:?}; the short lease's user was \
         gone {gone_after:?} after issuance ({late:?} after expiry)"
    );
    assert!(
        gone_after >= SHORT_LEASE,
        "deleted before the lease expired: {gone_after:?}"
    );
    let due = SHORT_LEASE.max(killed_at.duration_since(short_asked) + failover);
    assert!(
        gone_after <= due + REVOKE_SLACK,
        "deleted {gone_after:?} after issuance; due by {due:?} + {REVOKE_SLACK:?}"
    );
    wait_until(
        Duration::from_secs(10),
        "the short lease to be gone",
        || {
            lease_ttl(active, &token, &short.lease_id)
                .is_none()
                .then_some(())
        },
    );

    // The killed node restarts on its storage and rejoins as a follower.
    let restarting = Instant::now();
    cluster.nodes[0].start();
    cluster.unseal(0);
    cluster.nodes[0].wait_health(Health::Standby, Duration::from_secs(60));
    let rejoined = restarting.elapsed();
    let active_addr = cluster.nodes[new_active].addr();
    wait_until(FOLLOW_TIMEOUT, "node1 to follow the new leader", || {
        (cluster.nodes[0].leader()["leader_address"] == active_addr.as_str()).then_some(())
    });
    eprintln!(
        "node1 restarted, unsealed and a standby {rejoined:?} after its start, following {} \
         after {:?}",
        cluster.nodes[new_active].name(),
        restarting.elapsed()
    );
    let servers = cluster.raft_servers(new_active);
    assert_eq!(servers.len(), 3, "{servers:?}");
    assert!(servers.iter().all(|(_, voter)| *voter), "{servers:?}");
    assert_eq!(cluster.active(), Some(new_active), "no second failover");

    // Nothing leaked in "AWS", and no plugin process outlives the test.
    assert_eq!(emulator.issued_users(), BTreeSet::new());
    shut_down(&mut cluster);
    eprintln!("whole test: {:?}", started.elapsed());
}

/// STS credentials from an `assumed_role` role: an STS lease, and moto resolves the
/// key to the assumed role.
fn assert_sts_works(emulator: &Emulator, sts: &Issued) {
    assert!(
        sts.lease_id.starts_with("aws/sts/cluster-sts/"),
        "{}",
        sts.lease_id
    );
    let session_token = sts.session_token.as_deref().expect("session_token");
    let holder = AwsClients::new(
        &emulator.moto.endpoint(),
        &sts.access_key,
        &sts.secret_key,
        Some(session_token),
    );
    let arn = holder
        .caller_arn()
        .expect("the STS credentials are accepted");
    let want = format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{STS_ROLE}/");
    assert!(arn.starts_with(&want), "{arn}");
    assert_eq!(sts.arn.as_deref(), Some(arn.as_str()));
}

#[test]
fn a_raft_node_restarted_on_its_storage_keeps_its_leases_and_rolls_back_its_wal() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((bao, moto_bin)) = tools() else {
        return;
    };
    let emulator = Emulator::start(&moto_bin);
    let started = Instant::now();
    // A short WAL minimum age, so the first rollback tick after the restart (a minute
    // after the node becomes active) takes the entry.
    let mut cluster = RaftCluster::start(&bao, 1, &[("AWS_RS_WAL_MIN_AGE", "5s")]);
    let election = cluster.init_first();
    let token = cluster.token().to_owned();
    mount_engine(&cluster, 0, &emulator);
    let node = &cluster.nodes[0];
    write(
        node,
        &token,
        "aws/config/lease",
        &json!({"lease": "1h", "lease_max": "24h"}),
    );
    write(
        node,
        &token,
        "aws/roles/kept",
        &json!({"credential_type": "iam_user"}),
    );
    write(
        node,
        &token,
        "aws/roles/badgroup",
        &json!({"credential_type": "iam_user", "iam_groups": ["no-such-group"]}),
    );

    let issued = issue(node, &token, "aws/creds/kept");
    let kept_user = emulator.user_holding(&issued.access_key);
    // AddUserToGroup fails after CreateUser: a half-made user, guarded by a WAL entry.
    let refused = node.http("GET", "/v1/aws/creds/badgroup", Some(&token), None);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("no-such-group"), "{}", refused.body);
    let half_made: Vec<String> = emulator
        .issued_users()
        .into_iter()
        .filter(|u| *u != kept_user)
        .collect();
    assert_eq!(half_made.len(), 1, "the half-made user: {half_made:?}");
    let half_made = half_made[0].clone();
    let before = started.elapsed();

    // SIGKILL, well before the first rollback tick (a minute after unsealing) and so before
    // anything could have rolled the entry back; restart on the same storage and unseal.
    cluster.nodes[0].kill();
    let orphans = cluster.nodes[0].kill_plugins();
    let restarting = Instant::now();
    cluster.nodes[0].start();
    cluster.unseal(0);
    cluster.nodes[0].wait_health(Health::Active, Duration::from_secs(90));
    let back = restarting.elapsed();
    eprintln!(
        "single node: active {election:?} after the first unseal, lease and WAL entry left \
         {before:?} after start; SIGKILLed ({} orphaned plugin process(es) killed); active \
         again {back:?} after the restart",
        orphans.len()
    );
    let node = &cluster.nodes[0];

    // The lease survived, and revoking it deletes its user.
    let ttl = lease_ttl(node, &token, &issued.lease_id).expect("the lease survived the restart");
    assert!((3000..=3600).contains(&ttl), "ttl {ttl}");
    assert!(emulator.admin.user_exists(&kept_user), "{kept_user} exists");
    node.cli_ok(&token, &["lease", "revoke", "-sync", &issued.lease_id]);
    assert!(
        !emulator.admin.user_exists(&kept_user),
        "{kept_user} still exists"
    );
    assert_eq!(lease_ttl(node, &token, &issued.lease_id), None);

    // The WAL entry is rolled back by the restarted node: the half-made user is deleted,
    // and this start's log says so.
    let rolled_back = Instant::now();
    wait_until(
        Duration::from_secs(150),
        "the rollback to delete the half-made user",
        || (!emulator.admin.user_exists(&half_made)).then_some(()),
    );
    eprintln!(
        "half-made user gone {:?} after the restart",
        rolled_back.elapsed() + back
    );
    let log = node.log_text();
    assert!(
        log.lines().any(|l| {
            l.contains("rolled back a half-made IAM user") && l.contains(half_made.as_str())
        }),
        "no rollback of {half_made} in the restarted node's log"
    );
    assert_eq!(emulator.issued_users(), BTreeSet::new());
    shut_down(&mut cluster);
    eprintln!("whole test: {:?}", started.elapsed());
}

/// An OpenBao 2.7 standby with Raft storage serves requests itself
/// (standby reads), tells plugins it is a performance standby (`ReplicationState` bit 14),
/// and forwards a request to the active node only when the plugin answers exactly
/// `cannot write to readonly storage`. `iam_user` issuance writes its WAL entry first and
/// so is forwarded; STS issuance writes nothing, calls AWS on the standby, and the host
/// then fails to store the lease (500, credentials lost); rotate-root creates a new AWS
/// key on the standby, fails to save it, and wraps the read-only error so it is not
/// forwarded (500, a leaked key). The plugin therefore refuses both up front on a
/// performance standby, as OpenBao's database engine does, and the host forwards them.
#[test]
fn standbys_forward_sts_credentials_and_rotate_root() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((bao, moto_bin)) = tools() else {
        return;
    };
    let emulator = Emulator::start(&moto_bin);
    let sts_role_arn = emulator.add_sts_target();
    // Two nodes are enough for a standby; it need not become a voter.
    let mut cluster = RaftCluster::start(&bao, 2, &[]);
    cluster.init_first();
    cluster.join(1, 0);
    let token = cluster.token().to_owned();
    mount_engine(&cluster, 0, &emulator);
    let standby = &cluster.nodes[1];
    write(
        standby,
        &token,
        "aws/roles/cluster-sts",
        &json!({"credential_type": "assumed_role", "role_arns": [sts_role_arn]}),
    );

    let sts = standby.http("GET", "/v1/aws/sts/cluster-sts", Some(&token), None);
    let rotated = standby.http("PUT", "/v1/aws/config/rotate-root", Some(&token), None);
    let root_keys = emulator
        .admin
        .block(
            emulator
                .admin
                .iam
                .list_access_keys()
                .user_name(ROOT_USER)
                .send(),
        )
        .expect("ListAccessKeys")
        .access_key_metadata()
        .len();
    eprintln!(
        "through the standby: sts/ answered {}, rotate-root answered {} ({}); the root user \
         has {root_keys} access key(s)",
        sts.status,
        rotated.status,
        if rotated.status == 200 {
            "body withheld: it names a key"
        } else {
            &rotated.body
        },
    );
    shut_down(&mut cluster);
    assert_eq!(
        sts.status, 200,
        "STS credentials through a standby: {}",
        sts.body
    );
    assert_eq!(rotated.status, 200, "rotate-root through a standby");
    assert_eq!(root_keys, 1, "rotate-root left exactly the new key");
}
