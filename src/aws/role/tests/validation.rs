//! Cross-field validation and its messages.

use std::collections::BTreeMap;

use super::*;

#[test]
fn valid_roles_pass() {
    let assumed = Role {
        role_arns: vec![ROLE_ARN.into()],
        session_tags: BTreeMap::from([("k".into(), "v".into())]),
        external_id: "ext".into(),
        default_sts_ttl: secs(900),
        max_sts_ttl: secs(3600),
        ..role_of(CredentialType::AssumedRole)
    };
    assert_eq!(problems(&assumed), Vec::<String>::new());
    let iam = Role {
        user_path: "/vault/dev/".into(),
        permissions_boundary_arn: BOUNDARY.into(),
        ttl: secs(60),
        max_ttl: secs(60),
        wait_for_propagation: true,
        ..role_of(CredentialType::IamUser)
    };
    assert_eq!(problems(&iam), Vec::<String>::new());
    assert!(
        Role {
            user_path: "/".into(),
            ..iam
        }
        .validate()
        .is_ok()
    );
}

#[test]
fn each_rule_reports_vaults_message() {
    use CredentialType::*;
    let cases: Vec<(Role, &str)> = vec![
        (Role::default(), "did not supply credential_type"),
        (
            Role {
                default_sts_ttl: secs(60),
                ..role_of(IamUser)
            },
            "default_sts_ttl parameter only valid for assumed_role, federation_token, and session_token credential types",
        ),
        (
            Role {
                max_sts_ttl: secs(60),
                ..role_of(IamUser)
            },
            "max_sts_ttl parameter only valid for assumed_role, federation_token, and session_token credential types",
        ),
        (
            Role {
                default_sts_ttl: secs(7200),
                max_sts_ttl: secs(3600),
                ..role_of(AssumedRole)
            },
            r#""default_sts_ttl" value must be less than or equal to "max_sts_ttl" value"#,
        ),
        (
            Role {
                user_path: "/x/".into(),
                ..role_of(AssumedRole)
            },
            "user_path parameter only valid for iam_user credential type",
        ),
        (
            Role {
                user_path: "no-slash".into(),
                ..role_of(IamUser)
            },
            r#"the specified value for user_path is invalid. It must match "^\\/([\\x21-\\x7F]{0,510}\\/)?$" regexp"#,
        ),
        (
            Role {
                permissions_boundary_arn: BOUNDARY.into(),
                ..role_of(FederationToken)
            },
            "cannot supply permissions_boundary_arn when credential_type isn't iam_user",
        ),
        (
            Role {
                permissions_boundary_arn: "Boundary".into(),
                ..role_of(IamUser)
            },
            "invalid permissions_boundary_arn parameter: arn: invalid prefix",
        ),
        (
            Role {
                policy_arns: vec![BOUNDARY.into()],
                ..role_of(SessionToken)
            },
            "cannot supply a policy or role when using credential_type session_token",
        ),
        (
            Role {
                role_arns: vec![ROLE_ARN.into()],
                ..role_of(IamUser)
            },
            "cannot supply role_arns when credential_type isn't assumed_role",
        ),
        (
            Role {
                session_tags: BTreeMap::from([("a".into(), "b".into())]),
                ..role_of(FederationToken)
            },
            "cannot supply session_tags when credential_type isn't assumed_role",
        ),
        (
            Role {
                external_id: "x".into(),
                ..role_of(IamUser)
            },
            "cannot supply external_id when credential_type isn't assumed_role",
        ),
        (
            Role {
                ttl: secs(60),
                ..role_of(AssumedRole)
            },
            "ttl parameter only valid for iam_user credential type",
        ),
        (
            Role {
                wait_for_propagation: true,
                ..role_of(AssumedRole)
            },
            "wait_for_propagation parameter only valid for iam_user credential type",
        ),
        (
            Role {
                ttl: secs(120),
                max_ttl: secs(60),
                ..role_of(IamUser)
            },
            r#""ttl" value must be less than or equal to "max_ttl" value"#,
        ),
    ];
    for (role, expected) in cases {
        assert_eq!(problems(&role), vec![expected.to_string()], "{role:?}");
    }
}

#[test]
fn user_path_pattern_matches_iams_rules() {
    let ok = ["/", "/a/", "/vault/dev/", &format!("/{}/", "a".repeat(510))];
    for path in ok {
        assert!(role_with_path(path).validate().is_ok(), "{path}");
    }
    let bad = ["a/", "/a", "/a b/", &format!("/{}/", "a".repeat(511))];
    for path in bad {
        assert!(role_with_path(path).validate().is_err(), "{path}");
    }
}

fn role_with_path(path: &str) -> Role {
    Role {
        user_path: path.into(),
        ..role_of(CredentialType::IamUser)
    }
}

#[test]
fn boundary_arn_checks_follow_vault() {
    let check = |arn: &str| {
        problems(&Role {
            permissions_boundary_arn: arn.into(),
            ..role_of(CredentialType::IamUser)
        })
    };
    assert_eq!(
        check("arn:aws:s3:::bucket"),
        vec!["invalid permissions_boundary_arn parameter: expected a service of iam but got s3"]
    );
    assert_eq!(
        check(ROLE_ARN),
        vec![
            "invalid permissions_boundary_arn parameter: expected a resource type of policy but got role/ec2-admin"
        ]
    );
    assert_eq!(
        check("arn:aws:iam"),
        vec!["invalid permissions_boundary_arn parameter: arn: not enough sections"]
    );
    let arn = parse_arn("arn:aws-us-gov:iam::123456789012:policy/a:b").expect("arn");
    assert_eq!(arn.partition, "aws-us-gov");
    assert_eq!(arn.resource, "policy/a:b");
}

#[test]
fn all_problems_are_reported_together_in_vaults_format() {
    // Vault loses the first problem when the boundary ARN is bad; we keep both.
    let role = Role {
        role_arns: vec![ROLE_ARN.into()],
        permissions_boundary_arn: "bad".into(),
        ..role_of(CredentialType::IamUser)
    };
    let err = role.validate().expect_err("invalid");
    assert_eq!(
        err.to_string(),
        r#"error(s) validating supplied role data: "2 errors occurred:\n\t* invalid permissions_boundary_arn parameter: arn: invalid prefix\n\t* cannot supply role_arns when credential_type isn't assumed_role\n\n""#
    );
    let single = Role {
        default_sts_ttl: secs(7200),
        max_sts_ttl: secs(3600),
        ..role_of(CredentialType::AssumedRole)
    };
    assert_eq!(
        single.validate().expect_err("invalid").to_string(),
        r#"error(s) validating supplied role data: "1 error occurred:\n\t* \"default_sts_ttl\" value must be less than or equal to \"max_sts_ttl\" value\n\n""#
    );
}
