//! [protocol adapter] `BackendServer`: the `pb.Backend` service. Setup dials the host's
//! broker through the injected `Dialer`, builds the Storage and SystemView clients and
//! calls the engine factory; every other RPC finds the instance (see `instances`),
//! converts the message (see `convert`), delegates to the `logical::Backend` and maps
//! errors (see `error_map`).
//!
//! With multiplexing (see `multiplex`) every mount has its own instance, made by its own
//! Setup with its own broker id, so its own channel to its own Storage and SystemView;
//! Cleanup drops only that one. Each call runs in a span carrying the instance key, so
//! the log lines of one process serving many mounts can be told apart (the host files
//! all of a multiplexed process's stderr under the mount that started it).
//!
//! Errors a host understands travel in band (`HandleRequestReply.err`,
//! `SetupReply.err`, ...); a gRPC status is used only where the reply has no error field,
//! or when there is no instance to ask, as the Go SDK does. A panic in engine code is
//! caught per call and answered as an internal error, so one bad request cannot take the
//! mount down. This module never calls Storage or SystemView itself, and in particular
//! not during Setup: while the host probes a registration there is nothing behind them.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::SystemTime;

use futures::FutureExt;
use tonic::{Request, Response, Status};
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::Dialer;
use super::convert;
use super::error_map::to_proto;
use super::instances::Instances;
use super::multiplex::{Multiplexing, instance_key};
use crate::client;
use crate::logical::{self, Backend, BackendConfig, Error, Factory};
use crate::pb::pb::backend_server::Backend as PbBackend;
use crate::pb::pb::{
    Empty, HandleExistenceCheckArgs, HandleExistenceCheckReply, HandleRequestArgs,
    HandleRequestReply, InitializeArgs, InitializeReply, InvalidateKeyArgs, SetupArgs, SetupReply,
    SpecialPathsReply, TypeReply,
};

/// What a panicking handler's caller is told.
pub(crate) const PANIC_MESSAGE: &str = "internal error: handler panicked";

/// The `pb.Backend` service over engines built by a `logical::Factory`.
pub struct BackendServer {
    factory: Factory,
    dialer: Arc<dyn Dialer>,
    instances: Instances,
    mode: Multiplexing,
}

impl BackendServer {
    /// A server with no instance yet that never multiplexes; the host's Setup creates one.
    pub fn new(factory: Factory, dialer: Arc<dyn Dialer>) -> Self {
        Self::with_mode(factory, dialer, Multiplexing::default())
    }

    /// A server whose key rules follow `mode` (turned on by the PluginMultiplexing service).
    pub(crate) fn with_mode(factory: Factory, dialer: Arc<dyn Dialer>, mode: Multiplexing) -> Self {
        BackendServer {
            factory,
            dialer,
            instances: Instances::default(),
            mode,
        }
    }

    /// The instance key of a call, or the refusal of a multiplexed call without one id.
    fn key<T>(&self, request: &Request<T>) -> Result<String, Status> {
        instance_key(request.metadata(), self.mode.is_on())
    }

    /// The instance a call is for (with the span its work runs in), or the status the Go
    /// SDK answers when there is none.
    fn instance<T>(
        &self,
        request: &Request<T>,
    ) -> Result<(Arc<dyn Backend>, tracing::Span), Status> {
        let key = self.key(request)?;
        let backend = self
            .instances
            .get(&key, !self.mode.is_on())
            .ok_or_else(no_instance)?;
        Ok((backend, instance_span(&key)))
    }

    /// Dials the broker, wires the host clients and runs the factory. Touches neither
    /// storage nor the system view: the channel connects on first use.
    async fn build(&self, args: SetupArgs) -> Result<Arc<dyn Backend>, Error> {
        let broker_id = args.broker_id;
        let channel = self.dialer.dial(broker_id).await.map_err(|e| {
            Error::Internal(format!(
                "setup: cannot reach the host's storage and system view (broker id {broker_id}): {e}"
            ))
        })?;
        let (storage, system_view) = client::connect(channel);
        let config = BackendConfig {
            storage,
            system_view,
            config: args.config,
            backend_uuid: args.backend_uuid,
        };
        (self.factory)(config)
            .await
            .map_err(|e| Error::Internal(format!("setup: the backend factory failed: {e}")))
    }

