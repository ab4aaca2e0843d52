//! End-to-end suite of the AWS engine (test layer): a real OpenBao 2.7.2 dev server running
//! our plugin, against moto as "AWS" with request signing and IAM policies enforced.
//!
//! Gated like `e2e_openbao.rs`: runs only with `BAO_ACC=1` (`scripts/test.sh`, and so CI,
//! always sets it); with the gate on, a missing `bao`, `moto_server` or Python is a failure.
//! Each test starts its own moto and its own dev server on free loopback ports and stops
//! both by PID when it ends, also when it panics.
//!
//! moto is started with `INITIAL_NO_AUTH_ACTION_COUNT` = the number of seeding calls, so
//! the seeding below is free and every later call (the plugin's, and the Python client's
//! that uses the issued credentials) must be correctly SigV4-signed by a known key and is
//! checked against that principal's IAM policies and the target role's trust policy. That
//! is what makes these tests prove the plugin's signing, not just its plumbing.
//!
//! What this file covers: the multi-account tutorial run verbatim through the `bao` CLI and
//! its credentials used against moto; Vault policies deciding who may request which role;
//! bad inputs answered with a 4xx naming the problem and leaving nothing behind; secrets
//! kept out of reads and logs; the other STS credential types. It does not cover iam_user
//! credentials (`e2e_iam_user.rs`) nor the transport and protocol (`e2e_openbao.rs`).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use common::http::{self, HttpResponse};
use common::moto::{ACCOUNT_ID, Auth, Moto, REGION, moto_for_acceptance, python_beside, xml_text};
use common::openbao::{CliOutput, OpenBao, bao_for_acceptance};

/// The IAM user whose key the engine uses, as in the tutorial.
const ROOT_USER: &str = "vault-account";
/// The IAM role in the "other account" that requesters get credentials for.
const TARGET_ROLE: &str = "ec2-admin";
/// The AWS-managed policy attached to the target role (moto loads it only when started
/// with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, which `Moto::start` does).
const EC2_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonEC2FullAccess";
/// How many moto calls [`seed`] makes: all free; every call after them is authenticated.
const SEED_CALLS: u32 = 5;

/// What the root user may do: exactly what the STS credential types need (AssumeRole,
/// GetFederationToken, GetSessionToken and the group-policy reads behind `iam_groups`).
const ROOT_USER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:GetFederationToken","sts:GetSessionToken","iam:GetGroupPolicy","iam:ListGroupPolicies","iam:ListAttachedGroupPolicies"],"Resource":"*"}]}"#;

/// A session policy for the federation_token role.
const EC2_READ_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}]}"#;

/// The AWS objects [`seed`] created: the root key and the role to assume.
struct Account {
    access_key: String,
    secret_key: String,
    role_arn: String,
}

/// Creates the tutorial's objects in moto with raw query calls (unsigned: they fall inside
/// the free `INITIAL_NO_AUTH_ACTION_COUNT` window), then proves the window is used up: an
/// unsigned call is refused. If the seeding and [`SEED_CALLS`] ever disagree, this fails
/// here rather than letting the suite run without authentication.
fn seed(moto: &Moto) -> Account {
    moto.query_ok("iam", "CreateUser", &[("UserName", ROOT_USER)]);
    let key = moto.query_ok("iam", "CreateAccessKey", &[("UserName", ROOT_USER)]);
    moto.query_ok(
        "iam",
        "PutUserPolicy",
        &[
            ("UserName", ROOT_USER),
            ("PolicyName", "vault-account-sts"),
            ("PolicyDocument", ROOT_USER_POLICY),
        ],
    );
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:user/{ROOT_USER}")},
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string();
    let role = moto.query_ok(
        "iam",
        "CreateRole",
        &[
            ("RoleName", TARGET_ROLE),
            ("AssumeRolePolicyDocument", &trust),
        ],
    );
    moto.query_ok(
        "iam",
        "AttachRolePolicy",
        &[("RoleName", TARGET_ROLE), ("PolicyArn", EC2_FULL_ACCESS)],
    );

    let unsigned = moto.query("sts", "GetCallerIdentity", &[]);
    assert_eq!(
        unsigned.status, 403,
        "moto still answers unsigned calls after seeding: authentication is not enforced \
         (SEED_CALLS out of step with seed()?): {}",
        unsigned.body
    );

    let field = |body: &str, tag: &str| {
        xml_text(body, tag).unwrap_or_else(|| panic!("no <{tag}> in moto's answer: {body}"))
    };
    Account {
        access_key: field(&key, "AccessKeyId"),
        secret_key: field(&key, "SecretAccessKey"),
        role_arn: field(&role, "Arn"),
    }
}

