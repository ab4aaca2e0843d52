//! \[engine\] The AWS actions the engine's own credentials need, per credential type and
//! for `config/rotate-root`: the one table behind both the permission report of
//! `config/check` and the README's "Least privilege" section (`tests/checks.rs` fails
//! when the two disagree, so a new AWS call cannot be added to one and forgotten in the
//! other).
//!
//! Each action names the kind of resource the README scopes it to, so that the simulation
//! evaluates it on an ARN of that kind (a policy scoped to `user/*` allows `iam:CreateUser`
//! on a user, not on `*`). This module holds data and the ARN arithmetic only; it makes no
//! AWS call.

/// The kind of resource an action is evaluated on, as the README's policy scopes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// An IAM user the engine makes, under the default `user_path` (`user/<name>`).
    User,
    /// An IAM group (`group/<name>`).
    Group,
    /// A virtual MFA device (`mfa/<name>`).
    VirtualMfa,
    /// A federated user of the engine's account (`federated-user/<name>`).
    FederatedUser,
    /// The engine's own IAM user, the caller itself.
    Caller,
    /// No particular resource: AWS's default, `*`. `sts:AssumeRole` is evaluated so,
    /// because the roles it applies to are the Vault roles' business (`roles/<name>/check`
    /// tries them for real).
    Any,
}

/// What one credential type (or `config/rotate-root`) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// `iam_user`, `assumed_role`, `federation_token`, `session_token` or `rotate_root`.
    pub name: &'static str,
    /// The actions, each with the kind of resource it is evaluated on. An action may be
    /// listed once per kind (`iam:AddUserToGroup` acts on a user and on a group).
    pub actions: &'static [(&'static str, Target)],
}

/// The name [`REQUIRED_ACTIONS`] gives `config/rotate-root` (not a credential type).
pub const ROTATE_ROOT: &str = "rotate_root";

/// Name of the stand-in users, groups, devices and federated users the actions are
/// evaluated on. Nothing of that name is made: the simulation only evaluates policies.
pub const STAND_IN_NAME: &str = "vault-permission-check";

use Target::{Any, Caller, FederatedUser, Group, User, VirtualMfa};

/// Every action the engine calls with its own credentials, by what it is for. Keep in step
/// with the README's "Least privilege" section.
pub const REQUIRED_ACTIONS: &[Requirement] = &[
    Requirement {
        name: "iam_user",
        actions: &[
            // Issuing, and the first pass of a revoke (what Vault documents).
            ("iam:CreateUser", User),
            ("iam:DeleteUser", User),
            ("iam:TagUser", User),
            ("iam:PutUserPermissionsBoundary", User),
            ("iam:AttachUserPolicy", User),
            ("iam:DetachUserPolicy", User),
            ("iam:ListAttachedUserPolicies", User),
            ("iam:PutUserPolicy", User),
            ("iam:DeleteUserPolicy", User),
            ("iam:ListUserPolicies", User),
            ("iam:AddUserToGroup", User),
            ("iam:RemoveUserFromGroup", User),
            ("iam:ListGroupsForUser", User),
            ("iam:CreateAccessKey", User),
            ("iam:DeleteAccessKey", User),
            ("iam:ListAccessKeys", User),
            // The second pass: whatever a holder attached to its user.
            ("iam:DeleteLoginProfile", User),
            ("iam:ListMFADevices", User),
            ("iam:DeactivateMFADevice", User),
            ("iam:ListSSHPublicKeys", User),
            ("iam:DeleteSSHPublicKey", User),
            ("iam:ListSigningCertificates", User),
            ("iam:DeleteSigningCertificate", User),
            ("iam:ListServiceSpecificCredentials", User),
            ("iam:DeleteServiceSpecificCredential", User),
            ("iam:AddUserToGroup", Group),
            ("iam:RemoveUserFromGroup", Group),
            ("iam:DeleteVirtualMFADevice", VirtualMfa),
        ],
    },
    Requirement {
        name: "assumed_role",
        actions: &[("sts:AssumeRole", Any)],
    },
    Requirement {
        name: "federation_token",
        actions: &[("sts:GetFederationToken", FederatedUser)],
    },
    // GetSessionToken needs no permission: AWS does not let a policy deny it.
    Requirement {
        name: "session_token",
        actions: &[],
    },
    Requirement {
        name: ROTATE_ROOT,
        actions: &[
            ("iam:GetUser", Caller),
            ("iam:CreateAccessKey", Caller),
            ("iam:DeleteAccessKey", Caller),
        ],
    },
];

