//! [protocol adapter] Backend multiplexing: one plugin process serving many mounts. Holds
//! the `pluginutil.multiplexing.PluginMultiplexing` service, the switch it flips, and the
//! reading of the `multiplex_id` gRPC metadata that says which mount a call is for.
//!
//! The host asks `MultiplexingSupport` once per mount, on the raw connection, before the
//! mount's Setup; when we answer `supported=true` it reuses this process for every mount
//! of the same catalog entry, and tags every `pb.Backend` call with that mount's id (a
//! random 10-character string, OpenBao `vault/plugin_catalog.go` `pluginClientConn`).
//! OpenBao and Vault 1.12+ tag calls even when they do not multiplex, so the id is always
//! there with a host that asked.
//!
//! Unlike the Go SDK, where the binary chooses `Serve` or `ServeMultiplex` once, the
//! strict rules start only once we have answered `supported=true`: a host that never asks
//! (the server opted out with `BAO_PLUGIN_MULTIPLEXING_OPT_OUT`, an older host, a test
//! harness) runs one process per mount and may send no id at all, which we then accept
//! under the key `single` as a non-multiplexed Go plugin does. After the answer, a call
//! without exactly one non-empty id is refused with the Go SDK's messages
//! (`sdk/helper/pluginutil/multiplexing.go` GetMultiplexIDFromContext): guessing an
//! instance would let one mount read another's storage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::pb::multiplexing::plugin_multiplexing_server::PluginMultiplexing;
use crate::pb::multiplexing::{MultiplexingSupportRequest, MultiplexingSupportResponse};

/// The gRPC metadata key carrying the backend instance id (`pluginutil.MultiplexingCtxKey`).
pub(crate) const MULTIPLEX_ID_KEY: &str = "multiplex_id";

/// The key of the instance of a non-multiplexed plugin (the Go SDK's `single`).
pub(crate) const SINGLE_INSTANCE: &str = "single";

/// Whether this process has told a host that it multiplexes. Shared by the
/// PluginMultiplexing service (which sets it) and the Backend service (which reads it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Multiplexing(Arc<AtomicBool>);

impl Multiplexing {
    /// Whether calls must carry exactly one `multiplex_id`.
    pub(crate) fn is_on(&self) -> bool {
        // Relaxed is enough: the flag only ever goes from false to true, and the host
        // waits for our answer before it sends the Setup that depends on it.
        self.0.load(Ordering::Relaxed)
    }

    fn turn_on(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Serves `PluginMultiplexing/MultiplexingSupport`: always `supported=true`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MultiplexingService {
    mode: Multiplexing,
}

impl MultiplexingService {
    /// A service flipping `mode` on when it answers.
    pub(crate) fn new(mode: Multiplexing) -> Self {
        MultiplexingService { mode }
    }
}

#[tonic::async_trait]
impl PluginMultiplexing for MultiplexingService {
    async fn multiplexing_support(
        &self,
        _request: Request<MultiplexingSupportRequest>,
    ) -> Result<Response<MultiplexingSupportResponse>, Status> {
        // Turned on before answering, so no tagged call can overtake the switch.
        if !self.mode.is_on() {
            tracing::info!("the host asked for multiplexing; serving one instance per mount id");
        }
        self.mode.turn_on();
        Ok(Response::new(MultiplexingSupportResponse {
            supported: true,
        }))
    }
}

/// The instance key of a call. Multiplexed: its one non-empty `multiplex_id`, else the
/// Go SDK's refusal. Not multiplexed: that id if there is exactly one, else `single`
/// (several values are ambiguous and are treated like none).
pub(crate) fn instance_key(metadata: &MetadataMap, multiplexed: bool) -> Result<String, Status> {
    let values: Vec<_> = metadata.get_all(MULTIPLEX_ID_KEY).iter().collect();
    if !multiplexed {
        let only = match values.as_slice() {
            [value] => value.to_str().ok().filter(|id| !id.is_empty()),
            _ => None,
        };
        return Ok(only.unwrap_or(SINGLE_INSTANCE).to_string());
    }
    match values.as_slice() {
        [] => Err(refused("no multiplexing ID found")),
        [value] => match value.to_str() {
            Ok(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(refused("empty multiplex ID in metadata")),
        },
        several => Err(refused(&format!(
            "unexpected number of IDs in metadata: ({})",
            several.len()
        ))),
    }
}

/// Go answers these as plain errors (code Unknown); any error fails the host's call, and
/// InvalidArgument says better that the request, not the plugin, is at fault.
fn refused(message: &str) -> Status {
    Status::invalid_argument(message)
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::*;

    fn md(values: &[&'static str]) -> MetadataMap {
        let mut md = MetadataMap::new();
        for v in values {
            md.append(MULTIPLEX_ID_KEY, MetadataValue::from_static(v));
        }
        md
    }

    #[test]
    fn not_multiplexed_the_key_is_the_id_or_single() {
        let key = |v: &[&'static str]| instance_key(&md(v), false).expect("lenient");
        assert_eq!(key(&["Ab3dE6gH9k"]), "Ab3dE6gH9k");
        assert_eq!(key(&[]), SINGLE_INSTANCE);
        assert_eq!(key(&[""]), SINGLE_INSTANCE);
        assert_eq!(key(&["a", "b"]), SINGLE_INSTANCE);
    }

    #[test]
    fn multiplexed_the_key_must_be_exactly_one_id() {
        assert_eq!(
            instance_key(&md(&["Ab3dE6gH9k"]), true).expect("one id"),
            "Ab3dE6gH9k"
        );
        for (values, message) in [
            (&[][..], "no multiplexing ID found"),
            (&[""][..], "empty multiplex ID in metadata"),
            (&["a", "b"][..], "unexpected number of IDs in metadata: (2)"),
        ] {
            let status = instance_key(&md(values), true).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert_eq!(status.message(), message);
        }
    }

    #[tokio::test]
    async fn answering_supported_turns_the_strict_mode_on() {
        let mode = Multiplexing::default();
        let service = MultiplexingService::new(mode.clone());
        assert!(!mode.is_on());
        let reply = service
            .multiplexing_support(Request::new(MultiplexingSupportRequest {}))
            .await
            .expect("answer");
        assert!(reply.into_inner().supported);
        assert!(mode.is_on());
    }
}
