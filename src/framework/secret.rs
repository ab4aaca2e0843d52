//! [framework] Secret types (Vault's `framework.Secret`): a named kind of leased secret
//! with its renew and revoke handlers. `SecretType::response` builds the response that
//! creates a lease and stamps the type name into the lease's internal data under
//! `secret_type`; the host hands that internal data back on renew and revoke, and the
//! backend dispatches on it. Using Vault's key keeps leases issued by the Go engine
//! revocable after switching binaries.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::context::Context;
use super::field::{FieldMap, FieldSchema};
use super::field_data::FieldData;
use super::operation::{HandlerResult, OperationFunc, operation_fn};
use crate::logical::{Error, JsonMap, LeaseOptions, Request, Response, Secret};

/// The internal-data key holding the secret type name.
pub const SECRET_TYPE_KEY: &str = "secret_type";

/// A kind of leased secret.
#[derive(Clone)]
pub struct SecretType {
    /// Type name stored with every lease (e.g. `access_keys`); never change it once
    /// leases exist.
    pub type_name: String,
    /// Fields of the secret's response data (passed to renew/revoke as `FieldData`).
    pub fields: Arc<FieldMap>,
    /// Default lease TTL; zero lets the host apply the mount default.
    pub default_duration: Duration,
    renew: Option<OperationFunc>,
    revoke: Option<OperationFunc>,
}

impl SecretType {
    /// A secret type named `type_name`, without handlers.
    pub fn new(type_name: impl Into<String>) -> Self {
        SecretType {
            type_name: type_name.into(),
            fields: Arc::new(FieldMap::new()),
            default_duration: Duration::ZERO,
            renew: None,
            revoke: None,
        }
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, schema: FieldSchema) -> Self {
        Arc::make_mut(&mut self.fields).insert(name.into(), schema);
        self
    }

    /// Sets the default lease TTL.
    pub fn default_duration(mut self, ttl: Duration) -> Self {
        self.default_duration = ttl;
        self
    }

    /// Sets the renew handler; without one the secret's leases are not renewable.
    pub fn renew<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context, Request, FieldData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.renew = Some(operation_fn(f));
        self
    }

    /// Sets the revoke handler.
    pub fn revoke<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context, Request, FieldData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.revoke = Some(operation_fn(f));
        self
    }

    /// Whether leases of this type can be renewed.
    pub fn renewable(&self) -> bool {
        self.renew.is_some()
    }

    /// A response that creates a lease of this type: `data` is shown to the client,
    /// `internal` is kept with the lease (plus `secret_type`), TTL is the default
    /// duration, renewable iff a renew handler exists.
    pub fn response(&self, data: JsonMap, internal: JsonMap) -> Response {
        let mut internal_data = internal;
        internal_data.insert(
            SECRET_TYPE_KEY.to_string(),
            Value::String(self.type_name.clone()),
        );
        Response {
            data: Some(data),
            secret: Some(Secret {
                lease_options: LeaseOptions {
                    ttl: self.default_duration,
                    renewable: self.renewable(),
                    ..LeaseOptions::default()
                },
                internal_data,
                lease_id: String::new(),
            }),
            warnings: Vec::new(),
        }
    }

    /// Runs the renew handler; `unsupported operation` when the type is not renewable.
    pub(crate) async fn handle_renew(&self, ctx: Context, req: Request) -> HandlerResult {
        let Some(renew) = &self.renew else {
            return Err(Error::UnsupportedOperation);
        };
        let data = FieldData::new(req.data.clone(), Arc::clone(&self.fields));
        renew(ctx, req, data).await
    }

    /// Runs the revoke handler; `unsupported operation` when there is none.
    pub(crate) async fn handle_revoke(&self, ctx: Context, req: Request) -> HandlerResult {
        let Some(revoke) = &self.revoke else {
            return Err(Error::UnsupportedOperation);
        };
        let data = FieldData::new(req.data.clone(), Arc::clone(&self.fields));
        revoke(ctx, req, data).await
    }
}

/// The secret type named in a renew/revoke request's lease, if the request has one.
pub(crate) fn secret_type_of(req: &Request) -> Option<&str> {
    req.secret
        .as_ref()?
        .internal_data
        .get(SECRET_TYPE_KEY)?
        .as_str()
}

impl fmt::Debug for SecretType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretType")
            .field("type_name", &self.type_name)
            .field("default_duration", &self.default_duration)
            .field("renewable", &self.renewable())
            .field("revocable", &self.revoke.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_stamps_type_and_lease_options() {
        let s = SecretType::new("access_keys")
            .default_duration(Duration::from_secs(60))
            .renew(|_, _, _| async { Ok(None) });
        let data = json!({"access_key": "AKIA"})
            .as_object()
            .cloned()
            .expect("object");
        let internal = json!({"username": "u"})
            .as_object()
            .cloned()
            .expect("object");
        let r = s.response(data.clone(), internal);
        assert_eq!(r.data, Some(data));
        let secret = r.secret.expect("secret");
        assert_eq!(secret.internal_data["secret_type"], json!("access_keys"));
        assert_eq!(secret.internal_data["username"], json!("u"));
        assert_eq!(secret.lease_options.ttl, Duration::from_secs(60));
        assert!(secret.lease_options.renewable);
        assert!(
            !SecretType::new("x")
                .response(JsonMap::new(), JsonMap::new())
                .secret
                .expect("s")
                .lease_options
                .renewable
        );
    }
}