/// One test's world: moto seeded like the tutorial, a dev server with the plugin
/// registered and mounted at `aws/` (the tutorial's `bao secrets enable aws`).
struct Tutorial {
    account: Account,
    bao: PathBuf,
    python: PathBuf,
    // A HOME for the CLI runs as other tokens and for Python (no ~/.aws, no token file).
    home: tempfile::TempDir,
    // Dropped in declaration order: the server (and its plugin) before the emulator.
    server: OpenBao,
    moto: Moto,
}

impl Tutorial {
    /// The world, or `None` when the suite is not enabled.
    fn start() -> Option<Self> {
        let bao = bao_for_acceptance()?;
        let moto_bin = moto_for_acceptance()?;
        let python = python_beside(&moto_bin);
        let moto = Moto::start(&moto_bin, Auth::EnforcedAfter(SEED_CALLS));
        let account = seed(&moto);
        let server = OpenBao::start(&bao);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let home = tempfile::Builder::new()
            .prefix("aws-rs-e2e-home-")
            .tempdir()
            .expect("temp dir");
        Some(Self {
            account,
            bao,
            python,
            home,
            server,
            moto,
        })
    }

    /// The tutorial's `bao write aws/config/root access_key=$key secret_key=$secret
    /// region=us-east-1`, plus the endpoints pointing at moto (the only addition).
    fn configure_root(&self, secret_key: &str) {
        let endpoint = self.moto.endpoint();
        self.server.cli_ok(&[
            "write",
            "aws/config/root",
            &format!("access_key={}", self.account.access_key),
            &format!("secret_key={secret_key}"),
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ]);
    }

    /// `bao write aws/roles/<name> role_arns=$arn credential_type=assumed_role`.
    fn assumed_role(&self, name: &str) {
        self.server.cli_ok(&[
            "write",
            &format!("aws/roles/{name}"),
            &format!("role_arns={}", self.account.role_arn),
            "credential_type=assumed_role",
        ]);
    }

