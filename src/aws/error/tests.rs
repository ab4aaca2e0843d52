//! Classification of SDK failures: each class built the way the SDK reports it, and what
//! a handler then answers.

use super::*;
use aws_sdk_iam::operation::get_group_policy::GetGroupPolicyError;
use aws_sdk_sts::error::{ConnectorError, ErrorMetadata};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

/// An AWS answer with `status` and, as the SDK does, the request ID in the metadata.
fn service_error(status: u16, code: &str, message: &str) -> SdkError<AssumeRoleError> {
    let meta = ErrorMetadata::builder()
        .code(code)
        .message(message)
        .custom("aws_request_id", "req-123")
        .build();
    let raw = HttpResponse::new(status.try_into().expect("status"), "".into());
    SdkError::service_error(AssumeRoleError::generic(meta), raw)
}

fn assume(status: u16, code: &str, message: &str) -> Error {
    classify(
        AwsOperation::AssumeRole,
        service_error(status, code, message),
    )
}

#[test]
fn throttling_is_a_coded_502_naming_operation_code_message_and_request_id() {
    for (status, code) in [
        (400, "Throttling"),
        (400, "ThrottlingException"),
        (503, "RequestLimitExceeded"),
        (429, "TooManyRequestsException"),
        (429, "SomethingNew"),
    ] {
        let err = assume(status, code, "Rate exceeded");
        assert!(err.is_throttled(), "{code}: {err:?}");
        let out = err
            .into_response_or_error()
            .expect_err("an error, not a response");
        assert_eq!(out.status(), Some(502), "{code}");
        let text = out.to_string();
        for part in [
            "AssumeRole",
            code,
            "Rate exceeded",
            "req-123",
            "rate limited",
        ] {
            assert!(text.contains(part), "{text:?} lacks {part:?}");
        }
    }
}

#[test]
fn refusals_are_400_responses_with_code_message_and_request_id() {
    for (status, code) in [
        (403, "AccessDenied"),
        (400, "ValidationError"),
        (403, "SignatureDoesNotMatch"),
        (403, "InvalidClientTokenId"),
        (400, "MalformedPolicyDocument"),
        (409, "EntityAlreadyExists"),
    ] {
        let err = assume(status, code, "no way");
        assert!(matches!(err, Error::Rejected(_)), "{code}: {err:?}");
        assert!(!err.can_fail_over(), "{code} must not fail over");
        let resp = err
            .into_response_or_error()
            .expect("a response")
            .expect("some response");
        assert_eq!(
            resp.error_message(),
            Some(format!("Error assuming role: {code}: no way (request id: req-123)").as_str())
        );
    }
}

#[test]
fn no_such_entity_is_its_own_class_and_a_400_for_clients() {
    let meta = ErrorMetadata::builder()
        .code("NoSuchEntity")
        .message("The group with name dev cannot be found.")
        .build();
    let raw = HttpResponse::new(404u16.try_into().expect("status"), "".into());
    let err = classify(
        AwsOperation::GetGroupPolicy,
        SdkError::service_error(GetGroupPolicyError::generic(meta), raw),
    );
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("NoSuchEntity"));
    assert_eq!(err.request_id(), None);
    let resp = err
        .into_response_or_error()
        .expect("response")
        .expect("some");
    assert_eq!(
        resp.error_message(),
        Some("Error getting group policy: NoSuchEntity: The group with name dev cannot be found.")
    );
}

#[test]
fn server_errors_are_internal_and_fail_over() {
    let err = assume(503, "ServiceUnavailable", "try later");
    assert!(matches!(err, Error::ServerError(_)), "{err:?}");
    assert!(err.can_fail_over());
    let out = err.into_response_or_error().expect_err("an error");
    assert!(matches!(out, logical::Error::Internal(_)), "{out:?}");
    assert!(
        out.to_string()
            .contains("ServiceUnavailable: try later (request id: req-123)")
    );
}

