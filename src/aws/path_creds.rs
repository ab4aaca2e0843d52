//! \[engine\] `creds/<name>` and `sts/<name>` (Vault's `path_user.go`): read or write to
//! get credentials from a role. This file decides everything that needs no AWS call —
//! the role, which credential type the path yields, the STS lifetime, the role ARN, the
//! MFA code, the role's identity templates rendered for the requester — and refuses a
//! bad request with a 400 naming the field before anything reaches AWS; the issuance
//! itself is `sts`'s.
//!
//! `iam_user` credentials are `iam_user`'s to issue; for them `ttl` is ignored, as in
//! Vault (their lease comes from the role or `config/lease`). On a performance standby
//! both operations are refused before any AWS call, so that the host forwards them to the
//! active node (the standby could not store the lease of credentials it made).

use std::sync::Arc;

use super::OPERATION_PREFIX_AWS;
use super::accounts;
use super::backend::AwsBackend;
use super::iam_user::{self, IamUserIssue};
use super::path_roles::Roles;
use super::requester::{Requester, requester};
use super::role::{CredentialType, CredsPath, IdentityRender, Role, check_account_id};
use super::sts::{self, Halt, Issue, Step, refuse};
use super::username::NameKind;
use crate::framework::template::go_quote;
use crate::framework::{
    Context, DisplayAttributes, FieldData, FieldSchema, FieldType, HandlerResult, Path,
    PathOperation, generic_name_with_at_regex,
};
use crate::logical::{Operation, Request, Response};

/// The `(creds|sts)/<name>` path.
pub(crate) fn path(state: Arc<AwsBackend>) -> Path {
    let read = Arc::clone(&state);
    let write = state;
    Path::new(format!(
        "(creds|sts)/{}",
        generic_name_with_at_regex("name")
    ))
    .display(DisplayAttributes {
        operation_prefix: OPERATION_PREFIX_AWS.to_string(),
        operation_verb: "generate".to_string(),
        ..DisplayAttributes::default()
    })
    .field(
        "name",
        FieldSchema::new(FieldType::String, "Name of the role"),
    )
    .field(
        "role_arn",
        FieldSchema::new(FieldType::String, ROLE_ARN_DESCRIPTION).query(),
    )
    .field(
        "account",
        FieldSchema::new(FieldType::String, ACCOUNT_DESCRIPTION).query(),
    )
    .field(
        "ttl",
        FieldSchema::new(FieldType::DurationSecond, TTL_DESCRIPTION)
            .with_default(3600)
            .query(),
    )
    .field(
        "role_session_name",
        FieldSchema::new(FieldType::String, ROLE_SESSION_NAME_DESCRIPTION).query(),
    )
    .field(
        "mfa_code",
        FieldSchema::new(FieldType::String, MFA_CODE_DESCRIPTION).query(),
    )
    .operation(
        Operation::Read,
        PathOperation::new(move |ctx, req, data| {
            let state = Arc::clone(&read);
            async move { read_creds(state, ctx, req, data).await }
        })
        // The AWS call comes before the host stores the lease, which a standby cannot.
        .forward_performance_standby()
        .display(DisplayAttributes {
            operation_suffix: "credentials|sts-credentials".to_string(),
            ..DisplayAttributes::default()
        }),
    )
    .operation(
        Operation::Update,
        PathOperation::new(move |ctx, req, data| {
            let state = Arc::clone(&write);
            async move { read_creds(state, ctx, req, data).await }
        })
        .forward_performance_standby()
        .display(DisplayAttributes {
            operation_suffix: "credentials-with-parameters|sts-credentials-with-parameters"
                .to_string(),
            ..DisplayAttributes::default()
        }),
    )
    .help(PATH_CREDS_HELP_SYNOPSIS, PATH_CREDS_HELP_DESCRIPTION)
}

/// Reads and writes behave the same: parameters come from the query or the body.
async fn read_creds(
    state: Arc<AwsBackend>,
    ctx: Context,
    req: Request,
    data: FieldData,
) -> HandlerResult {
    match issue(&state, &ctx, &req, &data).await {
        Ok(resp) => Ok(Some(resp)),
        Err(Halt::Respond(resp)) => Ok(Some(*resp)),
        Err(Halt::Fail(e)) => Err(e),
    }
}

async fn issue(
    state: &Arc<AwsBackend>,
    ctx: &Context,
    req: &Request,
    data: &FieldData,
) -> Step<Response> {
    let name = data.get_string("name")?;
    let Some(role) = Roles::new(Arc::clone(state)).get(ctx, &name).await? else {
        return Err(refuse(format!("Role {} not found", go_quote(&name))));
    };
    let path = if req.path.starts_with("sts/") {
        CredsPath::Sts
    } else {
        CredsPath::Creds
    };
    let kind = role.credential_type_for(path).map_err(refuse)?;
    if kind == CredentialType::IamUser {
        let issue = IamUserIssue {
            role_name: &name,
            role: &role,
            display_name: &req.display_name,
        };
        return iam_user::issue(state, ctx, &issue).await;
    }
    let mount_max = state.mount_max_ttl(ctx.system()).await?;
    let ttl = role
        // `ttl=0` means "not given", as Go's GetOk treats a zero value.
        .sts_ttl(
            kind,
            data.get_duration_ok("ttl")?.filter(|d| !d.is_zero()),
            mount_max,
        )
        .map_err(refuse)?;
    let session_name = data.get_string("role_session_name")?;
    if !session_name.is_empty() && !role.session_name_template.is_empty() {
        // The template records who asked; a caller-chosen name would override it.
        return Err(refuse(format!(
            "role_session_name cannot be given: role {} sets session_name_template, which names the session; leave role_session_name out",
            go_quote(&name)
        )));
    }
    // Resolved before the identity lookups, so that a refused ARN or account costs no
    // host round trip.
    let role_arn = match kind {
        CredentialType::AssumedRole => assumed_role_arn(state, ctx, &role, &name, data).await?,
        _ => String::new(),
    };
    let identity = identity(ctx, req, &role, &name, kind).await?;
    let issue = Issue {
        role_name: &name,
        role: &role,
        display_name: &req.display_name,
        ttl,
        request_id: &req.id,
        identity,
    };
    match kind {
        CredentialType::AssumedRole => {
            sts::assume_role(state, ctx, &issue, role_arn, &session_name).await
        }
        CredentialType::FederationToken => sts::federation_token(state, ctx, &issue).await,
        CredentialType::SessionToken => {
            let code = mfa_code(&role, &name, data.get_string("mfa_code")?)?;
            sts::session_token(state, ctx, &issue, code).await
        }
        CredentialType::IamUser => unreachable_iam_user(),
    }
}

