//! # vault-plugin-secrets-aws-rs
//!
//! An AWS secrets engine for HashiCorp Vault and OpenBao, shipped as an external plugin
//! binary that the server launches and talks to over HashiCorp go-plugin's gRPC protocol
//! (protocol version 5, AutoMTLS).
//!
//! ## Layers
//!
//! ```text
//! main.rs ──> plugin ──> backend ──> client ──> logical
//!    │          │           │                      ^
//!    │          │           └──────────────────────┤  (backend sees only logical::Backend)
//!    │          └──> pb <── backend, client        │
//!    └──> aws ──> framework ──> logical ───────────┘
//! ```
//!
//! - [`plugin`]: go-plugin transport (cookie, handshake line, AutoMTLS, broker, controller).
//! - `backend`: the Vault backend protocol; converts protobuf to and from [`logical`].
//! - `client`: Storage and SystemView reached through the broker.
//! - [`logical`]: transport-free core types (requests, responses, storage, errors).
//! - [`framework`]: declarative paths, typed fields, secrets, WAL, help and OpenAPI.
//! - [`aws`]: the engine itself, on `framework` only.
//!
//! `tests/architecture.rs` enforces these edges.

pub mod aws;
pub mod backend;
pub mod client;
pub mod framework;
pub mod logical;
#[doc(hidden)]
pub mod pb;
pub mod plugin;
