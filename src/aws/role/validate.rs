//! \[engine\] The cross-field rules a role must satisfy before it is stored (Vault's
//! `awsRoleEntry.validate`), with Vault's messages, all problems gathered at once; the
//! ARN syntax check used for permissions boundaries and legacy upgrades; and
//! [`RoleErrors`], which renders the problems the way Vault does.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use regex_lite::Regex;

use crate::framework::template::go_quote;

use super::{CredentialType, Role};

/// The pattern IAM user paths must match, as Vault writes it.
pub const USER_PATH_PATTERN: &str = r"^\/([\x21-\x7F]{0,510}\/)?$";

/// The parts of an ARN (`arn:partition:service:region:account-id:resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// e.g. `aws`, `aws-us-gov`.
    pub partition: String,
    /// e.g. `iam`.
    pub service: String,
    /// Empty for global services.
    pub region: String,
    /// Twelve digits, or empty for AWS-managed policies.
    pub account_id: String,
    /// e.g. `policy/Boundary`, `role/ec2-admin`.
    pub resource: String,
}

/// Parses an ARN with the rules (and messages) of aws-sdk-go's `arn.Parse`: the `arn:`
/// prefix and six colon-separated sections, the last of which may contain colons.
pub fn parse_arn(s: &str) -> Result<Arn, String> {
    if !s.starts_with("arn:") {
        return Err("arn: invalid prefix".to_string());
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [_, partition, service, region, account_id, resource] = parts.as_slice() else {
        return Err("arn: not enough sections".to_string());
    };
    Ok(Arn {
        partition: partition.to_string(),
        service: service.to_string(),
        region: region.to_string(),
        account_id: account_id.to_string(),
        resource: resource.to_string(),
    })
}

/// Vault's `validateAWSManagedPolicy`: an IAM policy ARN.
fn check_policy_arn(s: &str) -> Result<(), String> {
    let arn = parse_arn(s)?;
    if arn.service != "iam" {
        return Err(format!("expected a service of iam but got {}", arn.service));
    }
    if !arn.resource.starts_with("policy/") {
        return Err(format!(
            "expected a resource type of policy but got {}",
            arn.resource
        ));
    }
    Ok(())
}

fn user_path_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Infallible: a fixed pattern, exercised by the user_path tests.
    RE.get_or_init(|| Regex::new(USER_PATH_PATTERN).expect("USER_PATH_PATTERN compiles"))
}

impl Role {
    /// Checks the cross-field rules; every problem is reported, not just the first.
    pub fn validate(&self) -> Result<(), RoleErrors> {
        RoleErrors::from_parts(Vec::new(), self.problems(None))
    }

