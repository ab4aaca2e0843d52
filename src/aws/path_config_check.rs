//! \[engine\] `config/check` (an extension; the Go engine has no such path): a read that
//! tells an operator whether the credentials in `config/root` work and what they may do.
//! It calls `sts:GetCallerIdentity` with them and reports who AWS says they are; then,
//! through `iam:SimulatePrincipalPolicy` on the caller's principal (the IAM user, or the
//! role of an assumed-role session), which of the actions of `required_actions` each
//! credential type and `config/rotate-root` need are allowed.
//!
//! Failure rules: no `config/root` is a 400; credentials AWS refuses, or none found in
//! the server's environment when `config/root` has no key, are a 400 naming them (never
//! echoing the secret key); throttling is a coded 502. The simulation is a
//! bonus: when AWS denies SimulatePrincipalPolicy itself, or cannot answer it (moto does
//! not implement it), the report says so in `simulation` and a warning, and is still a
//! 200. Nothing is written to storage, so a performance standby answers it itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::OPERATION_PREFIX_AWS;
use super::api::{CallerIdentity, IamApi, SimulationInput};
use super::backend::AwsBackend;
use super::error::Error as AwsError;
use super::required_actions::{
    REQUIRED_ACTIONS, ROTATE_ROOT, Requirement, Target, resource_arn, simulation_principal,
};
use super::root_config;
use crate::framework::{Context, DisplayAttributes, HandlerResult, Path, PathOperation};
use crate::logical::{JsonMap, Operation, Response};

/// The `config/check` path.
pub(crate) fn path(state: Arc<AwsBackend>) -> Path {
    Path::new("config/check")
        .display(DisplayAttributes {
            operation_prefix: OPERATION_PREFIX_AWS.to_string(),
            operation_verb: "check".to_string(),
            operation_suffix: "root-iam-credentials".to_string(),
            ..DisplayAttributes::default()
        })
        .operation(
            Operation::Read,
            PathOperation::new(move |ctx, _req, _data| {
                let state = Arc::clone(&state);
                async move { check_config(&state, ctx).await }
            }),
        )
        .help(CONFIG_CHECK_HELP_SYNOPSIS, CONFIG_CHECK_HELP_DESCRIPTION)
}

/// The message for a mount without `config/root` (shared with `roles/<name>/check`).
pub(crate) const NO_CONFIG: &str =
    "no configuration found for config/root; write the root credentials there first";

/// AWS error codes meaning "these credentials are wrong": an unknown key ID, a secret that
/// does not match it, an expired or malformed session token.
const BAD_CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
];

/// AWS error codes meaning "you may not make this call".
const DENIED_CODES: &[&str] = &["AccessDenied", "AccessDeniedException"];

async fn check_config(state: &AwsBackend, ctx: Context) -> HandlerResult {
    let Some(config) = root_config::load(ctx.storage()).await? else {
        return Ok(Some(Response::error(NO_CONFIG)));
    };
    let sts = state.sts(ctx.storage()).await?;
    let identity = match sts.get_caller_identity().await {
        Ok(identity) => identity,
        Err(e) => return refused_credentials(e, config.has_static_credentials()),
    };
    let mut data = JsonMap::new();
    data.insert("account".into(), json!(identity.account));
    data.insert("arn".into(), json!(identity.arn));
    data.insert("user_id".into(), json!(identity.user_id));
    let Some(principal) = simulation_principal(&identity.arn) else {
        data.insert(
            "simulation".into(),
            json!("unavailable: AWS cannot simulate the policies of this caller"),
        );
        return Ok(Some(Response::with_data(data)));
    };
    data.insert("principal_arn".into(), json!(principal));
    let iam = state.iam(ctx.storage()).await?;
    let warning = match simulate_all(iam.as_ref(), &identity, &principal).await {
        Ok(report) => {
            data.insert("simulation".into(), json!("done"));
            data.extend(report);
            None
        }
        Err(e) if e.is_throttled() => return Err(e.into_logical_error()),
        Err(e) => {
            data.insert("simulation".into(), json!(simulation_outcome(&e)));
            Some(format!(
                "iam:SimulatePrincipalPolicy on {principal} failed, so which actions the \
                 credentials may call is not reported: {e}"
            ))
        }
    };
    let mut resp = Response::with_data(data);
    if let Some(warning) = warning {
        resp.add_warning(warning);
    }
    Ok(Some(resp))
}

/// GetCallerIdentity failed: credentials AWS does not accept, or none at all, are the
/// operator's to fix (a 400 naming the fields); anything else as any AWS failure.
fn refused_credentials(e: AwsError, static_keys: bool) -> HandlerResult {
    // Without static keys the SDK looks for credentials in the server's environment; when
    // it finds none, the request is never sent and the failure is an internal one.
    if !static_keys && matches!(e, AwsError::Internal { .. }) {
        return Ok(Some(Response::error(format!(
            "config/root has no access_key and no AWS credentials were found in the \
             server's environment (the AWS default credential chain): {e}; set access_key \
             and secret_key in config/root"
        ))));
    }
    if e.code().is_some_and(|c| BAD_CREDENTIAL_CODES.contains(&c)) {
        // AWS's own message names the problem ("The security token included in the
        // request is invalid"); it never contains the secret, which we never print.
        return Ok(Some(Response::error(format!(
            "AWS refused the credentials of config/root: {e}; check access_key and \
             secret_key in config/root (or the credentials of the server's environment \
             when access_key is empty)"
        ))));
    }
    e.into_response_or_error()
}

