//! Account sets (issue #7, part B): `assumed_role` roles with `role_arn_template` and
//! `allowed_accounts`, driven through the engine with the recording STS fake. Covers the
//! write rules (400 naming the field, nothing stored), the `account` parameter of
//! `sts/<name>` (the ARN sent, an account outside the set, a malformed ID, a missing
//! one), `roles/<name>` read, the `roles/<name>/accounts` list, and that `role_arns`
//! roles are unchanged.

mod engine_env;

use engine_env::{Env, assert_role_writes_refused, env, error_of, issued};
use serde_json::{Value, json};

const TEMPLATE: &str = "arn:aws:iam::{{account}}:role/ec2-admin";
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];

async fn set_role(env: &Env) {
    env.role(
        "fleet",
        json!({
            "credential_type": "assumed_role",
            "role_arn_template": TEMPLATE,
            "allowed_accounts": ACCOUNTS.join(","),
        }),
    )
    .await;
}

#[tokio::test]
async fn each_account_of_the_set_assumes_its_own_role_arn() {
    let env = env().await;
    set_role(&env).await;
    for account in ACCOUNTS {
        let (data, secret) = issued(env.tb.write("sts/fleet", json!({"account": account})).await);
        let expected = format!("arn:aws:iam::{account}:role/ec2-admin");
        assert_eq!(
            env.assume_role_inputs().last().expect("call").role_arn,
            expected
        );
        assert!(
            data["arn"]
                .as_str()
                .expect("arn")
                .starts_with(&format!("arn:aws:sts::{account}:assumed-role/ec2-admin/")),
            "{}",
            data["arn"]
        );
        // The lease records the role ARN assumed, as for role_arns roles.
        assert_eq!(secret.internal_data["policy"], json!(expected));
    }
}

#[tokio::test]
async fn accounts_outside_the_set_malformed_or_missing_are_400s_before_aws() {
    let env = env().await;
    set_role(&env).await;
    let cases: [(Value, &str); 5] = [
        (
            json!({"account": "444444444444"}),
            r#"account "444444444444" is not in the accounts of Vault role "fleet""#,
        ),
        (
            json!({"account": "12345"}),
            r#"invalid account: "12345" is not an AWS account ID"#,
        ),
        (json!({"account": "11111111111a"}), "invalid account"),
        (
            json!({}),
            "account is required: Vault role \"fleet\" assumes its role in one of 3 accounts",
        ),
        (
            json!({"account": ACCOUNTS[0], "role_arn": "arn:aws:iam::111111111111:role/ec2-admin"}),
            "role_arn cannot be given",
        ),
    ];
    for (body, expected) in cases {
        let err = error_of(env.tb.write("sts/fleet", body.clone()).await);
        assert!(err.starts_with(expected), "{body}: {err}");
    }
    env.assert_no_aws();
}

#[tokio::test]
async fn a_one_account_set_needs_no_account_parameter() {
    let env = env().await;
    env.role(
        "one",
        json!({"credential_type": "assumed_role", "role_arn_template": TEMPLATE, "allowed_accounts": "555555555555"}),
    )
    .await;
    issued(env.tb.read("creds/one").await);
    assert_eq!(
        env.assume_role_inputs()[0].role_arn,
        "arn:aws:iam::555555555555:role/ec2-admin"
    );
}

#[tokio::test]
async fn role_writes_check_the_account_set_fields() {
    let env = env().await;
    let cases: [(Value, &str); 7] = [
        (
            json!({"role_arn_template": TEMPLATE, "allowed_accounts": "111111111111", "role_arns": "arn:aws:iam::111111111111:role/x"}),
            "role_arns and role_arn_template are mutually exclusive",
        ),
        (
            json!({"role_arn_template": "arn:aws:iam::111111111111:role/x", "allowed_accounts": "111111111111"}),
            "invalid role_arn_template: it must contain {{account}} exactly once",
        ),
        (
            json!({"role_arn_template": "arn:aws:s3:::{{account}}", "allowed_accounts": "111111111111"}),
            "invalid role_arn_template",
        ),
        (
            json!({"role_arn_template": TEMPLATE}),
            "role_arn_template needs allowed_accounts",
        ),
        (
            json!({"role_arn_template": TEMPLATE, "allowed_accounts": "1111"}),
            r#"invalid allowed_accounts entry: \"1111\" is not an AWS account ID"#,
        ),
        (
            json!({"role_arn_template": TEMPLATE, "allowed_accounts": "*"}),
            r#"allowed_accounts may only be \"*\" when organization_accounts is true"#,
        ),
        (
            json!({"allowed_accounts": "111111111111"}),
            "need role_arn_template",
        ),
    ];
    assert_role_writes_refused(&env, &json!({"credential_type": "assumed_role"}), &cases).await;
    let err = error_of(
        env.tb
            .write("roles/u", json!({"credential_type": "iam_user", "role_arn_template": TEMPLATE, "allowed_accounts": "111111111111"}))
            .await,
    );
    assert!(
        err.contains("cannot supply role_arn_template when credential_type isn't assumed_role"),
        "{err}"
    );
}

