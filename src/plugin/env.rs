//! \[transport\] The environment a go-plugin host hands its plugin, parsed into
//! [`PluginEnv`]. A pure function over a key/value map so every rule is unit-tested; only
//! [`PluginEnv::from_process`] reads the real environment.
//!
//! Order of the checks follows go-plugin's `Serve`: the magic cookie first (so a person
//! running the binary gets the familiar message and nothing else), then what we cannot
//! honour (multiplexing, protocol versions other than 5, no AutoMTLS), then listener
//! details. It does not validate the client certificate's PEM: that belongs to `tls`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::Error;

/// The variable carrying the magic cookie for Vault/OpenBao backend plugins.
pub const MAGIC_COOKIE_KEY: &str = "VAULT_BACKEND_PLUGIN";
/// The magic cookie value (unchanged between Vault and OpenBao).
pub const MAGIC_COOKIE_VALUE: &str = "6669da05-b1c8-4f49-97d9-c8e5bed98e20";
/// The only application protocol version we speak: backend plugins over AutoMTLS.
pub const APP_PROTOCOL_VERSION: u32 = 5;

const PROTOCOL_VERSIONS: &str = "PLUGIN_PROTOCOL_VERSIONS";
const CLIENT_CERT: &str = "PLUGIN_CLIENT_CERT";
const MULTIPLEX_GRPC: &str = "PLUGIN_MULTIPLEX_GRPC";
const MIN_PORT: &str = "PLUGIN_MIN_PORT";
const MAX_PORT: &str = "PLUGIN_MAX_PORT";
const UNIX_SOCKET_DIR: &str = "PLUGIN_UNIX_SOCKET_DIR";
const UNIX_SOCKET_GROUP: &str = "PLUGIN_UNIX_SOCKET_GROUP";

// go-plugin's client defaults when the host configures no range.
const DEFAULT_MIN_PORT: u16 = 10000;
const DEFAULT_MAX_PORT: u16 = 25000;

/// What the host asked of us, after every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEnv {
    /// PEM of the host's AutoMTLS certificate (`PLUGIN_CLIENT_CERT`).
    pub client_cert_pem: String,
    /// Lowest loopback TCP port we may bind if a unix socket is impossible.
    pub min_port: u16,
    /// Highest loopback TCP port we may bind.
    pub max_port: u16,
    /// Directory for the unix socket (`PLUGIN_UNIX_SOCKET_DIR`); a private temp dir if unset.
    pub unix_socket_dir: Option<PathBuf>,
    /// Group (name or numeric id) that must be able to use the socket.
    pub unix_socket_group: Option<String>,
}

impl PluginEnv {
    /// Parses the host's variables. Unknown variables are ignored.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, Error> {
        let get = |k: &str| vars.get(k).map(String::as_str);

        if get(MAGIC_COOKIE_KEY) != Some(MAGIC_COOKIE_VALUE) {
            return Err(Error::NotLaunchedByHost);
        }
        // go-plugin reads this flag with strconv.ParseBool and ignores junk.
        if get(MULTIPLEX_GRPC).is_some_and(parse_go_bool) {
            return Err(Error::MultiplexNotSupported);
        }
        let offered = get(PROTOCOL_VERSIONS).unwrap_or_default();
        if !offers_version(offered, APP_PROTOCOL_VERSION) {
            return Err(Error::UnsupportedProtocol {
                offered: offered.to_owned(),
            });
        }
        let client_cert_pem = match get(CLIENT_CERT) {
            Some(pem) if !pem.trim().is_empty() => pem.to_owned(),
            _ => return Err(Error::MissingClientCert),
        };
        let min_port = parse_port(MIN_PORT, get(MIN_PORT), DEFAULT_MIN_PORT)?;
        let max_port = parse_port(MAX_PORT, get(MAX_PORT), DEFAULT_MAX_PORT)?;
        if min_port > max_port {
            return Err(Error::InvalidEnv {
                var: MIN_PORT,
                value: min_port.to_string(),
                reason: format!("greater than {MAX_PORT} ({max_port})"),
            });
        }
        Ok(PluginEnv {
            client_cert_pem,
            min_port,
            max_port,
            unix_socket_dir: non_empty(get(UNIX_SOCKET_DIR)).map(PathBuf::from),
            unix_socket_group: non_empty(get(UNIX_SOCKET_GROUP)).map(str::to_owned),
        })
    }

    /// Parses the process environment. Variables that are not UTF-8 are skipped: none of
    /// ours can legitimately be, and `std::env::vars` would panic on them.
    pub fn from_process() -> Result<Self, Error> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_map(&vars)
    }
}

/// Whether a comma-separated version list names `version`. Entries that are not numbers
/// are skipped, as go-plugin does.
fn offers_version(list: &str, version: u32) -> bool {
    list.split(',')
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .any(|v| v == version)
}

/// Go's `strconv.ParseBool` truth values; anything unparseable counts as false.
fn parse_go_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

