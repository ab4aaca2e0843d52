//! \[engine\] `aws::Error`: every failure of an AWS call, classified once, where it enters
//! the engine (the thin functions of `api` call [`classify`] on the SDK's error), so that
//! no handler inspects SDK types or matches message text. The classes decide what the
//! client sees, as in Vault:
//!
//! - throttling: a coded 502 ("upstream rate limited"), so callers know to back off;
//! - not found (IAM `NoSuchEntity`): its own class, because revocation treats a user that
//!   is already gone as success; shown to the client as a 400 like any refusal;
//! - refused (access denied, validation, bad signature or key, malformed policy, and any
//!   other 4xx): an error *response* (400) naming the operation, AWS's code, its message
//!   and the request ID, so the operator can fix the role or the root credentials;
//! - server errors (5xx) and requests that never got an answer (connection refused, DNS,
//!   TLS, timeouts): internal errors (500); these are also the failures after which the
//!   next STS endpoint is worth trying;
//! - anything else (a request the SDK could not build or sign, e.g. no credentials in
//!   the default chain; an unreadable or incomplete answer): internal errors (500).
//!
//! Messages carry only what AWS answered and what the SDK says about the connection:
//! never credentials, never the request body. This module does not retry and does not
//! log; the SDK retries per `max_retries` and the failover lives in `clients`.

use std::fmt;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;

use crate::framework::HandlerResult;
use crate::logical::{self, Response};

/// HTTP status the host answers with when AWS throttles us (Vault's choice).
pub const THROTTLED_STATUS: u16 = 502;

/// Error codes AWS services use for "slow down". The SDK retries these itself; when they
/// still reach us the caller should back off. IAM's `LimitExceeded` is a quota (too
/// many users, keys or policies), not a rate, so it is deliberately absent.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes meaning "the entity named in the request does not exist".
const NOT_FOUND_CODES: &[&str] = &["NoSuchEntity", "NoSuchEntityException"];

/// An AWS API operation the engine calls; names the call in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AwsOperation {
    /// STS AssumeRole.
    AssumeRole,
    /// STS GetFederationToken.
    GetFederationToken,
    /// STS GetSessionToken.
    GetSessionToken,
    /// STS GetCallerIdentity.
    GetCallerIdentity,
    /// IAM ListGroupPolicies.
    ListGroupPolicies,
    /// IAM GetGroupPolicy.
    GetGroupPolicy,
    /// IAM ListAttachedGroupPolicies.
    ListAttachedGroupPolicies,
    /// IAM CreateUser.
    CreateUser,
    /// IAM AttachUserPolicy.
    AttachUserPolicy,
    /// IAM PutUserPolicy.
    PutUserPolicy,
    /// IAM AddUserToGroup.
    AddUserToGroup,
    /// IAM TagUser.
    TagUser,
    /// IAM CreateAccessKey.
    CreateAccessKey,
    /// IAM GetUser.
    GetUser,
    /// IAM ListAccessKeys.
    ListAccessKeys,
    /// IAM DeleteAccessKey.
    DeleteAccessKey,
    /// IAM DeleteLoginProfile.
    DeleteLoginProfile,
    /// IAM ListMFADevices.
    ListMfaDevices,
    /// IAM DeactivateMFADevice.
    DeactivateMfaDevice,
    /// IAM DeleteVirtualMFADevice.
    DeleteVirtualMfaDevice,
    /// IAM ListSSHPublicKeys.
    ListSshPublicKeys,
    /// IAM DeleteSSHPublicKey.
    DeleteSshPublicKey,
    /// IAM ListSigningCertificates.
    ListSigningCertificates,
    /// IAM DeleteSigningCertificate.
    DeleteSigningCertificate,
    /// IAM ListServiceSpecificCredentials.
    ListServiceSpecificCredentials,
    /// IAM DeleteServiceSpecificCredential.
    DeleteServiceSpecificCredential,
    /// IAM ListUserPolicies.
    ListUserPolicies,
    /// IAM DeleteUserPolicy.
    DeleteUserPolicy,
    /// IAM ListAttachedUserPolicies.
    ListAttachedUserPolicies,
    /// IAM DetachUserPolicy.
    DetachUserPolicy,
    /// IAM ListGroupsForUser.
    ListGroupsForUser,
    /// IAM RemoveUserFromGroup.
    RemoveUserFromGroup,
    /// IAM DeleteUser.
    DeleteUser,
    /// IAM SimulatePrincipalPolicy (`config/check`).
    SimulatePrincipalPolicy,
    /// Organizations ListAccounts (account sets).
    ListAccounts,
}

