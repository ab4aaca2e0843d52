//! \[engine\] Turning a [`RootConfig`] into API clients: the [`ClientFactory`] seam the
//! backend's cache builds through (so tests inject fakes and count builds), the real
//! [`SdkClientFactory`] over aws-config, and [`StsFailover`], which tries the STS
//! endpoints in order for every request.
//!
//! Settings follow Vault: region = `region` → `AWS_REGION` → `AWS_DEFAULT_REGION` →
//! `us-east-1`; the static keys when `access_key` is set, else the AWS default chain
//! (environment, shared profile, web identity, ECS and instance metadata); `iam_endpoint`
//! and `sts_endpoint` replace the endpoints; `sts_region` is the STS signing region only
//! together with `sts_endpoint`; `max_retries` -1 keeps the SDK's standard retries, n ≥ 0
//! allows n retries. Where Vault pings each STS endpoint once when it builds the client
//! and sticks with the first that answers, we move on per request, and only when an
//! endpoint gave no answer or a 5xx: a refusal would be the same everywhere.
//!
//! Caching is not here: `backend::AwsBackend` builds through a factory once and keeps
//! the result until `config/root` changes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder as HttpClientBuilder, ConnectorBuilder};

use super::api::{
    AssumeRoleInput, AssumedRole, CallerIdentity, FederationToken, FederationTokenInput, IamApi,
    OrganizationsApi, SdkIam, SdkOrganizations, SdkSts, SessionTokenInput, StsApi, StsCredentials,
};
use super::error::{AwsOperation, Error};
use super::root_config::RootConfig;
use crate::logical;

/// Region when neither the configuration nor the environment names one (as Vault).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Longest one attempt of a call may take before the SDK gives up on it (and retries or
/// fails over). The SDK sets no such limit, and an endpoint that accepts connections but
/// never answers would otherwise hold a request forever.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads an environment variable (injectable, so the region chain can be tested).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Builds the API clients for a root configuration. The backend calls it only when its
/// cache is empty.
#[async_trait]
pub trait ClientFactory: Send + Sync {
    /// The IAM API for `config`.
    async fn iam(&self, config: &RootConfig) -> Result<Arc<dyn IamApi>, logical::Error>;

    /// The STS API for `config`, failing over between its endpoints.
    async fn sts(&self, config: &RootConfig) -> Result<Arc<dyn StsApi>, logical::Error>;

    /// The Organizations API for `config` (account sets with `organization_accounts`).
    /// A factory without one answers with an error.
    async fn organizations(
        &self,
        _config: &RootConfig,
    ) -> Result<Arc<dyn OrganizationsApi>, logical::Error> {
        Err(logical::Error::Internal(
            "this client factory has no AWS Organizations client".to_string(),
        ))
    }
}

/// The region the clients use: the configured one, else `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn resolve_region(configured: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    [configured.to_string()]
        .into_iter()
        .chain(env("AWS_REGION"))
        .chain(env("AWS_DEFAULT_REGION"))
        .find(|r| !r.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}

/// The SDK retry settings for `max_retries`: negative keeps the standard mode's default
/// (3 attempts); n ≥ 0 allows n retries, that is n + 1 attempts.
pub fn retry_config(max_retries: i64) -> RetryConfig {
    match u32::try_from(max_retries) {
        Ok(n) => RetryConfig::standard().with_max_attempts(n.saturating_add(1)),
        // Negative means "SDK default"; beyond u32 nobody means it literally.
        Err(_) if max_retries < 0 => RetryConfig::standard(),
        Err(_) => RetryConfig::standard().with_max_attempts(u32::MAX),
    }
}

/// One STS endpoint to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    /// Endpoint URL; `None` for the SDK's endpoint of `region`.
    pub url: Option<String>,
    /// Signing region.
    pub region: String,
}

impl StsEndpoint {
    /// How logs name the endpoint.
    pub fn label(&self) -> String {
        match &self.url {
            Some(url) => format!("{url} ({})", self.region),
            None => format!("STS in {}", self.region),
        }
    }
}

/// The STS endpoints of `config`, in the order they are tried: the primary one
/// (`sts_endpoint`, signed for `sts_region` when both are set, else for `region`), then
/// each fallback endpoint with its region.
pub fn sts_endpoints(config: &RootConfig, region: &str) -> Vec<StsEndpoint> {
    let primary_region = if !config.sts_endpoint.is_empty() && !config.sts_region.is_empty() {
        config.sts_region.clone()
    } else {
        region.to_string()
    };
    let primary = StsEndpoint {
        url: endpoint_url(&config.sts_endpoint),
        region: primary_region,
    };
    let fallbacks = config
        .sts_fallback_endpoints
        .iter()
        .zip(&config.sts_fallback_regions)
        .map(|(url, fallback_region)| StsEndpoint {
            url: endpoint_url(url),
            // An empty entry in the region list means "the mount's region".
            region: if fallback_region.is_empty() {
                region.to_string()
            } else {
                fallback_region.clone()
            },
        });
    std::iter::once(primary).chain(fallbacks).collect()
}

/// An endpoint override as the SDK wants it: Vault (Go SDK) accepted host names without a
/// scheme, which the Rust SDK would reject, so those get `https://`.
pub fn endpoint_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        None
    } else if raw.contains("://") {
        Some(raw.to_string())
    } else {
        Some(format!("https://{raw}"))
    }
}

/// The real factory: SDK clients over aws-config, all sharing one HTTP client (and so
/// one connection pool) for the life of the mount.
pub struct SdkClientFactory {
    http: SharedHttpClient,
    env: EnvLookup,
}

impl Default for SdkClientFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl SdkClientFactory {
    /// A factory reading the process environment.
    pub fn new() -> Self {
        Self::with_env(Arc::new(|name| std::env::var(name).ok()))
    }

