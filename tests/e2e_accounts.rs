//! End-to-end suite of account sets and "who did it" (issue #7; test layer): a real
//! OpenBao dev server running our plugin, whose `config/root` points IAM, STS (and so
//! Organizations, which follows `iam_endpoint`) at the recording proxy
//! (`common::fault_proxy`, no faults) in front of moto. The proxy's record of each
//! request body is what the engine actually sent to AWS.
//!
//! Covered: a role over three account IDs assumes `arn:aws:iam::<id>:role/ec2-admin` in
//! each (RoleArn as sent, assumed-role ARN as answered) and refuses a fourth with a 400;
//! `organization_accounts=true` against an organization created in moto lists its ACTIVE
//! accounts and issues for one of them; a userpass-authenticated entity with metadata
//! gets a SourceIdentity, a session name and session tags rendered from its name,
//! metadata and alias, checked in the AssumeRole request as sent.
//!
//! Gated like the other end-to-end suites (`BAO_ACC=1`). Run with
//! `. /tmp/e2e.env; cargo test --test e2e_accounts -- --nocapture`.

mod common;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

use common::fault_proxy::FaultProxy;
use common::http;
use common::moto::{ACCOUNT_ID, Auth, Moto, REGION, moto_for_acceptance};
use common::openbao::{OpenBao, bao_for_acceptance};

const TEMPLATE: &str = "arn:aws:iam::{{account}}:role/ec2-admin";
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];

/// moto (open: any key works), the proxy in front of it, and a dev server with the
/// plugin at `aws/` configured through the proxy.
struct World {
    // Dropped in declaration order: the server (and its plugin) before the emulator.
    server: OpenBao,
    proxy: FaultProxy,
    moto: Moto,
}

impl World {
    fn start() -> Option<Self> {
        let bao = bao_for_acceptance()?;
        let moto_bin = moto_for_acceptance()?;
        let moto = Moto::start(&moto_bin, Auth::Open);
        let proxy = FaultProxy::start(&moto.host_port());
        let server = OpenBao::start(&bao);
        server.install_plugin();
        server.cli_ok(&["secrets", "enable", "aws"]);
        let endpoint = proxy.endpoint();
        server.cli_ok(&[
            "write",
            "aws/config/root",
            "access_key=testing",
            "secret_key=testing",
            &format!("region={REGION}"),
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ]);
        Some(World {
            server,
            proxy,
            moto,
        })
    }

    /// `PUT /v1/<path>` as root; panics unless 2xx; the JSON answer (`null` for 204).
    fn write_ok(&self, path: &str, body: Value) -> Value {
        let resp = self.server.write(path, &body);
        assert!(
            (200..300).contains(&resp.status),
            "{path}: {} {}",
            resp.status,
            resp.body
        );
        if resp.body.trim().is_empty() {
            Value::Null
        } else {
            resp.json()
        }
    }