impl AwsOperation {
    /// The API name, as in AWS's documentation (`AssumeRole`).
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// What the engine was doing, for `Error <doing>: …` (Vault's wording where it has one).
    pub fn doing(self) -> &'static str {
        self.describe().1
    }

    /// The service the operation belongs to (`STS` or `IAM`).
    pub fn service(self) -> &'static str {
        match self {
            AwsOperation::AssumeRole
            | AwsOperation::GetFederationToken
            | AwsOperation::GetSessionToken
            | AwsOperation::GetCallerIdentity => "STS",
            AwsOperation::ListAccounts => "Organizations",
            _ => "IAM",
        }
    }

    /// (API name, what the engine was doing). Vault's wording for the calls it makes.
    fn describe(self) -> (&'static str, &'static str) {
        use AwsOperation as Op;
        match self {
            Op::AssumeRole => ("AssumeRole", "assuming role"),
            // Vault says this for both token calls.
            Op::GetFederationToken => ("GetFederationToken", "generating STS keys"),
            Op::GetSessionToken => ("GetSessionToken", "generating STS keys"),
            Op::GetCallerIdentity => ("GetCallerIdentity", "getting caller identity"),
            Op::ListGroupPolicies => ("ListGroupPolicies", "listing group policies"),
            Op::GetGroupPolicy => ("GetGroupPolicy", "getting group policy"),
            Op::ListAttachedGroupPolicies => (
                "ListAttachedGroupPolicies",
                "listing attached group policies",
            ),
            Op::CreateUser => ("CreateUser", "creating IAM user"),
            Op::AttachUserPolicy => ("AttachUserPolicy", "attaching user policy"),
            Op::PutUserPolicy => ("PutUserPolicy", "putting user policy"),
            Op::AddUserToGroup => ("AddUserToGroup", "adding user to group"),
            Op::TagUser => ("TagUser", "adding tags to user"),
            Op::CreateAccessKey => ("CreateAccessKey", "creating access keys"),
            Op::GetUser => ("GetUser", "getting IAM user"),
            Op::ListAccessKeys => ("ListAccessKeys", "listing access keys"),
            Op::DeleteAccessKey => ("DeleteAccessKey", "deleting access key"),
            Op::DeleteLoginProfile => ("DeleteLoginProfile", "deleting login profile"),
            Op::ListMfaDevices => ("ListMFADevices", "listing MFA devices"),
            Op::DeactivateMfaDevice => ("DeactivateMFADevice", "deactivating MFA device"),
            Op::DeleteVirtualMfaDevice => ("DeleteVirtualMFADevice", "deleting virtual MFA device"),
            Op::ListSshPublicKeys => ("ListSSHPublicKeys", "listing SSH public keys"),
            Op::DeleteSshPublicKey => ("DeleteSSHPublicKey", "deleting SSH public key"),
            Op::ListSigningCertificates => {
                ("ListSigningCertificates", "listing signing certificates")
            }
            Op::DeleteSigningCertificate => {
                ("DeleteSigningCertificate", "deleting signing certificate")
            }
            Op::ListServiceSpecificCredentials => (
                "ListServiceSpecificCredentials",
                "listing service-specific credentials",
            ),
            Op::DeleteServiceSpecificCredential => (
                "DeleteServiceSpecificCredential",
                "deleting service-specific credential",
            ),
            Op::ListUserPolicies => ("ListUserPolicies", "listing user policies"),
            Op::DeleteUserPolicy => ("DeleteUserPolicy", "deleting user policy"),
            Op::ListAttachedUserPolicies => {
                ("ListAttachedUserPolicies", "listing attached user policies")
            }
            Op::DetachUserPolicy => ("DetachUserPolicy", "detaching user policy"),
            Op::ListGroupsForUser => ("ListGroupsForUser", "listing groups for user"),
            Op::RemoveUserFromGroup => ("RemoveUserFromGroup", "removing user from group"),
            Op::DeleteUser => ("DeleteUser", "deleting IAM user"),
            Op::ListAccounts => ("ListAccounts", "listing organization accounts"),
            Op::SimulatePrincipalPolicy => (
                "SimulatePrincipalPolicy",
                "simulating the caller's IAM policies",
            ),
        }
    }
}

