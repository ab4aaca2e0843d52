//! The benchmark's world (test layer): moto (open: no signature checks, so the direct
//! calls need no signing) and an OpenBao dev server with the plugin binary under test
//! mounted at `aws/`, a kv-v1 mount at `kv/` for the server's own floor, the roles the
//! targets use, and the targets themselves. Started and stopped like the end-to-end
//! suites' (by PID, on free loopback ports).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::client::Client;
use super::load::{Pids, Target};
use crate::common::moto::{Auth, Moto};
use crate::common::openbao::{OpenBao, ROOT_TOKEN};
use crate::common::wait_until;

/// The group the `iam_user` role puts its users in.
const GROUP: &str = "dev-group";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

/// moto, OpenBao and the mounted plugin.
pub struct World {
    // Dropped in declaration order: the server (and its plugin) before the emulator.
    pub server: OpenBao,
    pub moto: Moto,
}

impl World {
    /// Starts everything with `plugin` as the plugin binary; `idle_rss` is read right
    /// after the mount, before any request reaches the plugin.
    pub fn start(bao: &Path, moto_bin: &Path, plugin: &Path) -> World {
        let moto = Moto::start(moto_bin, Auth::Open);
        let server = OpenBao::start(bao);
        server.install_plugin_from(plugin);
        server.cli_ok(&["secrets", "enable", "-version=1", "kv"]);
        server.cli_ok(&["write", "kv/bench", "value=floor"]);
        let world = World { server, moto };
        world.seed_moto();
        world
    }

    /// Mounts the plugin at `aws/`; returns the mount time.
    pub fn mount(&self) -> Duration {
        let started = std::time::Instant::now();
        self.server.cli_ok(&["secrets", "enable", "aws"]);
        started.elapsed()
    }

    /// Points the mount at moto and writes the roles the targets use.
    pub fn configure(&self) {
        let endpoint = self.moto.endpoint();
        self.server.cli_ok(&[
            "write",
            "aws/config/root",
            "access_key=AKIABENCHROOT",
            "secret_key=bench-secret",
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ]);
        self.write(
            "aws/roles/ec2-admin",
            json!({"credential_type": "assumed_role", "role_arns": ROLE_ARN}),
        );
        self.write(
            "aws/roles/iam-dev",
            json!({"credential_type": "iam_user", "policy_arns": READ_ONLY,
                   "policy_document": DOC, "iam_groups": GROUP}),
        );
    }

    fn write(&self, path: &str, body: Value) {
        let response = self.server.write(path, &body);
        assert!(
            response.status < 300,
            "{path}: {} {}",
            response.status,
            response.body
        );
    }

    /// What moto needs for the targets (the group; roles and policies need nothing while
    /// moto checks no signatures).
    fn seed_moto(&self) {
        self.moto
            .query_ok("iam", "CreateGroup", &[("GroupName", GROUP)]);
        self.moto.query_ok(
            "iam",
            "AttachGroupPolicy",
            &[("GroupName", GROUP), ("PolicyArn", READ_ONLY)],
        );
    }

    /// Forgets every lease of the `iam_user` role without calling the plugin (its users are
    /// about to vanish with moto's state), then resets moto and seeds it again: moto slows
    /// as its state grows.
    pub fn reset(&self) {
        let response = self
            .server
            .http("PUT", "/v1/sys/leases/revoke-force/aws/creds", None);
        assert!(
            response.status < 300,
            "revoke-force: {} {}",
            response.status,
            response.body
        );
        self.moto.reset();
        self.seed_moto();
    }

    /// The processes whose CPU is counted.
    pub fn pids(&self) -> Pids {
        let plugin = wait_until(Duration::from_secs(30), "the plugin process", || {
            self.server.plugin_pids().first().copied()
        });
        Pids {
            bao: self.server.pid(),
            plugin,
            moto: self.moto.pid(),
        }
    }

    fn bao_client(&self) -> Client {
        Client::new(&self.server.host_port(), &[("X-Vault-Token", ROOT_TOKEN)])
    }

    fn moto_client(&self) -> Client {
        Client::new(&self.moto.host_port(), &[])
    }

    /// The target named `name` (see [`TARGETS`]).
    pub fn target(&self, name: &str) -> Box<dyn Target + '_> {
        match name {
            "kv_read" => Box::new(Http::new(self, "GET", "/v1/kv/bench", None)),
            "kv_write" => Box::new(Http::new(
                self,
                "POST",
                "/v1/kv/bench",
                Some(r#"{"value":"x"}"#),
            )),
            "roles" => Box::new(Http::new(self, "GET", "/v1/aws/roles/ec2-admin", None)),
            "sts" => Box::new(Http::new(self, "POST", "/v1/aws/sts/ec2-admin", Some("{}"))),
            "iam" => Box::new(Http::new(self, "GET", "/v1/aws/creds/iam-dev", None)),
            "revoke" => Box::new(Revoke::new(self)),
            "moto_sts" => Box::new(MotoSts { world: self }),
            "moto_iam" => Box::new(MotoIam {
                world: self,
                next: AtomicU64::new(0),
            }),
            other => panic!("no benchmark target {other}"),
        }
    }
}

/// Every target, in the order each repeat runs them.
pub const TARGETS: [&str; 8] = [
    "kv_read", "kv_write", "roles", "sts", "iam", "revoke", "moto_sts", "moto_iam",
];

/// One request to OpenBao that must answer 2xx.
struct Http<'a> {
    world: &'a World,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
}

