//! `config/check` and `roles/<name>/check`, driven through the engine's factory with the
//! framework's `TestBackend` and the recording AWS fakes: the identity and the simulated
//! permissions per credential type (with the exact SimulatePrincipalPolicy inputs), a
//! denied or unavailable simulation reported rather than failed, wrong credentials as a
//! 400 that does not echo the secret, throttling as a 502, AssumeRole tried per role ARN
//! with no credentials returned and no lease, the 400s of the role check, help and
//! OpenAPI, nothing written to storage, and the table of required actions agreeing with
//! the README's "Least privilege" section.

mod engine_env;

use std::collections::BTreeSet;
use std::time::Duration;

use engine_env::{Env, env, error_of};
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws::api::CallerIdentity;
use vault_plugin_secrets_aws_rs::aws::error::{AwsOperation, Error as AwsError, ServiceFailure};
use vault_plugin_secrets_aws_rs::aws::fake::{self, IamCall, StsCall};
use vault_plugin_secrets_aws_rs::aws::required_actions::{
    OPTIONAL_ACTIONS, REQUIRED_ACTIONS, all_actions,
};
use vault_plugin_secrets_aws_rs::logical::{Error, JsonMap, Response};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ENGINE_USER: &str = "arn:aws:iam::123456789012:user/vault-root";
const EC2_ADMIN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
const OTHER_ACCOUNT: &str = "arn:aws:iam::210987654321:role/ec2-admin";

