//! \[engine\] Applying a `roles/<name>` write to the stored role (Vault's `pathRolesWrite`
//! after field parsing): only the fields the request names change, a field given an
//! empty value is cleared (including `external_id`, which Vault cannot clear), legacy
//! `policy`/`arn` writes are upgraded, and every problem is reported together.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::framework::template::go_quote;

use super::validate::RoleErrors;
use super::{CredentialType, Role, policy_document};

/// The fields of one role write. `None` means "not in the request" (keep the stored
/// value); `Some` replaces it, and an empty value clears it. The path handler fills this
/// from the request's raw fields, so "present" follows the request, not schema defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    /// `credential_type`, unparsed so that a bad value is reported with the others.
    pub credential_type: Option<String>,
    /// `role_arns`.
    pub role_arns: Option<Vec<String>>,
    /// `policy_arns`.
    pub policy_arns: Option<Vec<String>>,
    /// `policy_document`, as given (compacted here).
    pub policy_document: Option<String>,
    /// `iam_groups`.
    pub iam_groups: Option<Vec<String>>,
    /// `iam_tags`.
    pub iam_tags: Option<BTreeMap<String, String>>,
    /// `session_tags`.
    pub session_tags: Option<BTreeMap<String, String>>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `default_sts_ttl`.
    pub default_sts_ttl: Option<Duration>,
    /// `max_sts_ttl`.
    pub max_sts_ttl: Option<Duration>,
    /// `user_path`.
    pub user_path: Option<String>,
    /// `permissions_boundary_arn`.
    pub permissions_boundary_arn: Option<String>,
    /// `mfa_serial_number`.
    pub mfa_serial_number: Option<String>,
    /// `ttl` (extension, iam_user).
    pub ttl: Option<Duration>,
    /// `max_ttl` (extension, iam_user).
    pub max_ttl: Option<Duration>,
    /// `wait_for_propagation` (extension, iam_user).
    pub wait_for_propagation: Option<bool>,
    /// `session_name_template` (extension, assumed_role and federation_token).
    pub session_name_template: Option<String>,
    /// `source_identity_template` (extension, assumed_role).
    pub source_identity_template: Option<String>,
    /// `session_tag_templates` (extension, assumed_role).
    pub session_tag_templates: Option<BTreeMap<String, String>>,
    /// `transitive_tag_keys` (extension, assumed_role).
    pub transitive_tag_keys: Option<Vec<String>>,
    /// `role_arn_template` (extension, assumed_role).
    pub role_arn_template: Option<String>,
    /// `allowed_accounts` (extension, assumed_role).
    pub allowed_accounts: Option<Vec<String>>,
    /// `organization_accounts` (extension, assumed_role).
    pub organization_accounts: Option<bool>,
    /// Deprecated `policy`: a JSON policy document.
    pub legacy_policy: Option<String>,
    /// Deprecated `arn`: a role or managed-policy ARN.
    pub legacy_arn: Option<String>,
}

/// A role ready to store, with the warnings the write response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRole {
    /// The role to store.
    pub role: Role,
    /// Warnings for the response (legacy parameters used, invalid data cleared).
    pub warnings: Vec<String>,
}

const LEGACY_WARNING: &str =
    "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters.";

impl RoleUpdate {
    /// Names of the non-legacy fields present, for the legacy-conflict check.
    fn present_fields(&self) -> Vec<&'static str> {
        let present = [
            ("credential_type", self.credential_type.is_some()),
            ("role_arns", self.role_arns.is_some()),
            ("policy_arns", self.policy_arns.is_some()),
            ("policy_document", self.policy_document.is_some()),
            ("iam_groups", self.iam_groups.is_some()),
            ("iam_tags", self.iam_tags.is_some()),
            ("session_tags", self.session_tags.is_some()),
            ("external_id", self.external_id.is_some()),
            ("default_sts_ttl", self.default_sts_ttl.is_some()),
            ("max_sts_ttl", self.max_sts_ttl.is_some()),
            ("user_path", self.user_path.is_some()),
            (
                "permissions_boundary_arn",
                self.permissions_boundary_arn.is_some(),
            ),
            ("mfa_serial_number", self.mfa_serial_number.is_some()),
            ("ttl", self.ttl.is_some()),
            ("max_ttl", self.max_ttl.is_some()),
            ("wait_for_propagation", self.wait_for_propagation.is_some()),
            (
                "session_name_template",
                self.session_name_template.is_some(),
            ),
            (
                "source_identity_template",
                self.source_identity_template.is_some(),
            ),
            (
                "session_tag_templates",
                self.session_tag_templates.is_some(),
            ),
            ("transitive_tag_keys", self.transitive_tag_keys.is_some()),
            ("role_arn_template", self.role_arn_template.is_some()),
            ("allowed_accounts", self.allowed_accounts.is_some()),
            (
                "organization_accounts",
                self.organization_accounts.is_some(),
            ),
        ];
        present
            .into_iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| n)
            .collect()
    }

    /// The deprecated `policy`/`arn` values, when either is non-empty.
    fn legacy(&self) -> Option<(Option<&str>, Option<&str>)> {
        let policy = self.legacy_policy.as_deref().filter(|s| !s.is_empty());
        let arn = self.legacy_arn.as_deref().filter(|s| !s.is_empty());
        (policy.is_some() || arn.is_some()).then_some((policy, arn))
    }
}

