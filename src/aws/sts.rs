//! \[engine\] Issuing STS credentials (Vault's `assumeRole`, `getFederationToken` and
//! `getSessionToken`), once `path_creds` has decided the role, the credential type, the
//! TTL and the role ARN. Each issuance is a short sequence of named steps: generate the
//! session or federated-user name from `username_template`, build the session policy
//! (the role's `policy_document` and `policy_arns` merged with the inline and attached
//! policies of its `iam_groups`), make the one STS call, and answer with a
//! non-renewable `access_keys` lease whose TTL is what AWS granted.
//!
//! Names are generated before any AWS call, so a bad template costs nothing at AWS.
//! A role's identity templates (`session_name_template`, `source_identity_template`,
//! `session_tag_templates`) were rendered by `path_creds` into [`Issue::identity`]; the
//! session name they give replaces the generated one. Each issuance logs, at debug
//! level, the Vault request ID with the principal ARN, access key ID and source
//! identity it produced (never the secret key or session token), as the lease records.
//! AWS failures are answered through `aws::Error::into_response_or_error`: a refusal
//! is a 400 naming AWS's code and request ID, throttling a coded 502.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::api::{AssumeRoleInput, FederationTokenInput, SessionTokenInput, StsCredentials};
use super::backend::AwsBackend;
use super::error::Error as AwsError;
use super::lease_data::LeaseData;
use super::policy_document;
use super::role::{IdentityRender, Role};
use super::secret_access_keys;
use super::username::{UsernameMetadata, generate_username_at, normalize_role_session_name};
use crate::framework::Context;
use crate::logical::{Error, JsonMap, Response};

/// Why an issuance ended before handing out credentials: an answer for the client (a
/// 400 naming the problem, or AWS's refusal), or an error for the host.
#[derive(Debug)]
pub(crate) enum Halt {
    /// Answer with this response (boxed: it is large, and the happy path is not).
    Respond(Box<Response>),
    /// Fail with this error.
    Fail(Error),
}

impl From<Error> for Halt {
    fn from(e: Error) -> Self {
        Halt::Fail(e)
    }
}

impl From<AwsError> for Halt {
    fn from(e: AwsError) -> Self {
        match e.into_response_or_error() {
            Ok(Some(resp)) => Halt::Respond(Box::new(resp)),
            Ok(None) => Halt::Fail(Error::Internal("AWS failure without an answer".into())),
            Err(e) => Halt::Fail(e),
        }
    }
}

/// A 400 with `message`.
pub(crate) fn refuse(message: impl Into<String>) -> Halt {
    Halt::Respond(Box::new(Response::error(message)))
}

/// A step of an issuance.
pub(crate) type Step<T> = Result<T, Halt>;

/// What the request and role decided, common to every STS credential type.
pub(crate) struct Issue<'a> {
    /// The Vault role's name.
    pub(crate) role_name: &'a str,
    /// The Vault role.
    pub(crate) role: &'a Role,
    /// The requesting token's display name.
    pub(crate) display_name: &'a str,
    /// The lifetime to ask AWS for, already checked against AWS's limits.
    pub(crate) ttl: Duration,
    /// The Vault request ID, for the log line tying it to the issued principal.
    pub(crate) request_id: &'a str,
    /// The rendered identity templates, and the role's static session tags.
    pub(crate) identity: IdentityRender,
}

/// The session policy sent to STS.
#[derive(Debug, Default)]
pub(crate) struct SessionPolicy {
    /// Inline policy; empty for none.
    pub(crate) document: String,
    /// Managed policy ARNs.
    pub(crate) arns: Vec<String>,
}

/// AssumeRole into `role_arn`; `requested_session_name` is the caller's
/// `role_session_name` (empty: generated).
pub(crate) async fn assume_role(
    state: &AwsBackend,
    ctx: &Context,
    issue: &Issue<'_>,
    role_arn: String,
    requested_session_name: &str,
) -> Step<Response> {
    let session_name = match &issue.identity.session_name {
        Some(rendered) => rendered.clone(),
        None => session_name(state, ctx, issue, requested_session_name).await?,
    };
    let policy = session_policy(state, ctx, issue.role).await?;
    let source_identity = issue.identity.source_identity.clone();
    let input = AssumeRoleInput {
        role_arn: role_arn.clone(),
        role_session_name: session_name.clone(),
        duration: Some(issue.ttl),
        policy: non_empty(policy.document),
        policy_arns: policy.arns,
        external_id: non_empty(issue.role.external_id.clone()),
        tags: issue.identity.tags.clone(),
        source_identity: source_identity.clone(),
        transitive_tag_keys: issue.identity.transitive_tag_keys.clone(),
    };
    let sts = state.sts(ctx.storage()).await?;
    let out = sts.assume_role(input).await?;
    let lease = LeaseData::sts(session_name, role_arn).issued_as(
        Some(&out.arn),
        &out.credentials.access_key_id,
        source_identity.as_deref(),
    );
    log_issued(issue, &lease);
    Ok(respond(&out.credentials, Some(&out.arn), lease, ctx.now()))
}

