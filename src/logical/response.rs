//! `Response`: what a backend answers. A response whose data is `{"error": "..."}` is an
//! *error response* (Vault's `logical.ErrorResponse`): the host turns it into HTTP 400 with
//! that message, which is how user-fixable problems are reported.

use serde_json::Value;

use super::{JsonMap, Secret};

/// Vault's `logical.Response` (the parts a secrets engine uses).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// Response data shown to the client (`None` is sent as JSON `null`).
    pub data: Option<JsonMap>,
    /// A secret: its presence makes the host create a lease.
    pub secret: Option<Secret>,
    /// Warnings returned to the client.
    pub warnings: Vec<String>,
}

impl Response {
    /// A response carrying `data`.
    pub fn with_data(data: JsonMap) -> Self {
        Response {
            data: Some(data),
            ..Response::default()
        }
    }

    /// An error response: HTTP 400 with `message` as the client-visible error.
    pub fn error(message: impl Into<String>) -> Self {
        let mut data = JsonMap::new();
        data.insert("error".to_string(), Value::String(message.into()));
        Response::with_data(data)
    }

    /// A list response: `{"keys": [...]}`.
    pub fn list<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys: Vec<Value> = keys.into_iter().map(|k| Value::String(k.into())).collect();
        let mut data = JsonMap::new();
        data.insert("keys".to_string(), Value::Array(keys));
        Response::with_data(data)
    }

    /// Whether this is an error response (data holds a string `error`).
    pub fn is_error(&self) -> bool {
        self.error_message().is_some()
    }

    /// The message of an error response.
    pub fn error_message(&self) -> Option<&str> {
        self.data.as_ref()?.get("error")?.as_str()
    }

    /// Adds a warning.
    pub fn add_warning(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_is_recognised() {
        let r = Response::error("bad ttl");
        assert!(r.is_error());
        assert_eq!(r.error_message(), Some("bad ttl"));
        assert!(!Response::list(["a"]).is_error());
    }

    #[test]
    fn list_response_has_keys() {
        let r = Response::list(["a", "b/"]);
        let data = r.data.expect("data");
        assert_eq!(data["keys"], serde_json::json!(["a", "b/"]));
    }
}
