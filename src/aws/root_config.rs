//! \[engine\] `RootConfig`: the stored `config/root` entry — the credentials the engine
//! calls AWS with and the client settings — in the JSON shape of the Go engine's
//! `rootConfig` (same keys, so a mount can switch between the Go and Rust binaries), with
//! its defaults, the checks a write must pass, and typed load/save.
//!
//! Keys this version does not know (Vault's `role_arn`, plugin identity and rotation
//! settings) are kept on load and written back unchanged, so a round trip through this
//! binary loses nothing. The secret key is never printed: `Debug` redacts it.
//!
//! How a request changes the entry is `path_config_root`'s business; turning it into
//! AWS clients is `clients`'.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::storage::CONFIG_ROOT;
use super::username::{DEFAULT_USERNAME_TEMPLATE, parse_username_template};
use crate::logical::{Error, JsonMap, Storage, StorageExt};

/// `max_retries` meaning "the SDK's standard retry behaviour".
pub const DEFAULT_MAX_RETRIES: i64 = -1;

/// The `config/root` entry.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RootConfig {
    /// Access key ID; empty means the AWS default credential chain.
    #[serde(default)]
    pub access_key: String,
    /// Secret access key; never returned, never logged.
    #[serde(default)]
    pub secret_key: String,
    /// IAM endpoint URL override.
    #[serde(default)]
    pub iam_endpoint: String,
    /// STS endpoint URL override.
    #[serde(default)]
    pub sts_endpoint: String,
    /// STS signing region, honoured only with `sts_endpoint` (as Vault).
    #[serde(default)]
    pub sts_region: String,
    /// STS endpoints tried in order after the primary one fails.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sts_fallback_endpoints: Vec<String>,
    /// The regions of `sts_fallback_endpoints`, same order and length.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sts_fallback_regions: Vec<String>,
    /// Region of the IAM and STS clients; empty: `AWS_REGION`, `AWS_DEFAULT_REGION`,
    /// then `us-east-1`.
    #[serde(default)]
    pub region: String,
    /// Retries per AWS call; -1 (or any negative) for the SDK's standard behaviour.
    #[serde(default = "default_max_retries")]
    pub max_retries: i64,
    /// Template of generated IAM user, session and federation-token names.
    #[serde(default)]
    pub username_template: String,
    /// Keys written by other versions of the engine, kept as they were.
    #[serde(flatten)]
    pub other: JsonMap,
}

fn default_max_retries() -> i64 {
    DEFAULT_MAX_RETRIES
}

/// Go writes a nil slice as `null`.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl Default for RootConfig {
    /// What a mount without `config/root` uses, and what a create starts from.
    fn default() -> Self {
        RootConfig {
            access_key: String::new(),
            secret_key: String::new(),
            iam_endpoint: String::new(),
            sts_endpoint: String::new(),
            sts_region: String::new(),
            sts_fallback_endpoints: Vec::new(),
            sts_fallback_regions: Vec::new(),
            region: String::new(),
            max_retries: DEFAULT_MAX_RETRIES,
            username_template: DEFAULT_USERNAME_TEMPLATE.to_string(),
            other: JsonMap::new(),
        }
    }
}

impl fmt::Debug for RootConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.secret_key.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("RootConfig")
            .field("access_key", &self.access_key)
            .field("secret_key", &secret)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("sts_region", &self.sts_region)
            .field("sts_fallback_endpoints", &self.sts_fallback_endpoints)
            .field("sts_fallback_regions", &self.sts_fallback_regions)
            .field("region", &self.region)
            .field("max_retries", &self.max_retries)
            .field("username_template", &self.username_template)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RootConfig {
    /// The username template to render; entries written without one get Vault's default.
    pub fn username_template(&self) -> &str {
        if self.username_template.is_empty() {
            DEFAULT_USERNAME_TEMPLATE
        } else {
            &self.username_template
        }
    }

    /// Whether calls use the static keys rather than the default credential chain.
    pub fn has_static_credentials(&self) -> bool {
        !self.access_key.is_empty()
    }

    /// Every problem a write must be refused for, each naming the fields and the fix.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.sts_fallback_endpoints.len() != self.sts_fallback_regions.len() {
            problems.push(format!(
                "sts_fallback_endpoints and sts_fallback_regions must be the same length (each fallback endpoint needs its region): {} endpoint(s), {} region(s) given",
                self.sts_fallback_endpoints.len(),
                self.sts_fallback_regions.len()
            ));
        }
        // Half a key pair can only fail at the first AWS call; say so now instead.
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            problems.push(
                "access_key and secret_key must be set together (or both left empty to use the AWS default credential chain)"
                    .into(),
            );
        }
        if let Err(e) = parse_username_template(&self.username_template) {
            problems.push(format!("invalid username_template: {e}"));
        }
        problems
    }
}

