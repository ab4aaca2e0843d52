//! \[engine\] The AWS secrets engine, built on the framework: `factory()` is the
//! `logical::Factory` the binary hands to the transport. Each API path family lives in
//! its own `path_*.rs` file named after the URL, as in the Go engine; storage keys live
//! in `storage`. Every mount gets one [`backend::AwsBackend`] (client cache and locks)
//! shared by its handlers and hooks; the AWS calls go through the narrow traits of
//! [`api`], built by a [`clients::ClientFactory`] (the SDK in production, the recording
//! fakes of [`fake`] in tests, through [`factory_with`]).
//!
//! The engine never sees gRPC: it depends on `framework`, `logical` and the AWS SDK only.

mod accounts;
pub mod api;
pub mod backend;
mod cache;
pub mod clients;
pub mod error;
pub mod fake;
pub mod handover;
mod iam_user;
pub mod lease_data;
pub mod ledger;
mod path_config_check;
mod path_config_lease;
mod path_config_root;
mod path_config_rotate_root;
mod path_creds;
mod path_role_accounts;
mod path_roles;
mod path_roles_check;
pub mod policy_document;
pub mod requester;
pub mod required_actions;
pub mod revoke;
pub mod role;
mod rollback;
pub mod root_config;
pub mod secret_access_keys;
mod storage;
mod sts;
pub mod username;

use std::sync::Arc;
use std::time::Duration;

use backend::{AwsBackend, Timings};
use clients::{ClientFactory, SdkClientFactory};

use crate::framework::{self, Clock, WAL_PREFIX, parse_duration_second_str};
use crate::logical::{Backend, BackendConfig, Error, Factory, SpecialPaths};

/// Prefix of the engine's OpenAPI operation IDs (`aws-configure-lease`, ...).
const OPERATION_PREFIX_AWS: &str = "aws";

/// Overrides the minimum age (`backend::Timings::min_age`, 5 minutes: any issuance
/// finishes well within it, so an older WAL entry is a leftover to roll back, and IAM
/// shows a new user well within it) with a Vault duration such as `5s`, so end-to-end
/// tests need not wait five minutes. Not meant for production.
pub const WAL_MIN_AGE_ENV: &str = "AWS_RS_WAL_MIN_AGE";

/// Overrides the maximum age (`backend::Timings::max_age`, 7 days: a long weekend of broken
/// root credentials must not drop the guards) after which a WAL or ledger entry whose
/// cleanup keeps failing is dropped with an error log line naming the user.
pub const WAL_MAX_AGE_ENV: &str = "AWS_RS_WAL_MAX_AGE";

/// The factory the binary hands to the transport: builds one engine instance per mount,
/// each with its own SDK clients. Reads [`WAL_MIN_AGE_ENV`] and [`WAL_MAX_AGE_ENV`] at each
/// mount; an unparsable value fails the mount loudly.
pub fn factory() -> Factory {
    mount_factory(|| Arc::new(SdkClientFactory::new()), None)
}

/// A factory whose mounts get their AWS clients from `clients` (tests pass
/// [`fake::FakeClientFactory`]); otherwise the same as [`factory`].
pub fn factory_with(clients: Arc<dyn ClientFactory>) -> Factory {
    mount_factory(move || Arc::clone(&clients), None)
}

/// [`factory_with`] whose mounts read time from `clock` (tests pin it, so lease TTLs
/// computed from AWS expirations are exact).
pub fn factory_with_clock(clients: Arc<dyn ClientFactory>, clock: Arc<dyn Clock>) -> Factory {
    mount_factory(move || Arc::clone(&clients), Some(clock))
}

fn mount_factory(
    clients: impl Fn() -> Arc<dyn ClientFactory> + Send + Sync + 'static,
    clock: Option<Arc<dyn Clock>>,
) -> Factory {
    let clients = Arc::new(clients);
    Arc::new(move |config: BackendConfig| {
        let clients = Arc::clone(&clients);
        let clock = clock.clone();
        Box::pin(async move {
            let timings = timings_from_env()?;
            let state = AwsBackend::with_timings(clients(), timings);
            let mut builder = builder(state);
            if let Some(clock) = clock {
                builder = builder.clock(clock);
            }
            let backend = builder.build(&config)?;
            Ok(Arc::new(backend) as Arc<dyn Backend>)
        })
    })
}