/// A mount with `config/root` written (static keys).
async fn configured() -> Env {
    let env = env().await;
    env.write_ok(
        "config/root",
        json!({"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "us-east-1"}),
    )
    .await;
    env
}

fn data(resp: Result<Option<Response>, Error>) -> JsonMap {
    let resp = resp.expect("handled").expect("a response");
    assert!(!resp.is_error(), "refused: {:?}", resp.error_message());
    resp.data.expect("data")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn iam_user_actions() -> Vec<String> {
    let mut seen = Vec::new();
    for (action, _) in REQUIRED_ACTIONS[0].actions {
        if !seen.contains(&action.to_string()) {
            seen.push(action.to_string());
        }
    }
    seen
}

fn simulations(env: &Env) -> Vec<(String, Vec<String>, Vec<String>)> {
    env.iam()
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            IamCall::SimulatePrincipalPolicy(arn, actions, resources) => {
                Some((arn, actions, resources))
            }
            _ => None,
        })
        .collect()
}

fn coded_status(resp: Result<Option<Response>, Error>) -> u16 {
    match resp {
        Err(Error::Coded { status, .. }) => status,
        other => panic!("expected a coded error, got {other:?}"),
    }
}

#[tokio::test]
async fn good_credentials_report_the_identity_and_the_actions_per_credential_type() {
    let env = configured().await;
    env.iam().deny_action("iam:DeleteVirtualMFADevice");
    env.iam().deny_action("sts:GetFederationToken");
    let d = data(env.tb.read("config/check").await);

    assert_eq!(d["account"], json!("123456789012"));
    assert_eq!(d["arn"], json!(ENGINE_USER));
    assert_eq!(d["user_id"], json!("AIDAFAKEROOT"));
    assert_eq!(d["principal_arn"], json!(ENGINE_USER));
    assert_eq!(d["simulation"], json!("done"));
    let types = &d["credential_types"];
    let mut expected_iam_user = iam_user_actions();
    expected_iam_user.retain(|a| a != "iam:DeleteVirtualMFADevice");
    assert_eq!(strings(&types["iam_user"]["allowed"]), expected_iam_user);
    assert_eq!(
        strings(&types["iam_user"]["denied"]),
        ["iam:DeleteVirtualMFADevice"]
    );
    assert_eq!(
        types["assumed_role"],
        json!({"allowed": ["sts:AssumeRole"], "denied": []})
    );
    assert_eq!(
        types["federation_token"],
        json!({"allowed": [], "denied": ["sts:GetFederationToken"]})
    );
    assert_eq!(types["session_token"], json!({"allowed": [], "denied": []}));
    assert_eq!(
        d["rotate_root"],
        json!({"allowed": ["iam:GetUser", "iam:CreateAccessKey", "iam:DeleteAccessKey"], "denied": []})
    );

    // One call per kind of resource, on the caller, with stand-ins of the scoped kinds.
    let stand_in = |kind: &str| format!("arn:aws:iam::123456789012:{kind}/vault-permission-check");
    let calls = simulations(&env);
    let resources: Vec<(Vec<String>, Vec<String>)> = calls
        .iter()
        .map(|(_, a, r)| (a.clone(), r.clone()))
        .collect();
    assert!(
        calls.iter().all(|(arn, ..)| arn == ENGINE_USER),
        "{calls:?}"
    );
    assert_eq!(resources.len(), 6, "{resources:?}");
    assert_eq!(resources[0].1, [stand_in("user")]);
    assert_eq!(resources[0].0.len(), 25);
    assert_eq!(
        resources[1],
        (
            vec![
                "iam:AddUserToGroup".into(),
                "iam:RemoveUserFromGroup".into()
            ],
            vec![stand_in("group")]
        )
    );
    assert_eq!(
        resources[2],
        (
            vec!["iam:DeleteVirtualMFADevice".into()],
            vec![stand_in("mfa")]
        )
    );
    assert_eq!(resources[3], (vec!["sts:AssumeRole".into()], vec![]));
    assert_eq!(
        resources[4].1,
        ["arn:aws:sts::123456789012:federated-user/vault-permission-check"]
    );
    assert_eq!(resources[5].1, [ENGINE_USER]);

    // A read: nothing stored, nothing issued, only the two calls.
    assert_eq!(env.tb.storage().keys(), vec!["config/root"]);
    assert_eq!(env.sts().calls(), vec![StsCall::GetCallerIdentity]);
    assert!(env.iam().calls().iter().all(|c| !c.is_write()));
}

#[tokio::test]
async fn an_action_simulated_on_two_kinds_of_resource_is_reported_once() {
    let env = configured().await;
    // iam:AddUserToGroup is evaluated on a user and on a group.
    env.iam().deny_action("iam:AddUserToGroup");
    let d = data(env.tb.read("config/check").await);
    let denied = strings(&d["credential_types"]["iam_user"]["denied"]);
    assert_eq!(denied, ["iam:AddUserToGroup"]);
}

#[tokio::test]
async fn an_assumed_role_caller_is_simulated_as_its_role_without_rotate_root() {
    let env = configured().await;
    env.sts().set_caller_identity(CallerIdentity {
        account: "123456789012".into(),
        arn: "arn:aws:sts::123456789012:assumed-role/vault-engine/i-0abc".into(),
        user_id: "AROAFAKE:i-0abc".into(),
    });
    let d = data(env.tb.read("config/check").await);
    assert_eq!(
        d["principal_arn"],
        json!("arn:aws:iam::123456789012:role/vault-engine")
    );
    assert_eq!(d["simulation"], json!("done"));
    assert!(!d.contains_key("rotate_root"), "{d:?}");
    let calls = simulations(&env);
    assert_eq!(calls.len(), 5);
    assert!(
        calls
            .iter()
            .all(|(arn, ..)| arn == "arn:aws:iam::123456789012:role/vault-engine")
    );
}

#[tokio::test]
async fn a_caller_aws_cannot_simulate_gets_the_identity_only() {
    let env = configured().await;
    env.sts().set_caller_identity(CallerIdentity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:root".into(),
        user_id: "123456789012".into(),
    });
    let d = data(env.tb.read("config/check").await);
    assert_eq!(d["arn"], json!("arn:aws:iam::123456789012:root"));
    assert!(
        d["simulation"]
            .as_str()
            .expect("text")
            .starts_with("unavailable: "),
        "{d:?}"
    );
    assert!(!d.contains_key("credential_types"));
    assert_eq!(env.iam().calls(), vec![]);
}

#[tokio::test]
async fn simulation_denied_is_reported_not_an_error() {
    let env = configured().await;
    let op = AwsOperation::SimulatePrincipalPolicy;
    env.iam().fail_next(op, fake::access_denied(op));
    let resp = env
        .tb
        .read("config/check")
        .await
        .expect("handled")
        .expect("a response");
    assert!(!resp.is_error(), "{:?}", resp.error_message());
    let d = resp.data.clone().expect("data");
    assert_eq!(d["arn"], json!(ENGINE_USER));
    assert_eq!(d["simulation"], json!("not permitted: AccessDenied"));
    assert!(!d.contains_key("credential_types"), "{d:?}");
    assert!(
        resp.warnings
            .iter()
            .any(|w| w.contains("SimulatePrincipalPolicy") && w.contains("AccessDenied")),
        "{:?}",
        resp.warnings
    );
}

