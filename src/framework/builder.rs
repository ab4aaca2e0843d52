//! [framework] `BackendBuilder`: how an engine describes itself — help text, paths,
//! secret types, special paths, hooks, WAL policy, clock — and the checks that turn the
//! description into a servable `Backend` (patterns compiled once, defaults that convert,
//! existence checks backed by a create handler, unique secret type names). Dispatch
//! lives in `backend`. The declarations (help, path specs, secret fields) are shared with
//! the other backends of the process that declare the same (see `spec`); each backend
//! owns only its handlers, hooks and services.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;

use super::backend::Backend;
use super::clock::{Clock, SystemClock};
use super::coerce::coerce;
use super::context::Context;
use super::field::FieldMap;
use super::operation::{
    CleanupFunc, InitializeFunc, InvalidateFunc, PeriodicFunc, WalRollbackFunc,
};
use super::path::Path;
use super::router::Router;
use super::secret::SecretType;
use super::spec::{Interner, PathHandlers, PathSpec};
use super::wal::WalPolicy;
use crate::logical::{BackendConfig, BackendType, Error, Operation, Request, SpecialPaths};

/// A path of one backend: its declaration, shared process-wide, and its own handlers.
pub(super) struct CompiledPath {
    pub(super) spec: Arc<PathSpec>,
    pub(super) handlers: PathHandlers,
}

/// Path declarations in use by some backend of this process.
static PATH_SPECS: Interner<PathSpec> = Interner::new();

/// Secret types' field maps in use by some backend of this process.
static SECRET_FIELDS: Interner<FieldMap> = Interner::new();

/// Root help texts in use by some backend of this process.
static HELP_TEXTS: Interner<String> = Interner::new();

#[derive(Clone, Default)]
pub(super) struct Hooks {
    pub(super) periodic: Option<PeriodicFunc>,
    pub(super) wal_rollback: Option<WalRollbackFunc>,
    pub(super) invalidate: Option<InvalidateFunc>,
    pub(super) initialize: Option<InitializeFunc>,
    pub(super) cleanup: Option<CleanupFunc>,
}

/// Describes a backend; [`BackendBuilder::build`] checks and compiles it.
#[must_use]
pub struct BackendBuilder {
    help: String,
    paths: Vec<Path>,
    secrets: Vec<SecretType>,
    special_paths: SpecialPaths,
    hooks: Hooks,
    wal_policy: WalPolicy,
    backend_type: BackendType,
    clock: Arc<dyn Clock>,
}

impl BackendBuilder {
    /// An empty description: no paths, a secrets engine, Vault's WAL defaults, the real clock.
    pub(super) fn new() -> Self {
        BackendBuilder {
            help: String::new(),
            paths: Vec::new(),
            secrets: Vec::new(),
            special_paths: SpecialPaths::default(),
            hooks: Hooks::default(),
            wal_policy: WalPolicy::default(),
            backend_type: BackendType::Logical,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the backend's root help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Adds a path; earlier paths win when several match.
    pub fn path(mut self, path: Path) -> Self {
        self.paths.push(path);
        self
    }

    /// Adds paths.
    pub fn paths(mut self, paths: impl IntoIterator<Item = Path>) -> Self {
        self.paths.extend(paths);
        self
    }

    /// Adds a secret type.
    pub fn secret(mut self, secret: SecretType) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets the special paths (seal-wrapped and local storage, root and unauthenticated paths).
    pub fn special_paths(mut self, paths: SpecialPaths) -> Self {
        self.special_paths = paths;
        self
    }

    /// Sets the periodic hook, run first on every `rollback` tick.
    pub fn periodic<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.hooks.periodic = Some(Arc::new(move |ctx, req| f(ctx, req).boxed()));
        self
    }

    /// Sets the WAL rollback hook, called with each old-enough entry's kind and data.
    /// Without it the rollback pass leaves WAL entries alone.
    pub fn wal_rollback<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context, Request, String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.hooks.wal_rollback = Some(Arc::new(move |ctx, req, kind, data| {
            f(ctx, req, kind, data).boxed()
        }));
        self
    }

