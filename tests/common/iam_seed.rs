//! The IAM account the `iam_user` end-to-end suites start from (test layer): the engine's
//! user with exactly the IAM actions it needs, an inspector with `AdministratorAccess` to
//! look at what "AWS" holds, a group and a permissions boundary, all made with moto's free
//! calls before authentication is enforced (`Auth::EnforcedAfter(SEED_CALLS)`).
//!
//! It knows nothing about OpenBao; each suite joins it to its own server(s).

use std::collections::BTreeSet;

use std::path::Path;

use super::aws::AwsClients;
use super::moto::{Auth, Moto, xml_text};

/// The IAM user whose key the engine uses.
pub const ROOT_USER: &str = "vault-account";
/// The IAM user the tests look at "AWS" with.
pub const INSPECTOR: &str = "inspector";
/// A group roles put their users in.
pub const GROUP: &str = "dev-group";
pub const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// How many moto calls [`seed`] makes: all free; every call after them is authenticated.
pub const SEED_CALLS: u32 = 8;

/// Exactly the IAM actions the engine calls for `iam_user` credentials: creating the user,
/// and deleting it with everything a holder could attach. moto checks actions only (it
/// evaluates every IAM call against resource `*`), so the resource is `*` here; the README
/// shows the same actions scoped for AWS.
pub const ROOT_USER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
"iam:CreateUser","iam:GetUser","iam:DeleteUser","iam:TagUser","iam:PutUserPermissionsBoundary",
"iam:AttachUserPolicy","iam:DetachUserPolicy","iam:ListAttachedUserPolicies",
"iam:PutUserPolicy","iam:DeleteUserPolicy","iam:ListUserPolicies",
"iam:AddUserToGroup","iam:RemoveUserFromGroup","iam:ListGroupsForUser",
"iam:CreateAccessKey","iam:DeleteAccessKey","iam:ListAccessKeys",
"iam:DeleteLoginProfile","iam:ListMFADevices","iam:DeactivateMFADevice","iam:DeleteVirtualMFADevice",
"iam:ListSSHPublicKeys","iam:DeleteSSHPublicKey","iam:ListSigningCertificates","iam:DeleteSigningCertificate",
"iam:ListServiceSpecificCredentials","iam:DeleteServiceSpecificCredential"],"Resource":"*"}]}"#;

/// What a holder may do to its own user in the self-service test.
pub const SELF_SERVICE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateLoginProfile","iam:CreateAccessKey","iam:UploadSSHPublicKey","iam:UploadSigningCertificate","iam:CreateVirtualMFADevice","iam:EnableMFADevice"],"Resource":"*"}]}"#;

/// A permissions boundary (seeded as a customer managed policy).
pub const BOUNDARY_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

/// An inline policy for the full role.
pub const INLINE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

pub struct Keys {
    pub access_key: String,
    pub secret_key: String,
}

/// What [`seed`] made besides the keys.
pub struct Seeded {
    pub root: Keys,
    pub inspector: Keys,
    pub boundary_arn: String,
}

pub fn field(body: &str, tag: &str) -> String {
    xml_text(body, tag).unwrap_or_else(|| panic!("no <{tag}> in moto's answer: {body}"))
}

pub fn keys_of(body: &str) -> Keys {
    Keys {
        access_key: field(body, "AccessKeyId"),
        secret_key: field(body, "SecretAccessKey"),
    }
}

/// The engine's user with its policy, the inspector, a group and a boundary policy (free
/// calls), then a check that authentication is enforced from here on.
pub fn seed(moto: &Moto) -> Seeded {
    moto.query_ok("iam", "CreateUser", &[("UserName", ROOT_USER)]);
    let root = keys_of(&moto.query_ok("iam", "CreateAccessKey", &[("UserName", ROOT_USER)]));
    moto.query_ok(
        "iam",
        "PutUserPolicy",
        &[
            ("UserName", ROOT_USER),
            ("PolicyName", "vault-iam-users"),
            ("PolicyDocument", ROOT_USER_POLICY),
        ],
    );
    moto.query_ok("iam", "CreateUser", &[("UserName", INSPECTOR)]);
    let inspector = keys_of(&moto.query_ok("iam", "CreateAccessKey", &[("UserName", INSPECTOR)]));
    moto.query_ok(
        "iam",
        "AttachUserPolicy",
        &[("UserName", INSPECTOR), ("PolicyArn", ADMIN)],
    );
    moto.query_ok("iam", "CreateGroup", &[("GroupName", GROUP)]);
    let boundary = moto.query_ok(
        "iam",
        "CreatePolicy",
        &[
            ("PolicyName", "VaultBoundary"),
            ("PolicyDocument", BOUNDARY_POLICY),
        ],
    );
    let unsigned = moto.query("sts", "GetCallerIdentity", &[]);
    assert_eq!(
        unsigned.status, 403,
        "moto answers unsigned calls after seeding (SEED_CALLS out of step?): {}",
        unsigned.body
    );
    Seeded {
        root,
        inspector,
        boundary_arn: field(&boundary, "Arn"),
    }
}

/// The users "AWS" holds besides the seeded ones, as `admin` (the inspector) sees them.
pub fn issued_users(admin: &AwsClients) -> BTreeSet<String> {
    admin
        .user_names()
        .into_iter()
        .filter(|u| u != ROOT_USER && u != INSPECTOR)
        .collect()
}

/// A strict moto (`Moto::start_strict`: DeleteUser as strict as AWS's) seeded by [`seed`],
/// with authentication enforced from then on, and the inspector's SDK clients on it.
pub fn start_seeded(moto_bin: &Path) -> (Moto, Seeded, AwsClients) {
    let moto = Moto::start_strict(moto_bin, Auth::EnforcedAfter(SEED_CALLS));
    let seeded = seed(&moto);
    let admin = AwsClients::new(
        &moto.endpoint(),
        &seeded.inspector.access_key,
        &seeded.inspector.secret_key,
        None,
    );
    (moto, seeded, admin)
}
