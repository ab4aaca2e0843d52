//! Real OpenBao servers with integrated (Raft) storage, not dev mode (test layer): one node,
//! or a cluster of them on loopback, each with its own state directory, plugin directory
//! (a copy of the same plugin binary, so every node registers the same SHA-256), private
//! `HOME` and `TMPDIR`, and a log file per start. It owns writing the node configuration
//! (`api_addr` and `cluster_addr` set, as Raft requires), initialising and unsealing
//! through the HTTP API, joining followers, reading who is active, and stopping, killing
//! and restarting a node on the same storage and ports.
//!
//! What it does not do: mount or configure the engine (the suites say what to send), or
//! decide what a failover must look like. It reuses `openbao.rs` for the binary gate, the
//! plugin's file name and its SHA-256, and the parent module for ports, polling and
//! process guards.
//!
//! Every server is stopped by PID when the [`RaftCluster`] is dropped, also on panic
//! (SIGTERM, then SIGKILL), and then every plugin process still running from any node's
//! plugin directory is killed by PID: OpenBao orphans its plugin children when it is
//! SIGKILLed. [`RaftCluster::shutdown`] does the same and reports those survivors, so a
//! test can assert there are none. The unseal key and root token stay in memory: they
//! are never printed, nor written anywhere but the servers' own state.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, HttpResponse};
use super::openbao::{CliOutput, PLUGIN_COMMAND, PLUGIN_NAME, plugin_binary, sha256_hex};
use super::{
    ProcessGuard, free_port_pair, pids_of_executable, poll_until, send_signal, tail, wait_until,
};

/// How long a server may take to open its API listener (measured: about 0.4 s).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node may take to become active or standby after unsealing (measured here:
/// 0.05–1 s; up to 10 s has been seen for the bootstrap election; generous for a loaded
/// machine).
const UNSEAL_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a stopped server's plugin processes may take to exit after it did.
const PLUGIN_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `sys/health` says about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Initialised, unsealed and active (200).
    Active,
    /// Unsealed standby (429, or 473 for a performance standby).
    Standby,
    /// Sealed (503).
    Sealed,
    /// Not initialised (501).
    Uninitialized,
    /// Any other answer.
    Other(u16),
    /// No answer at all (not listening).
    Down,
}

/// One OpenBao server with Raft storage under `<state>/<name>/`.
pub struct RaftNode {
    name: String,
    bao: PathBuf,
    port: u16,
    dir: PathBuf,
    env: Vec<(String, String)>,
    starts: u32,
    server: Option<ProcessGuard>,
}

