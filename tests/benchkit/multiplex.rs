//! Memory of one plugin process serving many mounts (test layer): enables mounts
//! `aws-1`, `aws-2`, … of the registered plugin on a server and reads the plugin's
//! resident memory once 1, 10 and 100 are enabled. Each new mount answers one request
//! first, so its instance has opened its broker connection, as a mount in use has.
//!
//! Used by the benchmark (release build, `scripts/bench.sh`) and by
//! `tests/e2e_multiplex.rs` (debug build), which goes on to check the mounts' isolation.
//! Expects `super::procfs` beside it.

use std::time::Duration;

use serde_json::json;

use super::procfs;
use crate::common::openbao::OpenBao;
use crate::common::poll_until;

/// The mount counts memory is read at; the last is how many mounts get enabled.
pub const MOUNT_COUNTS: [usize; 3] = [1, 10, 100];

/// The name of mount `n` (from 1).
pub fn mount(n: usize) -> String {
    format!("aws-{n}")
}

/// `sys/mounts/<mount>` with type `aws`: what `bao secrets enable -path=<mount> aws`
/// sends, without a CLI process per mount.
pub fn enable(server: &OpenBao, n: usize) {
    let path = format!("/v1/sys/mounts/{}", mount(n));
    let response = server.http("POST", &path, Some(&json!({"type": "aws"})));
    assert!(
        matches!(response.status, 200 | 204),
        "enable {}: {} {}\nserver log:\n{}",
        mount(n),
        response.status,
        response.body,
        server.log_tail(30)
    );
}

/// The one plugin process serving every mount; panics if there are several.
pub fn the_plugin_process(server: &OpenBao) -> u32 {
    // The registration probe's process may take a moment to be reaped.
    let pids = poll_until(Duration::from_secs(10), || {
        let pids = server.plugin_pids();
        (pids.len() == 1).then_some(pids)
    })
    .unwrap_or_else(|| server.plugin_pids());
    assert_eq!(
        pids.len(),
        1,
        "one plugin process for every mount: {pids:?}"
    );
    pids[0]
}

/// What [`enable_and_measure`] saw.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MountsRss {
    /// The plugin process (the same one throughout, or the measurement panics).
    pub pid: u32,
    /// `(mounts, VmRSS MB)` at each of [`MOUNT_COUNTS`].
    pub rss_mb: Vec<(usize, f64)>,
    /// Of the RSS with every mount: (heap and stacks, mapped binary) MB.
    pub split_mb: (f64, f64),
    /// Seconds to enable (and touch) every mount.
    pub enable_secs: f64,
}

/// Enables `aws-1` … `aws-100` on `server` (the plugin registered, nothing mounted yet),
/// reading the plugin's RSS at each of [`MOUNT_COUNTS`].
pub fn enable_and_measure(server: &OpenBao) -> MountsRss {
    let started = std::time::Instant::now();
    let mut seen = MountsRss::default();
    let mut enabled = 0;
    for count in MOUNT_COUNTS {
        for n in enabled + 1..=count {
            enable(server, n);
            let read = server.read(&format!("{}/config/lease", mount(n)));
            assert_eq!(read.status, 404, "new mount {}: {}", mount(n), read.body);
        }
        enabled = count;
        let pid = the_plugin_process(server);
        assert!(
            seen.pid == 0 || seen.pid == pid,
            "the plugin process changed"
        );
        seen.pid = pid;
        let rss = procfs::rss_mb(pid).map_or(0.0, |m| m.0);
        seen.rss_mb.push((count, rss));
    }
    seen.enable_secs = started.elapsed().as_secs_f64();
    seen.split_mb = procfs::rss_split_mb(seen.pid).unwrap_or_default();
    seen
}