    /// The parameter `name` of the last AssumeRole the engine sent.
    fn last_assume_role(&self) -> Vec<(String, String)> {
        self.proxy
            .seen_params("AssumeRole")
            .pop()
            .expect("an AssumeRole request")
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The session tags of an AssumeRole request (`Tags.member.N.Key/Value`).
fn tags(params: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1.. {
        let Some(key) = param(params, &format!("Tags.member.{n}.Key")) else {
            break;
        };
        let value = param(params, &format!("Tags.member.{n}.Value")).unwrap_or_default();
        out.push((key.to_string(), value.to_string()));
    }
    out.sort();
    out
}

#[test]
fn an_account_set_assumes_the_role_in_each_account_and_refuses_others() {
    let Some(world) = World::start() else {
        return;
    };
    world.server.cli_ok(&[
        "write",
        "aws/roles/fleet",
        "credential_type=assumed_role",
        &format!("role_arn_template={TEMPLATE}"),
        &format!("allowed_accounts={}", ACCOUNTS.join(",")),
    ]);
    let role = world.server.read("aws/roles/fleet").json();
    assert_eq!(role["data"]["role_arn_template"], json!(TEMPLATE));
    assert_eq!(role["data"]["allowed_accounts"], json!(ACCOUNTS));
    let list = world
        .server
        .http("LIST", "/v1/aws/roles/fleet/accounts", None);
    assert_eq!(
        list.json()["data"]["keys"],
        json!(ACCOUNTS),
        "{}",
        list.body
    );

    for account in ACCOUNTS {
        let issued = world.write_ok("aws/sts/fleet", json!({"account": account}));
        let sent = world.last_assume_role();
        let role_arn = format!("arn:aws:iam::{account}:role/ec2-admin");
        assert_eq!(param(&sent, "RoleArn"), Some(role_arn.as_str()));
        let arn = issued["data"]["arn"].as_str().expect("arn");
        let session = param(&sent, "RoleSessionName").expect("session name");
        assert_eq!(
            arn,
            format!("arn:aws:sts::{account}:assumed-role/ec2-admin/{session}")
        );
        println!("account {account}: RoleArn {role_arn} -> {arn}");
    }
    let before = world.proxy.count("AssumeRole");
    let refused = world
        .server
        .write("aws/sts/fleet", &json!({"account": "444444444444"}));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .errors()
            .contains(r#"account "444444444444" is not in the accounts"#),
        "{}",
        refused.body
    );
    let malformed = world
        .server
        .write("aws/sts/fleet", &json!({"account": "4444"}));
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(
        world.proxy.count("AssumeRole"),
        before,
        "refused before AWS"
    );
}

/// Creates an organization in moto with two member accounts and closes one of them;
/// returns (the active member, the closed one).
fn seed_organization(moto: &Moto) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let org = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "e2e"))
            .build(),
    );
    runtime.block_on(async {
        org.create_organization()
            .send()
            .await
            .expect("create organization");
        let mut ids = Vec::new();
        for name in ["dev", "old"] {
            let out = org
                .create_account()
                .account_name(name)
                .email(format!("{name}@example.com"))
                .send()
                .await
                .expect("create account");
            let status = out.create_account_status().expect("status");
            ids.push(status.account_id().expect("account id").to_string());
        }
        org.close_account()
            .account_id(&ids[1])
            .send()
            .await
            .expect("close account");
        (ids[0].clone(), ids[1].clone())
    })
}

#[test]
fn organization_accounts_are_the_active_accounts_of_the_organization() {
    let Some(world) = World::start() else {
        return;
    };
    let (active, closed) = seed_organization(&world.moto);
    world.server.cli_ok(&[
        "write",
        "aws/roles/org",
        "credential_type=assumed_role",
        &format!("role_arn_template={TEMPLATE}"),
        "allowed_accounts=*",
        "organization_accounts=true",
    ]);
    let list = world
        .server
        .http("LIST", "/v1/aws/roles/org/accounts", None);
    let keys = list.json()["data"]["keys"].clone();
    println!("organization accounts: {keys}");
    let keys: Vec<String> = serde_json::from_value(keys).expect("keys");
    assert!(keys.contains(&active), "{keys:?}");
    assert!(
        keys.contains(&ACCOUNT_ID.to_string()),
        "management account: {keys:?}"
    );
    assert!(!keys.contains(&closed), "closed account listed: {keys:?}");

    let issued = world.write_ok("aws/sts/org", json!({"account": active}));
    let sent = world.last_assume_role();
    let role_arn = format!("arn:aws:iam::{active}:role/ec2-admin");
    assert_eq!(param(&sent, "RoleArn"), Some(role_arn.as_str()));
    assert!(
        issued["data"]["arn"]
            .as_str()
            .expect("arn")
            .starts_with(&format!("arn:aws:sts::{active}:assumed-role/ec2-admin/"))
    );
    let refused = world
        .server
        .write("aws/sts/org", &json!({"account": closed}));
    assert_eq!(refused.status, 400, "{}", refused.body);
}

