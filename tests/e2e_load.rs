//! Sustained load, end to end (test layer; its own target because it is slow): 32
//! concurrent clients for a bounded time (60 s; `AWS_RS_LOAD_SECS` shortens it for local
//! runs) against a real OpenBao 2.7.2 dev server running the plugin, with moto as AWS.
//! Three of every four requests are STS credentials (`sts/`, one AssumeRole); the fourth
//! issues `iam_user` credentials and revokes their lease at once.
//!
//! What must hold: zero unexpected answers (every issue 200, every revoke 204); the
//! plugin's resident memory flat after the warm-up (no growth with the number of requests
//! served); the plugin process never restarted; at the end every lease under the mount
//! revoked and not one IAM user left in moto besides the engine's own. The figures are
//! printed as one `LOAD-REPORT` line for the README's Reliability section.
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`).

mod common;

#[allow(dead_code)] // Only the RSS reader is used here.
#[path = "benchkit/procfs.rs"]
mod procfs;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::aws::AwsClients;
use common::http::{self, HttpResponse};
use common::moto::{ACCOUNT_ID, Auth, Moto, moto_for_acceptance};
use common::openbao::{OpenBao, bao_for_acceptance};
use common::wait_until;

const CLIENTS: usize = 32;
const DEFAULT_SECONDS: u64 = 60;
/// Samples taken before this are the warm-up (allocator arenas, connection pools,
/// caches filling).
const WARM_UP: Duration = Duration::from_secs(15);
/// How much the plugin's RSS may grow from the end of the warm-up to the end of the run:
/// allocator noise, not a leak (a leak grows with every one of thousands of requests).
const RSS_SLACK_MB: f64 = 8.0;
const ROOT_TOKEN: &str = "root";

fn run_seconds() -> u64 {
    std::env::var("AWS_RS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECONDS)
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    sts: AtomicU64,
    /// Every secret key and session token answered, for the log check.
    secrets: Mutex<Vec<String>>,
    iam_issued: AtomicU64,
    iam_revoked: AtomicU64,
    unexpected: Mutex<Vec<String>>,
}

impl Tally {
    fn saw_secrets(&self, response: &HttpResponse) {
        let data = &response.json()["data"];
        let mut secrets = self.secrets.lock().expect("tally");
        for field in ["secret_key", "session_token"] {
            if let Some(s) = data[field].as_str() {
                secrets.push(s.to_string());
            }
        }
    }

    fn unexpected(&self, what: &str, response: &std::io::Result<HttpResponse>) {
        let text = match response {
            Ok(r) => format!(
                "{what}: {} {}",
                r.status,
                r.body.chars().take(300).collect::<String>()
            ),
            Err(e) => format!("{what}: {e}"),
        };
        self.unexpected.lock().expect("tally").push(text);
    }
}

fn call(
    server: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<HttpResponse> {
    let body = body.map(Value::to_string);
    http::request(
        server,
        method,
        path,
        &[("X-Vault-Token", ROOT_TOKEN)],
        body.as_deref(),
    )
}

/// One client: issue, and for iam_user revoke, until `stop`.
fn client(server: String, index: usize, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut n = index;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        if n % 4 != 0 {
            let r = call(&server, "POST", "/v1/aws/sts/load-sts", Some(&json!({})));
            match &r {
                Ok(ok) if ok.status == 200 => {
                    tally.sts.fetch_add(1, Ordering::Relaxed);
                    tally.saw_secrets(ok);
                }
                _ => tally.unexpected("sts", &r),
            }
            continue;
        }
        let issued = call(&server, "GET", "/v1/aws/creds/load-iam", None);
        let lease = match &issued {
            Ok(ok) if ok.status == 200 => {
                tally.saw_secrets(ok);
                ok.json()["lease_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            }
            _ => {
                tally.unexpected("creds", &issued);
                continue;
            }
        };
        tally.iam_issued.fetch_add(1, Ordering::Relaxed);
        let revoked = call(
            &server,
            "PUT",
            "/v1/sys/leases/revoke",
            Some(&json!({"lease_id": lease, "sync": true})),
        );
        match &revoked {
            Ok(ok) if ok.status == 204 => {
                tally.iam_revoked.fetch_add(1, Ordering::Relaxed);
            }
            _ => tally.unexpected("revoke", &revoked),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[test]
fn sustained_mixed_load_has_no_errors_flat_memory_and_leaves_nothing_behind() {
    let (Some(bao), Some(moto_bin)) = (bao_for_acceptance(), moto_for_acceptance()) else {
        return;
    };
    let moto = Moto::start(&moto_bin, Auth::Open);
    let server = OpenBao::start(&bao);
    server.install_plugin();
    server.cli_ok(&["secrets", "enable", "aws"]);
    let endpoint = moto.endpoint();
    let ok = |r: HttpResponse, what: &str| {
        assert!(
            r.status == 200 || r.status == 204,
            "{what}: {} {}",
            r.status,
            r.body
        );
    };
    ok(
        server.write(
            "aws/config/root",
            &json!({"access_key": "AKIALOADTESTROOT0001", "secret_key": "load-test-root-secret",
                    "region": "us-east-1", "iam_endpoint": endpoint, "sts_endpoint": endpoint}),
        ),
        "config/root",
    );
    ok(
        server.write(
            "aws/roles/load-sts",
            &json!({"credential_type": "assumed_role",
                    "role_arns": [format!("arn:aws:iam::{ACCOUNT_ID}:role/load")]}),
        ),
        "sts role",
    );
    ok(
        server.write(
            "aws/roles/load-iam",
            &json!({"credential_type": "iam_user",
                    "policy_document": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#}),
        ),
        "iam role",
    );
    let pids = server.plugin_pids();
    assert_eq!(pids.len(), 1, "one plugin process: {pids:?}");
    let plugin = pids[0];
    let (idle_rss, _) = procfs::rss_mb(plugin).expect("plugin RSS");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (server, stop, tally) = (server.host_port(), stop.clone(), tally.clone());
            thread::spawn(move || client(server, i, stop, tally))
        })
        .collect();
    let run = Duration::from_secs(run_seconds());
    let mut samples: Vec<(Duration, f64)> = Vec::new();
    while started.elapsed() < run {
        thread::sleep(Duration::from_secs(1));
        let rss = procfs::rss_mb(plugin).map(|(rss, _)| rss);
        assert!(
            rss.is_some(),
            "the plugin process {plugin} is gone; server log:\n{}",
            server.log_tail(60)
        );
        samples.push((started.elapsed(), rss.unwrap_or_default()));
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("client thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Shown first: if a cleanup assertion below fails, these explain it.
    for answer in tally.unexpected.lock().expect("tally").iter().take(10) {
        eprintln!("unexpected answer: {answer}");
    }

    // Every lease under the mount revoked (STS leases revoke as a no-op), then nothing
    // left: no lease, no issued user.
    let revoke_all = call(
        &server.host_port(),
        "PUT",
        "/v1/sys/leases/revoke-prefix/aws",
        Some(&json!({"sync": true})),
    );
    assert!(
        matches!(&revoke_all, Ok(r) if r.status == 204),
        "revoke-prefix aws/: {:?}",
        revoke_all.as_ref().map(|r| (r.status, r.body.clone()))
    );
    let leases_left = |prefix: &str| {
        let r = server.http("LIST", &format!("/v1/sys/leases/lookup/{prefix}"), None);
        match r.status {
            200 => r.json()["data"]["keys"].as_array().map_or(0, Vec::len),
            404 => 0,
            other => panic!("list leases {prefix}: {other} {}", r.body),
        }
    };
    assert_eq!(
        leases_left("aws/creds/load-iam/"),
        0,
        "iam_user leases left"
    );
    assert_eq!(leases_left("aws/sts/load-sts/"), 0, "sts leases left");
    let admin = AwsClients::new(&endpoint, "AKIAINSPECTOR0000001", "inspector-secret", None);
    let users = wait_until(
        Duration::from_secs(10),
        "moto to hold no issued user",
        || {
            let users = admin.user_names();
            users.is_empty().then_some(users)
        },
    );
    assert!(users.is_empty());
    assert_eq!(
        server.plugin_pids(),
        vec![plugin],
        "the plugin process was restarted during the run"
    );

    let unexpected = tally.unexpected.lock().expect("tally").clone();
    let after_warm_up: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= WARM_UP)
        .map(|(_, rss)| *rss)
        .collect();
    assert!(
        after_warm_up.len() >= 4,
        "the run ({elapsed:.0} s) is too short to judge memory after a {WARM_UP:?} warm-up"
    );
    let (sts, issued, revoked) = (
        tally.sts.load(Ordering::Relaxed),
        tally.iam_issued.load(Ordering::Relaxed),
        tally.iam_revoked.load(Ordering::Relaxed),
    );
    let window = (after_warm_up.len() / 2).min(10);
    let mut first = after_warm_up[..window].to_vec();
    let mut last = after_warm_up[after_warm_up.len() - window..].to_vec();
    let (rss_warm, rss_end) = (median(&mut first), median(&mut last));
    let peak = samples.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    eprintln!(
        "LOAD-REPORT {}",
        json!({
            "seconds": (elapsed * 10.0).round() / 10.0,
            "clients": CLIENTS,
            "sts_issued": sts,
            "iam_issued": issued,
            "iam_revoked": revoked,
            "ops_per_s": ((sts + issued + revoked) as f64 / elapsed * 10.0).round() / 10.0,
            "unexpected": unexpected.len(),
            "rss_idle_mb": idle_rss,
            "rss_after_warm_up_mb": rss_warm,
            "rss_end_mb": rss_end,
            "rss_peak_mb": peak,
            "users_left": users.len(),
            "secrets_checked_in_logs": tally.secrets.lock().expect("tally").len() + 1,
        })
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers, e.g.:\n{}",
        unexpected.len(),
        unexpected
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        sts > 0 && issued > 0,
        "the load did not run: sts {sts}, iam {issued}"
    );
    // No secret of the run in the server's log (the plugin's lines are in it too).
    let mut seen = tally.secrets.lock().expect("tally").clone();
    seen.push("load-test-root-secret".to_string());
    let leaked = common::secrets::leaked(&server.log_text(), &seen);
    assert!(
        leaked.is_empty(),
        "{} of {} secrets appear in the server or plugin log",
        leaked.len(),
        seen.len()
    );
    assert_eq!(issued, revoked, "every issued iam_user lease was revoked");
    assert!(
        rss_end <= rss_warm + RSS_SLACK_MB,
        "plugin RSS grew under load: {rss_warm:.1} MB after the warm-up, {rss_end:.1} MB at the end (samples: {samples:?})"
    );
}