/// Actions the README names that only an optional role setting needs, so `config/check`
/// does not count them: `sts:TagSession` (roles with session tags),
/// `sts:SetSourceIdentity` (roles with `source_identity_template`) and
/// `organizations:ListAccounts` (account sets with `organization_accounts`).
pub const OPTIONAL_ACTIONS: &[&str] = &[
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "organizations:ListAccounts",
];

/// The principal whose policies AWS can simulate for a caller: an IAM user is itself; an
/// assumed-role session is its role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`
/// → `arn:aws:iam::<account>:role/<role>`; the role's path is not in the session ARN, so a
/// role with a path is not found). `None` for callers AWS cannot simulate (the account's
/// root user, federated users).
pub fn simulation_principal(caller_arn: &str) -> Option<String> {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    let [_, partition, service, _, account, resource] = parts.as_slice() else {
        return None;
    };
    match (*service, resource.split_once('/')) {
        ("iam", Some(("user", _))) => Some(caller_arn.to_string()),
        ("sts", Some(("assumed-role", rest))) => {
            let role = rest.split('/').next().filter(|r| !r.is_empty())?;
            Some(format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        _ => None,
    }
}

/// The ARN `target` is evaluated on, in `partition` and `account`; `None` for [`Target::Any`]
/// (AWS's default, `*`).
pub fn resource_arn(
    target: Target,
    partition: &str,
    account: &str,
    caller: &str,
) -> Option<String> {
    let iam = |kind: &str| format!("arn:{partition}:iam::{account}:{kind}/{STAND_IN_NAME}");
    match target {
        User => Some(iam("user")),
        Group => Some(iam("group")),
        VirtualMfa => Some(iam("mfa")),
        FederatedUser => Some(format!(
            "arn:{partition}:sts::{account}:federated-user/{STAND_IN_NAME}"
        )),
        Caller => Some(caller.to_string()),
        Any => None,
    }
}

/// Every distinct action of the table, sorted.
pub fn all_actions() -> Vec<&'static str> {
    let mut actions: Vec<&str> = REQUIRED_ACTIONS
        .iter()
        .flat_map(|r| r.actions.iter().map(|(action, _)| *action))
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulated_principal_is_the_user_or_the_sessions_role() {
        let user = "arn:aws:iam::123456789012:user/vault/vault-account";
        assert_eq!(simulation_principal(user).as_deref(), Some(user));
        assert_eq!(
            simulation_principal("arn:aws-cn:sts::123456789012:assumed-role/engine/i-0abc")
                .as_deref(),
            Some("arn:aws-cn:iam::123456789012:role/engine")
        );
        for unsimulated in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:sts::123456789012:assumed-role/",
            "not an arn",
        ] {
            assert_eq!(simulation_principal(unsimulated), None, "{unsimulated}");
        }
    }

    #[test]
    fn resources_are_stand_ins_of_the_scoped_kind() {
        let caller = "arn:aws:iam::111122223333:user/engine";
        let arn = |t| resource_arn(t, "aws", "111122223333", caller);
        assert_eq!(
            arn(User).as_deref(),
            Some("arn:aws:iam::111122223333:user/vault-permission-check")
        );
        assert_eq!(
            arn(FederatedUser).as_deref(),
            Some("arn:aws:sts::111122223333:federated-user/vault-permission-check")
        );
        assert_eq!(arn(Caller).as_deref(), Some(caller));
        assert_eq!(arn(Any), None);
    }

    #[test]
    fn every_credential_type_has_an_entry() {
        let names: Vec<&str> = REQUIRED_ACTIONS.iter().map(|r| r.name).collect();
        for t in crate::aws::role::CredentialType::ALL {
            assert!(names.contains(&t.as_str()), "{}", t.as_str());
        }
        assert!(names.contains(&ROTATE_ROOT));
    }
}