impl Role {
    /// Applies `update` to the stored role (`None` when the role is new) and validates
    /// the result. On success the returned role is what to store; otherwise every
    /// problem is in the error, whose `Display` is the response message.
    pub fn merge(existing: Option<Role>, update: &RoleUpdate) -> Result<MergedRole, RoleErrors> {
        let mut role = existing.unwrap_or_default();
        let mut warnings = Vec::new();
        if !role.invalid_data.is_empty() {
            warnings.push(format!(
                "Invalid data of {} cleared out of role",
                go_quote(&role.invalid_data)
            ));
            role.invalid_data.clear();
        }
        if let Some(legacy) = update.legacy() {
            let role = merge_legacy(update, legacy)?;
            warnings.push(LEGACY_WARNING.to_string());
            return Ok(MergedRole { role, warnings });
        }
        let mut input = Vec::new();
        let unknown_type = role.apply(update, &mut input);
        role.prohibit_flexible_cred_path = false;
        let validation = role.problems(unknown_type.as_deref());
        RoleErrors::from_parts(input, validation)?;
        Ok(MergedRole { role, warnings })
    }

    /// Copies the present fields; returns an unrecognised `credential_type`, if any.
    fn apply(&mut self, u: &RoleUpdate, input: &mut Vec<String>) -> Option<String> {
        let mut unknown_type = None;
        if let Some(raw) = &u.credential_type {
            self.credential_types = match raw.parse::<CredentialType>() {
                Ok(t) => vec![t],
                Err(_) if raw.is_empty() => Vec::new(),
                Err(_) => {
                    unknown_type = Some(raw.clone());
                    Vec::new()
                }
            };
        }
        if let Some(raw) = &u.policy_document {
            if raw.is_empty() {
                self.policy_document.clear();
            } else {
                match policy_document::compact(raw) {
                    Ok(compacted) => self.policy_document = compacted,
                    Err(_) => {
                        input.push(format!("cannot parse policy document: {}", go_quote(raw)))
                    }
                }
            }
        }
        set(&mut self.role_arns, &u.role_arns);
        set(&mut self.policy_arns, &u.policy_arns);
        set(&mut self.iam_groups, &u.iam_groups);
        set(&mut self.iam_tags, &u.iam_tags);
        set(&mut self.session_tags, &u.session_tags);
        set(&mut self.external_id, &u.external_id);
        set(&mut self.default_sts_ttl, &u.default_sts_ttl);
        set(&mut self.max_sts_ttl, &u.max_sts_ttl);
        set(&mut self.user_path, &u.user_path);
        set(
            &mut self.permissions_boundary_arn,
            &u.permissions_boundary_arn,
        );
        set(&mut self.mfa_serial_number, &u.mfa_serial_number);
        set(&mut self.ttl, &u.ttl);
        set(&mut self.max_ttl, &u.max_ttl);
        set(&mut self.wait_for_propagation, &u.wait_for_propagation);
        set(&mut self.session_name_template, &u.session_name_template);
        set(
            &mut self.source_identity_template,
            &u.source_identity_template,
        );
        set(&mut self.session_tag_templates, &u.session_tag_templates);
        set(&mut self.transitive_tag_keys, &u.transitive_tag_keys);
        set(&mut self.role_arn_template, &u.role_arn_template);
        set(&mut self.allowed_accounts, &u.allowed_accounts);
        set(&mut self.organization_accounts, &u.organization_accounts);
        unknown_type
    }
}

/// New parameters cannot be mixed with the deprecated ones (Vault checks a subset of
/// fields and silently drops the rest; we refuse them all).
fn legacy_conflicts(update: &RoleUpdate, input: &mut Vec<String>) {
    for field in update.present_fields() {
        let what = if field == "credential_type" {
            "an explicit credential_type"
        } else {
            field
        };
        input.push(format!(
            "cannot supply deprecated role or policy parameters (arn, policy) with {what}"
        ));
    }
}

fn set<T: Clone>(target: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

/// A write of the deprecated `policy` or `arn`: the role is replaced by the upgrade of
/// that value, as in Vault.
fn merge_legacy(
    update: &RoleUpdate,
    (policy, arn): (Option<&str>, Option<&str>),
) -> Result<Role, RoleErrors> {
    let mut input = Vec::new();
    if policy.is_some() && arn.is_some() {
        input.push("only one of policy or arn should be provided".to_string());
    }
    legacy_conflicts(update, &mut input);
    let raw = policy.or(arn).unwrap_or_default();
    let role = Role::from_legacy(raw);
    if input.is_empty() && !role.invalid_data.is_empty() {
        // Vault's text, with the field named (it says neither which nor why).
        let field = if policy.is_some() { "policy" } else { "arn" };
        input.push(format!(
            "unable to parse supplied data for {field} (an IAM policy document or an ARN): {}",
            go_quote(raw)
        ));
    }
    RoleErrors::from_parts(input, Vec::new())?;
    let validation = role.problems(None);
    RoleErrors::from_parts(Vec::new(), validation)?;
    Ok(role)
}
