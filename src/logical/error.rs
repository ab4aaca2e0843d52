//! `logical::Error`: what a backend hands back to the host when it cannot answer with a
//! response. Each variant maps 1:1 onto a Vault `ProtoError` type (see
//! `backend::error_map`), which decides the HTTP status the client sees.
//!
//! User-fixable problems are usually *not* errors but `Response::error(..)` (HTTP 400),
//! exactly as Vault's `logical.ErrorResponse`; these variants are for the cases where Vault
//! itself uses a sentinel error (unsupported path, permission denied, …), for coded
//! statuses such as AWS throttling (502), and for internal failures (500).

use std::fmt;

/// Vault's `logical.ErrReadOnly` text. The host matches it by text (it crosses the wire as
/// an untyped error) and forwards the request to the active node.
pub const READ_ONLY_STORAGE: &str = "cannot write to readonly storage";

/// The error a backend returns to the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path matched nothing (HTTP 404 `unsupported path`).
    #[error("unsupported path")]
    UnsupportedPath,
    /// The path exists but does not support the operation (HTTP 405).
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// Vault's generic `invalid request` sentinel (HTTP 400).
    #[error("invalid request")]
    InvalidRequest,
    /// Vault's `permission denied` sentinel (HTTP 403).
    #[error("permission denied")]
    PermissionDenied,
    /// A bad request with a message of our own (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// An error with an explicit HTTP status, e.g. 502 for upstream throttling.
    #[error("{message}")]
    Coded {
        /// HTTP status the host answers with.
        status: u16,
        /// Message shown to the client.
        message: String,
    },
    /// Vault's `UserError` (HTTP 400 from an existence check, 500 from a request).
    #[error("{0}")]
    User(String),
    /// A failure that retrying cannot fix; the host marks a lease irrevocable at once, so
    /// never use it from revoke.
    #[error("unrecoverable error: {0}")]
    Unrecoverable(String),
    /// An internal failure (HTTP 500). Storage errors travel here with their text
    /// unchanged, because the host decides request forwarding by matching that text.
    #[error("{0}")]
    Internal(String),
}

/// The kind of an [`Error`], without its message; the protocol layer maps it to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// See [`Error::UnsupportedPath`].
    UnsupportedPath,
    /// See [`Error::UnsupportedOperation`].
    UnsupportedOperation,
    /// See [`Error::InvalidRequest`].
    InvalidRequest,
    /// See [`Error::PermissionDenied`].
    PermissionDenied,
    /// See [`Error::BadRequest`].
    BadRequest,
    /// See [`Error::Coded`].
    Coded,
    /// See [`Error::User`].
    User,
    /// See [`Error::Unrecoverable`].
    Unrecoverable,
    /// See [`Error::Internal`].
    Internal,
}

impl Error {
    /// An internal error from anything displayable.
    pub fn internal(err: impl fmt::Display) -> Self {
        Error::Internal(err.to_string())
    }

    /// A coded error: the host answers with `status` and `message`.
    pub fn coded(status: u16, message: impl Into<String>) -> Self {
        Error::Coded {
            status,
            message: message.into(),
        }
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnsupportedPath => ErrorKind::UnsupportedPath,
            Error::UnsupportedOperation => ErrorKind::UnsupportedOperation,
            Error::InvalidRequest => ErrorKind::InvalidRequest,
            Error::PermissionDenied => ErrorKind::PermissionDenied,
            Error::BadRequest(_) => ErrorKind::BadRequest,
            Error::Coded { .. } => ErrorKind::Coded,
            Error::User(_) => ErrorKind::User,
            Error::Unrecoverable(_) => ErrorKind::Unrecoverable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The HTTP status code carried by a coded error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Coded { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(format!("json: {err}"))
    }
}