    /// The rule violations, in Vault's order. `unknown_type` is a `credential_type` the
    /// caller supplied that is not a credential type; it replaces "did not supply".
    pub(super) fn problems(&self, unknown_type: Option<&str>) -> Vec<String> {
        use CredentialType::*;
        let mut out = Vec::new();
        let has = |t| self.allows(t);
        let sts_types = "assumed_role, federation_token, and session_token";
        match unknown_type {
            Some(t) => out.push(format!("unrecognized credential type: {t}")),
            None if self.credential_types.is_empty() => {
                out.push("did not supply credential_type".to_string());
            }
            None => {}
        }
        let any_sts = has(AssumedRole) || has(FederationToken) || has(SessionToken);
        if !self.default_sts_ttl.is_zero() && !any_sts {
            out.push(format!(
                "default_sts_ttl parameter only valid for {sts_types} credential types"
            ));
        }
        if !self.max_sts_ttl.is_zero() && !any_sts {
            out.push(format!(
                "max_sts_ttl parameter only valid for {sts_types} credential types"
            ));
        }
        if exceeds(self.default_sts_ttl, self.max_sts_ttl) {
            out.push(
                r#""default_sts_ttl" value must be less than or equal to "max_sts_ttl" value"#
                    .to_string(),
            );
        }
        if !self.user_path.is_empty() {
            if !has(IamUser) {
                out.push("user_path parameter only valid for iam_user credential type".into());
            }
            if !user_path_regex().is_match(&self.user_path) {
                out.push(format!(
                    "the specified value for user_path is invalid. It must match {} regexp",
                    go_quote(USER_PATH_PATTERN)
                ));
            }
        }
        if !self.permissions_boundary_arn.is_empty() {
            if !has(IamUser) {
                out.push(
                    "cannot supply permissions_boundary_arn when credential_type isn't iam_user"
                        .into(),
                );
            }
            // Vault drops the earlier problems here (a multierror bug); we keep them.
            if let Err(e) = check_policy_arn(&self.permissions_boundary_arn) {
                out.push(format!("invalid permissions_boundary_arn parameter: {e}"));
            }
        }
        if (!self.policy_document.is_empty() || !self.policy_arns.is_empty()) && has(SessionToken) {
            out.push(
                "cannot supply a policy or role when using credential_type session_token".into(),
            );
        }
        let assumed_only = [
            ("role_arns", !self.role_arns.is_empty()),
            ("session_tags", !self.session_tags.is_empty()),
            ("external_id", !self.external_id.is_empty()),
        ];
        for (field, set) in assumed_only {
            if set && !has(AssumedRole) {
                out.push(format!(
                    "cannot supply {field} when credential_type isn't assumed_role"
                ));
            }
        }
        self.extension_problems(&mut out);
        self.identity_problems(&mut out);
        self.account_problems(&mut out);
        out
    }

    /// Rules for our `iam_user` extensions.
    fn extension_problems(&self, out: &mut Vec<String>) {
        let iam_only = [
            ("ttl", !self.ttl.is_zero()),
            ("max_ttl", !self.max_ttl.is_zero()),
            ("wait_for_propagation", self.wait_for_propagation),
        ];
        for (field, set) in iam_only {
            if set && !self.allows(CredentialType::IamUser) {
                out.push(format!(
                    "{field} parameter only valid for iam_user credential type"
                ));
            }
        }
        if exceeds(self.ttl, self.max_ttl) {
            out.push(r#""ttl" value must be less than or equal to "max_ttl" value"#.to_string());
        }
    }
}

/// Both set and the first above the second.
fn exceeds(value: Duration, max: Duration) -> bool {
    !value.is_zero() && !max.is_zero() && value > max
}

/// Everything wrong with a role write. `Display` is the message for the error response:
/// exactly Vault's text when Vault would report the same thing, i.e. a lone input
/// problem (`cannot parse policy document: "…"`) as is, and rule violations as
/// `error(s) validating supplied role data: "N error(s) occurred:\n\t* …\n\n"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleErrors {
    input: Vec<String>,
    validation: Vec<String>,
}

impl RoleErrors {
    /// `Ok` when there are no problems.
    pub(super) fn from_parts(input: Vec<String>, validation: Vec<String>) -> Result<(), Self> {
        if input.is_empty() && validation.is_empty() {
            return Ok(());
        }
        Err(RoleErrors { input, validation })
    }

    /// Every problem, input problems first, one sentence each.
    pub fn problems(&self) -> Vec<&str> {
        self.input
            .iter()
            .chain(&self.validation)
            .map(String::as_str)
            .collect()
    }
}

impl fmt::Display for RoleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ([only], []) = (self.input.as_slice(), self.validation.as_slice()) {
            return f.write_str(only);
        }
        let all = self.problems();
        // hashicorp/go-multierror's ListFormatFunc.
        let list = if let [only] = all.as_slice() {
            format!("1 error occurred:\n\t* {only}\n\n")
        } else {
            let points: Vec<String> = all.iter().map(|p| format!("* {p}")).collect();
            format!(
                "{} errors occurred:\n\t{}\n\n",
                all.len(),
                points.join("\n\t")
            )
        };
        write!(
            f,
            "error(s) validating supplied role data: {}",
            go_quote(&list)
        )
    }
}

impl std::error::Error for RoleErrors {}
