//! \[engine\] What a role decides when credentials are requested, before any AWS call:
//! which credential type a `creds/` or `sts/` request yields (Vault's `pathCredsRead`,
//! including the legacy-role restriction), which role ARN to assume, the STS TTL, and
//! the lease of `iam_user` credentials. Each `Err` is a message for a 400 response.

use std::time::Duration;

use crate::framework::template::go_quote;

use super::{CredentialType, Role};

/// TTL of STS credentials when neither the request nor the role names one.
pub const DEFAULT_STS_TTL: Duration = Duration::from_secs(3600);

/// Shortest STS credential lifetime AWS grants.
pub const AWS_MIN_STS_TTL: Duration = Duration::from_secs(900);

/// Longest AssumeRole session AWS grants (a role's MaxSessionDuration tops out at 12 h).
pub const AWS_MAX_ASSUME_ROLE_TTL: Duration = Duration::from_secs(12 * 3600);

/// Longest GetFederationToken / GetSessionToken lifetime AWS grants (36 h).
pub const AWS_MAX_TOKEN_TTL: Duration = Duration::from_secs(36 * 3600);

/// The path a credential request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredsPath {
    /// `creds/<name>`
    Creds,
    /// `sts/<name>`
    Sts,
}

impl Role {
    /// The credential type a request on `path` yields: the role's only type, or for
    /// upgraded legacy roles with two types `iam_user` on `creds/` and
    /// `federation_token` on `sts/`. Legacy roles refuse the other path (GH-4229).
    pub fn credential_type_for(&self, path: CredsPath) -> Result<CredentialType, String> {
        let chosen = match self.credential_types.as_slice() {
            [] => return Err(r#"unknown credential_type: """#.to_string()),
            [only] => *only,
            types => {
                let wanted = match path {
                    CredsPath::Creds => CredentialType::IamUser,
                    CredsPath::Sts => CredentialType::FederationToken,
                };
                if !types.contains(&wanted) {
                    let names: Vec<String> = types.iter().map(|t| go_quote(t.as_str())).collect();
                    return Err(format!(
                        "requested credential type {} not in allowed credential types []string{{{}}}",
                        go_quote(wanted.as_str()),
                        names.join(", ")
                    ));
                }
                wanted
            }
        };
        if self.prohibit_flexible_cred_path {
            match (chosen, path) {
                (CredentialType::IamUser, CredsPath::Sts) => {
                    return Err("attempted to retrieve iam_user credentials through the sts path; this is not allowed for legacy roles".to_string());
                }
                (t, CredsPath::Creds) if t != CredentialType::IamUser => {
                    return Err(format!(
                        "attempted to retrieve {t} credentials through the creds path; this is not allowed for legacy roles"
                    ));
                }
                _ => {}
            }
        }
        Ok(chosen)
    }

    /// The role ARN an `assumed_role` request assumes: the requested one, which must be
    /// listed, or the role's only one.
    pub fn select_role_arn(&self, requested: &str, role_name: &str) -> Result<String, String> {
        if requested.is_empty() {
            return match self.role_arns.as_slice() {
                [only] => Ok(only.clone()),
                _ => Err("did not supply a role_arn parameter and unable to determine one".into()),
            };
        }
        if !self.role_arns.iter().any(|a| a == requested) {
            return Err(format!(
                "role_arn {} not in allowed role arns for Vault role {}",
                go_quote(requested),
                go_quote(role_name)
            ));
        }
        Ok(requested.to_string())
    }

    /// The lifetime to ask STS for: the request's `ttl`, else `default_sts_ttl`, else one
    /// hour; capped (silently, as in Vault) at `max_sts_ttl` or else `mount_max` (zero:
    /// no cap). Unlike Vault, a result outside what AWS grants for `kind` is refused
    /// here, naming the limit, instead of failing at AWS.
    pub fn sts_ttl(
        &self,
        kind: CredentialType,
        requested: Option<Duration>,
        mount_max: Duration,
    ) -> Result<Duration, String> {
        let mut ttl = match requested {
            Some(ttl) => ttl,
            None if !self.default_sts_ttl.is_zero() => self.default_sts_ttl,
            None => DEFAULT_STS_TTL,
        };
        let max = if self.max_sts_ttl.is_zero() {
            mount_max
        } else {
            self.max_sts_ttl
        };
        if !max.is_zero() && ttl > max {
            ttl = max;
        }
        let aws_max = match kind {
            CredentialType::AssumedRole => AWS_MAX_ASSUME_ROLE_TTL,
            _ => AWS_MAX_TOKEN_TTL,
        };
        if ttl < AWS_MIN_STS_TTL {
            return Err(format!(
                "ttl of {}s is below the minimum of {}s (15m) that AWS allows for {kind} credentials",
                ttl.as_secs(),
                AWS_MIN_STS_TTL.as_secs()
            ));
        }
        if ttl > aws_max {
            return Err(format!(
                "ttl of {}s is above the maximum of {}s ({}h) that AWS allows for {kind} credentials",
                ttl.as_secs(),
                aws_max.as_secs(),
                aws_max.as_secs() / 3600
            ));
        }
        Ok(ttl)
    }

    /// TTL and maximum TTL of an `iam_user` lease: the role's own (our extension) where
    /// set, else `config/lease`'s. Zero means the mount's default; the host always caps
    /// by the mount's maximum.
    pub fn iam_user_lease(
        &self,
        config_ttl: Duration,
        config_max: Duration,
    ) -> (Duration, Duration) {
        let pick = |own: Duration, config: Duration| if own.is_zero() { config } else { own };
        (pick(self.ttl, config_ttl), pick(self.max_ttl, config_max))
    }
}
