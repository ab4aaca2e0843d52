//! [framework] The callables an engine plugs into the framework: operation handlers,
//! existence checks and the backend hooks (periodic, WAL rollback, invalidate,
//! initialize, cleanup), plus `PathOperation`, a handler with its documentation.
//!
//! Handlers take their arguments by value (`Context`, `Request`, `FieldData`) and return
//! a `'static` boxed future, so an engine writes plain `async move` closures that clone
//! whatever shared state they need. Nothing here routes or validates; `backend` does.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;

use super::context::Context;
use super::field::DisplayAttributes;
use super::field_data::FieldData;
use crate::logical::{Error, Request, Response};

/// What a handler returns: a response, `None` (404 on read, 204 on write), or an error.
pub type HandlerResult = Result<Option<Response>, Error>;

/// An operation handler.
pub type OperationFunc =
    Arc<dyn Fn(Context, Request, FieldData) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// An existence check: does the object at this path exist (update) or not (create)?
pub type ExistenceFunc = Arc<
    dyn Fn(Context, Request, FieldData) -> BoxFuture<'static, Result<bool, Error>> + Send + Sync,
>;

/// The periodic hook, run on every `rollback` tick (once a minute) before the WAL pass.
pub type PeriodicFunc =
    Arc<dyn Fn(Context, Request) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// Rolls back one WAL entry, given its kind and data.
pub type WalRollbackFunc = Arc<
    dyn Fn(Context, Request, String, Value) -> BoxFuture<'static, Result<(), Error>> + Send + Sync,
>;

/// Called with a storage key that changed elsewhere.
pub type InvalidateFunc = Arc<dyn Fn(Context, String) -> BoxFuture<'static, ()> + Send + Sync>;

/// Called once storage is usable (after mount or unseal).
pub type InitializeFunc =
    Arc<dyn Fn(Context) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// Called when the mount goes away.
pub type CleanupFunc = Arc<dyn Fn(Context) -> BoxFuture<'static, ()> + Send + Sync>;

/// Boxes an async closure into an [`OperationFunc`].
pub fn operation_fn<F, Fut>(f: F) -> OperationFunc
where
    F: Fn(Context, Request, FieldData) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(move |ctx, req, data| f(ctx, req, data).boxed())
}

/// Boxes an async closure into an [`ExistenceFunc`].
pub fn existence_fn<F, Fut>(f: F) -> ExistenceFunc
where
    F: Fn(Context, Request, FieldData) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, Error>> + Send + 'static,
{
    Arc::new(move |ctx, req, data| f(ctx, req, data).boxed())
}

/// A handler for one operation on a path, with its documentation (Vault's
/// `framework.PathOperation`).
#[derive(Clone)]
pub struct PathOperation {
    callback: OperationFunc,
    /// One-line summary (OpenAPI).
    pub summary: String,
    /// Longer description (OpenAPI).
    pub description: String,
    /// Left out of OpenAPI.
    pub unpublished: bool,
    /// Marked deprecated in OpenAPI.
    pub deprecated: bool,
    /// Operation-level display attributes; their operation-ID hints win over the path's.
    pub display_attrs: Option<DisplayAttributes>,
    /// On a performance standby, answer "cannot write to readonly storage" before the
    /// handler runs, so the host forwards the request to the active node (Vault's
    /// `ForwardPerformanceStandby`). For handlers that act outside storage (AWS) before
    /// they write: OpenBao's Raft standbys serve requests themselves and forward only on
    /// that error, which would otherwise come after the AWS call.
    pub forward_performance_standby: bool,
}

impl PathOperation {
    /// An operation running `f`.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(Context, Request, FieldData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        Self::from_fn(operation_fn(f))
    }

    /// An operation running an already boxed handler.
    pub fn from_fn(callback: OperationFunc) -> Self {
        PathOperation {
            callback,
            summary: String::new(),
            description: String::new(),
            unpublished: false,
            deprecated: false,
            display_attrs: None,
            forward_performance_standby: false,
        }
    }

    /// Sets the summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Hides the operation from OpenAPI.
    pub fn unpublished(mut self) -> Self {
        self.unpublished = true;
        self
    }

    /// Marks the operation deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Sets display attributes (e.g. `DisplayAttributes::operation("configure", "lease")`).
    pub fn display(mut self, attrs: DisplayAttributes) -> Self {
        self.display_attrs = Some(attrs);
        self
    }

    /// Sends the operation to the active node when this node is a performance standby
    /// (see [`PathOperation::forward_performance_standby`]).
    pub fn forward_performance_standby(mut self) -> Self {
        self.forward_performance_standby = true;
        self
    }

    /// The handler.
    pub fn handler(&self) -> &OperationFunc {
        &self.callback
    }
}

impl fmt::Debug for PathOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathOperation")
            .field("summary", &self.summary)
            .field("unpublished", &self.unpublished)
            .field("deprecated", &self.deprecated)
            .finish_non_exhaustive()
    }
}
