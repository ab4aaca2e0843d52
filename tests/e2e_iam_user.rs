//! End-to-end suite of `iam_user` credentials (test layer): a real OpenBao 2.7.2 dev server
//! running our plugin, against moto as "AWS" with request signing and IAM policies
//! enforced, and with IAM's DeleteUser made as strict as AWS's (`Moto::start_strict`: it
//! refuses while anything hangs off the user, where plain moto would hide a leak).
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`). Each test starts its own moto and
//! dev server on free loopback ports and stops both by PID when it ends. What "AWS" holds
//! is checked with the real AWS SDK for Rust, signed by an inspector user seeded with
//! `AdministratorAccess`; issued credentials are used the same way, as their holder would.
//!
//! Covered: a role with every attachment makes exactly that user, its key works, renew
//! extends the lease and revoke removes the user, its keys and policies; a user its holder
//! gave a console password, a second key, an SSH key, a signing certificate and a virtual
//! MFA device is still deleted; a short lease deletes its user seconds after expiry; and
//! half-made users — from a refused step, and from a SIGKILL of the plugin in the middle
//! of a burst — are gone after the next rollback, leaving no user that a live lease does
//! not account for.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::aws::{AwsClients, error_code};
use common::http::HttpResponse;
use common::iam_seed::{GROUP, INLINE_POLICY, READ_ONLY, ROOT_USER, SELF_SERVICE_POLICY, Seeded};
use common::moto::{ACCOUNT_ID, Moto, moto_for_acceptance, python_beside};
use common::openbao::{OpenBao, bao_for_acceptance};
use common::{send_signal, wait_until};

/// One test's world: strict moto, seeded; a dev server with the plugin mounted at `aws/`
/// and `config/root` pointing at moto; the inspector's SDK clients.
struct World {
    admin: AwsClients,
    python: PathBuf,
    seeded: Seeded,
    // Dropped in declaration order: the server (and its plugin) before the emulator.
    server: OpenBao,
    moto: Moto,
}

impl World {
    /// The world, with `env` on the server (and so its plugin); `None` when the suite is
    /// not enabled.
    fn start(env: &[(&str, &str)]) -> Option<Self> {
        let bao = bao_for_acceptance()?;
        let moto_bin: PathBuf = moto_for_acceptance()?;
        let (moto, seeded, admin) = common::iam_seed::start_seeded(&moto_bin);
        let server = OpenBao::start_with_env(&bao, env);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let endpoint = moto.endpoint();
        server.cli_ok(&[
            "write",
            "aws/config/root",
            &format!("access_key={}", seeded.root.access_key),
            &format!("secret_key={}", seeded.root.secret_key),
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ]);
        Some(World {
            admin,
            python: python_beside(&moto_bin),
            seeded,
            server,
            moto,
        })
    }

    fn role(&self, name: &str, body: Value) {
        let response = self.server.write(&format!("aws/roles/{name}"), &body);
        assert!(
            response.status == 204 || response.status == 200,
            "role {name}: {} {}",
            response.status,
            response.body
        );
    }

    /// `bao read -format=json aws/creds/<role>`, as an operator would.
    fn creds(&self, role: &str) -> Issued {
        let out = self
            .server
            .cli_ok(&["read", "-format=json", &format!("aws/creds/{role}")]);
        Issued::from_json(&serde_json::from_str(&out).expect("CLI JSON"))
    }

    /// Users "AWS" holds besides the seeded ones.
    fn issued_users(&self) -> BTreeSet<String> {
        common::iam_seed::issued_users(&self.admin)
    }

    /// The access key IDs of `user` (empty when the user is gone).
    fn access_keys(&self, user: &str) -> BTreeSet<String> {
        let pages = self
            .admin
            .iam
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send();
        match self.admin.block(pages.collect::<Result<Vec<_>, _>>()) {
            Ok(keys) => keys.into_iter().filter_map(|k| k.access_key_id).collect(),
            Err(e) if error_code(&e) == "NoSuchEntity" => BTreeSet::new(),
            Err(e) => panic!("ListAccessKeys {user}: {}", error_code(&e)),
        }
    }

    /// The remaining TTL of `lease_id` in seconds, or `None` when the lease is gone.
    fn lease_ttl(&self, lease_id: &str) -> Option<u64> {
        let response = self.server.http(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(&json!({"lease_id": lease_id})),
        );
        match response.status {
            200 => response.json()["data"]["ttl"].as_u64(),
            400 | 404 => None,
            other => panic!("lease lookup: {other} {}", response.body),
        }
    }

    /// Runs a Python script (boto3 from moto's virtualenv) with the credentials of
    /// `issued`; its argv is `args` then moto's endpoint. Returns its stdout.
    fn as_holder(&self, issued: &Issued, script: &str, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(script)
            .args(args)
            .arg(self.moto.endpoint())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .env("AWS_ACCESS_KEY_ID", &issued.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &issued.secret_key)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "the holder's script failed\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn revoke(&self, lease_id: &str) {
        self.server.cli_ok(&["lease", "revoke", "-sync", lease_id]);
    }
}

/// Issued credentials and their lease.
#[derive(Debug, Clone)]
struct Issued {
    lease_id: String,
    lease_duration: u64,
    renewable: bool,
    access_key: String,
    secret_key: String,
    data: Value,
}

impl Issued {
    fn from_json(body: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Issued {
            lease_id: text(&body["lease_id"]),
            lease_duration: body["lease_duration"].as_u64().unwrap_or_default(),
            renewable: body["renewable"].as_bool().unwrap_or_default(),
            access_key: text(&body["data"]["access_key"]),
            secret_key: text(&body["data"]["secret_key"]),
            data: body["data"].clone(),
        }
    }

    fn holder(&self, moto: &Moto) -> AwsClients {
        AwsClients::new(&moto.endpoint(), &self.access_key, &self.secret_key, None)
    }
}

/// The one user `issued` created, found by its key.
fn user_of(world: &World, issued: &Issued) -> String {
    let users: Vec<String> = world
        .issued_users()
        .into_iter()
        .filter(|u| world.access_keys(u).contains(&issued.access_key))
        .collect();
    assert_eq!(
        users.len(),
        1,
        "one user holds {}: {users:?}",
        issued.access_key
    );
    users[0].clone()
}

#[test]
fn a_full_role_makes_exactly_that_user_its_key_works_and_revoke_removes_it() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world
        .server
        .cli_ok(&["write", "aws/config/lease", "lease=1h", "lease_max=24h"]);
    world.role(
        "full",
        json!({
            "credential_type": "iam_user",
            "user_path": "/vault/",
            "permissions_boundary_arn": world.seeded.boundary_arn,
            "policy_arns": [READ_ONLY],
            "policy_document": INLINE_POLICY,
            "iam_groups": [GROUP],
            "iam_tags": {"team": "infra", "env": "prod"},
        }),
    );
    let issued = world.creds("full");
    assert!(issued.renewable, "iam_user leases are renewable");
    assert_eq!(issued.lease_duration, 3600, "config/lease's TTL");
    assert!(issued.access_key.starts_with("AKIA"), "{issued:?}");
    assert_eq!(issued.data["security_token"], Value::Null);
    assert_eq!(issued.data["session_token"], Value::Null);

    // Exactly the user the role describes.
    let users = world.issued_users();
    assert_eq!(users.len(), 1, "{users:?}");
    let name = user_of(&world, &issued);
    assert!(
        name.starts_with("vault-root-full-") || name.starts_with("vault-token-full-"),
        "{name}"
    );
    let iam = &world.admin.iam;
    let user = world
        .admin
        .block(iam.get_user().user_name(&name).send())
        .expect("GetUser");
    let user = user.user().expect("user");
    assert_eq!(user.path(), "/vault/");
    // moto accepts CreateUser's PermissionsBoundary but does not keep it, so the boundary
    // is checked on the wire by the engine's SDK tests, not here.
    let attached = world
        .admin
        .block(iam.list_attached_user_policies().user_name(&name).send())
        .expect("attached");
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, [READ_ONLY]);
    let inline = world
        .admin
        .block(iam.list_user_policies().user_name(&name).send())
        .expect("inline");
    assert_eq!(inline.policy_names(), ["full"], "named after the role");
    let groups = world
        .admin
        .block(iam.list_groups_for_user().user_name(&name).send())
        .expect("groups");
    let groups: Vec<_> = groups.groups().iter().map(|g| g.group_name()).collect();
    assert_eq!(groups, [GROUP]);
    let tags = world
        .admin
        .block(iam.list_user_tags().user_name(&name).send())
        .expect("tags");
    let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, BTreeMap::from([("env", "prod"), ("team", "infra")]));
    assert_eq!(
        world.access_keys(&name),
        BTreeSet::from([issued.access_key.clone()])
    );

    // The key works, as the user.
    let holder = issued.holder(&world.moto);
    let arn = holder.caller_arn().expect("the new key is accepted");
    assert!(
        arn.starts_with(&format!("arn:aws:iam::{ACCOUNT_ID}:user/")) && arn.ends_with(&name),
        "{arn}"
    );

    // Renew resets the lease to config/lease's TTL.
    std::thread::sleep(Duration::from_secs(3));
    let before = world.lease_ttl(&issued.lease_id).expect("lease");
    assert!(before <= 3597, "{before}");
    world.server.cli_ok(&["lease", "renew", &issued.lease_id]);
    let after = world.lease_ttl(&issued.lease_id).expect("lease");
    assert!(
        after > before,
        "renew extended the lease: {before} -> {after}"
    );

    // Revoke: the user, its key and its policies are gone, and the key no longer works.
    world.revoke(&issued.lease_id);
    assert!(!world.admin.user_exists(&name), "{name} still exists");
    assert_eq!(world.issued_users(), BTreeSet::new());
    assert_eq!(world.lease_ttl(&issued.lease_id), None);
    assert_eq!(holder.caller_arn(), Err("InvalidClientTokenId".to_string()));
    let attached = world
        .admin
        .block(iam.list_entities_for_policy().policy_arn(READ_ONLY).send())
        .expect("entities");
    assert!(
        attached.policy_users().is_empty(),
        "ReadOnlyAccess still attached"
    );
}

#[test]
fn revoke_deletes_a_user_whose_holder_attached_a_password_keys_and_an_mfa_device() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world.role(
        "selfservice",
        json!({"credential_type": "iam_user", "policy_document": SELF_SERVICE_POLICY}),
    );
    let bystander = world.creds("selfservice");
    let issued = world.creds("selfservice");
    let name = user_of(&world, &issued);
    // Everything a holder could add to its own user, with boto3 as a holder would.
    let cert = rcgen::generate_simple_self_signed(vec!["holder.example".to_string()])
        .expect("certificate");
    let serial = world.as_holder(
        &issued,
        HOLDER_ADDS_EVERYTHING_PY,
        &[&name, &cert.cert.pem()],
    );
    let serial = serial.trim().to_string();
    assert!(serial.contains(":mfa/"), "{serial}");
    let user = world
        .admin
        .block(world.admin.iam.get_user().user_name(&name).send());
    assert!(user.is_ok(), "{name} exists");
    assert_eq!(world.access_keys(&name).len(), 2, "the holder's second key");

    // The emulator is as strict as AWS: such a user cannot simply be deleted.
    let refused = world
        .admin
        .block(world.admin.iam.delete_user().user_name(&name).send())
        .expect_err("DeleteUser must be refused while things are attached");
    assert_eq!(error_code(&refused), "DeleteConflict");

    world.revoke(&issued.lease_id);
    assert!(!world.admin.user_exists(&name), "{name} leaked");
    let devices = world
        .admin
        .block(world.admin.iam.list_virtual_mfa_devices().send())
        .expect("ListVirtualMFADevices");
    let serials: Vec<_> = devices
        .virtual_mfa_devices()
        .iter()
        .map(|d| d.serial_number())
        .collect();
    assert!(
        !serials.contains(&serial.as_str()),
        "virtual MFA device left: {serials:?}"
    );
    // The other user is untouched.
    assert_eq!(
        world.issued_users(),
        BTreeSet::from([user_of(&world, &bystander)])
    );
    world.revoke(&bystander.lease_id);
    assert_eq!(world.issued_users(), BTreeSet::new());
}

/// Adds a console password, a second access key, an SSH key, a signing certificate
/// (argv 2) and an enabled virtual MFA device to the user argv 1, signed with the
/// credentials in the environment; prints the MFA device's serial.
const HOLDER_ADDS_EVERYTHING_PY: &str = r#"
import sys
import boto3
user, cert, endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
iam.create_login_profile(UserName=user, Password="Correct-Horse-9-Battery!")
iam.create_access_key(UserName=user)
iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDExample holder@example")
iam.upload_signing_certificate(UserName=user, CertificateBody=cert)
serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=user + "-phone")["VirtualMFADevice"]["SerialNumber"]
iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
print(serial)
"#;

#[test]
fn an_expired_lease_deletes_its_user_within_seconds() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    world
        .server
        .cli_ok(&["write", "aws/config/lease", "lease=5s", "lease_max=5s"]);
    world.role("short", json!({"credential_type": "iam_user"}));
    let issued_at = Instant::now();
    let issued = world.creds("short");
    assert_eq!(issued.lease_duration, 5);
    let name = user_of(&world, &issued);
    let gone_after = wait_until(
        Duration::from_secs(40),
        "the expired user to be deleted",
        || (!world.admin.user_exists(&name)).then(|| issued_at.elapsed()),
    );
    eprintln!("user {name} gone {gone_after:?} after issuance (lease 5s)");
    assert!(
        gone_after >= Duration::from_secs(4),
        "deleted before expiry: {gone_after:?}"
    );
    assert!(gone_after < Duration::from_secs(20), "{gone_after:?}");
    assert_eq!(world.issued_users(), BTreeSet::new());
}

/// One request of the burst: the lease and key it got, or `None` when it failed.
/// `GET aws/creds/<role>`: the credentials, or the refusal's status and error text. A
/// failure must be clean: an error status with Vault's `errors` list saying something.
fn issue_over_http(world: &World, role: &str) -> Result<Issued, (u16, String)> {
    let response: HttpResponse = world.server.read(&format!("aws/creds/{role}"));
    if response.status == 200 {
        return Ok(Issued::from_json(&response.json()));
    }
    let errors = serde_json::from_str::<Value>(&response.body)
        .ok()
        .and_then(|v| v["errors"].as_array().cloned())
        .unwrap_or_default();
    let text: Vec<&str> = errors.iter().filter_map(Value::as_str).collect();
    assert!(
        response.status >= 400 && !text.is_empty() && text.iter().all(|t| !t.is_empty()),
        "an unclean failure: {} {}",
        response.status,
        response.body
    );
    Err((response.status, text.join("; ")))
}

#[test]
fn half_made_users_are_rolled_back_after_a_refused_step_and_after_a_sigkill() {
    // A short minimum age, so the rollback (every 60 s in OpenBao) takes leftovers soon.
    let Some(world) = World::start(&[("AWS_RS_WAL_MIN_AGE", "10s")]) else {
        return;
    };
    let started = Instant::now();

    // A refused step: 4xx naming the group, a half-made user, and no lease.
    world.role(
        "badgroup",
        json!({"credential_type": "iam_user", "iam_groups": ["no-such-group"]}),
    );
    let refused = world.server.read("aws/creds/badgroup");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("NoSuchEntity") && refused.body.contains("no-such-group"),
        "{}",
        refused.body
    );
    let half_made = world.issued_users();
    assert_eq!(half_made.len(), 1, "the half-made user: {half_made:?}");

    // A burst of issuance with the plugin SIGKILLed in the middle.
    world.role(
        "burst",
        json!({"credential_type": "iam_user", "policy_arns": [READ_ONLY], "iam_groups": [GROUP]}),
    );
    let successes = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        for _ in 0..6 {
            let (successes, failures, stop) = (&successes, &failures, &stop);
            let world = &world;
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match issue_over_http(world, "burst") {
                        Ok(issued) => successes.lock().expect("lock").push(issued),
                        Err(_) => {
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
        wait_until(
            Duration::from_secs(60),
            "the first credentials of the burst",
            || (successes.lock().expect("lock").len() >= 6).then_some(()),
        );
        for pid in world.server.plugin_pids() {
            assert!(send_signal(pid, "KILL"), "SIGKILL {pid}");
        }
        // Keep issuing across the host's restart of the plugin, then stop.
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::SeqCst);
    });
    let successes = successes.lock().expect("lock").clone();
    let failures = failures.load(Ordering::SeqCst);
    eprintln!(
        "burst: {} issued, {failures} failed around the SIGKILL",
        successes.len()
    );
    for issued in &successes {
        assert!(
            world.lease_ttl(&issued.lease_id).is_some(),
            "every success has a live lease: {}",
            issued.lease_id
        );
    }

    // After the rollback, every user in "AWS" is accounted for by a live lease.
    let live_keys: BTreeSet<String> = successes.iter().map(|i| i.access_key.clone()).collect();
    let unaccounted = || -> BTreeSet<String> {
        world
            .issued_users()
            .into_iter()
            .filter(|u| world.access_keys(u).is_disjoint(&live_keys))
            .collect()
    };
    eprintln!(
        "before the rollback, unaccounted users: {:?}",
        unaccounted()
    );
    wait_until(
        Duration::from_secs(180),
        "the rollback to delete every half-made user",
        || unaccounted().is_empty().then_some(()),
    );
    eprintln!(
        "rollback done {:?} after the test started",
        started.elapsed()
    );
    assert!(half_made.iter().all(|u| !world.admin.user_exists(u)));
    let kept = world.issued_users().len();
    eprintln!(
        "{kept} of {} issued users still exist (credentials answered within the handover \
         delay before the SIGKILL lose their user to the rollback, by design)",
        successes.len()
    );

    // And once every lease is revoked, "AWS" holds no user at all.
    world
        .server
        .cli_ok(&["lease", "revoke", "-sync", "-prefix", "aws/creds/"]);
    assert_eq!(world.issued_users(), BTreeSet::new());
}

#[test]
fn rotate_root_swaps_the_engine_key_and_issuance_goes_on_with_the_new_one() {
    let Some(world) = World::start(&[]) else {
        return;
    };
    let out = world
        .server
        .cli_ok(&["write", "-format=json", "-f", "aws/config/rotate-root"]);
    let body: Value = serde_json::from_str(&out).expect("CLI JSON");
    let new_key = body["data"]["access_key"].as_str().expect("access_key");
    assert_ne!(new_key, world.seeded.root.access_key);
    assert_eq!(
        world.access_keys(ROOT_USER),
        BTreeSet::from([new_key.to_string()]),
        "the old key is deleted in AWS"
    );
    let read = world
        .server
        .cli_ok(&["read", "-format=json", "aws/config/root"]);
    assert!(
        read.contains(new_key) && !read.contains("secret_key"),
        "{read}"
    );
    // The next issuance is signed with the new key (moto refuses the deleted one).
    world.role("after", json!({"credential_type": "iam_user"}));
    let issued = world.creds("after");
    world.revoke(&issued.lease_id);
    assert_eq!(world.issued_users(), BTreeSet::new());
}
