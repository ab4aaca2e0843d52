//! [protocol adapter] The `logical.PluginVersion` service: the version this binary reports
//! when the host registers it. The host compares it verbatim with the version given at
//! registration (which the CLI canonicalises to `v` + semver), or records it in the
//! catalog when none was given, so it is exactly `v` followed by the crate version.

use tonic::{Request, Response, Status};

use crate::pb::logical::plugin_version_server::PluginVersion;
use crate::pb::logical::{Empty, VersionReply};

/// The version reported to the host, e.g. `v0.1.0`.
pub const PLUGIN_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Serves `logical.PluginVersion/Version`. It needs no backend instance: the host asks
/// right after the Setup of a registration probe.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VersionServer;

#[tonic::async_trait]
impl PluginVersion for VersionServer {
    async fn version(&self, _request: Request<Empty>) -> Result<Response<VersionReply>, Status> {
        Ok(Response::new(VersionReply {
            plugin_version: PLUGIN_VERSION.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_v_and_the_crate_version() {
        let reply = VersionServer
            .version(Request::new(Empty {}))
            .await
            .expect("version");
        let v = reply.into_inner().plugin_version;
        assert_eq!(v, format!("v{}", env!("CARGO_PKG_VERSION")));
        // Canonical semver with the `v` prefix, as the catalog compares it.
        let parts: Vec<&str> = v.trim_start_matches('v').split('.').collect();
        assert_eq!(parts.len(), 3, "{v}");
        assert!(parts.iter().all(|p| p.parse::<u64>().is_ok()), "{v}");
    }
}