    /// Runs the `bao` CLI with `token` instead of the root token.
    fn cli_as(&self, token: &str, args: &[&str]) -> CliOutput {
        Command::new(&self.bao)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("BAO_ADDR", self.server.addr())
            .env("BAO_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .expect("run the bao CLI")
            .into()
    }

    /// One API request with `token` instead of the root token.
    fn http_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        let body = body.map(Value::to_string);
        http::request(
            &self.server.host_port(),
            method,
            path,
            &[("X-Vault-Token", token)],
            body.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Uses credentials the way an AWS client would (boto3 against moto, signed): the
    /// caller identity, `ec2 describe-vpcs`, and an IAM call the role does not allow.
    fn use_credentials(&self, access_key: &str, secret_key: &str, session_token: &str) -> Value {
        let out = Command::new(&self.python)
            .args(["-c", USE_CREDENTIALS_PY, &self.moto.endpoint(), REGION])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            .env("AWS_SESSION_TOKEN", session_token)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "using the issued credentials failed\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("python output ({e}): {stdout}"))
    }

    /// The lease IDs under `prefix` (`aws/sts/ec2-admin/`); empty when there are none.
    fn leases_under(&self, prefix: &str) -> Vec<String> {
        let response = self
            .server
            .http("LIST", &format!("/v1/sys/leases/lookup/{prefix}"), None);
        match response.status {
            404 => Vec::new(),
            200 => keys(&response.json()),
            other => panic!("list leases under {prefix}: {other} {}", response.body),
        }
    }

    /// The role names `LIST aws/roles` returns.
    fn roles(&self) -> Vec<String> {
        let response = self.server.http("LIST", "/v1/aws/roles", None);
        match response.status {
            404 => Vec::new(),
            200 => keys(&response.json()),
            other => panic!("list aws/roles: {other} {}", response.body),
        }
    }
}

/// Signs calls with the credentials in the environment: prints the caller ARN, the VPC
/// IDs, and the error code of `iam:CreateUser` (which the ec2-admin role may not do).
const USE_CREDENTIALS_PY: &str = r#"
import json, sys
import boto3, botocore.exceptions
endpoint, region = sys.argv[1], sys.argv[2]
client = lambda name: boto3.client(name, endpoint_url=endpoint, region_name=region)
out = {"arn": client("sts").get_caller_identity()["Arn"]}
out["vpcs"] = [v["VpcId"] for v in client("ec2").describe_vpcs()["Vpcs"]]
try:
    client("iam").create_user(UserName="not-allowed")
    out["create_user"] = "allowed"
except botocore.exceptions.ClientError as e:
    out["create_user"] = e.response["Error"]["Code"]
print(json.dumps(out))
"#;

/// `data.keys` of a LIST answer.
fn keys(body: &Value) -> Vec<String> {
    body["data"]["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The key/value table `bao write`/`bao read` print by default (after the `---` line).
fn parse_table(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("---"))
        .skip(1)
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(char::is_whitespace)?;
            Some((key.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// Seconds in a duration as the CLI prints it: `3600`, `1h`, `59m59s`, `1h0m0s`.
fn duration_secs(text: &str) -> u64 {
    if let Ok(secs) = text.parse() {
        return secs;
    }
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => panic!("unexpected duration {text:?}"),
        };
        let n: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("unexpected duration {text:?}"));
        total += n * unit;
        number.clear();
    }
    assert!(number.is_empty(), "unexpected duration {text:?}");
    total
}

/// A field of the CLI table; panics naming it and showing the whole output when absent.
fn field<'a>(table: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    table
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {key} in the CLI output: {table:?}"))
}

#[test]
fn multi_account_tutorial_runs_verbatim_and_its_credentials_work_in_aws() {
    let Some(world) = Tutorial::start() else {
        return;
    };
    world.configure_root(&world.account.secret_key);
    world.assumed_role(TARGET_ROLE);

    let out = world
        .server
        .cli_ok(&["write", &format!("aws/sts/{TARGET_ROLE}"), "ttl=60m"]);
    let table = parse_table(&out);

    let lease_id = field(&table, "lease_id");
    assert!(
        lease_id.starts_with("aws/sts/ec2-admin/"),
        "lease_id {lease_id:?}"
    );
    let lease_duration = duration_secs(field(&table, "lease_duration"));
    assert!(
        (3599..=3600).contains(&lease_duration),
        "lease_duration {lease_duration} s, want about 1h:\n{out}"
    );
    assert_eq!(field(&table, "lease_renewable"), "false", "{out}");
    let access_key = field(&table, "access_key");
    assert!(access_key.starts_with("ASIA"), "access_key {access_key:?}");
    let secret_key = field(&table, "secret_key");
    assert!(!secret_key.is_empty(), "empty secret_key:\n{out}");
    let session_token = field(&table, "session_token");
    assert!(!session_token.is_empty(), "empty session_token:\n{out}");
    assert_eq!(
        field(&table, "security_token"),
        session_token,
        "security_token must repeat session_token for older clients"
    );
    let arn = field(&table, "arn");
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{ACCOUNT_ID}:assumed-role/{TARGET_ROLE}/"
        )),
        "arn {arn:?}"
    );
    let ttl = duration_secs(field(&table, "ttl"));
    assert!(
        (3590..=3600).contains(&ttl),
        "ttl {ttl} s, want just under 1h:\n{out}"
    );
    assert_eq!(
        world.leases_under("aws/sts/ec2-admin/"),
        vec![lease_id.trim_start_matches("aws/sts/ec2-admin/").to_owned()],
        "the host should hold exactly the lease it printed"
    );

    // The credentials are real as far as "AWS" is concerned: moto checks their signature,
    // resolves them to the assumed role, and applies that role's policies.
    let used = world.use_credentials(access_key, secret_key, session_token);
    assert_eq!(used["arn"], arn, "caller identity: {used}");
    assert!(
        used["arn"]
            .as_str()
            .is_some_and(|a| a.contains("assumed-role/ec2-admin/")),
        "caller identity: {used}"
    );
    assert!(
        used["vpcs"].as_array().is_some_and(|v| !v.is_empty()),
        "ec2 describe-vpcs with the issued credentials: {used}"
    );
    // Policy enforcement is on, so the success above means something.
    assert_eq!(used["create_user"], "AccessDenied", "{used}");
}

