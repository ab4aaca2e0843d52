//! [engine] Every storage key of the AWS engine in one place, spelt exactly as the Go
//! engine spells them so a mount can switch between the Go and Rust binaries and keep
//! its configuration. Later paths add their keys and prefixes here.

/// The root credentials and client settings (seal-wrapped).
pub(crate) const CONFIG_ROOT: &str = "config/root";

/// The `iam_user` lease settings: JSON `{"Lease": ns, "LeaseMax": ns}`.
pub(crate) const CONFIG_LEASE: &str = "config/lease";
