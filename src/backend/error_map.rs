//! [protocol adapter] `logical::Error` <-> `pb::ProtoError`, the error a backend hands the
//! host inside `HandleRequestReply.err`, `HandleExistenceCheckReply.err` and
//! `InitializeReply.err`. The host rebuilds a Go error from `err_type` (and `err_code`
//! for coded errors), and that error decides the HTTP status the client sees.
//!
//! The numbers are those of OpenBao's and Vault's `sdk/plugin/pb/translation.go`. Internal
//! failures go out as type 0 ("unknown") with the message unchanged rather than type 2:
//! the host then keeps the plain text, which it matches against sentinel messages (such
//! as the read-only-storage text that triggers forwarding to the active node).
//!
//! Public so that conformance tests playing the host can name the wire numbers instead of
//! repeating bare integers.

use crate::logical::Error;
use crate::pb::pb::ProtoError;

/// A plain error carrying only its message (Go `errors.New`).
pub const ERR_TYPE_UNKNOWN: u32 = 0;
/// `errutil.UserError`: 400 from an existence check, 500 from a request.
pub const ERR_TYPE_USER_ERROR: u32 = 1;
/// `errutil.InternalError`: 500.
pub const ERR_TYPE_INTERNAL_ERROR: u32 = 2;
/// `logical.CodedError`: the status in `err_code`.
pub const ERR_TYPE_CODED_ERROR: u32 = 3;
/// `logical.StatusBadRequest`: 400.
pub const ERR_TYPE_STATUS_BAD_REQUEST: u32 = 4;
/// `logical.ErrUnsupportedOperation`: 405.
pub const ERR_TYPE_UNSUPPORTED_OPERATION: u32 = 5;
/// `logical.ErrUnsupportedPath`: 404.
pub const ERR_TYPE_UNSUPPORTED_PATH: u32 = 6;
/// `logical.ErrInvalidRequest`: 400.
pub const ERR_TYPE_INVALID_REQUEST: u32 = 7;
/// `logical.ErrPermissionDenied`: 403.
pub const ERR_TYPE_PERMISSION_DENIED: u32 = 8;
/// `logical.ErrMultiAuthzPending` (Enterprise control groups); never sent by us.
pub const ERR_TYPE_MULTI_AUTHZ_PENDING: u32 = 9;
/// `logical.ErrUnrecoverable`: 500, and the host gives up on the lease at once.
pub const ERR_TYPE_UNRECOVERABLE: u32 = 10;

/// The wire form of a backend error.
pub fn to_proto(err: &Error) -> ProtoError {
    let (err_type, err_code) = match err {
        Error::Internal(_) => (ERR_TYPE_UNKNOWN, 0),
        Error::User(_) => (ERR_TYPE_USER_ERROR, 0),
        Error::Coded { status, .. } => (ERR_TYPE_CODED_ERROR, i64::from(*status)),
        Error::BadRequest(_) => (ERR_TYPE_STATUS_BAD_REQUEST, 0),
        Error::UnsupportedOperation => (ERR_TYPE_UNSUPPORTED_OPERATION, 0),
        Error::UnsupportedPath => (ERR_TYPE_UNSUPPORTED_PATH, 0),
        Error::InvalidRequest => (ERR_TYPE_INVALID_REQUEST, 0),
        Error::PermissionDenied => (ERR_TYPE_PERMISSION_DENIED, 0),
        Error::Unrecoverable(_) => (ERR_TYPE_UNRECOVERABLE, 0),
    };
    ProtoError {
        err_type,
        err_msg: err.to_string(),
        err_code,
    }
}

/// The prefix `Error::Unrecoverable` puts before its message; stripped on the way back so
/// that a round trip is the identity.
const UNRECOVERABLE_PREFIX: &str = "unrecoverable error";