#[tokio::test]
async fn simulation_that_iam_cannot_answer_is_reported_unavailable() {
    let env = configured().await;
    let op = AwsOperation::SimulatePrincipalPolicy;
    // What moto answers: a 500 with an HTML page, no AWS error code.
    let failure = ServiceFailure {
        operation: op,
        status: Some(500),
        code: None,
        message: None,
        request_id: None,
    };
    env.iam().fail_next(op, AwsError::ServerError(failure));
    let d = data(env.tb.read("config/check").await);
    assert_eq!(d["simulation"], json!("unavailable: HTTP 500"));
    assert_eq!(d["account"], json!("123456789012"));
}

#[tokio::test]
async fn wrong_credentials_are_a_400_naming_them_without_the_secret() {
    for (code, message) in [
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    ] {
        let env = configured().await;
        let op = AwsOperation::GetCallerIdentity;
        env.sts().fail_next(
            op,
            AwsError::Rejected(ServiceFailure::new(op, 403, code, message)),
        );
        let msg = error_of(env.tb.read("config/check").await);
        assert!(
            msg.contains("AWS refused the credentials of config/root"),
            "{msg}"
        );
        assert!(msg.contains(code) && msg.contains(message), "{msg}");
        assert!(
            msg.contains("access_key") && msg.contains("secret_key"),
            "{msg}"
        );
        assert!(!msg.contains(SECRET), "{msg}");
        assert_eq!(env.iam().calls(), vec![], "no simulation after a refusal");
    }
}

#[tokio::test]
async fn no_credentials_in_the_environment_are_a_400() {
    let env = env().await;
    env.write_ok("config/root", json!({"region": "us-east-1"}))
        .await;
    let op = AwsOperation::GetCallerIdentity;
    env.sts().fail_next(
        op,
        AwsError::Internal {
            operation: op,
            detail: "failed to construct request: no credentials in the chain".into(),
        },
    );
    let msg = error_of(env.tb.read("config/check").await);
    assert!(
        msg.contains("config/root has no access_key") && msg.contains("no credentials"),
        "{msg}"
    );
}

#[tokio::test]
async fn checks_without_config_root_are_a_400_and_call_nothing() {
    let env = env().await;
    let msg = error_of(env.tb.read("config/check").await);
    assert!(
        msg.contains("no configuration found for config/root"),
        "{msg}"
    );
    let msg = error_of(env.tb.read("roles/any/check").await);
    assert!(
        msg.contains("no configuration found for config/root"),
        "{msg}"
    );
    env.assert_no_aws();
    assert!(env.tb.storage().keys().is_empty());
}

#[tokio::test]
async fn throttling_is_a_502() {
    let env = configured().await;
    let op = AwsOperation::GetCallerIdentity;
    env.sts().fail_next(op, fake::throttling(op));
    assert_eq!(coded_status(env.tb.read("config/check").await), 502);

    let op = AwsOperation::SimulatePrincipalPolicy;
    env.iam().fail_next(op, fake::throttling(op));
    assert_eq!(coded_status(env.tb.read("config/check").await), 502);

    env.role(
        "ec2",
        json!({"credential_type": "assumed_role", "role_arns": [EC2_ADMIN]}),
    )
    .await;
    env.sts().fail_next(
        AwsOperation::AssumeRole,
        fake::throttling(AwsOperation::AssumeRole),
    );
    assert_eq!(coded_status(env.tb.read("roles/ec2/check").await), 502);
}

#[tokio::test]
async fn role_check_tries_each_arn_and_returns_no_credentials() {
    let env = configured().await;
    env.role(
        "ec2",
        json!({
            "credential_type": "assumed_role",
            "role_arns": [OTHER_ACCOUNT, EC2_ADMIN],
            "external_id": "ext-123",
        }),
    )
    .await;
    let before = env.tb.storage().keys();
    // The first AssumeRole (the other account's role) is refused.
    env.sts().fail_next(
        AwsOperation::AssumeRole,
        AwsError::Rejected(ServiceFailure::new(
            AwsOperation::AssumeRole,
            403,
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole",
        )),
    );
    let resp = env
        .tb
        .read("roles/ec2/check")
        .await
        .expect("handled")
        .expect("a response");
    assert!(!resp.is_error(), "{:?}", resp.error_message());
    assert!(resp.secret.is_none(), "no lease");
    let d = resp.data.clone().expect("data");
    assert_eq!(
        Value::Object(d.clone()),
        json!({
            "role": "ec2",
            "ok": false,
            "results": [
                {"role_arn": OTHER_ACCOUNT, "result": "error", "code": "AccessDenied",
                 "message": "User is not authorized to perform: sts:AssumeRole"},
                {"role_arn": EC2_ADMIN, "result": "ok"},
            ],
        })
    );
    // The second call was answered with credentials; none of them reached the response.
    let text = serde_json::to_string(&Value::Object(d)).expect("json");
    for issued in ["ASIAFAKE", "fake-secret-key", "fake-session-token"] {
        assert!(!text.contains(issued), "{text}");
    }
    let inputs = env.assume_role_inputs();
    assert_eq!(inputs.len(), 2);
    for (input, arn) in inputs.iter().zip([OTHER_ACCOUNT, EC2_ADMIN]) {
        assert_eq!(input.role_arn, arn);
        assert_eq!(input.duration, Some(Duration::from_secs(900)));
        assert_eq!(input.role_session_name, "vault-check-ec2");
        assert_eq!(input.external_id.as_deref(), Some("ext-123"));
    }
    assert_eq!(env.tb.storage().keys(), before, "nothing written");
}