#[test]
fn dispatch_failures_and_timeouts_are_internal_and_fail_over() {
    let refused: SdkError<AssumeRoleError> =
        SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
    let err = classify(AwsOperation::AssumeRole, refused);
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.can_fail_over());
    let out = err.into_response_or_error().expect_err("an error");
    let logical::Error::Internal(text) = out else {
        panic!("internal expected, got {out:?}");
    };
    assert!(
        text.starts_with("Error assuming role: could not reach AWS STS"),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");

    let timeout: SdkError<AssumeRoleError> = SdkError::timeout_error("took too long");
    let err = classify(AwsOperation::AssumeRole, timeout);
    assert!(err.can_fail_over(), "{err:?}");
    assert_eq!(err.code(), None);
    // The message chain only: no Debug dump of the SDK's error types.
    let text = err.to_string();
    assert!(text.contains("took too long"), "{text}");
    assert!(!text.contains("TimeoutError("), "{text}");
    assert!(!text.contains("ConnectorError"), "{text}");
}

#[test]
fn failures_before_sending_are_internal_without_failover() {
    // How the SDK reports an empty credential chain.
    let no_creds: SdkError<AssumeRoleError> = SdkError::dispatch_failure(ConnectorError::other(
        "failed to load credentials: no providers in chain provided credentials".into(),
        None,
    ));
    let err = classify(AwsOperation::AssumeRole, no_creds);
    assert!(matches!(err, Error::Internal { .. }), "{err:?}");
    assert!(!err.can_fail_over());
    assert!(err.to_string().contains("no providers in chain"), "{err}");
}

#[test]
fn construction_failures_are_internal_without_failover() {
    let built: SdkError<AssumeRoleError> =
        SdkError::construction_failure("no credentials in the chain");
    let err = classify(AwsOperation::AssumeRole, built);
    assert!(matches!(err, Error::Internal { .. }), "{err:?}");
    assert!(!err.can_fail_over());
    assert!(
        err.to_string().contains("no credentials in the chain"),
        "{err}"
    );
    assert!(matches!(
        err.into_logical_error(),
        logical::Error::Internal(_)
    ));
}

#[test]
fn failure_text_without_code_or_message_names_the_status() {
    let f = ServiceFailure {
        operation: AwsOperation::AssumeRole,
        status: Some(403),
        code: None,
        message: None,
        request_id: Some("r".into()),
    };
    assert_eq!(f.to_string(), "HTTP 403: (no message) (request id: r)");
    assert_eq!(
        Error::Rejected(f).to_string(),
        "Error assuming role: HTTP 403: (no message) (request id: r)"
    );
}

#[test]
fn throttling_error_for_revoke_keeps_its_502() {
    let err = assume(400, "Throttling", "slow down");
    assert_eq!(err.into_logical_error().status(), Some(502));
}

#[test]
fn code_and_message_missing_from_the_metadata_come_from_header_and_body() {
    // moto nests signing errors as <ErrorResponse><Errors><Error>, which the SDK does not
    // read: the code must still reach the client, from the header or the body.
    let body = "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
                <Message>The request signature we calculated does not match</Message>\
                </Error></Errors></ErrorResponse>";
    let mut raw = HttpResponse::new(403.try_into().expect("status"), body.into());
    raw.headers_mut()
        .insert("x-amzn-errortype", "SignatureDoesNotMatch:http://internal");
    let meta = ErrorMetadata::builder().build();
    let err = classify(
        AwsOperation::AssumeRole,
        SdkError::service_error(AssumeRoleError::generic(meta), raw),
    );
    let text = err.to_string();
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(text.contains("signature we calculated"), "{text}");

    assert_eq!(
        xml_text("<a><Code> X </Code></a>", "Code").as_deref(),
        Some("X")
    );
    assert_eq!(xml_text("<Code></Code>", "Code"), None);
    assert_eq!(
        error_type_header(Some("Throttling:http://x")).as_deref(),
        Some("Throttling")
    );
    assert_eq!(error_type_header(None), None);
}
