//! [framework] `Backend`: a declarative engine (paths, secret types, hooks) implementing
//! `logical::Backend` (Vault's `framework.Backend`); engines describe it with
//! `BackendBuilder` (in `builder`), this module serves it.
//!
//! Request dispatch, in order: `renew`/`revoke` go to the secret type named by the
//! lease's `secret_type`; `rollback` runs the periodic hook and then the WAL pass;
//! `resolve-path` is declined; `help` on the root answers root help. Everything else is
//! routed by path, its fields validated (a failure is an HTTP 400 error response, never
//! an error), on a performance standby refused with "cannot write to readonly storage"
//! when the operation asks to be forwarded (the host then sends it to the active node),
//! and handed to the operation's handler; `help` on a path without its own
//! handler gets generated help. Unknown paths are `unsupported path` (404), known paths
//! without the operation `unsupported operation` (405).
//!
//! On `resolve-path`: OpenBao 2.7 sends it before every client request, but neither
//! OpenBao's nor Vault's SDK (sdk/framework/backend.go, read up to OpenBao main of
//! 2026-08) has a handler for it; a Go plugin therefore answers it from routing with
//! `unsupported path` or `unsupported operation`, which the host tolerates (it logs at
//! TRACE and carries on). We answer `unsupported operation` without routing, which costs
//! nothing and is equally tolerated; see prototype-findings §6.3.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::builder::{BackendBuilder, CompiledPath, Hooks};
use super::context::Context;
use super::field_data::FieldData;
use super::help::{help_response, path_help, root_help};
use super::multierror::format_errors;
use super::openapi::{DocContext, OasDocument, document_path};
use super::operation::HandlerResult;
use super::router::{RouteMatch, Router};
use super::secret::{SecretType, secret_type_of};
use super::spec::PathSpec;
use super::wal::{self, WalPolicy};
use crate::logical::{
    self, BackendType, Error, ExistenceCheck, JsonMap, Operation, READ_ONLY_STORAGE, Request,
    Response, SpecialPaths,
};

/// The message Vault gives for a renew/revoke whose lease names no known secret type.
const UNSUPPORTED_SECRET: &str = "secret is unsupported by this backend";

/// A declarative engine, ready to serve.
pub struct Backend {
    pub(super) help: Arc<String>,
    pub(super) paths: Vec<CompiledPath>,
    pub(super) router: Router,
    pub(super) secrets: Vec<SecretType>,
    pub(super) special_paths: SpecialPaths,
    pub(super) hooks: Hooks,
    pub(super) wal_policy: WalPolicy,
    pub(super) backend_type: BackendType,
    pub(super) ctx: Context,
    /// The host's replication state, asked once: it cannot change for the life of a
    /// backend instance, because the server tears its mounts down and sets them up
    /// again when a node changes role (standby ↔ active). Saves a SystemView round
    /// trip on every forwardable request.
    pub(super) replication_state: std::sync::OnceLock<u32>,
}

impl Backend {
    /// Whether this node is a performance standby (Vault's
    /// `consts.ReplicationPerformanceStandby`, bit 14 of the replication state).
    async fn is_performance_standby(&self) -> Result<bool, Error> {
        const PERFORMANCE_STANDBY: u32 = 1 << 14;
        let state = match self.replication_state.get() {
            Some(state) => *state,
            // Concurrent first requests may both ask; they get the same answer.
            None => {
                let state = self.ctx.system().replication_state().await?;
                let _ = self.replication_state.set(state);
                state
            }
        };
        Ok(state & PERFORMANCE_STANDBY != 0)
    }
}

impl Backend {
    /// Starts describing a backend.
    pub fn builder() -> BackendBuilder {
        BackendBuilder::new()
    }

    /// The anchored pattern of the path a request path would be routed to (what Vault's
    /// `Backend.Route` finds).
    pub fn route(&self, path: &str) -> Option<&str> {
        self.router
            .route(path)
            .map(|m| self.paths[m.index].spec.pattern.as_str())
    }

    /// The secret type named `type_name`.
    pub fn secret(&self, type_name: &str) -> Option<&SecretType> {
        self.secrets.iter().find(|s| s.type_name == type_name)
    }

