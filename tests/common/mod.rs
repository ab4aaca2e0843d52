//! Shared helpers for the integration tests (test layer, not part of the crate): free
//! loopback ports, polling with a deadline, a guard that stops a child process by PID when
//! dropped (also while a test panics), and `/proc` scans for processes and socket files.
//!
//! This module knows nothing about OpenBao, moto or go-plugin. `openbao.rs` (a dev server
//! with the plugin registered) and `moto.rs` (the AWS emulator) build on it, `http.rs` is a
//! tiny HTTP/1.0 client for both, and `host.rs` (with `host/`) is the
//! go-plugin host of the protocol suite; `aws.rs` holds the real AWS SDK clients the
//! suites use against the emulator.
//!
//! Every test binary that says `mod common;` compiles all of it, so helpers one suite does
//! not use are expected: hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod aws;
pub mod fault_proxy;
pub mod host;
pub mod http;
pub mod iam_seed;
pub mod moto;
pub mod openbao;
pub mod raft;
pub mod secrets;

use std::collections::HashSet;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often [`wait_until`] probes. Short enough to keep the suite quick, long enough not to
/// compete with the servers for the machine's two cores.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Ports already handed out in this test process. Tests run in parallel threads and a port
/// is released between our probe and the server's bind, so two tests could otherwise be
/// given the same one.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Returns a loopback TCP port that is free now and not yet handed out by this process.
pub fn free_port() -> u16 {
    free_ports(1)
}

/// Returns a port `p` such that `p` and `p + 1` are both free: an OpenBao dev server puts its
/// cluster listener on the API port + 1.
pub fn free_port_pair() -> u16 {
    free_ports(2)
}

fn free_ports(count: u16) -> u16 {
    for _ in 0..200 {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
        let base = first.local_addr().expect("local address").port();
        if base.checked_add(count).is_none() {
            continue;
        }
        // Hold every port of the run at once so the kernel cannot hand one of them to a
        // neighbour while we check the others.
        let rest: Vec<_> = (1..count)
            .map(|i| TcpListener::bind(("127.0.0.1", base + i)))
            .collect();
        if rest.iter().any(Result::is_err) {
            continue;
        }
        let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        let taken = guard.get_or_insert_with(HashSet::new);
        if (0..count).any(|i| taken.contains(&(base + i))) {
            continue;
        }
        taken.extend((0..count).map(|i| base + i));
        return base;
    }
    panic!("no run of {count} free loopback ports found after 200 tries");
}

/// Polls `probe` until it returns `Some`, at most for `timeout`; panics naming `what` when
/// the deadline passes. End-to-end tests wait on real processes, so they poll, never sleep
/// a fixed time.
pub fn wait_until<T>(timeout: Duration, what: &str, probe: impl FnMut() -> Option<T>) -> T {
    match poll_until(timeout, probe) {
        Some(value) => value,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Like [`wait_until`] but returns `None` at the deadline instead of panicking.
pub fn poll_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Sends `signal` (a name such as `TERM` or `KILL`) to `pid` with the system `kill`
/// command (the crate forbids `unsafe`, so no libc call). Returns whether it was delivered.
pub fn send_signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A child process that is stopped by PID when the guard is dropped, including during a
/// panic, so a failing test never leaves a server running.
pub struct ProcessGuard {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
}

impl ProcessGuard {
    /// Spawns `command`; `name` is used in messages.
    pub fn spawn(name: &str, command: &mut Command) -> std::io::Result<Self> {
        let child = command.spawn()?;
        Ok(Self {
            name: name.to_owned(),
            child,
            status: None,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended (it is reaped here), `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Stops the process: SIGTERM first so it can stop its own children (OpenBao stops its
    /// plugin processes on TERM, but orphans them on KILL), then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.exited().is_some() {
            return self.status;
        }
        send_signal(self.pid(), "TERM");
        if poll_until(grace, || self.exited()).is_none() {
            eprintln!(
                "{} (pid {}) ignored SIGTERM for {grace:?}; killing it",
                self.name,
                self.pid()
            );
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// PIDs of live (non-zombie) processes whose executable is `exe`, found through
/// `/proc/<pid>/exe`. This is how a test finds the plugin process the server launched.
pub fn pids_of_executable(exe: &Path) -> Vec<u32> {
    let want = fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == want) && !is_zombie(*pid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// A zombie has exited and only waits to be reaped by its parent; it no longer counts as a
/// running process.
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // The state follows the parenthesised command name, which may itself contain spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z" || state == "X")
}

/// Every unix socket file under `dir`, recursively.
pub fn sockets_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_socket() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

/// True when `name` is set to `1` in the environment: the gate of the acceptance suites.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// The last `lines` lines of the text file at `path` (empty when it cannot be read), for
/// failure reports.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
