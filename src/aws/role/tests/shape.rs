//! The stored JSON shape, the read response and credential type names.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

#[test]
fn decodes_a_role_stored_by_the_go_engine() {
    let go = r#"{"credential_types":["assumed_role"],"policy_arns":null,"role_arns":["arn:aws:iam::123456789012:role/ec2-admin"],"policy_document":"","iam_groups":null,"iam_tags":null,"session_tags":null,"external_id":"","version":0,"default_sts_ttl":900000000000,"max_sts_ttl":3600000000000,"user_path":"","permissions_boundary_arn":"","mfa_serial_number":""}"#;
    let role: Role = serde_json::from_str(go).expect("decode");
    assert_eq!(role.credential_types, vec![CredentialType::AssumedRole]);
    assert_eq!(role.role_arns, vec![ROLE_ARN]);
    assert!(role.policy_arns.is_empty() && role.iam_tags.is_empty());
    assert_eq!(role.default_sts_ttl, secs(900));
    assert_eq!(role.max_sts_ttl, secs(3600));
}

#[test]
fn decodes_old_openbao_and_legacy_entries() {
    // OpenBao's entry has no session_tags/mfa_serial_number; an upgraded legacy entry
    // carries invalid_data and prohibit_flexible_cred_path.
    let old = r#"{"credential_types":null,"invalid_data":"junk","prohibit_flexible_cred_path":true,"version":1,"default_sts_ttl":0,"max_sts_ttl":0,"user_path":"","permissions_boundary_arn":""}"#;
    let role: Role = serde_json::from_str(old).expect("decode");
    assert_eq!(role.invalid_data, "junk");
    assert!(role.prohibit_flexible_cred_path);
    assert_eq!(role.version, 1);
    assert!(role.credential_types.is_empty());
}

#[test]
fn encodes_in_the_go_engines_field_order_and_units() {
    let role = Role {
        credential_types: vec![CredentialType::IamUser],
        policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        iam_tags: BTreeMap::from([("team".into(), "dev".into())]),
        user_path: "/vault/".into(),
        ..Role::default()
    };
    assert_eq!(
        serde_json::to_string(&role).expect("encode"),
        r#"{"credential_types":["iam_user"],"policy_arns":["arn:aws:iam::aws:policy/ReadOnlyAccess"],"role_arns":[],"policy_document":"","iam_groups":[],"iam_tags":{"team":"dev"},"session_tags":{},"external_id":"","version":0,"default_sts_ttl":0,"max_sts_ttl":0,"user_path":"/vault/","permissions_boundary_arn":"","mfa_serial_number":""}"#
    );
    let extended = Role {
        ttl: secs(60),
        max_ttl: secs(120),
        wait_for_propagation: true,
        ..role.clone()
    };
    let value = serde_json::to_value(&extended).expect("encode");
    assert_eq!(value["ttl"], json!(60_000_000_000_i64));
    assert_eq!(value["max_ttl"], json!(120_000_000_000_i64));
    assert_eq!(value["wait_for_propagation"], json!(true));
    let back: Role = serde_json::from_value(value).expect("decode");
    assert_eq!(back, extended);
}

