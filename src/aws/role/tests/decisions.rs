//! Request-time decisions: credential type by path, role ARN, TTLs.

use std::time::Duration;

use super::*;

#[test]
fn credential_type_follows_the_path_for_legacy_roles() {
    let plain = role_of(CredentialType::AssumedRole);
    assert_eq!(
        plain.credential_type_for(CredsPath::Creds),
        Ok(CredentialType::AssumedRole)
    );
    assert_eq!(
        plain.credential_type_for(CredsPath::Sts),
        Ok(CredentialType::AssumedRole)
    );

    let doc = Role::from_legacy("{}");
    assert_eq!(
        doc.credential_type_for(CredsPath::Creds),
        Ok(CredentialType::IamUser)
    );
    assert_eq!(
        doc.credential_type_for(CredsPath::Sts),
        Ok(CredentialType::FederationToken)
    );

    let arn = Role::from_legacy(ROLE_ARN);
    assert_eq!(
        arn.credential_type_for(CredsPath::Creds),
        Err("attempted to retrieve assumed_role credentials through the creds path; this is not allowed for legacy roles".into())
    );
    let policy = Role::from_legacy("arn:aws:iam::aws:policy/ReadOnlyAccess");
    assert_eq!(
        policy.credential_type_for(CredsPath::Sts),
        Err("attempted to retrieve iam_user credentials through the sts path; this is not allowed for legacy roles".into())
    );
    let odd = Role {
        credential_types: vec![CredentialType::AssumedRole, CredentialType::SessionToken],
        ..Role::default()
    };
    assert_eq!(
        odd.credential_type_for(CredsPath::Sts),
        Err(r#"requested credential type "federation_token" not in allowed credential types []string{"assumed_role", "session_token"}"#.into())
    );
    assert!(
        Role::default()
            .credential_type_for(CredsPath::Creds)
            .is_err()
    );
}

#[test]
fn role_arn_selection() {
    let one = Role {
        role_arns: vec![ROLE_ARN.into()],
        ..role_of(CredentialType::AssumedRole)
    };
    assert_eq!(
        one.select_role_arn("", "ec2-admin"),
        Ok(ROLE_ARN.to_string())
    );
    assert_eq!(
        one.select_role_arn(ROLE_ARN, "ec2-admin"),
        Ok(ROLE_ARN.to_string())
    );
    assert_eq!(
        one.select_role_arn("arn:aws:iam::123456789012:role/not-in-role", "ec2-admin"),
        Err(r#"role_arn "arn:aws:iam::123456789012:role/not-in-role" not in allowed role arns for Vault role "ec2-admin""#.into())
    );
    let two = Role {
        role_arns: vec![ROLE_ARN.into(), "arn:aws:iam::1:role/b".into()],
        ..one
    };
    assert_eq!(
        two.select_role_arn("", "two-arns"),
        Err("did not supply a role_arn parameter and unable to determine one".into())
    );
    assert!(
        role_of(CredentialType::AssumedRole)
            .select_role_arn("", "x")
            .is_err()
    );
}

#[test]
fn sts_ttl_defaults_caps_and_aws_limits() {
    use CredentialType::*;
    let mount = secs(768 * 3600);
    let plain = role_of(AssumedRole);
    assert_eq!(plain.sts_ttl(AssumedRole, None, mount), Ok(secs(3600)));
    assert_eq!(
        plain.sts_ttl(AssumedRole, Some(secs(1800)), mount),
        Ok(secs(1800))
    );
    let capped = Role {
        default_sts_ttl: secs(900),
        max_sts_ttl: secs(3600),
        ..role_of(AssumedRole)
    };
    assert_eq!(capped.sts_ttl(AssumedRole, None, mount), Ok(secs(900)));
    assert_eq!(
        capped.sts_ttl(AssumedRole, Some(secs(7200)), mount),
        Ok(secs(3600))
    );
    assert_eq!(
        plain.sts_ttl(AssumedRole, Some(secs(7200)), secs(1800)),
        Ok(secs(1800))
    );
    assert_eq!(
        plain.sts_ttl(AssumedRole, Some(secs(10)), mount),
        Err("ttl of 10s is below the minimum of 900s (15m) that AWS allows for assumed_role credentials".into())
    );
    assert_eq!(
        plain.sts_ttl(AssumedRole, Some(secs(48 * 3600)), mount),
        Err("ttl of 172800s is above the maximum of 43200s (12h) that AWS allows for assumed_role credentials".into())
    );
    assert_eq!(
        plain.sts_ttl(FederationToken, Some(secs(36 * 3600)), mount),
        Ok(secs(36 * 3600))
    );
    assert!(
        plain
            .sts_ttl(SessionToken, Some(secs(37 * 3600)), mount)
            .is_err()
    );
    // A mount maximum below AWS's minimum is reported, not sent to AWS.
    assert!(plain.sts_ttl(AssumedRole, None, secs(600)).is_err());
    // No mount maximum: no cap, but AWS's limit still applies.
    assert!(
        plain
            .sts_ttl(AssumedRole, Some(secs(50_000)), Duration::ZERO)
            .is_err()
    );
    assert_eq!(
        plain.sts_ttl(AssumedRole, Some(secs(40_000)), Duration::ZERO),
        Ok(secs(40_000))
    );
}

#[test]
fn iam_user_lease_prefers_the_roles_own_ttls() {
    let config = (secs(600), secs(3600));
    let plain = role_of(CredentialType::IamUser);
    assert_eq!(plain.iam_user_lease(config.0, config.1), config);
    let own = Role {
        ttl: secs(60),
        ..plain
    };
    assert_eq!(
        own.iam_user_lease(config.0, config.1),
        (secs(60), secs(3600))
    );
    assert_eq!(own.effective_user_path(), "/");
}