/// A wire error as a backend error, the way the host reads one. Types we never send
/// (internal, multi-authz pending, unknown numbers) become `Internal` with the message.
pub fn from_proto(err: &ProtoError) -> Error {
    let msg = err.err_msg.clone();
    match err.err_type {
        ERR_TYPE_USER_ERROR => Error::User(msg),
        ERR_TYPE_CODED_ERROR => Error::Coded {
            // An out-of-range code cannot be an HTTP status; treat it as a plain 500.
            status: u16::try_from(err.err_code).unwrap_or(500),
            message: msg,
        },
        ERR_TYPE_STATUS_BAD_REQUEST => Error::BadRequest(msg),
        ERR_TYPE_UNSUPPORTED_OPERATION => Error::UnsupportedOperation,
        ERR_TYPE_UNSUPPORTED_PATH => Error::UnsupportedPath,
        ERR_TYPE_INVALID_REQUEST => Error::InvalidRequest,
        ERR_TYPE_PERMISSION_DENIED => Error::PermissionDenied,
        ERR_TYPE_UNRECOVERABLE => {
            let rest = msg.strip_prefix(UNRECOVERABLE_PREFIX).unwrap_or(&msg);
            let rest = rest.strip_prefix(": ").unwrap_or(rest);
            Error::Unrecoverable(rest.to_string())
        }
        ERR_TYPE_UNKNOWN | ERR_TYPE_INTERNAL_ERROR | ERR_TYPE_MULTI_AUTHZ_PENDING => {
            Error::Internal(msg)
        }
        _ => Error::Internal(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Error> {
        vec![
            Error::UnsupportedPath,
            Error::UnsupportedOperation,
            Error::InvalidRequest,
            Error::PermissionDenied,
            Error::BadRequest("role name is required".into()),
            Error::coded(502, "AWS throttled the request"),
            Error::User("no such role".into()),
            Error::Unrecoverable("the lease data is corrupt".into()),
            Error::Internal("cannot write to readonly storage".into()),
        ]
    }

    #[test]
    fn each_kind_has_its_wire_type() {
        let expected = [
            (ERR_TYPE_UNSUPPORTED_PATH, "unsupported path", 0),
            (ERR_TYPE_UNSUPPORTED_OPERATION, "unsupported operation", 0),
            (ERR_TYPE_INVALID_REQUEST, "invalid request", 0),
            (ERR_TYPE_PERMISSION_DENIED, "permission denied", 0),
            (ERR_TYPE_STATUS_BAD_REQUEST, "role name is required", 0),
            (ERR_TYPE_CODED_ERROR, "AWS throttled the request", 502),
            (ERR_TYPE_USER_ERROR, "no such role", 0),
            (
                ERR_TYPE_UNRECOVERABLE,
                "unrecoverable error: the lease data is corrupt",
                0,
            ),
            (ERR_TYPE_UNKNOWN, "cannot write to readonly storage", 0),
        ];
        for (err, (ty, msg, code)) in every_kind().iter().zip(expected) {
            let p = to_proto(err);
            assert_eq!(
                (p.err_type, p.err_msg.as_str(), p.err_code),
                (ty, msg, code),
                "{err:?}"
            );
        }
    }

    #[test]
    fn numbers_match_the_go_sdk() {
        // sdk/plugin/pb/translation.go numbers these with iota in this order.
        let go_order = [
            ERR_TYPE_UNKNOWN,
            ERR_TYPE_USER_ERROR,
            ERR_TYPE_INTERNAL_ERROR,
            ERR_TYPE_CODED_ERROR,
            ERR_TYPE_STATUS_BAD_REQUEST,
            ERR_TYPE_UNSUPPORTED_OPERATION,
            ERR_TYPE_UNSUPPORTED_PATH,
            ERR_TYPE_INVALID_REQUEST,
            ERR_TYPE_PERMISSION_DENIED,
            ERR_TYPE_MULTI_AUTHZ_PENDING,
            ERR_TYPE_UNRECOVERABLE,
        ];
        assert_eq!(go_order.to_vec(), (0..=10).collect::<Vec<u32>>());
    }

    #[test]
    fn every_kind_round_trips() {
        for err in every_kind() {
            assert_eq!(from_proto(&to_proto(&err)), err);
        }
    }

    #[test]
    fn types_we_never_send_read_as_internal() {
        for ty in [
            ERR_TYPE_INTERNAL_ERROR,
            ERR_TYPE_MULTI_AUTHZ_PENDING,
            11,
            999,
        ] {
            let p = ProtoError {
                err_type: ty,
                err_msg: "boom".into(),
                err_code: 0,
            };
            assert_eq!(from_proto(&p), Error::Internal("boom".into()), "type {ty}");
        }
    }

    #[test]
    fn impossible_codes_read_as_500() {
        let p = ProtoError {
            err_type: ERR_TYPE_CODED_ERROR,
            err_msg: "odd".into(),
            err_code: -1,
        };
        assert_eq!(from_proto(&p), Error::coded(500, "odd"));
    }

    #[test]
    fn bare_unrecoverable_sentinel() {
        let p = ProtoError {
            err_type: ERR_TYPE_UNRECOVERABLE,
            err_msg: "unrecoverable error".into(),
            err_code: 0,
        };
        assert_eq!(from_proto(&p), Error::Unrecoverable(String::new()));
    }
}