#[test]
fn a_vault_policy_limits_a_token_to_the_dev_roles() {
    let Some(world) = Tutorial::start() else {
        return;
    };
    world.configure_root(&world.account.secret_key);
    world.assumed_role("dev-x");
    world.assumed_role("prod-x");

    let policy = world.server.write(
        "sys/policies/acl/dev-only",
        &json!({"policy": "path \"aws/sts/dev-*\" {\n  capabilities = [\"update\"]\n}\n"}),
    );
    assert!(
        matches!(policy.status, 200 | 204),
        "write policy: {} {}",
        policy.status,
        policy.body
    );
    let created = world.server.write(
        "auth/token/create",
        &json!({"policies": ["dev-only"], "no_default_policy": true}),
    );
    assert_eq!(created.status, 200, "token create: {}", created.body);
    let token = created.json()["auth"]["client_token"]
        .as_str()
        .expect("client_token")
        .to_owned();

    let dev = world.cli_as(&token, &["write", "aws/sts/dev-x", "ttl=15m"]);
    assert!(
        dev.success,
        "dev token on aws/sts/dev-x\nstdout: {}\nstderr: {}",
        dev.stdout, dev.stderr
    );
    let table = parse_table(&dev.stdout);
    assert!(
        field(&table, "access_key").starts_with("ASIA"),
        "{}",
        dev.stdout
    );
    assert!(
        field(&table, "lease_id").starts_with("aws/sts/dev-x/"),
        "{}",
        dev.stdout
    );
    assert_eq!(duration_secs(field(&table, "lease_duration")), 900);

    let prod = world.cli_as(&token, &["write", "aws/sts/prod-x", "ttl=15m"]);
    assert!(
        !prod.success && prod.stderr.contains("Code: 403"),
        "dev token on aws/sts/prod-x must be refused with 403\nstdout: {}\nstderr: {}",
        prod.stdout,
        prod.stderr
    );
    let prod_http = world.http_as(&token, "PUT", "/v1/aws/sts/prod-x", Some(&json!({})));
    assert_eq!(prod_http.status, 403, "{}", prod_http.body);
    assert!(
        prod_http.errors().contains("permission denied"),
        "{}",
        prod_http.body
    );
    assert!(
        world.leases_under("aws/sts/prod-x/").is_empty(),
        "a refused request left a lease"
    );
    // The root token is not limited: the prod role itself works.
    let root_prod = world.server.write("aws/sts/prod-x", &json!({"ttl": "15m"}));
    assert_eq!(root_prod.status, 200, "{}", root_prod.body);
}

/// Asserts `response` is a 4xx whose message contains every one of `needles`.
fn assert_refused(what: &str, response: &HttpResponse, needles: &[&str]) {
    assert!(
        (400..500).contains(&response.status),
        "{what}: want a 4xx, got {} {}",
        response.status,
        response.body
    );
    let message = response.errors();
    // Shown with `--nocapture`: the answers an operator would read.
    eprintln!("{what}: {} {message:?}", response.status);
    for needle in needles {
        assert!(
            message.contains(needle),
            "{what}: the message does not name {needle:?}: {message:?}"
        );
    }
}