    /// Minimum age of a WAL entry before it is rolled back (default 10 minutes); longer
    /// than any successful operation takes.
    pub fn wal_rollback_min_age(mut self, age: Duration) -> Self {
        self.wal_policy.min_age = age;
        self
    }

    /// Age after which a WAL entry whose rollback fails is dropped (default: never).
    pub fn wal_rollback_max_age(mut self, age: Duration) -> Self {
        self.wal_policy.max_age = Some(age);
        self
    }

    /// Sets the invalidate hook.
    pub fn invalidate<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.invalidate = Some(Arc::new(move |ctx, key| f(ctx, key).boxed()));
        self
    }

    /// Sets the initialize hook (storage is usable from here on).
    pub fn initialize<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.hooks.initialize = Some(Arc::new(move |ctx| f(ctx).boxed()));
        self
    }

    /// Sets the cleanup hook (stop background work).
    pub fn cleanup<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.cleanup = Some(Arc::new(move |ctx| f(ctx).boxed()));
        self
    }

    /// Sets the backend type (default: secrets engine).
    pub fn backend_type(mut self, backend_type: BackendType) -> Self {
        self.backend_type = backend_type;
        self
    }

    /// Replaces the clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Compiles the patterns and checks the declarations against `config`'s services.
    /// Mistakes in the declaration (bad pattern, unconvertible default, an existence
    /// check without a create handler, duplicate secret type) are internal errors naming
    /// the culprit.
    pub fn build(self, config: &BackendConfig) -> Result<Backend, Error> {
        let mut paths = Vec::with_capacity(self.paths.len());
        for path in self.paths {
            if path.pattern.is_empty() {
                return Err(Error::Internal(
                    "routing pattern cannot be blank".to_string(),
                ));
            }
            check_defaults(&path)?;
            // The host turns a write into `create` whenever the check says "absent"; a
            // path that cannot handle it would answer those writes with a 405.
            if path.existence_check.is_some() && !path.operations.contains_key(&Operation::Create) {
                return Err(Error::Internal(format!(
                    "path {:?} has an existence check but no create operation",
                    path.pattern
                )));
            }
            let (spec, handlers) = PathSpec::split(path);
            paths.push(CompiledPath {
                spec: PATH_SPECS.share(spec),
                handlers,
            });
        }
        let router =
            Router::new(paths.iter().map(|p| p.spec.pattern.as_str())).map_err(Error::Internal)?;
        for (i, s) in self.secrets.iter().enumerate() {
            if self.secrets[..i]
                .iter()
                .any(|other| other.type_name == s.type_name)
            {
                return Err(Error::Internal(format!(
                    "secret type {:?} declared twice",
                    s.type_name
                )));
            }
        }
        let secrets = self
            .secrets
            .into_iter()
            .map(|mut secret| {
                secret.fields = SECRET_FIELDS.share(Arc::unwrap_or_clone(secret.fields));
                secret
            })
            .collect();
        Ok(Backend {
            help: HELP_TEXTS.share(self.help),
            paths,
            router,
            secrets,
            special_paths: self.special_paths,
            hooks: self.hooks,
            wal_policy: self.wal_policy,
            backend_type: self.backend_type,
            replication_state: std::sync::OnceLock::new(),
            ctx: Context::new(
                Arc::clone(&config.storage),
                Arc::clone(&config.system_view),
                self.clock,
            ),
        })
    }
}

fn check_defaults(path: &Path) -> Result<(), Error> {
    for (name, field) in &path.fields {
        if let Some(default) = &field.default
            && let Err(why) = coerce(field.field_type, default)
        {
            return Err(Error::Internal(format!(
                "path {:?}: default of field {name:?} is not a valid {}: {why}",
                path.pattern,
                field.field_type.help_name()
            )));
        }
    }
    Ok(())
}
