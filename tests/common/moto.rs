//! The AWS emulator for acceptance tests (test layer): a `moto_server` process per test on
//! a free loopback port, the gate for finding its binary, a reset between scenarios, a raw
//! query helper for seeding and for checking what the engine did in "AWS" (for example that
//! a revoked IAM user is gone), and where to find the Python (with boto3) that goes with
//! it. It knows nothing of OpenBao or of the engine's paths.
//!
//! moto accepts any credentials unless started with `INITIAL_NO_AUTH_ACTION_COUNT`; it picks
//! the service from the SigV4 credential scope, so [`Moto::query`] sends a syntactically
//! valid but unsigned `Authorization` header naming the service.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::http::{self, HttpResponse};
use super::openbao::is_executable;
use super::{ProcessGuard, env_flag, free_port, tail, wait_until};

/// The account moto reports for every caller.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// How long moto may take to answer (measured: under 0.6 s, longer on a loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `moto_server` binary for an acceptance test, or `None` when `BAO_ACC` is not `1`.
/// With `BAO_ACC=1` a missing binary is a failure: `AWS_RS_MOTO_BIN` if set, else the
/// repository virtualenv made by `scripts/install-test-deps.sh`.
pub fn moto_for_acceptance() -> Option<PathBuf> {
    if !env_flag("BAO_ACC") {
        eprintln!("skipped: set BAO_ACC=1 to run the end-to-end suite (scripts/test.sh does)");
        return None;
    }
    let path = match std::env::var("AWS_RS_MOTO_BIN") {
        Ok(path) => PathBuf::from(path),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
    };
    assert!(
        is_executable(&path),
        "BAO_ACC=1 but {} is not an executable moto_server: set AWS_RS_MOTO_BIN or run \
         scripts/install-test-deps.sh",
        path.display()
    );
    Some(path)
}

/// How moto should treat credentials.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    /// Any credentials work and no policy is enforced (moto's default).
    Open,
    /// The first `n` calls are free (seeding); every later call must be correctly signed
    /// by a known access key and is checked against that user's IAM policies.
    EnforcedAfter(u32),
}

/// One running moto server; stopped by PID when dropped.
pub struct Moto {
    port: u16,
    server: ProcessGuard,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `moto_server` on a free loopback port with AWS-managed policies loaded (moto
    /// 5.x does not load them by default, and roles attach them) and waits until it answers.
    pub fn start(bin: &Path, auth: Auth) -> Self {
        let mut command = Command::new(bin);
        Self::start_command(&mut command, auth)
    }

    /// Like [`Self::start`], but with IAM's DeleteUser as strict as AWS's: refused with
    /// `DeleteConflict` while the user still has a console password, access keys, MFA
    /// devices, SSH keys, signing certificates, groups or policies (plain moto deletes it
    /// anyway, which would hide a leak). Runs moto through `tests/fixtures/strict_moto.py`
    /// with the Python beside `bin`.
    pub fn start_strict(bin: &Path, auth: Auth) -> Self {
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/strict_moto.py");
        let mut command = Command::new(python_beside(bin));
        command.arg(launcher);
        Self::start_command(&mut command, auth)
    }

    fn start_command(command: &mut Command, auth: Auth) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aws-rs-moto-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let log = fs::File::create(dir.path().join("moto.log")).expect("moto log");
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log);
        if let Auth::EnforcedAfter(n) = auth {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let mut server = ProcessGuard::spawn("moto_server", command).expect("start moto_server");
        let host_port = format!("127.0.0.1:{port}");
        let up = wait_until(START_TIMEOUT, "moto to answer", || {
            if server.exited().is_some() {
                return Some(false);
            }
            let probe = http::request(&host_port, "GET", "/moto-api/data.json", &[], None);
            probe.ok().filter(|r| r.status == 200).map(|_| true)
        });
        assert!(
            up,
            "moto_server exited at start:\n{}",
            tail(&dir.path().join("moto.log"), 40)
        );
        Self { port, server, dir }
    }

    /// moto's PID.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// `127.0.0.1:<port>`.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`: the value for the engine's `iam_endpoint`/`sts_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Forgets every IAM/STS object (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let response = self.post("/moto-api/reset", &[], "");
        assert_eq!(response.status, 200, "moto reset: {}", response.body);
    }

    /// Sends an AWS query-protocol call (`Action=...&Version=...` plus `params`) to
    /// `service` (`iam` or `sts`) and returns moto's XML answer.
    pub fn query(&self, service: &str, action: &str, params: &[(&str, &str)]) -> HttpResponse {
        let version = match service {
            "iam" => "2010-05-08",
            "sts" => "2011-06-15",
            other => panic!("no query API version known for service {other}"),
        };
        let mut form = format!("Action={action}&Version={version}");
        for (key, value) in params {
            form.push_str(&format!("&{}={}", form_encode(key), form_encode(value)));
        }
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        self.post(
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &authorization),
            ],
            &form,
        )
    }

    /// Like [`Self::query`] but panics (with moto's answer) unless moto answers 200; returns
    /// the XML body. For seeding, where any refusal is a broken fixture.
    pub fn query_ok(&self, service: &str, action: &str, params: &[(&str, &str)]) -> String {
        let response = self.query(service, action, params);
        assert_eq!(
            response.status, 200,
            "{service} {action} refused by moto: {}",
            response.body
        );
        response.body
    }

    /// Whether the IAM user `name` exists in the emulator.
    pub fn iam_user_exists(&self, name: &str) -> bool {
        let response = self.query("iam", "GetUser", &[("UserName", name)]);
        match response.status {
            200 => true,
            404 => false,
            other => panic!(
                "GetUser {name}: unexpected status {other}: {}",
                response.body
            ),
        }
    }

    /// The last lines of moto's log, for failure reports.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.path().join("moto.log"), lines)
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        http::request(
            &format!("127.0.0.1:{}", self.port),
            "POST",
            path,
            headers,
            Some(body),
        )
        .unwrap_or_else(|e| panic!("POST {path} to moto: {e}"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- moto log (last 40 lines) ---\n{}\n---",
                self.log_tail(40)
            );
        }
        self.server.stop(Duration::from_secs(5));
    }
}

/// The text of the first `<tag>…</tag>` element of a query-protocol XML answer, entities
/// decoded (`&quot;`, `&amp;`, …). Enough for AWS's flat answers; not an XML parser.
pub fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    Some(
        body[start..start + len]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The Python interpreter of the virtualenv `moto_server` comes from (boto3 is installed
/// there as a moto dependency), for tests that use AWS credentials the way a client would:
/// `AWS_RS_PYTHON` if set, else the `python` beside `moto_server`.
pub fn python_beside(moto_bin: &Path) -> PathBuf {
    let path = match std::env::var("AWS_RS_PYTHON") {
        Ok(path) => PathBuf::from(path),
        Err(_) => moto_bin.with_file_name("python"),
    };
    // A venv's `python` is a symlink to the base interpreter: check the target is runnable.
    assert!(
        fs::metadata(&path).is_ok_and(|m| m.is_file()),
        "no Python beside {} (looked for {}): set AWS_RS_PYTHON to a python with boto3",
        moto_bin.display(),
        path.display()
    );
    path
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
