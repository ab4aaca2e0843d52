//! \[engine\] Account sets on the role paths: the `roles/<name>` fields that make one
//! role assume the same IAM role in many accounts (`role_arn_template`,
//! `allowed_accounts`, `organization_accounts`), and `roles/<name>/accounts`, which
//! lists the accounts such a role resolves to. The rules are `role::accounts`', the
//! organization listing and its cache `accounts`'; this file only declares paths and
//! fields and answers the list.

use std::sync::Arc;

use super::accounts;
use super::path_roles::{Roles, field, operation_ids, sample, with_roles};
use super::sts::Halt;
use crate::framework::template::go_quote;
use crate::framework::{
    Context, FieldData, FieldSchema, FieldType, HandlerResult, Path, generic_name_with_at_regex,
};
use crate::logical::{Operation, Response};

/// `roles/<name>/accounts`: the resolved account set of an account-set role.
pub(crate) fn path(roles: Arc<Roles>) -> Path {
    Path::new(format!(
        "roles/{}/accounts/?",
        generic_name_with_at_regex("name")
    ))
    .display(operation_ids("role-accounts"))
    .field(
        "name",
        field(FieldType::String, "Name of the role", "Role Name"),
    )
    .operation(Operation::List, with_roles(&roles, list_accounts))
    .help(ACCOUNTS_HELP_SYNOPSIS, ACCOUNTS_HELP_DESCRIPTION)
}

/// 404 for an unknown role; a 400 for a role without an account set.
async fn list_accounts(roles: Arc<Roles>, ctx: Context, data: FieldData) -> HandlerResult {
    let name = data.get_string("name")?;
    let Some(role) = roles.get(&ctx, &name).await? else {
        return Ok(None);
    };
    if !role.uses_account_set() {
        return Ok(Some(Response::error(format!(
            "role {} has no role_arn_template, so no account set; its role ARNs are in role_arns",
            go_quote(&name)
        ))));
    }
    match accounts::resolve(roles.state(), &ctx, &role).await {
        Ok(accounts) => Ok(Some(Response::list(accounts))),
        Err(Halt::Respond(resp)) => Ok(Some(*resp)),
        Err(Halt::Fail(e)) => Err(e),
    }
}

/// The account-set fields of `roles/<name>`.
pub(crate) fn role_fields() -> Vec<(&'static str, FieldSchema)> {
    use FieldType::{Bool, CommaStringSlice, String as Str};
    vec![
        (
            "role_arn_template",
            sample(
                field(Str, ROLE_ARN_TEMPLATE_DESCRIPTION, "Role ARN Template"),
                "arn:aws:iam::{{account}}:role/ec2-admin",
            ),
        ),
        (
            "allowed_accounts",
            field(
                CommaStringSlice,
                ALLOWED_ACCOUNTS_DESCRIPTION,
                "Allowed Accounts",
            ),
        ),
        (
            "organization_accounts",
            field(
                Bool,
                ORGANIZATION_ACCOUNTS_DESCRIPTION,
                "Organization Accounts",
            ),
        ),
    ]
}

const ROLE_ARN_TEMPLATE_DESCRIPTION: &str = "ARN of the IAM role to assume with {{account}} in place of the account ID, e.g. arn:aws:iam::{{account}}:role/ec2-admin; callers pick the account with account=<id>. Mutually exclusive with role_arns. Only valid when credential_type is assumed_role";

const ALLOWED_ACCOUNTS_DESCRIPTION: &str = "12-digit AWS account IDs that role_arn_template may be filled with, or * (with organization_accounts) for every ACTIVE account of the organization";

const ORGANIZATION_ACCOUNTS_DESCRIPTION: &str = "Take the accounts from organizations:ListAccounts (ACTIVE accounts only, cached for 5 minutes): all of them with allowed_accounts=*, else the listed ones that are active";

const ACCOUNTS_HELP_SYNOPSIS: &str =
    "List the AWS accounts a role with role_arn_template can assume its role in.";

const ACCOUNTS_HELP_DESCRIPTION: &str = "
Returns the resolved account set of the role: its allowed_accounts, or with
organization_accounts the ACTIVE accounts of the AWS organization. Any of them
can be passed as account to sts/<name>.
";