impl RaftNode {
    /// Prepares (does not start) node `name` under `state`: its directories, a copy of the
    /// plugin binary in its plugin directory, and its configuration on a free port pair
    /// (API port, cluster port = API port + 1).
    fn new(bao: &Path, state: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let dir = state.join(name);
        for sub in ["raft", "plugins", "tmp", "home"] {
            fs::create_dir_all(dir.join(sub)).expect("node sub-directory");
        }
        let plugin = dir.join("plugins").join(PLUGIN_COMMAND);
        fs::copy(plugin_binary(), &plugin).expect("copy the plugin binary into the plugin dir");
        fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).expect("chmod the plugin");
        let node = RaftNode {
            name: name.to_owned(),
            bao: bao.to_path_buf(),
            port: free_port_pair(),
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            starts: 0,
            server: None,
        };
        node.write_config();
        node
    }

    fn write_config(&self) {
        let (dir, api, cluster) = (self.dir.display(), self.port, self.port + 1);
        let config = format!(
            r#"storage "raft" {{
  path    = "{dir}/raft"
  node_id = "{name}"
}}
listener "tcp" {{
  address         = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable     = true
}}
api_addr         = "http://127.0.0.1:{api}"
cluster_addr     = "https://127.0.0.1:{cluster}"
plugin_directory = "{dir}/plugins"
"#,
            name = self.name
        );
        fs::write(self.dir.join("config.hcl"), config).expect("node config");
    }

    /// The node's name (also its Raft `node_id`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `127.0.0.1:<port>` of the API listener.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`: the node's `api_addr` and the value of `BAO_ADDR`.
    pub fn addr(&self) -> String {
        format!("http://{}", self.host_port())
    }

    /// The plugin binary's path inside this node's plugin directory.
    pub fn plugin_path(&self) -> PathBuf {
        self.dir.join("plugins").join(PLUGIN_COMMAND)
    }

    /// PIDs of live processes running this node's copy of the plugin: its plugin
    /// processes, or their orphans once the server is gone.
    pub fn plugin_pids(&self) -> Vec<u32> {
        pids_of_executable(&self.plugin_path())
    }

    /// The server's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(ProcessGuard::pid)
    }

    /// Starts the server (again, on the same storage and ports after a stop or kill) and
    /// waits until its API listener answers. Panics with the log's end if it exits. At the
    /// first start only, a port taken by someone else between our probe and the server's
    /// bind is retried on new ports; later the ports are part of the Raft membership.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "{} is already running", self.name);
        let first = self.starts == 0;
        for _attempt in 0..3 {
            if let Some(server) = self.spawn() {
                self.server = Some(server);
                return;
            }
            if !(first && self.log_text().contains("address already in use")) {
                break;
            }
            self.port = free_port_pair();
            self.write_config();
        }
        panic!(
            "{} exited at start; its log ends with:\n{}",
            self.name,
            self.log_tail(40)
        );
    }

    /// One start with a fresh log; `None` when the server exits before it listens.
    fn spawn(&mut self) -> Option<ProcessGuard> {
        self.starts += 1;
        let log = fs::File::create(self.log_path()).expect("server log file");
        let log_err = log.try_clone().expect("server log file");
        let mut command = Command::new(&self.bao);
        command
            .arg("server")
            .arg(format!("-config={}", self.dir.join("config.hcl").display()))
            .arg("-log-level=debug")
            // A clean environment: no BAO_*/VAULT_* from the caller, a private HOME/TMPDIR.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("TMPDIR", self.dir.join("tmp"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let mut server = ProcessGuard::spawn(&format!("bao server {}", self.name), &mut command)
            .expect("start bao server");
        let listening = wait_until(LISTEN_TIMEOUT, "an OpenBao node to listen", || {
            if server.exited().is_some() {
                return Some(false);
            }
            (self.health() != Health::Down).then_some(true)
        });
        listening.then_some(server)
    }

    /// SIGKILLs the server and waits until it has exited. Its plugin processes survive as
    /// orphans: see [`Self::kill_plugins`].
    pub fn kill(&mut self) {
        let mut server = self.server.take().expect("the node is running");
        assert!(send_signal(server.pid(), "KILL"), "SIGKILL {}", self.name);
        wait_until(Duration::from_secs(10), "a SIGKILLed node to exit", || {
            server.exited()
        });
    }

    /// Stops the server with SIGTERM (SIGKILL after 10 s) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(Duration::from_secs(10));
        }
    }

    /// SIGKILLs every process running this node's plugin copy and returns their PIDs.
    pub fn kill_plugins(&self) -> Vec<u32> {
        let pids = self.plugin_pids();
        for &pid in &pids {
            send_signal(pid, "KILL");
        }
        let _ = poll_until(PLUGIN_EXIT_TIMEOUT, || {
            self.plugin_pids().is_empty().then_some(())
        });
        pids
    }

    /// What the node's `sys/health` answers now.
    pub fn health(&self) -> Health {
        match http::request(&self.host_port(), "GET", "/v1/sys/health", &[], None) {
            Err(_) => Health::Down,
            Ok(r) => match r.status {
                200 => Health::Active,
                429 | 473 => Health::Standby,
                503 => Health::Sealed,
                501 => Health::Uninitialized,
                other => Health::Other(other),
            },
        }
    }

    /// Waits until the node reports `want`; returns how long that took.
    pub fn wait_health(&self, want: Health, timeout: Duration) -> Duration {
        let started = Instant::now();
        let reached = poll_until(timeout, || (self.health() == want).then_some(()));
        assert!(
            reached.is_some(),
            "{} did not become {want:?} within {timeout:?} (now {:?}); log ends with:\n{}",
            self.name,
            self.health(),
            self.log_tail(40)
        );
        started.elapsed()
    }

    /// `sys/leader` as this node sees it (unauthenticated).
    pub fn leader(&self) -> Value {
        self.http("GET", "/v1/sys/leader", None, None).json()
    }

    /// Unseals the node with `key` (a one-share seal), through the HTTP API so the key is
    /// never on a command line.
    pub fn unseal(&self, key: &str) {
        let response = self.http("PUT", "/v1/sys/unseal", None, Some(&json!({"key": key})));
        assert_eq!(
            response.status, 200,
            "unseal {}: {}",
            self.name, response.body
        );
    }

    /// One HTTP request to this node's API (`path` starts with `/v1/`), with `token` if
    /// given. Panics when the node does not answer at all.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> HttpResponse {
        let headers: Vec<(&str, &str)> = token.map(|t| ("X-Vault-Token", t)).into_iter().collect();
        let body = body.map(Value::to_string);
        http::request(&self.host_port(), method, path, &headers, body.as_deref())
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.name))
    }

    /// Runs the `bao` CLI against this node with `token` and captures its output.
    pub fn cli(&self, token: &str, args: &[&str]) -> CliOutput {
        Command::new(&self.bao)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("BAO_ADDR", self.addr())
            .env("BAO_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .expect("run the bao CLI")
            .into()
    }

    /// Like [`Self::cli`] but panics (with both streams) unless it exits 0; returns stdout.
    pub fn cli_ok(&self, token: &str, args: &[&str]) -> String {
        let out = self.cli(token, args);
        assert!(
            out.success,
            "`bao {}` on {} failed\nstdout: {}\nstderr: {}",
            args.join(" "),
            self.name,
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("bao-{}.log", self.starts))
    }

    /// The log of the current (or last) start of the server, which includes its plugin's
    /// re-levelled stderr. Each start has its own log, so a test can tell what happened
    /// after a restart.
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last lines of the current start's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }
}