#[test]
fn bad_inputs_get_a_4xx_naming_the_problem_and_store_nothing() {
    let Some(world) = Tutorial::start() else {
        return;
    };
    let server = &world.server;
    world.configure_root(&world.account.secret_key);
    world.assumed_role(TARGET_ROLE);
    let second_arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/other");
    let two = server.write(
        "aws/roles/two-arns",
        &json!({
            "credential_type": "assumed_role",
            "role_arns": [world.account.role_arn, second_arn],
        }),
    );
    assert_eq!(two.status, 204, "{}", two.body);
    let ec2_admin_before = server.read("aws/roles/ec2-admin").json()["data"].clone();

    // Credential requests: refused before any lease exists.
    let sts = |role: &str, body: Value| server.write(&format!("aws/sts/{role}"), &body);
    assert_refused("unknown role", &sts("nope", json!({})), &["nope"]);
    assert_refused(
        "ttl=abc",
        &sts(TARGET_ROLE, json!({"ttl": "abc"})),
        &["ttl", "abc"],
    );
    let short = sts(TARGET_ROLE, json!({"ttl": "10s"}));
    assert_refused("ttl=10s", &short, &["ttl"]);
    let message = short.errors();
    assert!(
        message.contains("900") || message.contains("15m"),
        "ttl=10s: the message does not name the 15 minute minimum: {message:?}"
    );
    let not_in_role = format!("arn:aws:iam::{ACCOUNT_ID}:role/not-in-role");
    assert_refused(
        "role_arn not in the role",
        &sts(TARGET_ROLE, json!({"role_arn": not_in_role})),
        &[&not_in_role],
    );
    assert_refused(
        "several role_arns and none chosen",
        &sts("two-arns", json!({})),
        &["role_arn"],
    );

    // Role writes: refused, and the role does not exist afterwards.
    let bad_roles = [
        (
            "policy_document that is not JSON",
            "bad-doc",
            json!({"credential_type": "assumed_role", "role_arns": [world.account.role_arn],
                   "policy_document": "not json {"}),
            vec!["policy document"],
        ),
        (
            "unknown credential_type",
            "bad-type",
            json!({"credential_type": "bogus"}),
            vec!["credential type", "bogus"],
        ),
        (
            "role_arns on an iam_user role",
            "bad-iam",
            json!({"credential_type": "iam_user", "role_arns": [world.account.role_arn]}),
            vec!["role_arns", "assumed_role"],
        ),
        (
            "default_sts_ttl above max_sts_ttl",
            "bad-ttl",
            json!({"credential_type": "assumed_role", "role_arns": [world.account.role_arn],
                   "default_sts_ttl": "2h", "max_sts_ttl": "1h"}),
            vec!["default_sts_ttl", "max_sts_ttl"],
        ),
    ];
    for (what, name, body, needles) in &bad_roles {
        let response = server.write(&format!("aws/roles/{name}"), body);
        assert_refused(what, &response, needles);
        let read = server.read(&format!("aws/roles/{name}"));
        assert_eq!(
            read.status, 404,
            "{what}: the role was stored: {}",
            read.body
        );
    }
    // A refused update leaves the existing role as it was.
    let update = server.write(
        "aws/roles/ec2-admin",
        &json!({"default_sts_ttl": "2h", "max_sts_ttl": "1h"}),
    );
    assert_refused("a bad update of ec2-admin", &update, &["default_sts_ttl"]);
    assert_eq!(
        server.read("aws/roles/ec2-admin").json()["data"],
        ec2_admin_before,
        "a refused update changed the role"
    );

    // A wrong root secret: the plugin signs with it, moto (auth on) refuses, and the
    // client sees AWS's code, never the secret.
    let wrong_secret = "wrongwrongwrongwrongwrongwrongwrongwrong";
    world.configure_root(wrong_secret);
    let refused = sts(TARGET_ROLE, json!({}));
    assert_refused("wrong root secret_key", &refused, &["assuming role"]);
    let message = refused.errors();
    assert!(
        message.contains("SignatureDoesNotMatch") || message.contains("InvalidClientTokenId"),
        "wrong root secret_key: the message does not carry AWS's code: {message:?}"
    );
    assert!(
        !refused.body.contains(wrong_secret),
        "the error echoes the secret key: {}",
        refused.body
    );

    assert!(
        world.leases_under("aws/sts/").is_empty(),
        "refused requests left leases: {:?}",
        world.leases_under("aws/sts/")
    );
    let mut roles = world.roles();
    roles.sort();
    assert_eq!(
        roles,
        ["ec2-admin", "two-arns"],
        "roles after the bad writes"
    );
    // The same role works again once the root secret is right.
    world.configure_root(&world.account.secret_key);
    let ok = sts(TARGET_ROLE, json!({}));
    assert_eq!(ok.status, 200, "after fixing the root secret: {}", ok.body);
}