impl<'a> Http<'a> {
    fn new(
        world: &'a World,
        method: &'static str,
        path: &'static str,
        body: Option<&'static str>,
    ) -> Self {
        Http {
            world,
            method,
            path,
            body,
        }
    }
}

fn ok(reply: super::client::Reply, what: &str) -> Result<super::client::Reply, String> {
    if reply.status < 300 {
        Ok(reply)
    } else {
        Err(format!("{what}: {} {}", reply.status, reply.body))
    }
}

impl Target for Http<'_> {
    fn client(&self) -> Client {
        self.world.bao_client()
    }

    fn op(&self, client: &mut Client) -> Result<bool, String> {
        ok(client.send(self.method, self.path, self.body)?, self.path).map(|_| true)
    }
}

/// Revokes (synchronously) leases issued beforehand; one operation is one revoke.
struct Revoke<'a> {
    world: &'a World,
    leases: Mutex<Vec<String>>,
}

impl<'a> Revoke<'a> {
    fn new(world: &'a World) -> Self {
        Revoke {
            world,
            leases: Mutex::new(Vec::new()),
        }
    }
}

/// Issues `count` `iam_user` leases (8 at a time, not measured) for a revoke run.
pub fn issue_leases(world: &World, count: usize) -> Vec<String> {
    let issued = Mutex::new(Vec::new());
    let left = std::sync::atomic::AtomicUsize::new(count);
    std::thread::scope(|scope| {
        for _ in 0..8.min(count.max(1)) {
            scope.spawn(|| {
                let mut client = world.bao_client();
                while left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let reply = client
                        .send("GET", "/v1/aws/creds/iam-dev", None)
                        .expect("issue");
                    assert_eq!(reply.status, 200, "issue for revoke: {}", reply.body);
                    let body: Value = serde_json::from_str(&reply.body).expect("json");
                    let id = body["lease_id"].as_str().expect("lease_id").to_string();
                    issued.lock().unwrap_or_else(|e| e.into_inner()).push(id);
                }
            });
        }
    });
    issued.into_inner().unwrap_or_else(|e| e.into_inner())
}

impl Revoke<'_> {
    /// Refills the leases to revoke.
    pub fn refill(&self, leases: Vec<String>) {
        *self.leases.lock().unwrap_or_else(|e| e.into_inner()) = leases;
    }
}

impl Target for Revoke<'_> {
    fn client(&self) -> Client {
        self.world.bao_client()
    }

    fn op(&self, client: &mut Client) -> Result<bool, String> {
        let Some(lease) = self.leases.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
            return Ok(false);
        };
        let body = json!({"lease_id": lease, "sync": true}).to_string();
        ok(
            client.send("PUT", "/v1/sys/leases/revoke", Some(&body))?,
            "revoke",
        )
        .map(|_| true)
    }

    fn prepare(&self, count: usize) {
        self.refill(issue_leases(self.world, count));
    }
}

/// A query-protocol call straight to moto (unsigned; moto runs open).
fn moto_call(
    client: &mut Client,
    service: &str,
    action: &str,
    params: &[(&str, &str)],
) -> Result<(), String> {
    let version = if service == "iam" {
        "2010-05-08"
    } else {
        "2011-06-15"
    };
    let mut form = format!("Action={action}&Version={version}");
    for (k, v) in params {
        form.push_str(&format!("&{k}={}", urlencode(v)));
    }
    let reply = client.send("POST", "/", Some(&form))?;
    ok(reply, action).map(drop)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// AssumeRole straight to moto, as the `sts` target's one AWS call.
struct MotoSts<'a> {
    world: &'a World,
}

impl Target for MotoSts<'_> {
    fn client(&self) -> Client {
        let mut client = self.world.moto_client();
        client.set_header("Authorization", &moto_auth("sts"));
        client.set_header("Content-Type", "application/x-www-form-urlencoded");
        client
    }

    fn op(&self, client: &mut Client) -> Result<bool, String> {
        moto_call(
            client,
            "sts",
            "AssumeRole",
            &[
                ("RoleArn", ROLE_ARN),
                ("RoleSessionName", "bench-session"),
                ("DurationSeconds", "3600"),
            ],
        )
        .map(|_| true)
    }
}

/// The IAM calls one `iam_user` issuance makes, straight to moto.
struct MotoIam<'a> {
    world: &'a World,
    next: AtomicU64,
}

impl Target for MotoIam<'_> {
    fn client(&self) -> Client {
        let mut client = self.world.moto_client();
        client.set_header("Authorization", &moto_auth("iam"));
        client.set_header("Content-Type", "application/x-www-form-urlencoded");
        client
    }

    fn op(&self, client: &mut Client) -> Result<bool, String> {
        let user = format!("bench-direct-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let u = user.as_str();
        moto_call(
            client,
            "iam",
            "CreateUser",
            &[("UserName", u), ("Path", "/")],
        )?;
        moto_call(
            client,
            "iam",
            "AttachUserPolicy",
            &[("UserName", u), ("PolicyArn", READ_ONLY)],
        )?;
        moto_call(
            client,
            "iam",
            "PutUserPolicy",
            &[
                ("UserName", u),
                ("PolicyName", "iam-dev"),
                ("PolicyDocument", DOC),
            ],
        )?;
        moto_call(
            client,
            "iam",
            "AddUserToGroup",
            &[("UserName", u), ("GroupName", GROUP)],
        )?;
        moto_call(client, "iam", "CreateAccessKey", &[("UserName", u)])?;
        Ok(true)
    }
}

/// A syntactically valid SigV4 header naming `service` (moto routes on it; open moto
/// checks nothing else).
fn moto_auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIABENCHROOT/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}
