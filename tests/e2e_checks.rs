//! End-to-end suite of `config/check` and `roles/<name>/check` (test layer): a real
//! OpenBao 2.7.2 dev server running our plugin, against moto as "AWS" with request signing
//! and IAM policies enforced, seeded with the engine's user holding exactly the
//! `iam_user` actions (`iam_seed`), and an inspector with `AdministratorAccess` that
//! grants the engine's user more as a test goes.
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`). Each test starts its own moto and
//! dev server on free loopback ports and stops both by PID when it ends.
//!
//! What moto does with SimulatePrincipalPolicy: it checks the caller's IAM policy first,
//! so without `iam:SimulatePrincipalPolicy` the engine's user gets `AccessDenied`
//! (reported as `not permitted: AccessDenied`); with it, moto fails with an HTML 500,
//! because it does not implement the call (reported as `unavailable: HTTP 500`). Neither
//! is an error of `config/check`. moto's AssumeRole checks only that the caller's policy
//! allows `sts:AssumeRole` (any role, existing or not, trust policy or not).

mod common;

use std::path::PathBuf;

use serde_json::{Value, json};

use common::aws::AwsClients;
use common::http::HttpResponse;
use common::iam_seed::{ROOT_USER, Seeded};
use common::moto::{ACCOUNT_ID, Moto, moto_for_acceptance};
use common::openbao::{OpenBao, bao_for_acceptance};

/// The engine's user, as STS names it.
fn engine_user_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:user/{ROOT_USER}")
}

/// One test's world: strict moto, seeded; a dev server with the plugin mounted at `aws/`
/// and `config/root` pointing at moto with the engine user's key.
struct World {
    admin: AwsClients,
    seeded: Seeded,
    // Dropped in declaration order: the server (and its plugin) before the emulator.
    server: OpenBao,
    moto: Moto,
}

impl World {
    fn start() -> Option<Self> {
        let bao: PathBuf = bao_for_acceptance()?;
        let moto_bin = moto_for_acceptance()?;
        let (moto, seeded, admin) = common::iam_seed::start_seeded(&moto_bin);
        let server = OpenBao::start(&bao);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let world = World {
            admin,
            seeded,
            server,
            moto,
        };
        let (key, secret) = (
            world.seeded.root.access_key.clone(),
            world.seeded.root.secret_key.clone(),
        );
        world.configure_root(&key, &secret);
        Some(world)
    }

    /// `bao write aws/config/root` with `access_key` / `secret_key` and moto's endpoints.
    fn configure_root(&self, access_key: &str, secret_key: &str) {
        let endpoint = self.moto.endpoint();
        self.server.cli_ok(&[
            "write",
            "aws/config/root",
            &format!("access_key={access_key}"),
            &format!("secret_key={secret_key}"),
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ]);
    }

    /// Lets the engine's user call `actions` too (an extra inline policy, by the admin).
    fn grant(&self, policy_name: &str, actions: &[&str]) {
        let document = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        })
        .to_string();
        self.admin
            .block(
                self.admin
                    .iam
                    .put_user_policy()
                    .user_name(ROOT_USER)
                    .policy_name(policy_name)
                    .policy_document(document)
                    .send(),
            )
            .expect("PutUserPolicy by the admin");
    }

    /// Makes the role `name` in moto, trusting the engine's user; returns its ARN.
    fn create_role(&self, name: &str) -> String {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": engine_user_arn()},
                "Action": "sts:AssumeRole",
            }],
        })
        .to_string();
        let out = self
            .admin
            .block(
                self.admin
                    .iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust)
                    .send(),
            )
            .expect("CreateRole by the admin");
        out.role().expect("a role").arn().to_string()
    }

    fn read(&self, path: &str) -> HttpResponse {
        self.server.read(path)
    }

    /// The lease IDs under `prefix`; empty when there are none.
    fn leases_under(&self, prefix: &str) -> Vec<Value> {
        let response = self
            .server
            .http("LIST", &format!("/v1/sys/leases/lookup/{prefix}"), None);
        match response.status {
            404 => Vec::new(),
            200 => response.json()["data"]["keys"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            other => panic!("list leases under {prefix}: {other} {}", response.body),
        }
    }
}

fn data_of(response: &HttpResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["data"].clone()
}

#[test]
fn config_check_reports_the_engine_user_and_what_moto_says_about_the_simulation() {
    let Some(world) = World::start() else {
        return;
    };
    // The engine's user may not call SimulatePrincipalPolicy: reported, not an error.
    let response = world.read("aws/config/check");
    let data = data_of(&response);
    assert_eq!(data["account"], json!(ACCOUNT_ID));
    assert_eq!(data["arn"], json!(engine_user_arn()));
    assert!(
        data["user_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{data}"
    );
    assert_eq!(data["principal_arn"], json!(engine_user_arn()));
    assert_eq!(data["simulation"], json!("not permitted: AccessDenied"));
    assert!(data.get("credential_types").is_none(), "{data}");
    let warnings = response.json()["warnings"].to_string();
    assert!(warnings.contains("SimulatePrincipalPolicy"), "{warnings}");

    // Allowed to, it reaches moto, which does not implement it.
    world.grant("vault-check", &["iam:SimulatePrincipalPolicy"]);
    let data = data_of(&world.read("aws/config/check"));
    assert_eq!(data["arn"], json!(engine_user_arn()));
    assert_eq!(data["simulation"], json!("unavailable: HTTP 500"));

    // As an operator reads it.
    let cli = world.server.cli_ok(&["read", "aws/config/check"]);
    assert!(
        cli.contains(ACCOUNT_ID) && cli.contains("simulation"),
        "{cli}"
    );
}

#[test]
fn wrong_credentials_are_a_4xx_that_never_echoes_the_secret() {
    let Some(world) = World::start() else {
        return;
    };
    let wrong_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGSECRET1";
    let access_key = world.seeded.root.access_key.clone();
    world.configure_root(&access_key, wrong_secret);
    let response = world.read("aws/config/check");
    assert_eq!(response.status, 400, "{}", response.body);
    let errors = response.errors();
    assert!(
        errors.contains("AWS refused the credentials of config/root")
            && errors.contains("SignatureDoesNotMatch")
            && errors.contains("secret_key"),
        "{errors}"
    );

    // An access key AWS does not know.
    world.configure_root("AKIAUNKNOWNKEY000000", wrong_secret);
    let unknown = world.read("aws/config/check");
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(
        unknown.errors().contains("InvalidClientTokenId"),
        "{}",
        unknown.body
    );

    let secrets = [
        wrong_secret.to_string(),
        world.seeded.root.secret_key.clone(),
    ];
    for body in [&response.body, &unknown.body] {
        assert!(!body.contains(wrong_secret), "the answer echoes the secret");
    }
    let log = world.server.log_text();
    assert!(
        log.contains(common::openbao::PLUGIN_COMMAND),
        "the server log does not show the plugin at all; is it the right file?"
    );
    assert_eq!(
        common::secrets::leaked(&log, &secrets),
        Vec::<String>::new(),
        "the server/plugin log contains a secret key"
    );
}

#[test]
fn role_check_tries_each_role_arn_against_moto_and_returns_no_credentials() {
    let Some(world) = World::start() else {
        return;
    };
    let own = world.create_role("ec2-admin");
    let other = "arn:aws:iam::210987654321:role/ec2-admin".to_string();
    let response = world.server.write(
        "aws/roles/ec2",
        &json!({"credential_type": "assumed_role", "role_arns": [own, other]}),
    );
    assert!(
        response.status == 204 || response.status == 200,
        "{}",
        response.body
    );

    // The engine's user may not call sts:AssumeRole yet: each ARN reports AWS's refusal.
    let data = data_of(&world.read("aws/roles/ec2/check"));
    assert_eq!(data["role"], json!("ec2"));
    assert_eq!(data["ok"], json!(false));
    let results = data["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{data}");
    for (result, arn) in results.iter().zip([&own, &other]) {
        assert_eq!(result["role_arn"], json!(arn));
        assert_eq!(result["result"], json!("error"), "{result}");
        assert_eq!(result["code"], json!("AccessDenied"), "{result}");
        assert!(
            result["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{result}"
        );
    }

    world.grant("vault-assume", &["sts:AssumeRole"]);
    let response = world.read("aws/roles/ec2/check");
    let body = response.body.clone();
    let data = data_of(&response);
    assert_eq!(
        data,
        json!({"role": "ec2", "ok": true, "results": [
            {"role_arn": own, "result": "ok"},
            {"role_arn": other, "result": "ok"},
        ]})
    );
    // No credentials in the answer, no lease.
    assert!(
        response.json()["lease_id"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    for needle in ["ASIA", "secret_key", "session_token", "SecretAccessKey"] {
        assert!(!body.contains(needle), "{needle} in {body}");
    }
    assert_eq!(world.leases_under("aws/"), Vec::<Value>::new());

    // The 400s: an unknown role is answered as sts/<name> answers it; other types refused.
    let unknown = world.read("aws/roles/nope/check");
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let from_sts = world.server.write("aws/sts/nope", &json!({}));
    assert_eq!(unknown.errors(), from_sts.errors());
    world.server.cli_ok(&[
        "write",
        "aws/roles/users",
        "credential_type=iam_user",
        "policy_arns=arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]);
    let other_type = world.read("aws/roles/users/check");
    assert_eq!(other_type.status, 400, "{}", other_type.body);
    assert!(
        other_type
            .errors()
            .contains("applies to assumed_role roles"),
        "{}",
        other_type.body
    );
}
