//! \[engine\] `roles/<name>/check` (an extension; the Go engine has no such path): a read
//! that tries, for an `assumed_role` role, whether AWS lets the root credentials assume
//! each of the role's `role_arns` (or, for an account set, its `role_arn_template` in
//! each of its accounts), and reports per ARN `ok` or AWS's error code and message.
//!
//! Each try is a real AssumeRole of 900 seconds (AWS's minimum) with the role's external
//! ID, session tags and session policy (its own `policy_document` and `policy_arns`; the
//! policies of `iam_groups` are not fetched, nor are templated session names, tags or
//! source identities rendered: they depend on the requester), under the session name
//! `vault-check-<role>`. The credentials AWS answers with are dropped at once: never
//! returned, never logged, no lease made; they expire on their own within 15 minutes.
//!
//! Failure rules: no `config/root`, an unknown role and a role of another credential type
//! are 400s naming the problem (an unknown role is answered as `sts/<name>` answers it);
//! a refusal by AWS is a result, not an error; throttling is a coded 502. Nothing is
//! written to storage (except that reading a legacy `policy/<name>` role upgrades it, as
//! every role read does).

use std::sync::Arc;

use serde_json::{Value, json};

use super::OPERATION_PREFIX_AWS;
use super::accounts;
use super::api::{AssumeRoleInput, StsApi};
use super::backend::AwsBackend;
use super::path_config_check::NO_CONFIG;
use super::path_roles::Roles;
use super::role::{CredentialType, Role};
use super::root_config;
use super::sts::{self, Halt, SessionPolicy, Step, non_empty};
use crate::framework::template::go_quote;
use crate::framework::{
    Context, DisplayAttributes, FieldData, FieldSchema, FieldType, HandlerResult, Path,
    PathOperation, generic_name_with_at_regex,
};
use crate::logical::{JsonMap, Operation, Response};

/// The lifetime asked for: AWS's minimum, so that the dropped credentials expire soon.
pub const CHECK_DURATION: std::time::Duration = std::time::Duration::from_secs(900);

/// Session names are at most 64 characters.
const MAX_SESSION_NAME: usize = 64;

/// The `roles/<name>/check` path.
pub(crate) fn path(state: Arc<AwsBackend>) -> Path {
    Path::new(format!(
        "roles/{}/check",
        generic_name_with_at_regex("name")
    ))
    .display(DisplayAttributes {
        operation_prefix: OPERATION_PREFIX_AWS.to_string(),
        operation_verb: "check".to_string(),
        operation_suffix: "role".to_string(),
        ..DisplayAttributes::default()
    })
    .field(
        "name",
        FieldSchema::new(FieldType::String, "Name of the role"),
    )
    .operation(
        Operation::Read,
        PathOperation::new(move |ctx, _req, data| {
            let state = Arc::clone(&state);
            async move { check_role(state, ctx, data).await }
        }),
    )
    .help(ROLE_CHECK_HELP_SYNOPSIS, ROLE_CHECK_HELP_DESCRIPTION)
}

async fn check_role(state: Arc<AwsBackend>, ctx: Context, data: FieldData) -> HandlerResult {
    if root_config::load(ctx.storage()).await?.is_none() {
        return Ok(Some(Response::error(NO_CONFIG)));
    }
    let name = data.get_string("name")?;
    let Some(role) = Roles::new(Arc::clone(&state)).get(&ctx, &name).await? else {
        return Ok(Some(Response::error(format!(
            "Role {} not found",
            go_quote(&name)
        ))));
    };
    if !role.allows(CredentialType::AssumedRole) {
        let types: Vec<&str> = role.credential_types.iter().map(|t| t.as_str()).collect();
        return Ok(Some(Response::error(format!(
            "roles/<name>/check applies to assumed_role roles; role {} has credential_type {}",
            go_quote(&name),
            types.join(",")
        ))));
    }
    let arns = match role_arns_to_check(&state, &ctx, &role).await {
        Ok(arns) => arns,
        Err(Halt::Respond(resp)) => return Ok(Some(*resp)),
        Err(Halt::Fail(e)) => return Err(e),
    };
    if arns.is_empty() {
        return Ok(Some(Response::error(format!(
            "role {} has no role_arns (or accounts of its role_arn_template) to check",
            go_quote(&name)
        ))));
    }
    // The session policy sts/<name> sends (with the iam_groups' policies merged in),
    // built once for every ARN.
    let policy = match sts::session_policy(&state, &ctx, &role).await {
        Ok(policy) => policy,
        Err(Halt::Respond(resp)) => return Ok(Some(*resp)),
        Err(Halt::Fail(e)) => return Err(e),
    };
    let sts = state.sts(ctx.storage()).await?;
    let mut results = Vec::with_capacity(arns.len());
    for arn in arns {
        results.push(try_assume(sts.as_ref(), &name, &role, &policy, arn).await?);
    }
    let all_ok = results.iter().all(|r| r["result"] == "ok");
    let mut out = JsonMap::new();
    out.insert("role".into(), json!(name));
    out.insert("ok".into(), json!(all_ok));
    out.insert("results".into(), Value::Array(results));
    Ok(Some(Response::with_data(out)))
}

