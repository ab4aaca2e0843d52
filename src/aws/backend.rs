//! \[engine\] `AwsBackend`: the state one mount of the engine shares between its handlers
//! and hooks — the cache of what is derived from `config/root` (IAM and STS clients, the
//! parsed username template), the `config/root` write lock, the role lock, the engine's
//! [`Timings`], the pending WAL commits of `iam_user` issuances, the caches of roles and
//! `config/lease`, the ledger's index and when it was last swept — and nothing else.
//! Storage, system view and clock come with each request's `framework::Context`.
//!
//! Clients (and the template) are built lazily from `config/root` through a
//! [`ClientFactory`], kept until
//! `config/root` is written or invalidated, and shared by every request meanwhile, so
//! connections are reused. Creation is double-checked as in Vault (look under a read
//! lock; on a miss, build under a build lock and look again), and a generation counter
//! keeps a build that raced with a configuration change from caching clients made from
//! the old configuration.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use super::accounts::OrgAccountsCache;
use super::api::{IamAccessKey, IamApi, OrganizationsApi, StsApi};
use super::cache::StoredCache;
use super::clients::ClientFactory;
use super::handover::{DEFAULT_HANDOVER_DELAY, Handover};
use super::ledger::Ledger;
use super::path_config_lease::LeaseConfig;
use super::role::Role;
use super::root_config::{self, RootConfig};
use super::username::{DEFAULT_USERNAME_TEMPLATE, default_template, parse_username_template};
use crate::framework::template::Template;
use crate::logical::{Error, Storage, SystemView};

#[derive(Default)]
struct ClientCache {
    /// Bumped by every clear; a build stores its result only if it did not change.
    generation: u64,
    iam: Option<Arc<dyn IamApi>>,
    sts: Option<Arc<dyn StsApi>>,
    /// The configured `username_template`, parsed: issuing STS credentials then needs no
    /// storage round trip and no parse.
    username_template: Option<Arc<Template>>,
}

/// The engine's time limits (see `aws::factory` for the environment overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// A WAL entry, lease or ledger entry younger than this may belong to work in flight
    /// or to a user IAM does not show yet: not rolled back, and a missing user is not yet
    /// counted as deleted (5 minutes, as Vault).
    pub min_age: Duration,
    /// A WAL or ledger entry whose cleanup keeps failing is dropped, with an error log
    /// line naming the user, once it is this much older than when it became due.
    pub max_age: Duration,
    /// How long an `iam_user` issuance keeps its WAL entry after answering (`handover`).
    pub handover_delay: Duration,
    /// How long `wait_for_propagation` waits for AWS to accept a new key.
    pub propagation_timeout: Duration,
}

/// Default [`Timings::min_age`].
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(5 * 60);
/// Default [`Timings::max_age`].
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long the mount's maximum lease TTL is used before the host is asked again.
pub const MOUNT_TTL_REFRESH: Duration = Duration::from_secs(5);

/// Default [`Timings::propagation_timeout`].
pub const DEFAULT_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Timings {
    fn default() -> Self {
        Timings {
            min_age: DEFAULT_MIN_AGE,
            max_age: DEFAULT_MAX_AGE,
            handover_delay: DEFAULT_HANDOVER_DELAY,
            propagation_timeout: DEFAULT_PROPAGATION_TIMEOUT,
        }
    }
}

/// Shared state of one mount.
pub struct AwsBackend {
    factory: Arc<dyn ClientFactory>,
    timings: Timings,
    handover: Handover,
    ledger: Ledger,
    roles: StoredCache<Role>,
    lease_config: StoredCache<LeaseConfig>,
    mount_max_ttl: Mutex<Option<(std::time::Instant, Duration)>>,
    last_sweep: Mutex<Option<SystemTime>>,
    // A std lock: it is never held across an await. Builds, which await, serialise on
    // `build` instead, so requests that hit the cache never wait for a build.
    cache: RwLock<ClientCache>,
    build: tokio::sync::Mutex<()>,
    config_lock: tokio::sync::Mutex<()>,
    role_lock: tokio::sync::RwLock<()>,
    org_accounts: OrgAccountsCache,
}