    /// The services handlers are given.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The WAL rollback policy.
    pub fn wal_policy(&self) -> WalPolicy {
        self.wal_policy
    }

    async fn dispatch(&self, req: Request) -> HandlerResult {
        match req.operation {
            Operation::Renew | Operation::Revoke => return self.handle_renew_revoke(req).await,
            Operation::Rollback => return self.handle_rollback(req).await,
            Operation::ResolvePath => return Err(Error::UnsupportedOperation),
            Operation::Help if req.path.is_empty() => return Ok(Some(self.root_help(&req).await)),
            _ => {}
        }
        let RouteMatch { index, captures } =
            self.router.route(&req.path).ok_or(Error::UnsupportedPath)?;
        let cp = &self.paths[index];
        let (raw, ignored, replaced) = merge_input(&cp.spec, &req.data, captures);
        let handler = cp.handlers.get(&req.operation).map(Arc::clone);
        let forward = cp
            .spec
            .operations
            .get(&req.operation)
            .is_some_and(|op| op.forward_performance_standby);
        let mut resp = match handler {
            Some(handler) => {
                let data = FieldData::new(raw, Arc::clone(&cp.spec.fields));
                if req.operation != Operation::Help
                    && let Err(why) = data.validate()
                {
                    return Ok(Some(Response::error(format!(
                        "Field validation failed: {why}"
                    ))));
                }
                // After validation, unlike Go (which forwards first): bad input gets its
                // 400 from this node without a round trip to the active one.
                if forward && self.is_performance_standby().await? {
                    return Err(Error::Internal(READ_ONLY_STORAGE.to_string()));
                }
                handler(self.ctx.clone(), req, data).await?
            }
            None if req.operation == Operation::Help => Some(self.path_help(cp, &req).await),
            None => return Err(Error::UnsupportedOperation),
        };
        if let Some(resp) = resp.as_mut() {
            if !ignored.is_empty() {
                resp.add_warning(format!(
                    "Endpoint ignored these unrecognized parameters: [{}]",
                    ignored.join(" ")
                ));
            }
            if !replaced.is_empty() {
                resp.add_warning(format!(
                    "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [{}]",
                    replaced.join(" ")
                ));
            }
        }
        Ok(resp)
    }

    async fn handle_renew_revoke(&self, req: Request) -> HandlerResult {
        if req.secret.is_none() {
            return Err(Error::Internal("request has no secret".to_string()));
        }
        let secret = secret_type_of(&req)
            .and_then(|t| self.secret(t))
            .ok_or_else(|| Error::Internal(UNSUPPORTED_SECRET.to_string()))?;
        if req.operation == Operation::Renew {
            secret.handle_renew(self.ctx.clone(), req).await
        } else {
            secret.handle_revoke(self.ctx.clone(), req).await
        }
    }

    /// The periodic hook, then the WAL pass. Failures are collected and reported in an
    /// error response (which the host ignores for rollback) and in our own log, never as
    /// an error: a failing rollback must not turn into an error line every minute.
    async fn handle_rollback(&self, req: Request) -> HandlerResult {
        let mut errors = Vec::new();
        if let Some(periodic) = &self.hooks.periodic
            && let Err(e) = periodic(self.ctx.clone(), req.clone()).await
        {
            errors.push(format!("periodic function: {e}"));
        }
        if let Some(hook) = &self.hooks.wal_rollback {
            errors.extend(wal::rollback_pass(&self.ctx, &req, hook, self.wal_policy).await);
        }
        if errors.is_empty() {
            return Ok(None);
        }
        let message = format_errors(&errors);
        tracing::error!(errors = %message, "rollback finished with errors");
        Ok(Some(Response::error(message)))
    }

    /// The host's version for OpenAPI, or `unknown`: help must answer even when the host
    /// cannot be asked.
    async fn host_version(&self) -> String {
        match self.ctx.system().plugin_env().await {
            Ok(env) => env.vault_version,
            Err(e) => {
                tracing::warn!(error = %e, "reading the host version for OpenAPI");
                "unknown".to_string()
            }
        }
    }