fn parse_port(var: &'static str, value: Option<&str>, default: u16) -> Result<u16, Error> {
    match non_empty(value) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u16>().map_err(|e| Error::InvalidEnv {
            var,
            value: v.to_owned(),
            reason: format!("not a port number ({e})"),
        }),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_env() -> HashMap<String, String> {
        [
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS, "5"),
            (
                CLIENT_CERT,
                "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
            ),
            (MIN_PORT, "10000"),
            (MAX_PORT, "25000"),
            ("VAULT_PLUGIN_AUTOMTLS_ENABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn with(mut env: HashMap<String, String>, k: &str, v: &str) -> HashMap<String, String> {
        env.insert(k.to_owned(), v.to_owned());
        env
    }

    fn without(mut env: HashMap<String, String>, k: &str) -> HashMap<String, String> {
        env.remove(k);
        env
    }

    #[test]
    fn accepts_what_openbao_sends() {
        let env = PluginEnv::from_map(&host_env()).expect("valid env");
        assert!(
            env.client_cert_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!((env.min_port, env.max_port), (10000, 25000));
        assert_eq!(env.unix_socket_dir, None);
        assert_eq!(env.unix_socket_group, None);
    }

    #[test]
    fn cookie_missing_or_wrong_is_refused_first() {
        // Even with every other variable wrong, the cookie message wins.
        let err = PluginEnv::from_map(&HashMap::new()).expect_err("no cookie");
        assert!(matches!(err, Error::NotLaunchedByHost));
        assert!(err.to_string().starts_with("This binary is a plugin."));

        let wrong = with(
            host_env(),
            MAGIC_COOKIE_KEY,
            "926a0820-aea2-be28-51d6-83cdf00e8edb",
        );
        assert!(matches!(
            PluginEnv::from_map(&wrong),
            Err(Error::NotLaunchedByHost)
        ));
        // The database plugin probe uses another key with our protocol version.
        let db_probe = with(
            without(host_env(), MAGIC_COOKIE_KEY),
            "VAULT_DATABASE_PLUGIN",
            "926a0820-aea2-be28-51d6-83cdf00e8edb",
        );
        assert!(matches!(
            PluginEnv::from_map(&db_probe),
            Err(Error::NotLaunchedByHost)
        ));
    }

    #[test]
    fn protocol_version_five_is_required() {
        for ok in ["5", "4,5", " 3 , 5 ", "x,5", "6,5,4"] {
            let env = with(host_env(), PROTOCOL_VERSIONS, ok);
            assert!(PluginEnv::from_map(&env).is_ok(), "{ok:?} offers 5");
        }
        for bad in ["3,4", "4,3", "", "55", "5x"] {
            let env = with(host_env(), PROTOCOL_VERSIONS, bad);
            match PluginEnv::from_map(&env) {
                Err(Error::UnsupportedProtocol { offered }) => assert_eq!(offered, bad),
                other => panic!("{bad:?}: expected UnsupportedProtocol, got {other:?}"),
            }
        }
        let unset = without(host_env(), PROTOCOL_VERSIONS);
        let err = PluginEnv::from_map(&unset).expect_err("unset");
        assert!(err.to_string().contains("only speaks version 5"), "{err}");
    }

    #[test]
    fn automtls_is_required() {
        for env in [
            without(host_env(), CLIENT_CERT),
            with(host_env(), CLIENT_CERT, "  \n"),
        ] {
            let err = PluginEnv::from_map(&env).expect_err("no cert");
            assert!(matches!(err, Error::MissingClientCert));
            assert!(err.to_string().contains("PLUGIN_CLIENT_CERT"));
        }
    }

    #[test]
    fn multiplexing_request_is_refused_clearly() {
        for yes in ["true", "1", "T", "TRUE", "True"] {
            let env = with(host_env(), MULTIPLEX_GRPC, yes);
            let err = PluginEnv::from_map(&env).expect_err("multiplex");
            assert!(matches!(err, Error::MultiplexNotSupported), "{yes}");
            assert!(err.to_string().contains("PLUGIN_MULTIPLEX_GRPC"));
        }
        for no in ["false", "0", "", "yes-please"] {
            let env = with(host_env(), MULTIPLEX_GRPC, no);
            assert!(PluginEnv::from_map(&env).is_ok(), "{no:?} is not a request");
        }
    }

    #[test]
    fn ports_default_and_validate() {
        let env = without(without(host_env(), MIN_PORT), MAX_PORT);
        let parsed = PluginEnv::from_map(&env).expect("defaults");
        assert_eq!((parsed.min_port, parsed.max_port), (10000, 25000));

        let err = PluginEnv::from_map(&with(host_env(), MIN_PORT, "ten")).expect_err("bad");
        assert!(
            err.to_string()
                .starts_with("PLUGIN_MIN_PORT=\"ten\" is invalid"),
            "{err}"
        );
        let err = PluginEnv::from_map(&with(host_env(), MAX_PORT, "70000")).expect_err("bad");
        assert!(err.to_string().starts_with("PLUGIN_MAX_PORT"), "{err}");
        let err = PluginEnv::from_map(&with(host_env(), MIN_PORT, "30000")).expect_err("bad");
        assert!(
            err.to_string().contains("greater than PLUGIN_MAX_PORT"),
            "{err}"
        );
    }

    #[test]
    fn socket_dir_and_group_are_optional() {
        let env = with(
            with(host_env(), UNIX_SOCKET_DIR, "/run/plugins"),
            UNIX_SOCKET_GROUP,
            "vault",
        );
        let parsed = PluginEnv::from_map(&env).expect("valid");
        assert_eq!(parsed.unix_socket_dir, Some(PathBuf::from("/run/plugins")));
        assert_eq!(parsed.unix_socket_group.as_deref(), Some("vault"));

        let empty = with(host_env(), UNIX_SOCKET_DIR, "");
        assert_eq!(
            PluginEnv::from_map(&empty).expect("valid").unix_socket_dir,
            None
        );
    }
}