/// How the simulation ended when it could not be made: `not permitted: <code>` when AWS
/// denied SimulatePrincipalPolicy, `unavailable: <code>` otherwise.
fn simulation_outcome(e: &AwsError) -> String {
    let code = match e.service_failure() {
        Some(f) => match (f.code.as_deref(), f.status) {
            (Some(code), _) if !code.is_empty() => code.to_string(),
            (_, Some(status)) => format!("HTTP {status}"),
            _ => "no error code".to_string(),
        },
        None => "no answer from IAM".to_string(),
    };
    if e.code().is_some_and(|c| DENIED_CODES.contains(&c)) {
        format!("not permitted: {code}")
    } else {
        format!("unavailable: {code}")
    }
}

/// Simulates every requirement: `credential_types` for the four credential types, and
/// `rotate_root` when the caller is an IAM user (rotation needs one). The first failure
/// ends the simulation.
async fn simulate_all(
    iam: &dyn IamApi,
    identity: &CallerIdentity,
    principal: &str,
) -> Result<JsonMap, AwsError> {
    let partition = identity.arn.split(':').nth(1).unwrap_or("aws");
    let caller_is_user = principal == identity.arn;
    let mut types = JsonMap::new();
    let mut out = JsonMap::new();
    for requirement in REQUIRED_ACTIONS {
        let is_rotate = requirement.name == ROTATE_ROOT;
        if is_rotate && !caller_is_user {
            continue;
        }
        let decisions = simulate(iam, requirement, principal, partition, &identity.account).await?;
        let report = allowed_and_denied(requirement, &decisions);
        if is_rotate {
            out.insert(ROTATE_ROOT.into(), report);
        } else {
            types.insert(requirement.name.into(), report);
        }
    }
    out.insert("credential_types".into(), Value::Object(types));
    Ok(out)
}

/// One SimulatePrincipalPolicy call per kind of resource the requirement's actions act
/// on; an action is allowed only if it is allowed on every kind it is listed with.
async fn simulate(
    iam: &dyn IamApi,
    requirement: &Requirement,
    principal: &str,
    partition: &str,
    account: &str,
) -> Result<BTreeMap<String, bool>, AwsError> {
    let mut by_target: BTreeMap<Target, Vec<String>> = BTreeMap::new();
    for (action, target) in requirement.actions {
        by_target
            .entry(*target)
            .or_default()
            .push(action.to_string());
    }
    let mut allowed: BTreeMap<String, bool> = BTreeMap::new();
    for (target, actions) in by_target {
        let input = SimulationInput {
            policy_source_arn: principal.to_string(),
            action_names: actions,
            resource_arns: resource_arn(target, partition, account, principal)
                .into_iter()
                .collect(),
        };
        for decision in iam.simulate_principal_policy(&input).await? {
            allowed
                .entry(decision.action)
                .and_modify(|all| *all &= decision.allowed)
                .or_insert(decision.allowed);
        }
    }
    Ok(allowed)
}

/// `{"allowed": [...], "denied": [...]}`, each in the table's order, each action once.
fn allowed_and_denied(requirement: &Requirement, decisions: &BTreeMap<String, bool>) -> Value {
    let mut allowed: Vec<&str> = Vec::new();
    let mut denied: Vec<&str> = Vec::new();
    for (action, _) in requirement.actions {
        if allowed.contains(action) || denied.contains(action) {
            continue;
        }
        if decisions.get(*action).copied().unwrap_or(false) {
            allowed.push(action);
        } else {
            denied.push(action);
        }
    }
    json!({"allowed": allowed, "denied": denied})
}

const CONFIG_CHECK_HELP_SYNOPSIS: &str =
    "Check the configured root credentials and the IAM actions they may call.";

const CONFIG_CHECK_HELP_DESCRIPTION: &str = "
Reading this path calls sts:GetCallerIdentity with the credentials of
config/root and returns the AWS account, the ARN and the user ID AWS
reports for them. Credentials AWS refuses are answered with an error
naming them.

Where AWS permits it, iam:SimulatePrincipalPolicy is then called on the
caller's IAM user (or, for an assumed-role session, its role) for the
actions each credential type needs, and credential_types lists for
iam_user, assumed_role, federation_token and session_token which of
them are allowed and which denied; rotate_root does the same for
config/rotate-root when the caller is an IAM user. IAM user actions
are evaluated on a stand-in user, group or MFA device named
vault-permission-check under the default path, sts:AssumeRole on all
resources (use roles/<name>/check to try the roles themselves).

simulation is \"done\" when the actions were simulated, \"not permitted:
<code>\" when AWS denied iam:SimulatePrincipalPolicy itself, and
\"unavailable: <code>\" when it could not be made otherwise; the last two
are not errors. Nothing is stored and no credentials are created.
";