/// A one-share seal's key and the initial root token, as `sys/init` returned them.
struct Keys {
    unseal: String,
    root_token: String,
}

/// Servers with Raft storage under one scratch directory; see the module doc.
pub struct RaftCluster {
    /// The nodes, in creation order (`node1` first: the one that was initialised).
    pub nodes: Vec<RaftNode>,
    keys: Option<Keys>,
    // Declared last so it is removed after the servers have stopped.
    state: tempfile::TempDir,
}

impl RaftCluster {
    /// Prepares `count` nodes (`node1`…) with `env` in each server's environment (and so
    /// in its plugin processes'), and starts them all. None is initialised yet.
    pub fn start(bao: &Path, count: usize, env: &[(&str, &str)]) -> Self {
        let state = tempfile::Builder::new()
            .prefix("aws-rs-raft-")
            .tempdir()
            .expect("temp dir");
        let nodes = (1..=count)
            .map(|n| RaftNode::new(bao, state.path(), &format!("node{n}"), env))
            .collect();
        let mut cluster = RaftCluster {
            nodes,
            keys: None,
            state,
        };
        for node in &mut cluster.nodes {
            node.start();
        }
        cluster
    }

    /// Initialises `node1` with a single unseal key share, unseals it and waits until it
    /// is active. Returns how long becoming active took after the unseal.
    pub fn init_first(&mut self) -> Duration {
        let first = &self.nodes[0];
        let response = first.http(
            "PUT",
            "/v1/sys/init",
            None,
            Some(&json!({"secret_shares": 1, "secret_threshold": 1})),
        );
        assert_eq!(response.status, 200, "sys/init: status {}", response.status);
        let body = response.json();
        let text = |v: &Value| v.as_str().expect("sys/init field").to_owned();
        let keys = Keys {
            unseal: text(&body["keys_base64"][0]),
            root_token: text(&body["root_token"]),
        };
        first.unseal(&keys.unseal);
        self.keys = Some(keys);
        self.nodes[0].wait_health(Health::Active, UNSEAL_TIMEOUT)
    }

    /// The root token from `sys/init`.
    pub fn token(&self) -> &str {
        &self
            .keys
            .as_ref()
            .expect("the cluster is initialised")
            .root_token
    }

