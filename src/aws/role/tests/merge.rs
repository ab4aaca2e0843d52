//! Applying writes to stored roles.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

#[test]
fn new_role_from_a_write() {
    let u = RoleUpdate {
        role_arns: Some(vec![ROLE_ARN.into()]),
        policy_document: Some("{\n  \"Version\": \"2012-10-17\" }".into()),
        ..update("assumed_role")
    };
    let merged = Role::merge(None, &u).expect("valid");
    assert_eq!(
        merged.role.credential_types,
        vec![CredentialType::AssumedRole]
    );
    assert_eq!(merged.role.policy_document, r#"{"Version":"2012-10-17"}"#);
    assert_eq!(merged.role.version, 0);
    assert!(merged.warnings.is_empty());
}

#[test]
fn partial_update_changes_only_named_fields() {
    let existing = Role {
        role_arns: vec![ROLE_ARN.into()],
        external_id: "ext".into(),
        default_sts_ttl: secs(900),
        ..role_of(CredentialType::AssumedRole)
    };
    let u = RoleUpdate {
        max_sts_ttl: Some(secs(7200)),
        ..RoleUpdate::default()
    };
    let merged = Role::merge(Some(existing.clone()), &u).expect("valid").role;
    assert_eq!(
        merged,
        Role {
            max_sts_ttl: secs(7200),
            ..existing
        }
    );
}

#[test]
fn empty_values_clear_fields_including_external_id() {
    let existing = Role {
        role_arns: vec![ROLE_ARN.into()],
        policy_arns: vec![BOUNDARY.into()],
        policy_document: "{}".into(),
        external_id: "ext".into(),
        session_tags: BTreeMap::from([("k".into(), "v".into())]),
        default_sts_ttl: secs(900),
        ..role_of(CredentialType::AssumedRole)
    };
    let u = RoleUpdate {
        policy_arns: Some(Vec::new()),
        policy_document: Some(String::new()),
        external_id: Some(String::new()),
        session_tags: Some(BTreeMap::new()),
        default_sts_ttl: Some(Duration::ZERO),
        ..RoleUpdate::default()
    };
    let merged = Role::merge(Some(existing), &u).expect("valid").role;
    assert_eq!(
        merged,
        Role {
            role_arns: vec![ROLE_ARN.into()],
            ..role_of(CredentialType::AssumedRole)
        }
    );
}

#[test]
fn changing_type_is_checked_against_the_remaining_fields() {
    let existing = Role {
        role_arns: vec![ROLE_ARN.into()],
        ..role_of(CredentialType::AssumedRole)
    };
    let err = merge_err(Some(existing.clone()), &update("iam_user"));
    assert!(err.contains("cannot supply role_arns when credential_type isn't assumed_role"));
    let u = RoleUpdate {
        role_arns: Some(Vec::new()),
        ..update("iam_user")
    };
    assert!(Role::merge(Some(existing), &u).is_ok());
}

#[test]
fn bad_inputs_give_vaults_messages() {
    assert_eq!(
        merge_err(None, &update("bogus")),
        r#"error(s) validating supplied role data: "1 error occurred:\n\t* unrecognized credential type: bogus\n\n""#
    );
    let not_json = RoleUpdate {
        policy_document: Some("not json {".into()),
        ..update("iam_user")
    };
    assert_eq!(
        merge_err(None, &not_json),
        r#"cannot parse policy document: "not json {""#
    );
    assert_eq!(
        merge_err(None, &RoleUpdate::default()),
        r#"error(s) validating supplied role data: "1 error occurred:\n\t* did not supply credential_type\n\n""#
    );
}

#[test]
fn input_and_rule_problems_are_reported_at_once() {
    let u = RoleUpdate {
        policy_document: Some("{".into()),
        role_arns: Some(vec![ROLE_ARN.into()]),
        ..update("bogus")
    };
    let err = Role::merge(None, &u).expect_err("invalid");
    assert_eq!(
        err.problems(),
        vec![
            r#"cannot parse policy document: "{""#,
            "unrecognized credential type: bogus",
            "cannot supply role_arns when credential_type isn't assumed_role",
        ]
    );
    assert!(
        err.to_string()
            .starts_with(r#"error(s) validating supplied role data: "3 errors occurred:"#)
    );
}

#[test]
fn writes_clear_invalid_data_and_the_legacy_restriction() {
    let existing = Role {
        prohibit_flexible_cred_path: true,
        ..Role::from_legacy(ROLE_ARN)
    };
    let merged = Role::merge(Some(existing), &RoleUpdate::default()).expect("valid");
    assert!(!merged.role.prohibit_flexible_cred_path);
    let broken = Role::from_legacy("garbage");
    let merged = Role::merge(Some(broken), &update("iam_user")).expect("valid");
    assert!(merged.role.invalid_data.is_empty());
    assert_eq!(
        merged.warnings,
        vec![r#"Invalid data of "garbage" cleared out of role"#]
    );
}

#[test]
fn legacy_writes_are_upgraded_with_a_warning() {
    let u = RoleUpdate {
        legacy_arn: Some(ROLE_ARN.into()),
        ..RoleUpdate::default()
    };
    let merged = Role::merge(None, &u).expect("valid");
    assert_eq!(merged.role, Role::from_legacy(ROLE_ARN));
    assert_eq!(
        merged.warnings,
        vec![
            "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
        ]
    );
    let policy = RoleUpdate {
        legacy_policy: Some(r#"{ "Version": "2012-10-17" }"#.into()),
        legacy_arn: Some(String::new()),
        ..RoleUpdate::default()
    };
    let role = Role::merge(None, &policy).expect("valid").role;
    assert_eq!(role.policy_document, r#"{"Version":"2012-10-17"}"#);
}

#[test]
fn legacy_writes_refuse_mixing_and_garbage() {
    let both = RoleUpdate {
        legacy_arn: Some(ROLE_ARN.into()),
        legacy_policy: Some("{}".into()),
        ..RoleUpdate::default()
    };
    assert_eq!(
        merge_err(None, &both),
        "only one of policy or arn should be provided"
    );
    let mixed = RoleUpdate {
        legacy_arn: Some(ROLE_ARN.into()),
        iam_groups: Some(vec!["g".into()]),
        ..update("assumed_role")
    };
    let err = Role::merge(None, &mixed).expect_err("mixed");
    assert_eq!(
        err.problems(),
        vec![
            "cannot supply deprecated role or policy parameters (arn, policy) with an explicit credential_type",
            "cannot supply deprecated role or policy parameters (arn, policy) with iam_groups",
        ]
    );
    let garbage = RoleUpdate {
        legacy_policy: Some("not a policy".into()),
        ..RoleUpdate::default()
    };
    assert_eq!(
        merge_err(None, &garbage),
        r#"unable to parse supplied data for policy (an IAM policy document or an ARN): "not a policy""#
    );
}