/// Reads `config/root`; `None` until first written.
pub async fn load(storage: &dyn Storage) -> Result<Option<RootConfig>, Error> {
    storage.get_json(CONFIG_ROOT).await
}

/// Writes `config/root`.
pub async fn save(storage: &dyn Storage, config: &RootConfig) -> Result<(), Error> {
    storage.put_json(CONFIG_ROOT, config).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_go_engines_wrote() {
        // OpenBao's plugin: no STS region or fallbacks.
        let bao = json!({
            "access_key": "AKIA", "secret_key": "s", "iam_endpoint": "", "sts_endpoint": "",
            "sts_region": "", "region": "us-west-2", "max_retries": 3,
            "username_template": "{{ .DisplayName }}"
        });
        let c: RootConfig = serde_json::from_value(bao).expect("decodes");
        assert_eq!(c.region, "us-west-2");
        assert_eq!(c.max_retries, 3);
        assert!(c.sts_fallback_endpoints.is_empty());
        assert!(c.other.is_empty());

        // Vault's: nil slices as null, and keys we do not know.
        let vault = json!({
            "access_key": "", "secret_key": "", "sts_fallback_endpoints": null,
            "sts_fallback_regions": null, "max_retries": -1, "role_arn": "arn:aws:iam::1:role/x",
            "rotation_period": 0
        });
        let c: RootConfig = serde_json::from_value(vault).expect("decodes");
        assert!(c.sts_fallback_regions.is_empty());
        assert_eq!(c.username_template, "");
        assert_eq!(c.username_template(), DEFAULT_USERNAME_TEMPLATE);
        let back = serde_json::to_value(&c).expect("encodes");
        assert_eq!(
            back["role_arn"], "arn:aws:iam::1:role/x",
            "unknown keys survive"
        );
        assert_eq!(back["rotation_period"], 0);
    }

    #[test]
    fn stores_the_go_key_names() {
        let c = RootConfig {
            access_key: "AKIA".into(),
            secret_key: "s".into(),
            sts_fallback_endpoints: vec!["https://sts.us-west-2.amazonaws.com".into()],
            sts_fallback_regions: vec!["us-west-2".into()],
            ..RootConfig::default()
        };
        let v = serde_json::to_value(&c).expect("encodes");
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "access_key",
                "iam_endpoint",
                "max_retries",
                "region",
                "secret_key",
                "sts_endpoint",
                "sts_fallback_endpoints",
                "sts_fallback_regions",
                "sts_region",
                "username_template"
            ]
        );
        assert_eq!(v["max_retries"], -1);
    }

    #[test]
    fn debug_redacts_the_secret_key() {
        let c = RootConfig {
            access_key: "AKIAEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI".into(),
            ..RootConfig::default()
        };
        let text = format!("{c:?}");
        assert!(text.contains("AKIAEXAMPLE"), "{text}");
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn problems_are_reported_together() {
        let c = RootConfig {
            access_key: "AKIA".into(),
            sts_fallback_endpoints: vec!["a".into()],
            username_template: "{{ if }}".into(),
            ..RootConfig::default()
        };
        let problems = c.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "sts_fallback_endpoints and sts_fallback_regions must be the same length"
            ),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("access_key and secret_key"),
            "{problems:?}"
        );
        assert!(
            problems[2].starts_with("invalid username_template"),
            "{problems:?}"
        );
        assert!(RootConfig::default().problems().is_empty());
    }
}
