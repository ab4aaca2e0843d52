//! Tests of the role: storage compatibility with the Go engine, the read response,
//! validation messages, merging writes, legacy upgrades and request-time decisions.

mod decisions;
mod merge;
mod shape;
mod validation;

use std::time::Duration;

use super::*;

pub(super) const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ec2-admin";
pub(super) const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/Boundary";

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn role_of(t: CredentialType) -> Role {
    Role {
        credential_types: vec![t],
        ..Role::default()
    }
}

pub(super) fn problems(role: &Role) -> Vec<String> {
    match role.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.problems().into_iter().map(String::from).collect(),
    }
}

pub(super) fn update(credential_type: &str) -> RoleUpdate {
    RoleUpdate {
        credential_type: Some(credential_type.to_string()),
        ..RoleUpdate::default()
    }
}

pub(super) fn merge_err(existing: Option<Role>, u: &RoleUpdate) -> String {
    Role::merge(existing, u).expect_err("must fail").to_string()
}