#[tokio::test]
async fn read_shows_the_set_and_the_accounts_path_lists_it() {
    let env = env().await;
    set_role(&env).await;
    let data = env
        .tb
        .read("roles/fleet")
        .await
        .expect("read")
        .expect("role")
        .data
        .expect("data");
    assert_eq!(data["role_arn_template"], json!(TEMPLATE));
    assert_eq!(data["allowed_accounts"], json!(ACCOUNTS));
    assert_eq!(data["organization_accounts"], json!(false));
    assert_eq!(data["role_arns"], json!([]));
    let stored = env.stored_role("fleet").await;
    assert_eq!(stored["role_arn_template"], json!(TEMPLATE));
    assert_eq!(stored["allowed_accounts"], json!(ACCOUNTS));
    assert!(
        stored.get("organization_accounts").is_none(),
        "false is not stored"
    );

    let list = env
        .tb
        .list("roles/fleet/accounts")
        .await
        .expect("list")
        .expect("resp");
    assert_eq!(list.data.expect("data")["keys"], json!(ACCOUNTS));
    assert!(
        env.tb
            .list("roles/nope/accounts")
            .await
            .expect("list")
            .is_none(),
        "404"
    );
    env.role(
        "plain",
        json!({"credential_type": "assumed_role", "role_arns": "arn:aws:iam::111111111111:role/x"}),
    )
    .await;
    let err = error_of(env.tb.list("roles/plain/accounts").await);
    assert!(err.contains("has no role_arn_template"), "{err}");
}

#[tokio::test]
async fn role_arns_roles_are_unchanged_and_refuse_an_account() {
    let env = env().await;
    let arn = "arn:aws:iam::123456789012:role/ec2-admin";
    env.role(
        "plain",
        json!({"credential_type": "assumed_role", "role_arns": arn}),
    )
    .await;
    issued(env.tb.write("sts/plain", json!({})).await);
    assert_eq!(env.assume_role_inputs()[0].role_arn, arn);
    let err = error_of(
        env.tb
            .write("sts/plain", json!({"account": "123456789012"}))
            .await,
    );
    assert!(
        err.starts_with(r#"account was given but role "plain" has no role_arn_template"#),
        "{err}"
    );
}

#[tokio::test]
async fn organization_accounts_are_the_active_ones_cached_for_five_minutes() {
    let env = env().await;
    let org = env.fakes.fake_organizations();
    org.set_accounts(&[
        ("222222222222", true),
        ("111111111111", true),
        ("999999999999", false),
    ]);
    env.role(
        "org",
        json!({"credential_type": "assumed_role", "role_arn_template": TEMPLATE,
               "allowed_accounts": "*", "organization_accounts": true}),
    )
    .await;
    let list = env
        .tb
        .list("roles/org/accounts")
        .await
        .expect("list")
        .expect("resp");
    assert_eq!(
        list.data.expect("data")["keys"],
        json!(["111111111111", "222222222222"])
    );
    issued(
        env.tb
            .write("sts/org", json!({"account": "222222222222"}))
            .await,
    );
    assert_eq!(
        env.assume_role_inputs()[0].role_arn,
        "arn:aws:iam::222222222222:role/ec2-admin"
    );
    let err = error_of(
        env.tb
            .write("sts/org", json!({"account": "999999999999"}))
            .await,
    );
    assert!(
        err.starts_with(r#"account "999999999999" is not in the accounts"#),
        "{err}"
    );
    assert_eq!(org.list_calls(), 1, "cached");

    // A new account shows up once the cache is five minutes old.
    org.set_accounts(&[("111111111111", true), ("333333333333", true)]);
    env.advance(std::time::Duration::from_secs(299));
    assert!(
        error_of(
            env.tb
                .write("sts/org", json!({"account": "333333333333"}))
                .await
        )
        .contains("not in the accounts")
    );
    env.advance(std::time::Duration::from_secs(2));
    issued(
        env.tb
            .write("sts/org", json!({"account": "333333333333"}))
            .await,
    );
    assert_eq!(org.list_calls(), 2);

    // With listed accounts, only those that are active in the organization.
    env.role(
        "some",
        json!({"credential_type": "assumed_role", "role_arn_template": TEMPLATE,
               "allowed_accounts": "333333333333,444444444444", "organization_accounts": true}),
    )
    .await;
    let list = env
        .tb
        .list("roles/some/accounts")
        .await
        .expect("list")
        .expect("resp");
    assert_eq!(list.data.expect("data")["keys"], json!(["333333333333"]));
    // A malformed account is refused without listing the organization.
    let calls = org.list_calls();
    assert!(
        error_of(env.tb.write("sts/org", json!({"account": "x"})).await)
            .starts_with("invalid account")
    );
    assert_eq!(org.list_calls(), calls);
}