/// The ARNs the role may assume: its `role_arns`, or for an account set its
/// `role_arn_template` filled with each of its accounts (resolved as `sts/<name>` resolves
/// them, so with `organization_accounts` the organization's ACTIVE accounts).
async fn role_arns_to_check(state: &AwsBackend, ctx: &Context, role: &Role) -> Step<Vec<String>> {
    if !role.uses_account_set() {
        return Ok(role.role_arns.clone());
    }
    let accounts = accounts::resolve(state, ctx, role).await?;
    Ok(accounts
        .iter()
        .map(|account| role.role_arn_for_account(account))
        .collect())
}

/// One AssumeRole into `arn`: `{"role_arn", "result": "ok"}`, or with `result: "error"`,
/// AWS's `code` and `message`. Throttling ends the whole check (a 502).
async fn try_assume(
    sts: &dyn StsApi,
    role_name: &str,
    role: &Role,
    policy: &SessionPolicy,
    arn: String,
) -> Result<Value, crate::logical::Error> {
    let input = AssumeRoleInput {
        role_arn: arn.clone(),
        role_session_name: session_name(role_name),
        duration: Some(CHECK_DURATION),
        policy: non_empty(policy.document.clone()),
        policy_arns: policy.arns.clone(),
        external_id: non_empty(role.external_id.clone()),
        tags: role.session_tags.clone(),
        ..AssumeRoleInput::default()
    };
    match sts.assume_role(input).await {
        // The credentials are dropped here, unread: the check only needs to know that
        // AWS would issue them.
        Ok(assumed) => {
            drop(assumed);
            Ok(json!({"role_arn": arn, "result": "ok"}))
        }
        Err(e) if e.is_throttled() => Err(e.into_logical_error()),
        Err(e) => {
            let failure = e.service_failure();
            let code = failure.and_then(|f| f.code.clone());
            let message = match failure.and_then(|f| f.message.clone()) {
                Some(m) => m,
                None => e.to_string(),
            };
            Ok(json!({"role_arn": arn, "result": "error", "code": code, "message": message}))
        }
    }
}

/// `vault-check-<role>`, cut to AWS's 64 characters. Role names (`[\w.@-]`) are valid in
/// session names as they are.
fn session_name(role_name: &str) -> String {
    format!("vault-check-{role_name}")
        .chars()
        .take(MAX_SESSION_NAME)
        .collect()
}

const ROLE_CHECK_HELP_SYNOPSIS: &str =
    "Check that the root credentials can assume each role ARN of an assumed_role role.";

const ROLE_CHECK_HELP_DESCRIPTION: &str = "
Reading this path calls sts:AssumeRole once for each of the role's
role_arns (or, with role_arn_template, once per account of the role),
as sts/<name> would (external ID, static session tags, and the session
policy with the iam_groups' policies merged in), for 900 seconds and
under the session name vault-check-<name>; the identity templates
(session name, source identity, tag templates) depend on who asks and
are not applied,
and reports for each ARN result \"ok\" or \"error\" with AWS's code and
message; ok is true when every ARN could be assumed. The credentials
AWS issues are discarded at once: none are returned and no lease is
created. The check applies to roles whose credential_type includes
assumed_role.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_cut_to_64_characters() {
        assert_eq!(session_name("ec2-admin"), "vault-check-ec2-admin");
        let long = "r".repeat(100);
        assert_eq!(session_name(&long).len(), 64);
    }
}
