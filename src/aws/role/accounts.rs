//! \[engine\] Account sets: an `assumed_role` role that names one IAM role in many
//! accounts (`role_arn_template` with an `{{account}}` placeholder) and the accounts a
//! caller may pick (`allowed_accounts`, or `*` over the organization's ACTIVE accounts
//! with `organization_accounts`). The write-time rules, the account ID syntax, and the
//! choice of account for one request. Listing the organization is `accounts.rs`'s
//! (engine, with AWS); this file is pure.

use super::validate::parse_arn;
use super::{CredentialType, Role};
use crate::framework::template::go_quote;

/// The placeholder `role_arn_template` must contain, once, in the account field.
pub const ACCOUNT_PLACEHOLDER: &str = "{{account}}";

/// `allowed_accounts` entry meaning "every ACTIVE account of the organization".
pub const ALL_ACCOUNTS: &str = "*";

/// An AWS account ID: exactly twelve ASCII digits.
pub fn check_account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(format!(
        "{} is not an AWS account ID; an account ID is exactly 12 digits",
        go_quote(id)
    ))
}

impl Role {
    /// Whether the role assumes a templated role ARN in an account the caller picks.
    pub fn uses_account_set(&self) -> bool {
        !self.role_arn_template.is_empty()
    }

    /// The role ARN of `account` (an account already checked against the set).
    pub fn role_arn_for_account(&self, account: &str) -> String {
        self.role_arn_template.replace(ACCOUNT_PLACEHOLDER, account)
    }

    /// The write-time rules of the account-set fields.
    pub(super) fn account_problems(&self, out: &mut Vec<String>) {
        let set = [
            ("role_arn_template", self.uses_account_set()),
            ("allowed_accounts", !self.allowed_accounts.is_empty()),
            ("organization_accounts", self.organization_accounts),
        ];
        for (field, given) in set {
            if given && !self.allows(CredentialType::AssumedRole) {
                out.push(format!(
                    "cannot supply {field} when credential_type isn't assumed_role"
                ));
            }
        }
        if !self.uses_account_set() {
            if !self.allowed_accounts.is_empty() || self.organization_accounts {
                out.push("allowed_accounts and organization_accounts need role_arn_template, the role ARN to fill with the account; set role_arn_template".into());
            }
            return;
        }
        if !self.role_arns.is_empty() {
            out.push("role_arns and role_arn_template are mutually exclusive; give the list of role ARNs or the template, not both".into());
        }
        if let Err(e) = check_template(&self.role_arn_template) {
            out.push(format!("invalid role_arn_template: {e}"));
        }
        self.allowed_account_problems(out);
    }

    fn allowed_account_problems(&self, out: &mut Vec<String>) {
        if self.allowed_accounts.is_empty() {
            out.push(format!(
                "role_arn_template needs allowed_accounts: a list of 12-digit account IDs, or {} with organization_accounts=true",
                go_quote(ALL_ACCOUNTS)
            ));
        }
        for account in &self.allowed_accounts {
            if account == ALL_ACCOUNTS {
                if !self.organization_accounts {
                    out.push(format!(
                        "allowed_accounts may only be {} when organization_accounts is true",
                        go_quote(ALL_ACCOUNTS)
                    ));
                }
                if self.allowed_accounts.len() > 1 {
                    out.push(format!(
                        "allowed_accounts {} already means every account; list no other accounts with it",
                        go_quote(ALL_ACCOUNTS)
                    ));
                }
            } else if let Err(e) = check_account_id(account) {
                out.push(format!("invalid allowed_accounts entry: {e}"));
            }
        }
    }

    /// The account a request uses: `requested` (checked: an account ID, in `resolved`),
    /// or the only account of the set. `Err` is a 400 message.
    pub fn select_account(
        &self,
        requested: &str,
        resolved: &[String],
        role_name: &str,
    ) -> Result<String, String> {
        if requested.is_empty() {
            return match resolved {
                [only] => Ok(only.clone()),
                _ => Err(format!(
                    "account is required: Vault role {} assumes its role in one of {} accounts; pass account=<12-digit account ID> (LIST roles/{role_name}/accounts shows them)",
                    go_quote(role_name),
                    resolved.len()
                )),
            };
        }
        check_account_id(requested).map_err(|e| format!("invalid account: {e}"))?;
        if !resolved.iter().any(|a| a == requested) {
            return Err(format!(
                "account {} is not in the accounts of Vault role {}; LIST roles/{role_name}/accounts shows the accounts it allows",
                go_quote(requested),
                go_quote(role_name)
            ));
        }
        Ok(requested.to_string())
    }
}