#[tokio::test]
async fn role_check_of_an_account_set_tries_the_template_in_each_account() {
    let env = configured().await;
    env.role(
        "deploy",
        json!({
            "credential_type": "assumed_role",
            "role_arn_template": "arn:aws:iam::{{account}}:role/deploy",
            "allowed_accounts": ["222222222222", "111111111111"],
        }),
    )
    .await;
    let d = data(env.tb.read("roles/deploy/check").await);
    assert_eq!(
        d["results"],
        json!([
            {"role_arn": "arn:aws:iam::111111111111:role/deploy", "result": "ok"},
            {"role_arn": "arn:aws:iam::222222222222:role/deploy", "result": "ok"},
        ])
    );
    assert_eq!(d["ok"], json!(true));
}

#[tokio::test]
async fn role_check_answers_400_for_other_types_and_unknown_roles() {
    let env = configured().await;
    env.role(
        "users",
        json!({"credential_type": "iam_user", "policy_arns": [engine_env::READ_ONLY]}),
    )
    .await;
    let msg = error_of(env.tb.read("roles/users/check").await);
    assert!(msg.contains("applies to assumed_role roles"), "{msg}");
    assert!(msg.contains("iam_user"), "{msg}");

    let unknown = error_of(env.tb.read("roles/nope/check").await);
    let from_sts = error_of(env.tb.write("sts/nope", json!({})).await);
    assert_eq!(unknown, from_sts);
    assert_eq!(unknown, r#"Role "nope" not found"#);
    assert_eq!(env.sts().calls(), vec![]);
}

#[tokio::test]
async fn both_checks_have_help_and_openapi() {
    let env = configured().await;
    for (path, openapi_path, operation_id, synopsis) in [
        (
            "config/check",
            "/config/check",
            "aws-check-root-iam-credentials",
            "Check the configured root credentials",
        ),
        (
            "roles/x/check",
            "/roles/{name}/check",
            "aws-check-role",
            "Check that the root credentials can assume",
        ),
    ] {
        let resp = env.tb.help(path).await.expect("help").expect("a response");
        let d = resp.data.expect("data");
        let help = d["help"].as_str().expect("text");
        assert!(help.contains(synopsis), "{help}");
        let item = &d["openapi"]["paths"][openapi_path];
        assert_eq!(item["get"]["operationId"], json!(operation_id), "{item}");
        assert!(item.get("post").is_none(), "{item}");
    }
}

/// The README section between `## Least privilege` and the next `## `.
fn least_privilege_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme.find("## Least privilege").expect("the section");
    let rest = &readme[start + 2..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Every `iam:`/`sts:` action-like word in `text`.
fn actions_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["iam:", "sts:", "organizations:"] {
        for (i, _) in text.match_indices(prefix) {
            let name: String = text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                out.insert(format!("{prefix}{name}"));
            }
        }
    }
    out
}

#[test]
fn the_required_actions_are_the_readmes() {
    let section = least_privilege_section();
    let mentioned = actions_in(&section);
    for action in all_actions() {
        assert!(
            mentioned.contains(action),
            "{action} is checked by config/check but not in the README's Least privilege section"
        );
    }
    // Every action granted by the README's policies is one config/check checks (or one
    // only an optional setting needs).
    let granted: BTreeSet<String> = section
        .split("```json")
        .skip(1)
        .flat_map(|block| actions_in(block.split("```").next().unwrap_or("")))
        .collect();
    let checked: BTreeSet<&str> = all_actions().into_iter().collect();
    for action in &granted {
        assert!(
            checked.contains(action.as_str()) || OPTIONAL_ACTIONS.contains(&action.as_str()),
            "the README grants {action}, which config/check does not check"
        );
    }
    assert!(granted.contains("iam:CreateUser") && granted.contains("sts:AssumeRole"));
}