impl fmt::Display for AwsOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What AWS answered when it refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFailure {
    /// The call.
    pub operation: AwsOperation,
    /// HTTP status of the answer.
    pub status: Option<u16>,
    /// AWS error code (`AccessDenied`, `NoSuchEntity`, …).
    pub code: Option<String>,
    /// AWS's message.
    pub message: Option<String>,
    /// AWS request ID, for AWS support and CloudTrail.
    pub request_id: Option<String>,
}

impl ServiceFailure {
    /// A failure of `operation` with `code` and `message` (used by fakes and tests).
    pub fn new(operation: AwsOperation, status: u16, code: &str, message: &str) -> Self {
        ServiceFailure {
            operation,
            status: Some(status),
            code: Some(code.to_string()),
            message: Some(message.to_string()),
            request_id: None,
        }
    }

    /// Sets the request ID.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_string());
        self
    }
}

/// `<Code>: <message> (request id: <id>)`; without a code, the HTTP status stands in.
impl fmt::Display for ServiceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.status) {
            (Some(code), _) if !code.is_empty() => f.write_str(code)?,
            (_, Some(status)) => write!(f, "HTTP {status}")?,
            _ => f.write_str("unknown error")?,
        }
        match &self.message {
            Some(message) if !message.is_empty() => write!(f, ": {message}")?,
            _ => f.write_str(": (no message)")?,
        }
        if let Some(id) = self.request_id.as_deref().filter(|id| !id.is_empty()) {
            write!(f, " (request id: {id})")?;
        }
        Ok(())
    }
}

/// A classified AWS failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// AWS throttled the call (a coded 502 for the client).
    #[error("Error {}: upstream rate limited: AWS throttled {}: {}", .0.operation.doing(), .0.operation, .0)]
    Throttled(ServiceFailure),
    /// The entity named in the request does not exist (IAM `NoSuchEntity`, HTTP 404).
    #[error("Error {}: {}", .0.operation.doing(), .0)]
    NotFound(ServiceFailure),
    /// AWS refused the call: access denied, invalid input, bad signature or key, … (400).
    #[error("Error {}: {}", .0.operation.doing(), .0)]
    Rejected(ServiceFailure),
    /// AWS answered with a server error (5xx).
    #[error("Error {}: AWS {} failed on its side: {}", .0.operation.doing(), .0.operation.service(), .0)]
    ServerError(ServiceFailure),
    /// The call got no answer: connection refused, DNS, TLS, or a timeout.
    #[error("Error {}: could not reach AWS {}: {detail}", .operation.doing(), .operation.service())]
    Unreachable {
        /// The call.
        operation: AwsOperation,
        /// What the SDK reported.
        detail: String,
    },
    /// Anything else: the request could not be built, or the answer was unreadable or
    /// incomplete.
    #[error("Error {}: {detail}", .operation.doing())]
    Internal {
        /// The call.
        operation: AwsOperation,
        /// What went wrong.
        detail: String,
    },
}

impl Error {
    /// The call that failed.
    pub fn operation(&self) -> AwsOperation {
        match self {
            Error::Throttled(f)
            | Error::NotFound(f)
            | Error::Rejected(f)
            | Error::ServerError(f) => f.operation,
            Error::Unreachable { operation, .. } | Error::Internal { operation, .. } => *operation,
        }
    }

    /// AWS's answer, when there was one.
    pub fn service_failure(&self) -> Option<&ServiceFailure> {
        match self {
            Error::Throttled(f)
            | Error::NotFound(f)
            | Error::Rejected(f)
            | Error::ServerError(f) => Some(f),
            Error::Unreachable { .. } | Error::Internal { .. } => None,
        }
    }

    /// AWS's error code, when AWS answered.
    pub fn code(&self) -> Option<&str> {
        self.service_failure()?.code.as_deref()
    }

    /// AWS's request ID, when AWS answered.
    pub fn request_id(&self) -> Option<&str> {
        self.service_failure()?.request_id.as_deref()
    }

