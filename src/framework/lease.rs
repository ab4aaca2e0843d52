//! [framework] TTL arithmetic for leases (Vault's `framework.CalculateTTL`): pick a TTL
//! from the caller's increment, the backend's TTL or the mount default, then cap it so
//! the lease never outlives the effective maximum (the mount maximum, lowered by a
//! backend or explicit maximum), counted from the lease's start. Capping produces
//! Vault's warning text. Pure functions over values; the async wrapper only reads the
//! mount limits from the system view.

use std::time::{Duration, SystemTime};

use super::duration::format_std_duration;
use crate::logical::{Error, SystemView};

/// The mount's lease limits, as the system view reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountTtls {
    /// Default lease TTL of the mount.
    pub default_ttl: Duration,
    /// Maximum lease TTL of the mount.
    pub max_ttl: Duration,
}

impl MountTtls {
    /// Reads the limits from the host.
    pub async fn from_system(system: &dyn SystemView) -> Result<Self, Error> {
        Ok(MountTtls {
            default_ttl: system.default_lease_ttl().await?,
            max_ttl: system.max_lease_ttl().await?,
        })
    }
}

/// The inputs of a TTL calculation; zero means "not given".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TtlRequest {
    /// What the caller asked for (e.g. the renew increment or a `ttl` parameter).
    pub increment: Duration,
    /// The backend's TTL (e.g. from a role), used when the caller gave none.
    pub backend_ttl: Duration,
    /// A periodic TTL: reset to this on every renewal, ignoring the lease's age.
    pub period: Duration,
    /// A backend maximum (e.g. from a role); only lowers the mount maximum.
    pub backend_max_ttl: Duration,
    /// An explicit maximum set on the object; only lowers the mount maximum.
    pub explicit_max_ttl: Duration,
    /// When the lease was first issued; `None` means now.
    pub start_time: Option<SystemTime>,
}

/// Why no TTL could be calculated (Go's error texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    /// The effective maximum is zero.
    #[error("max TTL must be greater than zero")]
    NoMaxTtl,
    /// The lease is already past its maximum lifetime.
    #[error("past the max TTL, cannot renew")]
    PastMaxTtl,
}