/// GetFederationToken with a generated name. Refused without any policy after the
/// group merge: AWS would then grant the root credentials' own permissions.
pub(crate) async fn federation_token(
    state: &AwsBackend,
    ctx: &Context,
    issue: &Issue<'_>,
) -> Step<Response> {
    let name = match &issue.identity.session_name {
        Some(rendered) => rendered.clone(),
        None => generate_name(state, ctx, &UsernameMetadata::sts()).await?,
    };
    let policy = session_policy(state, ctx, issue.role).await?;
    if policy.document.is_empty() && policy.arns.is_empty() {
        return Err(refuse(
            "must specify at least one of policy_arns or policy_document with federation_token credential_type",
        ));
    }
    let input = FederationTokenInput {
        name: name.clone(),
        duration: Some(issue.ttl),
        policy: non_empty(policy.document.clone()),
        policy_arns: policy.arns,
    };
    let sts = state.sts(ctx.storage()).await?;
    let out = sts.get_federation_token(input).await?;
    let lease = LeaseData::sts(name, policy.document).issued_as(
        Some(&out.arn),
        &out.credentials.access_key_id,
        None,
    );
    log_issued(issue, &lease);
    Ok(respond(&out.credentials, None, lease, ctx.now()))
}

/// GetSessionToken, with the role's MFA device and the caller's code when the role has
/// one (`path_creds` checked that they come together).
pub(crate) async fn session_token(
    state: &AwsBackend,
    ctx: &Context,
    issue: &Issue<'_>,
    mfa_code: Option<String>,
) -> Step<Response> {
    let input = SessionTokenInput {
        duration: Some(issue.ttl),
        serial_number: non_empty(issue.role.mfa_serial_number.clone()),
        token_code: mfa_code,
    };
    let sts = state.sts(ctx.storage()).await?;
    let credentials = sts.get_session_token(input).await?;
    let mut lease = LeaseData::session_token();
    lease.access_key_id = Some(credentials.access_key_id.clone());
    log_issued(issue, &lease);
    Ok(respond(&credentials, None, lease, ctx.now()))
}

/// The caller's session name, normalised, or one generated from the template's IAM
/// branch with the token's display name and the role name.
async fn session_name(
    state: &AwsBackend,
    ctx: &Context,
    issue: &Issue<'_>,
    requested: &str,
) -> Step<String> {
    if !requested.is_empty() {
        return normalize_role_session_name(requested).map_err(|e| refuse(e.to_string()));
    }
    generate_name(
        state,
        ctx,
        &UsernameMetadata::iam(issue.display_name, issue.role_name),
    )
    .await
}

/// Renders the configured `username_template` (Vault's default when unset), parsed once
/// per configuration and cached with the clients.
pub(crate) async fn generate_name(
    state: &AwsBackend,
    ctx: &Context,
    meta: &UsernameMetadata,
) -> Step<String> {
    let template = state.username_template(ctx.storage()).await?;
    generate_username_at(&template, meta, ctx.now()).map_err(|e| refuse(e.to_string()))
}

/// The role's policy document and ARNs, plus its groups' inline policies (merged into
/// one document, the role's own last, as Vault does) and attached policy ARNs. Without
/// groups no IAM client is built.
pub(crate) async fn session_policy(
    state: &AwsBackend,
    ctx: &Context,
    role: &Role,
) -> Step<SessionPolicy> {
    let mut policy = SessionPolicy {
        document: role.policy_document.clone(),
        arns: role.policy_arns.clone(),
    };
    if role.iam_groups.is_empty() {
        return Ok(policy);
    }
    let iam = state.iam(ctx.storage()).await?;
    let mut inline = Vec::new();
    for group in &role.iam_groups {
        // Attached first, then inline, per group: the order Vault makes the calls in.
        let attached = iam.list_attached_group_policies(group).await?;
        policy.arns.extend(attached.into_iter().map(|p| p.arn));
        for name in iam.list_group_policies(group).await? {
            inline.push(iam.get_group_policy(group, &name).await?);
        }
    }
    if !inline.is_empty() {
        inline.push(role.policy_document.clone());
        policy.document =
            policy_document::combine(inline.iter().map(String::as_str)).map_err(|e| {
                refuse(format!(
                    "cannot combine the inline policies of iam_groups with policy_document: {e}"
                ))
            })?;
    }
    Ok(policy)
}

/// The issuance response: credentials (the session token under both its current and its
/// legacy name), the session ARN for assumed roles, the seconds left, and a
/// non-renewable lease lasting exactly as long as AWS honours the credentials.
fn respond(
    credentials: &StsCredentials,
    arn: Option<&str>,
    lease: LeaseData,
    now: SystemTime,
) -> Response {
    let left = credentials
        .expiration
        .duration_since(now)
        .unwrap_or(Duration::ZERO);
    let mut data = JsonMap::new();
    let mut put = |k: &str, v: Value| {
        data.insert(k.to_string(), v);
    };
    put("access_key", json!(credentials.access_key_id));
    put("secret_key", json!(credentials.secret_access_key));
    put("session_token", json!(credentials.session_token));
    put("security_token", json!(credentials.session_token));
    if let Some(arn) = arn {
        put("arn", json!(arn));
    }
    put("ttl", json!(left.as_secs()));
    secret_access_keys::sts_response(data, &lease, left)
}

/// The audit line: which Vault request got which AWS principal and access key ID. Only
/// identifiers, never the secret key or session token.
fn log_issued(issue: &Issue<'_>, lease: &LeaseData) {
    tracing::debug!(
        request_id = issue.request_id,
        role = issue.role_name,
        principal_arn = lease.principal_arn.as_deref().unwrap_or_default(),
        access_key_id = lease.access_key_id.as_deref().unwrap_or_default(),
        source_identity = lease.source_identity.as_deref().unwrap_or_default(),
        "issued STS credentials"
    );
}

pub(crate) fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}