    /// Whether the named entity does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// Whether AWS throttled the call.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled(_))
    }

    /// Whether another endpoint might succeed: the call got no answer or a server error.
    /// A refusal (4xx) would be refused everywhere, so it is not.
    pub fn can_fail_over(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::ServerError(_))
    }

    /// What a handler returns for this failure: an error response (400) for a refusal or
    /// a missing entity, a coded 502 for throttling, an internal error (500) otherwise.
    pub fn into_response_or_error(self) -> HandlerResult {
        match self {
            Error::NotFound(_) | Error::Rejected(_) => Ok(Some(Response::error(self.to_string()))),
            other => Err(other.into_logical_error()),
        }
    }

    /// The failure as an error, for callers that cannot answer with a response (lease
    /// revocation, WAL rollback): a coded 502 for throttling, otherwise an internal error.
    pub fn into_logical_error(self) -> logical::Error {
        match self {
            Error::Throttled(_) => logical::Error::coded(THROTTLED_STATUS, self.to_string()),
            other => logical::Error::Internal(other.to_string()),
        }
    }
}

/// The messages of `err` and its sources, joined with `: ` ("dispatch failure: io error:
/// Connection refused"), each once. The SDK's `DisplayErrorContext` would add the whole
/// chain's `Debug` form in parentheses: noise in a message an operator reads, and for a
/// response error the raw HTTP answer, which may hold issued credentials.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        // Some errors repeat their source's text in their own.
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Classifies an SDK error of `operation`. The IAM and STS crates share the SDK error
/// type, so this one function serves every operation of both.
pub fn classify<E>(operation: AwsOperation, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // The full chain ("dispatch failure: io error: … Connection refused") is the most
    // useful text for connection problems; compute it before `err` is taken apart.
    let detail = error_chain(&err);
    match err {
        SdkError::ServiceError(ctx) => {
            let meta = ctx.err().meta();
            // The SDK reads code and message from `<ErrorResponse><Error>`; some endpoints
            // (moto's signature checks, proxies) nest them differently or only send the
            // `x-amzn-errortype` header, so fall back to those before giving up.
            let body = ctx.raw().body().bytes().map(String::from_utf8_lossy);
            let code = meta
                .code()
                .map(str::to_string)
                .or_else(|| error_type_header(ctx.raw().headers().get("x-amzn-errortype")))
                .or_else(|| body.as_deref().and_then(|b| xml_text(b, "Code")));
            let message = meta
                .message()
                .map(str::to_string)
                .or_else(|| body.as_deref().and_then(|b| xml_text(b, "Message")));
            let failure = ServiceFailure {
                operation,
                status: Some(ctx.raw().status().as_u16()),
                code,
                message,
                request_id: meta
                    .request_id()
                    .or_else(|| ctx.raw().request_id())
                    .map(str::to_string),
            };
            classify_service(failure)
        }
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let failure = ServiceFailure {
                operation,
                status: Some(status),
                code: None,
                message: Some(format!("unreadable answer: {detail}")),
                request_id: ctx.raw().request_id().map(str::to_string),
            };
            match status {
                429 => Error::Throttled(failure),
                500.. => Error::ServerError(failure),
                _ => Error::Internal { operation, detail },
            }
        }
        SdkError::TimeoutError(_) => Error::Unreachable { operation, detail },
        // The SDK also reports failures before sending as dispatch failures of kind
        // "other" (no credentials in the chain, an endpoint it cannot resolve); only
        // I/O errors and timeouts mean the endpoint itself could not be reached.
        SdkError::DispatchFailure(ctx) if ctx.is_io() || ctx.is_timeout() => {
            Error::Unreachable { operation, detail }
        }
        _ => Error::Internal { operation, detail },
    }
}

/// The error code in an `x-amzn-errortype` header (`Code:http://…` or plain `Code`).
fn error_type_header(value: Option<&str>) -> Option<String> {
    let code = value?.split(':').next()?.trim();
    (!code.is_empty()).then(|| code.to_string())
}

/// The text of the first `<tag>…</tag>` in an XML error body, if any.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    let text = body[start..end].trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The class of an answer AWS gave.
fn classify_service(failure: ServiceFailure) -> Error {
    let code = failure.code.as_deref().unwrap_or("");
    let status = failure.status.unwrap_or(0);
    if THROTTLING_CODES.contains(&code) || status == 429 {
        Error::Throttled(failure)
    } else if NOT_FOUND_CODES.contains(&code) {
        Error::NotFound(failure)
    } else if status >= 500 {
        Error::ServerError(failure)
    } else {
        Error::Rejected(failure)
    }
}

#[cfg(test)]
mod tests;
