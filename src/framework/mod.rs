//! [framework] The declarative engine kit (Vault's `sdk/framework`): an engine lists its
//! paths as data — a pattern, typed fields, a handler per operation, an existence check,
//! help text — plus its secret types and hooks, and [`Backend`] turns that into a
//! `logical::Backend`: routing, Vault-compatible input coercion and validation messages,
//! create-vs-update existence checks, renew/revoke dispatch by `secret_type`, the WAL
//! and its rollback pass, path help and the OpenAPI document.
//!
//! This layer depends only on `logical` (no gRPC, no protobuf, no AWS), so a whole
//! engine can be driven in tests through [`testing::TestBackend`] with in-memory storage.
//!
//! ```
//! use vault_plugin_secrets_aws_rs::framework::{Backend, FieldSchema, FieldType, Path, PathOperation};
//! use vault_plugin_secrets_aws_rs::logical::{Operation, Response};
//!
//! let hello = Path::new("hello")
//!     .field("name", FieldSchema::new(FieldType::String, "Who to greet.").with_default("world"))
//!     .operation(
//!         Operation::Read,
//!         PathOperation::new(|_ctx, _req, data| async move {
//!             let mut out = serde_json::Map::new();
//!             out.insert("greeting".into(), format!("hello {}", data.get_string("name")?).into());
//!             Ok(Some(Response::with_data(out)))
//!         }),
//!     )
//!     .help("Says hello.", "Says hello to `name`.");
//! let builder = Backend::builder().help("A greeter.").path(hello);
//! # let _ = builder;
//! ```

mod backend;
mod builder;
mod clock;
mod coerce;
mod context;
mod duration;
mod field;
mod field_data;
mod help;
mod input_limits;
mod lease;
mod multierror;
mod openapi;
mod operation;
mod path;
mod router;
mod secret;
mod spec;
pub mod template;
pub mod testing;
mod wal;

pub use backend::Backend;
pub use builder::BackendBuilder;
pub use clock::{Clock, ManualClock, SystemClock, from_unix_seconds, unix_seconds};
pub use context::Context;
pub use duration::{
    NANOS_PER_SECOND, format_go_duration, format_std_duration, parse_duration_second,
    parse_duration_second_str, parse_go_duration,
};
pub use field::{DisplayAttributes, FieldMap, FieldSchema, FieldType, FieldValue, InputLimits};
pub use field_data::FieldData;
pub use lease::{
    MountTtls, TtlError, TtlRequest, calculate_ttl, calculate_ttl_with, human_duration,
};
pub use multierror::format_errors;
pub use openapi::{OAS_VERSION, OasDocument};
pub use operation::{
    CleanupFunc, ExistenceFunc, HandlerResult, InitializeFunc, InvalidateFunc, OperationFunc,
    PathOperation, PeriodicFunc, WalRollbackFunc, existence_fn, operation_fn,
};
pub use path::{
    Path, generic_name_regex, generic_name_with_at_regex, match_all_regex,
    optional_generic_name_regex, optional_param_regex,
};
pub use secret::{SECRET_TYPE_KEY, SecretType};
pub use wal::{
    DEFAULT_MIN_AGE, WAL_PREFIX, WalEntry, WalPolicy, delete_wal, get_wal, list_wal, put_wal,
};
