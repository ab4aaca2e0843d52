//! [engine] Every storage key of the AWS engine in one place, spelt exactly as the Go
//! engine spells them so a mount can switch between the Go and Rust binaries and keep
//! its configuration. Later paths add their keys and prefixes here.

/// The root credentials and client settings (seal-wrapped).
pub(crate) const CONFIG_ROOT: &str = "config/root";

/// The `iam_user` lease settings: JSON `{"Lease": ns, "LeaseMax": ns}`.
pub(crate) const CONFIG_LEASE: &str = "config/lease";

/// Prefix of roles: `role/<name>` holds the JSON role (`role::Role`).
pub const ROLE_PREFIX: &str = "role/";

/// Prefix of pre-0.10 Vault roles: `policy/<name>` holds a raw policy document or ARN,
/// upgraded to `role/<name>` when read.
pub const LEGACY_ROLE_PREFIX: &str = "policy/";

/// Prefix of the ledger of issued IAM users: `iam_users/<username>` (ours; the Go engine
/// has no such entries and ignores them).
pub(crate) const LEDGER_PREFIX: &str = "iam_users/";

/// The WAL kind of a half-made IAM user; its data is `{"UserName": …}`, as Go writes it.
pub(crate) const WAL_KIND_USER: &str = "user";