/// The engine's declaration, its handlers and hooks sharing `state`.
fn builder(state: Arc<AwsBackend>) -> framework::BackendBuilder {
    let timings = state.timings();
    let on_invalidate = Arc::clone(&state);
    let on_rollback = Arc::clone(&state);
    let on_periodic = Arc::clone(&state);
    let on_cleanup = Arc::clone(&state);
    framework::Backend::builder()
        .help(BACKEND_HELP.trim())
        .special_paths(SpecialPaths {
            local_storage: vec![WAL_PREFIX.to_string()],
            seal_wrap_storage: vec![storage::CONFIG_ROOT.to_string()],
            ..SpecialPaths::default()
        })
        .path(path_config_root::path(Arc::clone(&state)))
        .path(path_config_rotate_root::path(Arc::clone(&state)))
        .path(path_config_lease::path(Arc::clone(&state)))
        .path(path_config_check::path(Arc::clone(&state)))
        .path(path_roles_check::path(Arc::clone(&state)))
        .paths(path_roles::paths(Arc::new(path_roles::Roles::new(
            Arc::clone(&state),
        ))))
        .path(path_creds::path(Arc::clone(&state)))
        .secret(secret_access_keys::secret(Arc::clone(&state)))
        .invalidate(move |_ctx, key| {
            let state = Arc::clone(&on_invalidate);
            async move { invalidate(&state, &key) }
        })
        .wal_rollback(move |ctx, _req, kind, data| {
            let state = Arc::clone(&on_rollback);
            async move { rollback::wal_rollback(&state, &ctx, &kind, &data).await }
        })
        .periodic(move |ctx, _req| {
            let state = Arc::clone(&on_periodic);
            async move { rollback::sweep_ledger(&state, &ctx).await }
        })
        .cleanup(move |_ctx| {
            let state = Arc::clone(&on_cleanup);
            async move { state.handover().flush().await }
        })
        .wal_rollback_min_age(timings.min_age)
        .wal_rollback_max_age(timings.max_age)
}

/// The default timings, with the minimum and maximum ages from the environment.
fn timings_from_env() -> Result<Timings, Error> {
    let defaults = Timings::default();
    Ok(Timings {
        min_age: env_duration(WAL_MIN_AGE_ENV, defaults.min_age)?,
        max_age: env_duration(WAL_MAX_AGE_ENV, defaults.max_age)?,
        ..defaults
    })
}

fn env_duration(name: &str, default: Duration) -> Result<Duration, Error> {
    duration_setting(name, env_var(name)?.as_deref(), default)
}

/// Another node changed `key` (performance standbys, replication): drop whatever was
/// derived from it.
fn invalidate(state: &AwsBackend, key: &str) {
    if key == storage::CONFIG_ROOT {
        state.clear_clients();
    } else if key.starts_with(storage::LEDGER_PREFIX) {
        state.ledger().invalidate();
    } else if key == storage::CONFIG_LEASE {
        state.lease_config_cache().remove(key);
    } else if let Some(name) = key
        .strip_prefix(storage::ROLE_PREFIX)
        .or_else(|| key.strip_prefix(storage::LEGACY_ROLE_PREFIX))
    {
        state.role_cache().remove(name);
    }
}

fn env_var(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::Internal(format!("{name} is not valid UTF-8")))
        }
    }
}

/// A duration setting `name`: the override if set (Vault duration syntax), else `default`.
fn duration_setting(
    name: &str,
    overridden: Option<&str>,
    default: Duration,
) -> Result<Duration, Error> {
    let Some(raw) = overridden else {
        return Ok(default);
    };
    let nanos = parse_duration_second_str(raw.trim())
        .map_err(|e| Error::Internal(format!("invalid {name} {raw:?}: {e}")))?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| Error::Internal(format!("invalid {name} {raw:?}: must not be negative")))
}

const BACKEND_HELP: &str = "
The AWS backend dynamically generates AWS access keys for a set of
IAM policies. The AWS access keys have a configurable lease set and
are automatically revoked at the end of the lease.

After mounting this backend, credentials to generate IAM keys must
be configured with the \"root\" path and policies must be written using
the \"roles/\" endpoints before any access keys can be generated.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_settings_default_and_override() {
        let min_age = |v| duration_setting(WAL_MIN_AGE_ENV, v, Duration::from_secs(300));
        assert_eq!(min_age(None).expect("default"), Duration::from_secs(300));
        assert_eq!(
            min_age(Some("5s")).expect("override"),
            Duration::from_secs(5)
        );
        assert_eq!(
            min_age(Some("90")).expect("seconds"),
            Duration::from_secs(90)
        );
        let err = min_age(Some("soon")).expect_err("invalid");
        assert!(err.to_string().contains("AWS_RS_WAL_MIN_AGE"), "{err}");
        assert!(min_age(Some("-5s")).is_err());
    }

    #[test]
    fn builder_declares_special_paths_and_wal_age() {
        let storage = Arc::new(crate::logical::InMemoryStorage::new());
        let system = Arc::new(crate::logical::StaticSystemView::default());
        let config = framework::testing::TestBackend::config(storage, system);
        let timings = Timings {
            min_age: Duration::from_secs(7),
            max_age: Duration::from_secs(70),
            ..Timings::default()
        };
        let b = builder(AwsBackend::with_timings(
            fake::FakeClientFactory::new(),
            timings,
        ))
        .build(&config)
        .expect("builds");
        assert_eq!(b.wal_policy().min_age, Duration::from_secs(7));
        assert_eq!(b.wal_policy().max_age, Some(Duration::from_secs(70)));
        let sp = crate::logical::Backend::special_paths(&b);
        assert_eq!(sp.local_storage, vec!["wal/"]);
        assert_eq!(sp.seal_wrap_storage, vec!["config/root"]);
    }
}