/// `role_arn_template` must hold the placeholder once, and with an account filled in be
/// an IAM role ARN with that account in the account field.
fn check_template(template: &str) -> Result<(), String> {
    if template.matches(ACCOUNT_PLACEHOLDER).count() != 1 {
        return Err(format!(
            "it must contain {ACCOUNT_PLACEHOLDER} exactly once, e.g. arn:aws:iam::{ACCOUNT_PLACEHOLDER}:role/ec2-admin"
        ));
    }
    let sample = template.replace(ACCOUNT_PLACEHOLDER, "123456789012");
    let arn = parse_arn(&sample)?;
    if arn.service != "iam" || !arn.resource.starts_with("role/") || arn.resource.len() <= 5 {
        return Err(format!(
            "{} is not an IAM role ARN (arn:<partition>:iam::{ACCOUNT_PLACEHOLDER}:role/<name>)",
            go_quote(template)
        ));
    }
    if arn.account_id != "123456789012" || sample.contains("{{") {
        return Err(format!(
            "{ACCOUNT_PLACEHOLDER} must be the whole account field of the ARN, e.g. arn:aws:iam::{ACCOUNT_PLACEHOLDER}:role/ec2-admin"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "arn:aws:iam::{{account}}:role/ec2-admin";

    fn set(accounts: &[&str], org: bool) -> Role {
        Role {
            credential_types: vec![CredentialType::AssumedRole],
            role_arn_template: T.into(),
            allowed_accounts: accounts.iter().map(|a| a.to_string()).collect(),
            organization_accounts: org,
            ..Role::default()
        }
    }

    fn problems(role: &Role) -> Vec<String> {
        let mut out = Vec::new();
        role.account_problems(&mut out);
        out
    }

    #[test]
    fn templates_must_produce_an_iam_role_arn() {
        assert_eq!(check_template(T), Ok(()));
        assert!(check_template("arn:aws:iam::{{account}}:role/path/x").is_ok());
        for bad in [
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::{{account}}:role/{{account}}",
            "arn:aws:s3::{{account}}:role/x",
            "arn:aws:iam::{{account}}:policy/x",
            "arn:aws:iam::{{account}}:role/",
            "arn:aws:iam::1{{account}}:role/x",
            "nope{{account}}",
        ] {
            assert!(check_template(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn write_rules() {
        assert_eq!(
            problems(&set(&["111111111111", "222222222222"], false)),
            Vec::<String>::new()
        );
        assert_eq!(problems(&set(&["*"], true)), Vec::<String>::new());
        let p = problems(&set(&["*"], false));
        assert!(
            p[0].contains("only be \"*\" when organization_accounts"),
            "{p:?}"
        );
        let p = problems(&set(&["12345"], false));
        assert!(
            p[0].contains(r#"invalid allowed_accounts entry: "12345" is not an AWS account ID"#),
            "{p:?}"
        );
        let p = problems(&set(&[], false));
        assert!(
            p[0].contains("role_arn_template needs allowed_accounts"),
            "{p:?}"
        );
        let mut both = set(&["111111111111"], false);
        both.role_arns = vec!["arn:aws:iam::111111111111:role/x".into()];
        assert!(problems(&both)[0].contains("mutually exclusive"));
        let orphan = Role {
            credential_types: vec![CredentialType::AssumedRole],
            allowed_accounts: vec!["111111111111".into()],
            ..Role::default()
        };
        assert!(problems(&orphan)[0].contains("need role_arn_template"));
    }

    #[test]
    fn selecting_an_account() {
        let role = set(&["111111111111", "222222222222"], false);
        let resolved = role.allowed_accounts.clone();
        assert_eq!(
            role.select_account("222222222222", &resolved, "r"),
            Ok("222222222222".into())
        );
        assert!(
            role.select_account("333333333333", &resolved, "r")
                .expect_err("outside")
                .starts_with(r#"account "333333333333" is not in the accounts of Vault role "r""#)
        );
        assert!(
            role.select_account("12-3", &resolved, "r")
                .expect_err("bad")
                .starts_with("invalid account")
        );
        assert!(
            role.select_account("", &resolved, "r")
                .expect_err("none")
                .starts_with("account is required")
        );
        assert_eq!(
            role.select_account("", &resolved[..1], "r"),
            Ok("111111111111".into())
        );
        assert_eq!(
            role.role_arn_for_account("222222222222"),
            "arn:aws:iam::222222222222:role/ec2-admin"
        );
    }
}