impl AwsBackend {
    /// State whose clients come from `factory`, with the default [`Timings`].
    pub fn new(factory: Arc<dyn ClientFactory>) -> Arc<Self> {
        Self::with_timings(factory, Timings::default())
    }

    /// State whose clients come from `factory`, with `timings`.
    pub fn with_timings(factory: Arc<dyn ClientFactory>, timings: Timings) -> Arc<Self> {
        Arc::new(AwsBackend {
            factory,
            timings,
            handover: Handover::new(timings.handover_delay),
            ledger: Ledger::new(),
            roles: StoredCache::default(),
            lease_config: StoredCache::default(),
            mount_max_ttl: Mutex::new(None),
            last_sweep: Mutex::new(None),
            cache: RwLock::new(ClientCache::default()),
            build: tokio::sync::Mutex::new(()),
            config_lock: tokio::sync::Mutex::new(()),
            role_lock: tokio::sync::RwLock::new(()),
            org_accounts: OrgAccountsCache::default(),
        })
    }

    /// The IAM API for the mount's current `config/root` (built on first use).
    pub async fn iam(&self, storage: &dyn Storage) -> Result<Arc<dyn IamApi>, Error> {
        self.cached(
            storage,
            |c| c.iam.clone(),
            |c, v| c.iam = Some(v),
            |config| async move { self.factory.iam(&config).await },
        )
        .await
    }

    /// The STS API for the mount's current `config/root` (built on first use).
    pub async fn sts(&self, storage: &dyn Storage) -> Result<Arc<dyn StsApi>, Error> {
        self.cached(
            storage,
            |c| c.sts.clone(),
            |c, v| c.sts = Some(v),
            |config| async move { self.factory.sts(&config).await },
        )
        .await
    }

    /// An STS API (not cached) that signs with `key` instead of the root credentials, over
    /// the mount's STS endpoints: for checking that AWS accepts a key just created.
    pub async fn sts_for_key(
        &self,
        storage: &dyn Storage,
        key: &IamAccessKey,
    ) -> Result<Arc<dyn StsApi>, Error> {
        let mut config = current_config(storage).await?;
        config.access_key = key.access_key_id.clone();
        config.secret_key = key.secret_access_key.clone();
        self.factory.sts(&config).await
    }

    /// The engine's time limits.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// The WAL commits of issuances waiting for their handover delay.
    pub fn handover(&self) -> &Handover {
        &self.handover
    }

    /// The roles, cached by name (see `cache`).
    pub(crate) fn role_cache(&self) -> &StoredCache<Role> {
        &self.roles
    }

    /// `config/lease`, cached.
    pub(crate) fn lease_config_cache(&self) -> &StoredCache<LeaseConfig> {
        &self.lease_config
    }

    /// The mount's maximum lease TTL, asked of the host at most every
    /// [`MOUNT_TTL_REFRESH`]: every issuance needs it, and each ask is a round trip to the
    /// host. The host itself caps every lease at the current value, so a tune that lowers
    /// it applies to leases at once and to the STS lifetime asked of AWS within seconds.
    pub async fn mount_max_ttl(&self, system: &dyn SystemView) -> Result<Duration, Error> {
        let fresh = |(at, ttl): (std::time::Instant, Duration)| {
            (at.elapsed() < MOUNT_TTL_REFRESH).then_some(ttl)
        };
        let cached = *self
            .mount_max_ttl
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(ttl) = cached.and_then(fresh) {
            return Ok(ttl);
        }
        let ttl = system.max_lease_ttl().await?;
        *self
            .mount_max_ttl
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((std::time::Instant::now(), ttl));
        Ok(ttl)
    }