    /// Builds the instance for `key` and stores it; a failure is the reply's `err`.
    async fn setup_instance(&self, key: String, args: SetupArgs) -> SetupReply {
        // Mount options may be sensitive in other engines; log only what identifies the call.
        debug!(
            broker_id = args.broker_id,
            backend_uuid = args.backend_uuid,
            "Setup"
        );
        let backend = match guarded("Setup", "", "", self.build(args)).await {
            Ok(backend) => backend,
            Err(e) => {
                error!(error = %e, "Setup failed");
                return SetupReply { err: e.to_string() };
            }
        };
        if let Some(old) = self.instances.insert(key, backend) {
            // Not expected: the host gives every Setup a fresh id (a host without ids
            // re-mounting is the exception). Stop the old instance's background work so
            // it does not outlive its replacement.
            warn!("Setup replaced a running backend instance; cleaning up the old one");
            let call = async {
                old.cleanup().await;
                Ok(())
            };
            let _ = guarded("Cleanup", "", "", call).await;
        }
        info!(
            instances = self.instances.len(),
            "Setup: backend instance ready"
        );
        SetupReply { err: String::new() }
    }
}

/// The span one call runs in: which instance (mount) it is for.
fn instance_span(key: &str) -> tracing::Span {
    info_span!("backend", instance = key)
}

/// The status for a call that has no instance to go to (the Go SDK also answers these
/// with a gRPC error rather than in band).
fn no_instance() -> Status {
    Status::failed_precondition(
        "no backend instance: Setup has not been called for this backend, it failed, or Cleanup already ran",
    )
}

/// Runs one call into engine code, turning a panic into an internal error. `rpc`,
/// `operation` and `path` only label the log line; request data is never logged.
async fn guarded<T>(
    rpc: &'static str,
    operation: &str,
    path: &str,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            error!(
                rpc,
                operation, path, "handler panicked; answering an internal error"
            );
            Err(Error::Internal(PANIC_MESSAGE.to_string()))
        }
    }
}

/// A panic in a call whose reply has no error field becomes a gRPC status.
fn status_of(err: Error) -> Status {
    Status::internal(err.to_string())
}

