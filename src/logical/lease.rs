//! Leases as a backend sees them: the options the host uses to create and extend a lease,
//! and the `Secret` a response carries to ask for one (and a renew/revoke request carries
//! back). Durations are `std::time::Duration`; the protocol layer converts them to the
//! nanoseconds Vault puts on the wire.

use std::time::{Duration, SystemTime};

use super::JsonMap;

/// Vault's `logical.LeaseOptions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaseOptions {
    /// Lease TTL; zero means the mount's default.
    pub ttl: Duration,
    /// Maximum lifetime; zero means the mount's maximum.
    pub max_ttl: Duration,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// On renew: the increment the caller asked for.
    pub increment: Duration,
    /// When the lease was first issued. The host requires one on every secret it is sent;
    /// `None` is filled with "now" by the protocol layer.
    pub issue_time: Option<SystemTime>,
}

/// Vault's `logical.Secret`: the lease-bearing part of a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secret {
    /// Lease options.
    pub lease_options: LeaseOptions,
    /// Data the host stores with the lease and hands back on renew and revoke; never shown
    /// to clients. The framework keeps `secret_type` here.
    pub internal_data: JsonMap,
    /// Lease ID; set by the host, empty in renew/revoke requests sent to plugins.
    pub lease_id: String,
}

impl LeaseOptions {
    /// The time the lease expires if it is not renewed, counted from its issue time (or
    /// from `now` when the issue time is unknown).
    pub fn expiration(&self, now: SystemTime) -> Option<SystemTime> {
        if self.ttl.is_zero() {
            return None;
        }
        Some(self.issue_time.unwrap_or(now) + self.ttl)
    }
}