    fn doc_context<'a>(&'a self, req: &'a Request) -> DocContext<'a> {
        DocContext {
            special_paths: &self.special_paths,
            prefix: req
                .data
                .get("requestResponsePrefix")
                .and_then(Value::as_str)
                .unwrap_or(""),
            backend_type: self.backend_type,
        }
    }

    async fn path_help(&self, cp: &CompiledPath, req: &Request) -> Response {
        let text = path_help(&req.path, &cp.spec);
        let mut doc = OasDocument::new(&self.host_version().await);
        document_path(&mut doc, &cp.spec, self.doc_context(req));
        help_response(text, doc.to_value())
    }

    /// Root help always answers with a document: the host's OpenAPI endpoint breaks for
    /// every mount if one mount answers nothing or an error.
    async fn root_help(&self, req: &Request) -> Response {
        let routes: Vec<(&str, &str)> = self
            .paths
            .iter()
            .map(|p| (p.spec.pattern.as_str(), p.spec.help_synopsis.as_str()))
            .collect();
        let text = root_help(&self.help, &routes);
        let mut doc = OasDocument::new(&self.host_version().await);
        for cp in &self.paths {
            document_path(&mut doc, &cp.spec, self.doc_context(req));
        }
        help_response(text, doc.to_value())
    }
}

/// The handler's raw input: request data overlaid with the path captures, plus the
/// (sorted) request parameters the path does not know and those the captures replaced.
fn merge_input(
    path: &PathSpec,
    data: &JsonMap,
    captures: std::collections::BTreeMap<String, String>,
) -> (JsonMap, Vec<String>, Vec<String>) {
    let mut raw = data.clone();
    let ignored: Vec<String> = if path.takes_arbitrary_input {
        Vec::new()
    } else {
        data.keys()
            .filter(|k| !path.fields.contains_key(*k))
            .cloned()
            .collect()
    };
    let mut replaced = Vec::new();
    for (name, value) in captures {
        if raw.get(&name).is_some_and(|v| !v.is_null()) {
            replaced.push(name.clone());
        }
        raw.insert(name, Value::String(value));
    }
    (raw, ignored, replaced)
}

#[async_trait]
impl logical::Backend for Backend {
    async fn handle_request(&self, req: Request) -> Result<Option<Response>, Error> {
        self.dispatch(req).await
    }

    async fn handle_existence_check(&self, req: Request) -> Result<ExistenceCheck, Error> {
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return Err(Error::Internal(format!(
                "incorrect operation type {} for an existence check",
                req.operation
            )));
        }
        let RouteMatch { index, captures } =
            self.router.route(&req.path).ok_or(Error::UnsupportedPath)?;
        let cp = &self.paths[index];
        let Some(check) = &cp.handlers.existence_check else {
            return Ok(ExistenceCheck::default());
        };
        let (raw, _, _) = merge_input(&cp.spec, &req.data, captures);
        let data = FieldData::new(raw, Arc::clone(&cp.spec.fields));
        // Vault reports a validation failure here as a user error: HTTP 400.
        data.validate().map_err(Error::User)?;
        let exists = check(self.ctx.clone(), req, data).await?;
        Ok(ExistenceCheck {
            check_found: true,
            exists,
        })
    }

    fn special_paths(&self) -> SpecialPaths {
        self.special_paths.clone()
    }

    async fn initialize(&self) -> Result<(), Error> {
        match &self.hooks.initialize {
            Some(init) => init(self.ctx.clone()).await,
            None => Ok(()),
        }
    }

    async fn invalidate(&self, key: &str) {
        if let Some(invalidate) = &self.hooks.invalidate {
            invalidate(self.ctx.clone(), key.to_string()).await;
        }
    }

    async fn cleanup(&self) {
        if let Some(cleanup) = &self.hooks.cleanup {
            cleanup(self.ctx.clone()).await;
        }
    }

    fn backend_type(&self) -> BackendType {
        self.backend_type
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field(
                "paths",
                &self
                    .paths
                    .iter()
                    .map(|p| p.spec.pattern.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "secrets",
                &self
                    .secrets
                    .iter()
                    .map(|s| s.type_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("special_paths", &self.special_paths)
            .field("wal_policy", &self.wal_policy)
            .finish_non_exhaustive()
    }
}