    /// The ledger of issued IAM users, with its in-memory index.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Whether the ledger sweep is due at `now` (it runs at most once per minimum age);
    /// when it is, `now` is noted as the last sweep.
    pub fn sweep_due(&self, now: SystemTime) -> bool {
        let mut last = self
            .last_sweep
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|t| {
            now.duration_since(t)
                .is_ok_and(|since| since >= self.timings.min_age)
        });
        if due {
            *last = Some(now);
        }
        due
    }

    /// The mount's `username_template`, parsed (Vault's default when unset). A stored
    /// template that does not parse (written by another version) is a 400.
    pub async fn username_template(&self, storage: &dyn Storage) -> Result<Arc<Template>, Error> {
        self.cached(
            storage,
            |c| c.username_template.clone(),
            |c, v| c.username_template = Some(v),
            |config| {
                let text = config.username_template().to_owned();
                async move {
                    if text == DEFAULT_USERNAME_TEMPLATE {
                        return Ok(Arc::new(default_template().clone()));
                    }
                    parse_username_template(&text)
                        .map(Arc::new)
                        .map_err(|e| Error::BadRequest(e.to_string()))
                }
            },
        )
        .await
    }

    /// Double-checked creation of one cached value derived from `config/root`: look under
    /// the read lock; on a miss build under the build lock and look again. The
    /// configuration is read only after noting the generation: a write landing in between
    /// bumps it, and the value built here is then returned but not cached.
    async fn cached<'a, T, Fut>(
        &'a self,
        storage: &dyn Storage,
        get: impl Fn(&ClientCache) -> Option<T>,
        set: impl FnOnce(&mut ClientCache, T),
        build: impl FnOnce(RootConfig) -> Fut,
    ) -> Result<T, Error>
    where
        T: Clone,
        Fut: Future<Output = Result<T, Error>> + 'a,
    {
        if let Some(value) = get(&self.read_cache()) {
            return Ok(value);
        }
        let _building = self.build.lock().await;
        let generation = {
            let cache = self.read_cache();
            if let Some(value) = get(&cache) {
                return Ok(value);
            }
            cache.generation
        };
        let config = current_config(storage).await?;
        let value = build(config).await?;
        let mut cache = self.write_cache();
        if cache.generation == generation {
            set(&mut cache, value.clone());
        }
        Ok(value)
    }

    /// Drops the cached clients; the next call builds new ones from `config/root`.
    /// Requests already holding a client finish with it.
    pub fn clear_clients(&self) {
        let mut cache = self.write_cache();
        cache.generation = cache.generation.wrapping_add(1);
        cache.iam = None;
        cache.sts = None;
        cache.username_template = None;
        drop(cache);
        // Other credentials may see another organization.
        self.org_accounts.clear();
    }

    /// The per-mount cache of the organization's ACTIVE accounts.
    pub(crate) fn org_accounts(&self) -> &OrgAccountsCache {
        &self.org_accounts
    }

    /// An Organizations API (not cached: the account list it serves is) for the
    /// mount's current `config/root`.
    pub(crate) async fn organizations(
        &self,
        storage: &dyn Storage,
    ) -> Result<Arc<dyn OrganizationsApi>, Error> {
        let config = current_config(storage).await?;
        self.factory.organizations(&config).await
    }

    /// Serialises writes of `config/root`, so that two partial updates cannot both
    /// start from the same stored entry and lose one another's change.
    pub fn config_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.config_lock
    }

    /// Serialises role changes with the reads that must see a role whole (Vault's
    /// `roleMutex`): writers take it exclusively, readers shared.
    pub fn role_lock(&self) -> &tokio::sync::RwLock<()> {
        &self.role_lock
    }

    // The cache only ever holds whole `Option`s, so a panic elsewhere while the lock was
    // held cannot leave it half-written; recovering from poisoning is safe.
    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, ClientCache> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, ClientCache> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `config/root`, or the defaults when it was never written (Vault then builds clients
/// from the environment's credentials).
async fn current_config(storage: &dyn Storage) -> Result<RootConfig, Error> {
    Ok(root_config::load(storage).await?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeClientFactory;
    use crate::logical::InMemoryStorage;

    #[tokio::test]
    async fn clients_are_built_once_and_rebuilt_after_a_clear() {
        let factory = FakeClientFactory::new();
        let backend = AwsBackend::new(factory.clone());
        let storage = InMemoryStorage::new();
        for _ in 0..3 {
            backend.sts(&storage).await.expect("sts");
            backend.iam(&storage).await.expect("iam");
        }
        assert_eq!((factory.sts_builds(), factory.iam_builds()), (1, 1));
        backend.clear_clients();
        backend.sts(&storage).await.expect("sts");
        backend.iam(&storage).await.expect("iam");
        assert_eq!((factory.sts_builds(), factory.iam_builds()), (2, 2));
    }

    #[tokio::test]
    async fn the_username_template_is_parsed_once_per_configuration() {
        use crate::logical::StorageExt;
        let backend = AwsBackend::new(FakeClientFactory::new());
        let storage = InMemoryStorage::new();
        let default = backend.username_template(&storage).await.expect("default");
        assert_eq!(*default, *default_template());

        // A stored template is not read again until the cache is cleared (as a config
        // write or invalidation does): no storage round trip per issuance.
        let custom = serde_json::json!({"username_template": "{{ .DisplayName }}-x"});
        storage.put_json("config/root", &custom).await.expect("put");
        let cached = backend.username_template(&storage).await.expect("cached");
        assert!(Arc::ptr_eq(&default, &cached));
        backend.clear_clients();
        let fresh = backend.username_template(&storage).await.expect("fresh");
        assert_eq!(
            *fresh,
            Template::parse("{{ .DisplayName }}-x").expect("parse")
        );

        // A stored template that does not parse is the operator's to fix: a 400.
        storage
            .put_json(
                "config/root",
                &serde_json::json!({"username_template": "{{ nope }}"}),
            )
            .await
            .expect("put");
        backend.clear_clients();
        let err = backend.username_template(&storage).await.expect_err("bad");
        assert!(matches!(err, Error::BadRequest(_)), "{err:?}");
    }

    #[tokio::test]
    async fn builds_see_the_stored_config_or_the_defaults() {
        let factory = FakeClientFactory::new();
        let backend = AwsBackend::new(factory.clone());
        let storage = InMemoryStorage::new();
        backend.sts(&storage).await.expect("sts");
        assert_eq!(factory.last_config(), Some(RootConfig::default()));

        let config = RootConfig {
            region: "eu-west-1".into(),
            ..RootConfig::default()
        };
        root_config::save(&storage, &config).await.expect("save");
        backend.clear_clients();
        backend.iam(&storage).await.expect("iam");
        assert_eq!(factory.last_config(), Some(config));
    }

    #[tokio::test]
    async fn a_build_racing_a_clear_is_not_cached() {
        let factory = FakeClientFactory::new();
        let backend = AwsBackend::new(factory.clone());
        let storage = InMemoryStorage::new();
        // The factory clears the cache while it builds, as a config write would.
        let during = Arc::clone(&backend);
        factory.on_build(move || during.clear_clients());
        backend.sts(&storage).await.expect("sts");
        backend.sts(&storage).await.expect("sts");
        assert_eq!(factory.sts_builds(), 2, "the first build was not cached");
    }

    #[tokio::test]
    async fn storage_failures_surface_as_errors() {
        let factory = FakeClientFactory::new();
        let backend = AwsBackend::new(factory.clone());
        let storage = InMemoryStorage::new();
        storage
            .put(crate::logical::StorageEntry {
                key: "config/root".into(),
                value: b"not json".to_vec(),
                seal_wrap: false,
            })
            .await
            .expect("put");
        assert!(matches!(
            backend.iam(&storage).await,
            Err(Error::Internal(_))
        ));
        assert_eq!(factory.iam_builds(), 0);
    }
}
