//! `Request` and `Operation`: one API call routed to the backend, with the path already
//! relative to the mount and the body already decoded into a JSON object.

use std::collections::HashMap;
use std::fmt;

use super::{JsonMap, Secret};

/// The operation a request performs (Vault's `logical.Operation`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operation {
    /// POST/PUT on a path whose existence check said "absent".
    Create,
    /// GET.
    Read,
    /// POST/PUT on an existing path (or a path without an existence check).
    Update,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// LIST (the path ends in `/`).
    List,
    /// `?help=1`, path-help and OpenAPI generation.
    Help,
    /// Lease renewal by the host's expiration manager.
    Renew,
    /// Lease revocation by the host's expiration manager.
    Revoke,
    /// The periodic rollback tick (every minute, path `""`).
    Rollback,
    /// OpenBao 2.7's pre-request path resolution.
    ResolvePath,
    /// Any other operation name, kept verbatim (e.g. `scan`, `header`).
    Other(String),
}

impl Operation {
    /// The wire name of the operation.
    pub fn as_str(&self) -> &str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Help => "help",
            Operation::Renew => "renew",
            Operation::Revoke => "revoke",
            Operation::Rollback => "rollback",
            Operation::ResolvePath => "resolve-path",
            Operation::Other(s) => s,
        }
    }

    /// Parses a wire name; unknown names become [`Operation::Other`].
    pub fn parse(s: &str) -> Operation {
        match s {
            "create" => Operation::Create,
            "read" => Operation::Read,
            "update" => Operation::Update,
            "patch" => Operation::Patch,
            "delete" => Operation::Delete,
            "list" => Operation::List,
            "help" => Operation::Help,
            "renew" => Operation::Renew,
            "revoke" => Operation::Revoke,
            "rollback" => Operation::Rollback,
            "resolve-path" => Operation::ResolvePath,
            other => Operation::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request routed to the backend (Vault's `logical.Request`, the parts a secrets
/// engine can use).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Request ID (empty for host-internal requests such as revoke).
    pub id: String,
    /// The operation.
    pub operation: Operation,
    /// Path relative to the mount, e.g. `roles/x`; the mount root is `""`.
    pub path: String,
    /// Request body or query parameters; empty when the host sent `null`.
    pub data: JsonMap,
    /// The lease being renewed or revoked.
    pub secret: Option<Secret>,
    /// Salted hash of the client token (never the token itself).
    pub client_token: String,
    /// Accessor of the client token.
    pub client_token_accessor: String,
    /// Display name of the token, e.g. `token` or `userpass-alice`.
    pub display_name: String,
    /// Mount path, e.g. `aws/`.
    pub mount_point: String,
    /// Mount type as the host knows it.
    pub mount_type: String,
    /// Mount accessor.
    pub mount_accessor: String,
    /// Identity entity of the caller, if any.
    pub entity_id: String,
    /// Request headers the mount lets through (`passthrough_request_headers`).
    pub headers: HashMap<String, Vec<String>>,
    /// Whether the request came in without a token.
    pub unauthenticated: bool,
    /// Remote address of the client, when the host passes the connection.
    pub remote_addr: Option<String>,
}

impl Request {
    /// A request with the given operation and path and nothing else set.
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Request {
            id: String::new(),
            operation,
            path: path.into(),
            data: JsonMap::new(),
            secret: None,
            client_token: String::new(),
            client_token_accessor: String::new(),
            display_name: String::new(),
            mount_point: String::new(),
            mount_type: String::new(),
            mount_accessor: String::new(),
            entity_id: String::new(),
            headers: HashMap::new(),
            unauthenticated: false,
            remote_addr: None,
        }
    }

    /// The same request with `data` as its body.
    pub fn with_data(mut self, data: JsonMap) -> Self {
        self.data = data;
        self
    }
}