/// The role ARN to assume: one of `role_arns` (the caller's `role_arn`), or for an
/// account set `role_arn_template` filled with the caller's `account`, which must be in
/// the role's resolved accounts.
async fn assumed_role_arn(
    state: &AwsBackend,
    ctx: &Context,
    role: &Role,
    role_name: &str,
    data: &FieldData,
) -> Step<String> {
    let requested_arn = data.get_string("role_arn")?;
    let account = data.get_string("account")?;
    if !role.uses_account_set() {
        if !account.is_empty() {
            return Err(refuse(format!(
                "account was given but role {} has no role_arn_template; choose one of its role_arns with role_arn instead",
                go_quote(role_name)
            )));
        }
        return role
            .select_role_arn(&requested_arn, role_name)
            .map_err(refuse);
    }
    if !requested_arn.is_empty() {
        return Err(refuse(format!(
            "role_arn cannot be given: role {} assumes role_arn_template in the account you pass as account",
            go_quote(role_name)
        )));
    }
    if !account.is_empty() {
        // A malformed ID is refused before the organization is listed.
        check_account_id(&account).map_err(|e| refuse(format!("invalid account: {e}")))?;
    }
    let resolved = accounts::resolve(state, ctx, role).await?;
    let account = role
        .select_account(&account, &resolved, role_name)
        .map_err(refuse)?;
    Ok(role.role_arn_for_account(&account))
}

/// The role's identity templates rendered for the requester. The host is only asked for
/// the entity and its groups when the role has such templates.
async fn identity(
    ctx: &Context,
    req: &Request,
    role: &Role,
    role_name: &str,
    kind: CredentialType,
) -> Step<IdentityRender> {
    let name_kind = match kind {
        CredentialType::FederationToken => NameKind::Sts,
        _ => NameKind::Iam,
    };
    let who = if role.uses_identity(kind) {
        requester(ctx.system(), req, role_name, name_kind).await?
    } else {
        Requester::without_entity(name_kind, &req.display_name, role_name)
    };
    role.render_identity(kind, &who, ctx.now()).map_err(refuse)
}

/// `iam_user` returned above; kept as an answer rather than a panic.
fn unreachable_iam_user() -> Step<Response> {
    Err(Halt::Fail(crate::logical::Error::Internal(
        "iam_user credentials reached the STS dispatch".to_string(),
    )))
}

/// The MFA code to send: required when the role names an MFA device, refused when it
/// does not (AWS would reject a code without a device, less clearly).
fn mfa_code(role: &Role, role_name: &str, code: String) -> Step<Option<String>> {
    match (role.mfa_serial_number.is_empty(), code.is_empty()) {
        (false, true) => Err(refuse(format!(
            "mfa_code is required: role {} has mfa_serial_number set; pass the current code of that MFA device as mfa_code",
            go_quote(role_name)
        ))),
        (true, false) => Err(refuse(format!(
            "mfa_code was given but role {} has no mfa_serial_number; set mfa_serial_number on the role or leave mfa_code out",
            go_quote(role_name)
        ))),
        (false, false) => Ok(Some(code)),
        (true, true) => Ok(None),
    }
}

const ROLE_ARN_DESCRIPTION: &str = "ARN of role to assume when credential_type is assumed_role";

const ACCOUNT_DESCRIPTION: &str = "12-digit AWS account ID to assume the role in, for roles with role_arn_template; must be one of the role's accounts (LIST roles/<name>/accounts)";

const TTL_DESCRIPTION: &str = "Lifetime of the returned credentials in seconds";

const ROLE_SESSION_NAME_DESCRIPTION: &str = "Session name to use when assuming role. Max chars: 64";

const MFA_CODE_DESCRIPTION: &str = "MFA code to provide for session tokens";

const PATH_CREDS_HELP_SYNOPSIS: &str = "Generate AWS credentials from a specific Vault role.";

const PATH_CREDS_HELP_DESCRIPTION: &str = "
This path will generate new, never before used AWS credentials for
accessing AWS. The IAM policy used to back this key pair will be
the \"name\" parameter. For example, if this backend is mounted at \"aws\",
then \"aws/creds/deploy\" would generate access keys for the \"deploy\" role.

The access keys will have a lease associated with them. The access keys
can be revoked by using the lease ID when using the iam_user credential type.
When using AWS STS credential types (assumed_role, federation_token or
session_token), revoking the lease does not revoke the access keys.
";