impl From<TtlError> for Error {
    fn from(e: TtlError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Computes the TTL and any capping warnings, at time `now`. Times are truncated to whole
/// seconds first, as Vault does.
pub fn calculate_ttl(
    mount: MountTtls,
    req: &TtlRequest,
    now: SystemTime,
) -> Result<(Duration, Vec<String>), TtlError> {
    let now = truncate_to_second(now);
    let start = req.start_time.map_or(now, truncate_to_second);
    let mut max_ttl = mount.max_ttl;
    for lower in [req.backend_max_ttl, req.explicit_max_ttl] {
        if !lower.is_zero() && lower < max_ttl {
            max_ttl = lower;
        }
    }
    if max_ttl.is_zero() {
        return Err(TtlError::NoMaxTtl);
    }
    let mut warnings = Vec::new();
    let (ttl, max_valid_time) = if !req.period.is_zero() {
        let mut period = req.period;
        if period > max_ttl {
            warnings.push(format!(
                "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
                human_duration(period),
                human_duration(max_ttl)
            ));
            period = max_ttl;
        }
        let limit = (!req.explicit_max_ttl.is_zero()).then(|| start + req.explicit_max_ttl);
        (period, limit)
    } else {
        let ttl = [req.increment, req.backend_ttl]
            .into_iter()
            .find(|d| !d.is_zero())
            .unwrap_or(mount.default_ttl);
        (ttl, Some(start + max_ttl))
    };
    let Some(max_valid_time) = max_valid_time else {
        return Ok((ttl, warnings));
    };
    let max_valid_ttl = max_valid_time.duration_since(now).unwrap_or(Duration::ZERO);
    if max_valid_ttl.is_zero() {
        return Err(TtlError::PastMaxTtl);
    }
    if ttl > max_valid_ttl {
        warnings.push(format!(
            "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
            human_duration(ttl),
            human_duration(max_valid_ttl)
        ));
        return Ok((max_valid_ttl, warnings));
    }
    Ok((ttl, warnings))
}

/// [`calculate_ttl`] with the mount limits read from the host.
pub async fn calculate_ttl_with(
    system: &dyn SystemView,
    req: &TtlRequest,
    now: SystemTime,
) -> Result<(Duration, Vec<String>), Error> {
    let mount = MountTtls::from_system(system).await?;
    Ok(calculate_ttl(mount, req, now)?)
}

fn truncate_to_second(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// A Go duration string without zero components (`1h`, `1h30m`, `90s` → `1m30s`), as
/// Vault prints TTLs in warnings.
pub fn human_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    let mut s = format_std_duration(d);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m") {
        s.replace_range(i + 1..i + 3, "");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn mount() -> MountTtls {
        MountTtls {
            default_ttl: secs(H),
            max_ttl: secs(24 * H),
        }
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + secs(1_000_000)
    }

    #[test]
    fn picks_increment_then_backend_then_mount_default() {
        let calc = |req: TtlRequest| calculate_ttl(mount(), &req, now()).expect("ttl");
        assert_eq!(calc(TtlRequest::default()), (secs(H), vec![]));
        assert_eq!(
            calc(TtlRequest {
                backend_ttl: secs(600),
                ..Default::default()
            })
            .0,
            secs(600)
        );
        let both = TtlRequest {
            increment: secs(120),
            backend_ttl: secs(600),
            ..Default::default()
        };
        assert_eq!(calc(both).0, secs(120));
    }

    #[test]
    fn caps_at_the_lowest_maximum_with_a_warning() {
        let req = TtlRequest {
            increment: secs(48 * H),
            ..Default::default()
        };
        let (ttl, warnings) = calculate_ttl(mount(), &req, now()).expect("ttl");
        assert_eq!(ttl, secs(24 * H));
        assert_eq!(
            warnings,
            vec![
                r#"TTL of "48h" exceeded the effective max_ttl of "24h"; TTL value is capped accordingly"#
            ]
        );
        let role_max = TtlRequest {
            increment: secs(2 * H),
            backend_max_ttl: secs(H),
            ..Default::default()
        };
        assert_eq!(
            calculate_ttl(mount(), &role_max, now()).expect("ttl").0,
            secs(H)
        );
        // A backend maximum above the mount maximum does not raise it.
        let loose = TtlRequest {
            increment: secs(30 * H),
            backend_max_ttl: secs(48 * H),
            ..Default::default()
        };
        assert_eq!(
            calculate_ttl(mount(), &loose, now()).expect("ttl").0,
            secs(24 * H)
        );
    }

    #[test]
    fn renewals_are_capped_by_lease_age() {
        let started = now() - secs(23 * H);
        let req = TtlRequest {
            increment: secs(2 * H),
            start_time: Some(started),
            ..Default::default()
        };
        let (ttl, warnings) = calculate_ttl(mount(), &req, now()).expect("ttl");
        assert_eq!(ttl, secs(H));
        assert_eq!(warnings.len(), 1);
        let expired = TtlRequest {
            start_time: Some(now() - secs(25 * H)),
            ..Default::default()
        };
        assert_eq!(
            calculate_ttl(mount(), &expired, now()),
            Err(TtlError::PastMaxTtl)
        );
    }

    #[test]
    fn periods_ignore_age_but_not_explicit_max() {
        let old = Some(now() - secs(100 * H));
        let periodic = TtlRequest {
            period: secs(2 * H),
            start_time: old,
            ..Default::default()
        };
        assert_eq!(
            calculate_ttl(mount(), &periodic, now()).expect("ttl"),
            (secs(2 * H), vec![])
        );
        let capped = TtlRequest {
            period: secs(48 * H),
            ..Default::default()
        };
        let (ttl, warnings) = calculate_ttl(mount(), &capped, now()).expect("ttl");
        assert_eq!(ttl, secs(24 * H));
        assert_eq!(
            warnings,
            vec![
                r#"period of "48h" exceeded the effective max_ttl of "24h"; period value is capped accordingly"#
            ]
        );
    }

    #[test]
    fn zero_maximum_is_an_error() {
        let m = MountTtls {
            default_ttl: secs(1),
            max_ttl: Duration::ZERO,
        };
        assert_eq!(
            calculate_ttl(m, &TtlRequest::default(), now()),
            Err(TtlError::NoMaxTtl)
        );
    }

    #[test]
    fn human_durations_drop_zero_parts() {
        assert_eq!(human_duration(secs(H)), "1h");
        assert_eq!(human_duration(secs(H + 30)), "1h30s");
        assert_eq!(human_duration(secs(90 * 60)), "1h30m");
        assert_eq!(human_duration(secs(300)), "5m");
        assert_eq!(human_duration(secs(90)), "1m30s");
        assert_eq!(human_duration(Duration::ZERO), "0s");
    }
}