fn handle_request_reply(result: Result<Option<logical::Response>, Error>) -> HandleRequestReply {
    let converted = match result {
        Ok(Some(resp)) => convert::response_to_proto(resp, SystemTime::now()).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match converted {
        Ok(response) => HandleRequestReply {
            response,
            err: None,
        },
        Err(e) => HandleRequestReply {
            response: None,
            err: Some(to_proto(&e)),
        },
    }
}

/// The request inside a HandleRequest or HandleExistenceCheck, converted.
fn logical_request(request: Option<crate::pb::pb::Request>) -> Result<logical::Request, Error> {
    let request = request.ok_or_else(|| Error::Internal("the host sent no request".to_string()))?;
    convert::request_from_proto(request)
}

#[tonic::async_trait]
impl PbBackend for BackendServer {
    async fn handle_request(
        &self,
        request: Request<HandleRequestArgs>,
    ) -> Result<Response<HandleRequestReply>, Status> {
        let (backend, span) = self.instance(&request)?;
        let req = match logical_request(request.into_inner().request) {
            Ok(req) => req,
            Err(e) => return Ok(Response::new(handle_request_reply(Err(e)))),
        };
        let call = async move {
            let (operation, path) = (req.operation.to_string(), req.path.clone());
            debug!(operation, path, "HandleRequest");
            let call = backend.handle_request(req);
            let result = guarded("HandleRequest", &operation, &path, call).await;
            if let Err(e) = &result {
                debug!(operation, path, kind = ?e.kind(), "HandleRequest failed");
            }
            handle_request_reply(result)
        };
        Ok(Response::new(call.instrument(span).await))
    }

    async fn special_paths(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<SpecialPathsReply>, Status> {
        let (backend, span) = self.instance(&request)?;
        let paths = guarded("SpecialPaths", "", "", async {
            Ok(backend.special_paths())
        })
        .instrument(span)
        .await
        .map_err(status_of)?;
        Ok(Response::new(SpecialPathsReply {
            paths: Some(convert::special_paths_to_proto(paths)),
        }))
    }

    async fn handle_existence_check(
        &self,
        request: Request<HandleExistenceCheckArgs>,
    ) -> Result<Response<HandleExistenceCheckReply>, Status> {
        let (backend, span) = self.instance(&request)?;
        let req = match logical_request(request.into_inner().request) {
            Ok(req) => req,
            Err(e) => {
                return Ok(Response::new(HandleExistenceCheckReply {
                    err: Some(to_proto(&e)),
                    ..Default::default()
                }));
            }
        };
        let call = async move {
            let (operation, path) = (req.operation.to_string(), req.path.clone());
            debug!(operation, path, "HandleExistenceCheck");
            let call = backend.handle_existence_check(req);
            match guarded("HandleExistenceCheck", &operation, &path, call).await {
                Ok(check) => HandleExistenceCheckReply {
                    check_found: check.check_found,
                    exists: check.exists,
                    err: None,
                },
                Err(e) => HandleExistenceCheckReply {
                    err: Some(to_proto(&e)),
                    ..Default::default()
                },
            }
        };
        Ok(Response::new(call.instrument(span).await))
    }

    async fn cleanup(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let key = self.key(&request)?;
        // Removed before cleaning up, so that calls racing with Cleanup see "no
        // instance" instead of a backend whose background work is being stopped. Only
        // this key: the other mounts of a multiplexed process keep serving.
        let Some(backend) = self.instances.remove(&key, !self.mode.is_on()) else {
            return Err(no_instance());
        };
        let remaining = self.instances.len();
        let call = async {
            info!(remaining, "Cleanup");
            backend.cleanup().await;
            Ok(())
        };
        guarded("Cleanup", "", "", call)
            .instrument(instance_span(&key))
            .await
            .map_err(status_of)?;
        Ok(Response::new(Empty {}))
    }

    async fn invalidate_key(
        &self,
        request: Request<InvalidateKeyArgs>,
    ) -> Result<Response<Empty>, Status> {
        let (backend, span) = self.instance(&request)?;
        let key = request.into_inner().key;
        let call = async {
            debug!(key, "InvalidateKey");
            backend.invalidate(&key).await;
            Ok(())
        };
        guarded("InvalidateKey", "", "", call)
            .instrument(span)
            .await
            .map_err(status_of)?;
        Ok(Response::new(Empty {}))
    }

    async fn setup(&self, request: Request<SetupArgs>) -> Result<Response<SetupReply>, Status> {
        let key = self.key(&request)?;
        let args = request.into_inner();
        let span = instance_span(&key);
        let reply = self.setup_instance(key, args).instrument(span).await;
        Ok(Response::new(reply))
    }

    async fn initialize(
        &self,
        request: Request<InitializeArgs>,
    ) -> Result<Response<InitializeReply>, Status> {
        let (backend, span) = self.instance(&request)?;
        let call = async {
            debug!("Initialize");
            let err = guarded("Initialize", "", "", backend.initialize())
                .await
                .err();
            if let Some(e) = &err {
                warn!(kind = ?e.kind(), error = %e, "Initialize failed");
            }
            err
        };
        let err = call.instrument(span).await;
        Ok(Response::new(InitializeReply {
            err: err.as_ref().map(to_proto),
        }))
    }

    async fn r#type(&self, request: Request<Empty>) -> Result<Response<TypeReply>, Status> {
        let (backend, span) = self.instance(&request)?;
        let ty = guarded("Type", "", "", async { Ok(backend.backend_type()) })
            .instrument(span)
            .await
            .map_err(status_of)?;
        Ok(Response::new(TypeReply {
            r#type: convert::backend_type_to_proto(ty),
        }))
    }
}