    /// A factory reading the environment through `env`.
    pub fn with_env(env: EnvLookup) -> Self {
        SdkClientFactory {
            http: shared_http_client(),
            env,
        }
    }

    /// The settings both services start from: region, credentials, retries, timeouts and
    /// the shared HTTP client.
    async fn base(&self, config: &RootConfig, region: &str) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(retry_config(config.max_retries))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            )
            // The attempt timeout already bounds every call, and IAM and STS answers are
            // small: the stalled-stream watchdog (a timer polled on every body read)
            // would only cost CPU.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .http_client(self.http.clone());
        if config.has_static_credentials() {
            loader = loader.credentials_provider(Credentials::new(
                config.access_key.clone(),
                config.secret_key.clone(),
                None,
                None,
                "config/root",
            ));
        }
        loader.load().await
    }
}

#[async_trait]
impl ClientFactory for SdkClientFactory {
    async fn iam(&self, config: &RootConfig) -> Result<Arc<dyn IamApi>, logical::Error> {
        let region = resolve_region(&config.region, &*self.env);
        let base = self.base(config, &region).await;
        let mut builder = aws_sdk_iam::config::Builder::from(&base);
        if let Some(url) = endpoint_url(&config.iam_endpoint) {
            builder = builder.endpoint_url(url);
        }
        let client = aws_sdk_iam::Client::from_conf(builder.build());
        Ok(Arc::new(SdkIam::new(client)))
    }

    /// Organizations is a global control-plane service like IAM: it is reached at
    /// `iam_endpoint` when one is set (emulators such as moto serve both on one URL),
    /// else at AWS's endpoint for the region's partition.
    async fn organizations(
        &self,
        config: &RootConfig,
    ) -> Result<Arc<dyn OrganizationsApi>, logical::Error> {
        let region = resolve_region(&config.region, &*self.env);
        let base = self.base(config, &region).await;
        let mut builder = aws_sdk_organizations::config::Builder::from(&base);
        if let Some(url) = endpoint_url(&config.iam_endpoint) {
            builder = builder.endpoint_url(url);
        }
        let client = aws_sdk_organizations::Client::from_conf(builder.build());
        Ok(Arc::new(SdkOrganizations::new(client)))
    }

    async fn sts(&self, config: &RootConfig) -> Result<Arc<dyn StsApi>, logical::Error> {
        let region = resolve_region(&config.region, &*self.env);
        let base = self.base(config, &region).await;
        let endpoints = sts_endpoints(config, &region)
            .into_iter()
            .map(|endpoint| {
                let mut builder = aws_sdk_sts::config::Builder::from(&base)
                    .region(Region::new(endpoint.region.clone()));
                if let Some(url) = &endpoint.url {
                    builder = builder.endpoint_url(url);
                }
                let client = aws_sdk_sts::Client::from_conf(builder.build());
                (
                    endpoint.label(),
                    Arc::new(SdkSts::new(client)) as Arc<dyn StsApi>,
                )
            })
            .collect();
        Ok(Arc::new(StsFailover::new(endpoints)))
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the
/// environment), made once so that every client of the mount shares its pool. The SDK
/// would otherwise give each client, and each rebuild, a pool of its own.
fn shared_http_client() -> SharedHttpClient {
    HttpClientBuilder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// STS over several endpoints: each request goes to the first, and moves on to the next
/// only when an endpoint gave no answer or a server error. The last failure is returned
/// when every endpoint failed.
pub struct StsFailover {
    endpoints: Vec<(String, Arc<dyn StsApi>)>,
}

impl StsFailover {
    /// Endpoints in the order they are tried, each with the name logs give it.
    pub fn new(endpoints: Vec<(String, Arc<dyn StsApi>)>) -> Self {
        StsFailover { endpoints }
    }

    async fn first_answer<T, F, Fut>(&self, op: AwsOperation, call: F) -> Result<T, Error>
    where
        F: Fn(Arc<dyn StsApi>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut failure = None;
        for (i, (label, api)) in self.endpoints.iter().enumerate() {
            match call(Arc::clone(api)).await {
                Err(e) if e.can_fail_over() && i + 1 < self.endpoints.len() => {
                    tracing::warn!(endpoint = %label, error = %e, "STS endpoint failed; trying the next one");
                    failure = Some(e);
                }
                answer => return answer,
            }
        }
        Err(failure.unwrap_or_else(|| Error::Internal {
            operation: op,
            detail: "no STS endpoint is configured".to_string(),
        }))
    }
}

#[async_trait]
impl StsApi for StsFailover {
    async fn assume_role(&self, input: AssumeRoleInput) -> Result<AssumedRole, Error> {
        self.first_answer(AwsOperation::AssumeRole, |api| {
            let input = input.clone();
            async move { api.assume_role(input).await }
        })
        .await
    }

    async fn get_federation_token(
        &self,
        input: FederationTokenInput,
    ) -> Result<FederationToken, Error> {
        self.first_answer(AwsOperation::GetFederationToken, |api| {
            let input = input.clone();
            async move { api.get_federation_token(input).await }
        })
        .await
    }

    async fn get_session_token(&self, input: SessionTokenInput) -> Result<StsCredentials, Error> {
        self.first_answer(AwsOperation::GetSessionToken, |api| {
            let input = input.clone();
            async move { api.get_session_token(input).await }
        })
        .await
    }

    async fn get_caller_identity(&self) -> Result<CallerIdentity, Error> {
        self.first_answer(AwsOperation::GetCallerIdentity, |api| async move {
            api.get_caller_identity().await
        })
        .await
    }
}

#[cfg(test)]
mod tests;