#[test]
fn unknown_credential_type_in_storage_is_an_error() {
    assert!(serde_json::from_str::<Role>(r#"{"credential_types":["bogus"]}"#).is_err());
}

#[test]
fn identity_fields_are_snake_case_extensions_omitted_when_unset() {
    let plain = serde_json::to_value(role_of(CredentialType::AssumedRole)).expect("encode");
    for key in [
        "session_name_template",
        "source_identity_template",
        "session_tag_templates",
        "transitive_tag_keys",
    ] {
        assert!(plain.get(key).is_none(), "{key} stored while unset");
    }
    let role = Role {
        session_name_template: "{{ .EntityName }}".into(),
        source_identity_template: "{{ .EntityName }}".into(),
        session_tag_templates: BTreeMap::from([("team".into(), "{{ .Groups }}".into())]),
        transitive_tag_keys: vec!["team".into()],
        ..role_of(CredentialType::AssumedRole)
    };
    let stored = serde_json::to_value(&role).expect("encode");
    assert_eq!(stored["session_name_template"], json!("{{ .EntityName }}"));
    assert_eq!(
        stored["session_tag_templates"],
        json!({"team": "{{ .Groups }}"})
    );
    assert_eq!(stored["transitive_tag_keys"], json!(["team"]));
    let back: Role = serde_json::from_value(stored).expect("decode");
    assert_eq!(back, role);
}

#[test]
fn response_data_uses_vaults_keys_and_seconds() {
    let role = Role {
        credential_types: vec![CredentialType::IamUser, CredentialType::FederationToken],
        policy_document: r#"{"Version":"2012-10-17"}"#.into(),
        default_sts_ttl: secs(900),
        max_sts_ttl: secs(3600),
        ..Role::default()
    };
    let data = role.to_response_data();
    assert_eq!(data["credential_type"], json!("iam_user,federation_token"));
    assert_eq!(data["default_sts_ttl"], json!(900));
    assert_eq!(data["max_sts_ttl"], json!(3600));
    assert_eq!(
        data["policy_document"],
        json!(r#"{"Version":"2012-10-17"}"#)
    );
    assert_eq!(data["role_arns"], json!([]));
    assert_eq!(data["iam_tags"], json!({}));
    assert!(!data.contains_key("invalid_data"));
    assert!(!data.contains_key("secret_key") && !data.contains_key("credential_types"));
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "allowed_accounts",
            "credential_type",
            "default_sts_ttl",
            "external_id",
            "iam_groups",
            "iam_tags",
            "max_sts_ttl",
            "max_ttl",
            "mfa_serial_number",
            "organization_accounts",
            "permissions_boundary_arn",
            "policy_arns",
            "policy_document",
            "role_arn_template",
            "role_arns",
            "session_name_template",
            "session_tag_templates",
            "session_tags",
            "source_identity_template",
            "transitive_tag_keys",
            "ttl",
            "user_path",
            "wait_for_propagation",
        ]
    );
    let invalid = Role::from_legacy("garbage");
    assert_eq!(invalid.to_response_data()["invalid_data"], json!("garbage"));
}

#[test]
fn credential_types_round_trip_their_names() {
    for t in CredentialType::ALL {
        assert_eq!(t.as_str().parse::<CredentialType>(), Ok(t));
        assert_eq!(serde_json::to_value(t).expect("json"), json!(t.as_str()));
    }
    assert_eq!(
        "bogus".parse::<CredentialType>(),
        Err("unrecognized credential type: bogus".to_string())
    );
    assert!(!CredentialType::IamUser.is_sts());
    assert!(CredentialType::SessionToken.is_sts());
}

#[test]
fn legacy_entries_upgrade_as_in_vault() {
    let assumed = Role::from_legacy(ROLE_ARN);
    assert_eq!(assumed.credential_types, vec![CredentialType::AssumedRole]);
    assert_eq!(assumed.role_arns, vec![ROLE_ARN]);
    assert!(assumed.prohibit_flexible_cred_path);
    assert_eq!(assumed.version, 1);

    let iam = Role::from_legacy("arn:aws:iam::aws:policy/ReadOnlyAccess");
    assert_eq!(iam.credential_types, vec![CredentialType::IamUser]);
    assert_eq!(
        iam.policy_arns,
        vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );

    let doc = Role::from_legacy("{ \"Statement\": [] }");
    assert_eq!(
        doc.credential_types,
        vec![CredentialType::IamUser, CredentialType::FederationToken]
    );
    assert_eq!(doc.policy_document, r#"{"Statement":[]}"#);

    for bad in ["arn:aws:iam::123:user/bob", "arn:short", "plain text"] {
        let role = Role::from_legacy(bad);
        assert_eq!(role.invalid_data, bad);
        assert!(role.credential_types.is_empty() && !role.prohibit_flexible_cred_path);
    }
}
