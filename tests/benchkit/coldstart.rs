//! Cold start of the plugin binary (test layer): the time from spawning it, with the
//! environment OpenBao 2.7.2 gives a plugin (magic cookie, protocol version 5, a fresh
//! AutoMTLS host certificate), to its go-plugin handshake line on stdout. The process is
//! killed right after; nothing connects to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::host::process::{COOKIE_KEY, COOKIE_VALUE};
use crate::common::host::tls::Identity;

/// Spawns `binary` `times` times; returns each time to the handshake line.
pub fn spawn_to_handshake(binary: &Path, times: usize) -> Vec<Duration> {
    let identity = Identity::go_plugin_host();
    let tmp = tempfile::Builder::new()
        .prefix("aws-rs-bench-cold-")
        .tempdir()
        .expect("temp dir");
    (0..times)
        .map(|_| {
            let started = Instant::now();
            let mut child = Command::new(binary)
                .env_clear()
                .env(COOKIE_KEY, COOKIE_VALUE)
                .env("PLUGIN_PROTOCOL_VERSIONS", "5")
                .env("PLUGIN_MIN_PORT", "10000")
                .env("PLUGIN_MAX_PORT", "25000")
                .env("BAO_PLUGIN_AUTOMTLS_ENABLED", "true")
                .env("VAULT_PLUGIN_AUTOMTLS_ENABLED", "true")
                .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
                .env("TMPDIR", tmp.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the plugin");
            let mut line = String::new();
            let stdout = child.stdout.take().expect("stdout");
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("read the handshake line");
            let took = started.elapsed();
            assert!(line.starts_with("1|5|"), "not a handshake line: {line:?}");
            let _ = child.kill();
            let _ = child.wait();
            took
        })
        .collect()
}