    /// Unseals node `index` with the cluster's key.
    pub fn unseal(&self, index: usize) {
        let key = &self
            .keys
            .as_ref()
            .expect("the cluster is initialised")
            .unseal;
        self.nodes[index].unseal(key);
    }

    /// Joins node `index` to the Raft cluster led by `leader` (`sys/storage/raft/join`),
    /// then unseals it, which completes the join; waits until it is a standby that knows
    /// its leader (before that it answers requests with a redirect instead of forwarding).
    pub fn join(&self, index: usize, leader: usize) {
        let node = &self.nodes[index];
        let response = node.http(
            "PUT",
            "/v1/sys/storage/raft/join",
            None,
            Some(&json!({"leader_api_addr": self.nodes[leader].addr()})),
        );
        assert_eq!(
            response.status, 200,
            "raft join {}: {}",
            node.name, response.body
        );
        assert_eq!(response.json()["joined"], true, "{}", response.body);
        self.unseal(index);
        node.wait_health(Health::Standby, UNSEAL_TIMEOUT);
        let leader_addr = self.nodes[leader].addr();
        wait_until(UNSEAL_TIMEOUT, "a joined node to know its leader", || {
            (node.leader()["leader_address"] == leader_addr.as_str()).then_some(())
        });
    }

    /// `sys/storage/raft/configuration` read through node `via`: `(node_id, voter)` of
    /// every server in the Raft configuration.
    pub fn raft_servers(&self, via: usize) -> Vec<(String, bool)> {
        let response = self.nodes[via].http(
            "GET",
            "/v1/sys/storage/raft/configuration",
            Some(self.token()),
            None,
        );
        if response.status != 200 {
            return Vec::new();
        }
        let body = response.json();
        let servers = body["data"]["config"]["servers"].as_array().cloned();
        servers
            .unwrap_or_default()
            .iter()
            .map(|s| {
                let id = s["node_id"].as_str().unwrap_or_default().to_owned();
                (id, s["voter"].as_bool().unwrap_or(false))
            })
            .collect()
    }

    /// Index of the node that reports itself active, if exactly one does.
    pub fn active(&self) -> Option<usize> {
        let active: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].pid().is_some() && self.nodes[i].health() == Health::Active)
            .collect();
        (active.len() == 1).then(|| active[0])
    }

    /// Registers the plugin in the catalog through node `via` as the secrets plugin `aws`,
    /// by the SHA-256 of the copy in that node's plugin directory (every node holds the
    /// same bytes).
    pub fn register_plugin(&self, via: usize) {
        let node = &self.nodes[via];
        let sha256 = sha256_hex(&node.plugin_path());
        for other in &self.nodes {
            assert_eq!(
                sha256_hex(&other.plugin_path()),
                sha256,
                "same plugin everywhere"
            );
        }
        node.cli_ok(
            self.token(),
            &[
                "plugin",
                "register",
                &format!("-sha256={sha256}"),
                &format!("-command={PLUGIN_COMMAND}"),
                "secret",
                PLUGIN_NAME,
            ],
        );
    }

    /// Every live process running any node's plugin copy.
    pub fn plugin_pids(&self) -> Vec<u32> {
        self.nodes.iter().flat_map(RaftNode::plugin_pids).collect()
    }

    /// Stops every server with SIGTERM, waits for their plugin processes to exit, then
    /// kills (by PID) and returns those that did not: processes this test started and
    /// OpenBao left behind.
    pub fn shutdown(&mut self) -> Vec<u32> {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = poll_until(PLUGIN_EXIT_TIMEOUT, || {
            self.plugin_pids().is_empty().then_some(())
        });
        self.nodes.iter().flat_map(RaftNode::kill_plugins).collect()
    }

    /// The scratch directory holding every node's state.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }
}

impl Drop for RaftCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in &self.nodes {
                eprintln!(
                    "--- {} log (start {}, last 40 lines) ---\n{}\n---",
                    node.name,
                    node.starts,
                    node.log_tail(40)
                );
            }
        }
        for pid in self.shutdown() {
            eprintln!("stopped leftover plugin process {pid}");
        }
    }
}