#[test]
fn secrets_never_appear_in_config_reads_or_in_the_logs() {
    let Some(world) = Tutorial::start() else {
        return;
    };
    let root_secret = world.account.secret_key.clone();
    world.configure_root(&root_secret);
    world.assumed_role(TARGET_ROLE);

    let config = world.server.read("aws/config/root");
    assert_eq!(config.status, 200, "{}", config.body);
    let data = &config.json()["data"];
    assert_eq!(data["access_key"], world.account.access_key.as_str());
    assert!(
        data.get("secret_key").is_none(),
        "config/root shows secret_key: {data}"
    );
    assert!(
        !config.body.contains(&root_secret),
        "config/root leaks the secret"
    );
    let cli = world.server.cli_ok(&["read", "aws/config/root"]);
    assert!(
        !cli.contains(&root_secret),
        "bao read aws/config/root leaks the secret"
    );

    let issued = world
        .server
        .write(&format!("aws/sts/{TARGET_ROLE}"), &json!({"ttl": "15m"}));
    assert_eq!(issued.status, 200, "{}", issued.body);
    let issued = issued.json();
    let issued_secret = issued["data"]["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_owned();
    let session_token = issued["data"]["session_token"]
        .as_str()
        .expect("session_token")
        .to_owned();
    // A failing request too: error paths are where secrets tend to slip into logs.
    let failed = world.server.write(
        &format!("aws/sts/{TARGET_ROLE}"),
        &json!({"role_arn": "arn:aws:iam::123456789012:role/not-in-role"}),
    );
    assert_eq!(failed.status, 400, "{}", failed.body);

    // The server runs at debug level and its log includes the plugin's stderr.
    let log = world.server.log_text();
    assert!(
        log.contains(common::openbao::PLUGIN_COMMAND),
        "the server log does not show the plugin at all; is it the right file?"
    );
    for (what, secret) in [
        ("the root secret key", root_secret.as_str()),
        ("the issued secret key", issued_secret.as_str()),
        ("the issued session token", session_token.as_str()),
    ] {
        assert!(
            !log.contains(secret),
            "the server/plugin log contains {what}"
        );
    }
}

#[test]
fn federation_token_and_session_token_roles_issue_credentials() {
    let Some(world) = Tutorial::start() else {
        return;
    };
    let server = &world.server;
    world.configure_root(&world.account.secret_key);
    server.cli_ok(&[
        "write",
        "aws/roles/fed",
        "credential_type=federation_token",
        &format!("policy_document={EC2_READ_POLICY}"),
    ]);
    server.cli_ok(&[
        "write",
        "aws/roles/session",
        "credential_type=session_token",
    ]);
    server.cli_ok(&[
        "write",
        "aws/roles/no-policy",
        "credential_type=federation_token",
    ]);

    let fed = parse_table(&server.cli_ok(&["write", "aws/sts/fed", "ttl=15m"]));
    assert!(
        field(&fed, "lease_id").starts_with("aws/sts/fed/"),
        "{fed:?}"
    );
    assert_eq!(duration_secs(field(&fed, "lease_duration")), 900, "{fed:?}");
    assert_eq!(field(&fed, "lease_renewable"), "false");
    assert!(!field(&fed, "access_key").is_empty());
    assert!(!field(&fed, "secret_key").is_empty());
    assert_eq!(field(&fed, "security_token"), field(&fed, "session_token"));

    let session = parse_table(&server.cli_ok(&["read", "aws/creds/session"]));
    assert!(
        field(&session, "lease_id").starts_with("aws/creds/session/"),
        "{session:?}"
    );
    assert_eq!(field(&session, "lease_renewable"), "false");
    // moto answers GetSessionToken (and GetFederationToken) with AWS's documentation
    // example key, so only presence is checked; the default TTL is the hour of Vault.
    assert!(!field(&session, "access_key").is_empty(), "{session:?}");
    assert!(
        (3599..=3600).contains(&duration_secs(field(&session, "lease_duration"))),
        "{session:?}"
    );
    assert!(!field(&session, "secret_key").is_empty());
    assert_eq!(
        field(&session, "security_token"),
        field(&session, "session_token")
    );

    // GetFederationToken needs a policy after the group merge; none here.
    let refused = server.write("aws/sts/no-policy", &json!({}));
    assert_refused("federation_token without a policy", &refused, &["polic"]);
    assert!(world.leases_under("aws/sts/no-policy/").is_empty());
}

/// The duration parser must read what the CLI prints, or every TTL check above is void.
#[test]
fn duration_parser_reads_cli_durations() {
    assert_eq!(duration_secs("3599"), 3599);
    assert_eq!(duration_secs("1h"), 3600);
    assert_eq!(duration_secs("59m59s"), 3599);
    assert_eq!(duration_secs("1h0m0s"), 3600);
    let table = parse_table("Key  Value\n---  -----\nlease_id   aws/sts/x/1\nttl  15m\n");
    assert_eq!(
        table.get("lease_id").map(String::as_str),
        Some("aws/sts/x/1")
    );
    assert_eq!(table.get("ttl").map(String::as_str), Some("15m"));
}