#[test]
fn a_userpass_entity_gets_its_source_identity_and_session_tags() {
    let Some(world) = World::start() else {
        return;
    };
    let server = &world.server;
    server.cli_ok(&["auth", "enable", "userpass"]);
    world.write_ok(
        "sys/policies/acl/aws-sts",
        json!({"policy": "path \"aws/sts/*\" { capabilities = [\"create\", \"update\", \"read\"] }"}),
    );
    server.cli_ok(&[
        "write",
        "auth/userpass/users/alice",
        "password=alice-password",
        "policies=aws-sts",
    ]);
    let accessor = server.read("sys/auth").json()["data"]["userpass/"]["accessor"]
        .as_str()
        .expect("accessor")
        .to_string();
    let entity = world.write_ok(
        "identity/entity",
        json!({"name": "alice", "metadata": {"team": "platform", "cost_center": "cc-42"}}),
    );
    let entity_id = entity["data"]["id"]
        .as_str()
        .expect("entity id")
        .to_string();
    world.write_ok(
        "identity/entity-alias",
        json!({"name": "alice", "canonical_id": entity_id, "mount_accessor": accessor}),
    );
    world.write_ok(
        "aws/roles/ec2",
        json!({
            "credential_type": "assumed_role",
            "role_arns": "arn:aws:iam::123456789012:role/ec2-admin",
            "session_name_template": "{{ .EntityName }}-{{ .RoleName }}",
            "source_identity_template": "{{ .EntityName }}",
            "session_tags": {"env": "prod"},
            "session_tag_templates": {
                "team": "{{ .EntityMetadata.team }}",
                "cost": "{{ .EntityMetadata.cost_center }}",
                "alias": "{{ .AliasName }}",
            },
            "transitive_tag_keys": ["team"],
        }),
    );

    // The README's command, through the CLI: the same fields, as the CLI sends them.
    server.cli_ok(&[
        "write",
        "aws/roles/ec2-cli",
        "credential_type=assumed_role",
        "role_arns=arn:aws:iam::123456789012:role/ec2-admin",
        "session_name_template={{ .EntityName }}-{{ .RoleName }}",
        "source_identity_template={{ .EntityName }}",
        "session_tags=env=prod",
        "session_tag_templates=team={{ .EntityMetadata.team }}",
        "transitive_tag_keys=team",
    ]);
    let cli_role = server.read("aws/roles/ec2-cli").json();
    assert_eq!(
        cli_role["data"]["session_tag_templates"],
        json!({"team": "{{ .EntityMetadata.team }}"})
    );
    assert_eq!(cli_role["data"]["session_tags"], json!({"env": "prod"}));
    assert_eq!(cli_role["data"]["transitive_tag_keys"], json!(["team"]));

    let login = http::request(
        &server.host_port(),
        "PUT",
        "/v1/auth/userpass/login/alice",
        &[],
        Some(r#"{"password":"alice-password"}"#),
    )
    .expect("login");
    let token = login.json()["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_string();
    let issued = http::request(
        &server.host_port(),
        "PUT",
        "/v1/aws/sts/ec2",
        &[("X-Vault-Token", &token)],
        Some("{}"),
    )
    .expect("sts");
    assert_eq!(issued.status, 200, "{}", issued.body);

    let sent = world.last_assume_role();
    println!("AssumeRole as sent: {sent:?}");
    assert_eq!(param(&sent, "SourceIdentity"), Some("alice"));
    assert_eq!(param(&sent, "RoleSessionName"), Some("alice-ec2"));
    assert_eq!(
        tags(&sent),
        [
            ("alias", "alice"),
            ("cost", "cc-42"),
            ("env", "prod"),
            ("team", "platform"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(param(&sent, "TransitiveTagKeys.member.1"), Some("team"));
    assert_eq!(
        issued.json()["data"]["arn"],
        json!("arn:aws:sts::123456789012:assumed-role/ec2-admin/alice-ec2")
    );

    // The root token has no entity: names fall back to its display name, and the
    // metadata tags are left out.
    world.write_ok("aws/sts/ec2", json!({}));
    let sent = world.last_assume_role();
    let display = param(&sent, "SourceIdentity")
        .expect("source identity")
        .to_string();
    assert!(["root", "token"].contains(&display.as_str()), "{display}");
    assert_eq!(
        tags(&sent),
        [("alias", display.as_str()), ("env", "prod")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}
