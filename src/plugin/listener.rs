//! \[transport\] The plugin's listening socket and its removal.
//!
//! Like go-plugin on Unix we listen on a unix socket: in `PLUGIN_UNIX_SOCKET_DIR` when the
//! host names one (containers; then the socket is made usable by
//! `PLUGIN_UNIX_SOCKET_GROUP`), otherwise in a private directory (mode 0700) that we create
//! under the temp dir, so no other local user can even reach the socket before TLS.
//! If no unix socket can be bound (say, a temp path longer than `sun_path`), we fall back
//! to loopback TCP in the host's port range, which the handshake can announce as well.
//!
//! The socket file must not outlive the process. [`SocketCleanup::remove`] is called
//! explicitly on every exit path of `plugin::serve`; `Drop` is only the safety net, since
//! destructors do not run on `process::exit` (a prototype leaked dozens of sockets so).
//! A SIGKILL still leaves the file behind; nothing in-process can prevent that.
//! Accepting connections and TLS live in `incoming`.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use super::Error;
use super::env::PluginEnv;
use super::handshake::Network;

/// Any byte stream we can run TLS over (unix or TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A boxed [`Io`], so unix and TCP connections share one TLS stream type.
pub type BoxedIo = Box<dyn Io>;

/// A bound listener of either kind.
#[derive(Debug)]
pub enum Listener {
    /// A unix domain socket.
    Unix(UnixListener),
    /// A loopback TCP socket.
    Tcp(TcpListener),
}

impl Listener {
    /// Accepts the next connection.
    pub async fn accept(&self) -> io::Result<BoxedIo> {
        match self {
            Listener::Unix(l) => Ok(Box::new(l.accept().await?.0)),
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                // gRPC frames are small and latency-bound; Go's side sets the same.
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// A listener plus what the handshake line needs to announce it.
#[derive(Debug)]
pub struct Bound {
    /// The listener itself.
    pub listener: Listener,
    /// Its kind, for the handshake.
    pub network: Network,
    /// Socket path or `127.0.0.1:<port>`, for the handshake.
    pub address: String,
    /// Removes the socket file (a no-op for TCP).
    pub cleanup: SocketCleanup,
}

/// Removes the socket file and the private directory holding it. Cheap to clone; the
/// removal happens once, on the first [`SocketCleanup::remove`] or when the last clone
/// is dropped.
#[derive(Debug, Clone)]
pub struct SocketCleanup(Arc<SocketFiles>);

#[derive(Debug)]
struct SocketFiles {
    socket: Option<PathBuf>,
    private_dir: Option<PathBuf>,
    removed: AtomicBool,
}

impl SocketCleanup {
    fn new(socket: Option<PathBuf>, private_dir: Option<PathBuf>) -> Self {
        SocketCleanup(Arc::new(SocketFiles {
            socket,
            private_dir,
            removed: AtomicBool::new(false),
        }))
    }

    /// Unlinks the socket (and our private directory). Idempotent.
    pub fn remove(&self) {
        self.0.remove();
    }

    /// The socket path, if this is a unix listener.
    pub fn socket_path(&self) -> Option<&Path> {
        self.0.socket.as_deref()
    }
}

impl SocketFiles {
    fn remove(&self) {
        if self.removed.swap(true, Ordering::SeqCst) {
            return;
        }
        // Errors are ignored: the file may already be gone, and we are on the way out.
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
        if let Some(dir) = &self.private_dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for SocketFiles {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Binds the plugin listener: a unix socket, or loopback TCP if that fails. Must run
/// inside a tokio runtime.
pub fn bind(env: &PluginEnv) -> Result<Bound, Error> {
    match bind_unix(env) {
        Ok(bound) => Ok(bound),
        Err(unix_err) => {
            tracing::warn!(error = %unix_err, "cannot listen on a unix socket, falling back to TCP");
            bind_tcp(env.min_port, env.max_port).map_err(|tcp_err| {
                Error::Listen(io::Error::other(format!(
                    "unix socket: {unix_err}; TCP 127.0.0.1:{}-{}: {tcp_err}",
                    env.min_port, env.max_port
                )))
            })
        }
    }
}

fn bind_unix(env: &PluginEnv) -> io::Result<Bound> {
    let (path, private_dir) = match &env.unix_socket_dir {
        // go-plugin names its sockets `plugin<random>` inside the host's directory.
        Some(dir) => (
            dir.join(format!("plugin{:016x}", rand::random::<u64>())),
            None,
        ),
        None => {
            let dir = create_private_dir()?;
            (dir.join("plugin.sock"), Some(dir))
        }
    };
    // Created before binding so that a failed bind still removes the private dir.
    let cleanup = SocketCleanup::new(Some(path.clone()), private_dir);
    let listener = UnixListener::bind(&path)?;
    if let Some(group) = &env.unix_socket_group {
        allow_group(&path, group)?;
    }
    Ok(Bound {
        listener: Listener::Unix(listener),
        network: Network::Unix,
        address: path.to_string_lossy().into_owned(),
        cleanup,
    })
}

/// Prefix of our private socket directories: `<prefix><pid>-<random hex>`.
const PRIVATE_DIR_PREFIX: &str = "vault-plugin-aws-rs-";

fn create_private_dir() -> io::Result<PathBuf> {
    let tmp = std::env::temp_dir();
    remove_stale_private_dirs(&tmp);
    let dir = tmp.join(format!(
        "{PRIVATE_DIR_PREFIX}{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Removes socket directories left by earlier plugin processes that could not clean up
/// (SIGKILL, OOM kill, host crash), so they do not pile up in the server's temp dir.
/// Only directories owned by our user whose process no longer exists are touched; a live
/// process (even an unrelated one that reused the pid) keeps its directory. Best effort.
fn remove_stale_private_dirs(tmp: &Path) {
    let Ok(our_uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(stale_dir_pid) else {
            continue;
        };
        let owned = entry
            .metadata()
            .is_ok_and(|m| m.is_dir() && m.uid() == our_uid);
        if owned && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a private directory name, if the name is one of ours.
fn stale_dir_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PRIVATE_DIR_PREFIX)?;
    let (pid, suffix) = rest.split_once('-')?;
    if suffix.is_empty() || !suffix.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok()
}

/// Lets `group` (a name or a numeric id) connect: chgrp the socket and make it 0660, as
/// go-plugin does for containerized plugins.
fn allow_group(path: &Path, group: &str) -> io::Result<()> {
    let gid = match group.parse::<u32>() {
        Ok(gid) => gid,
        Err(_) => lookup_group(group)?,
    };
    std::os::unix::fs::chown(path, None, Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

// Reads /etc/group rather than calling getgrnam: the crate forbids unsafe code, and the
// only caller is the container case, where the group is a plain local entry.
fn lookup_group(name: &str) -> io::Result<u32> {
    let groups = std::fs::read_to_string("/etc/group")?;
    gid_from_group_file(&groups, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("PLUGIN_UNIX_SOCKET_GROUP: group {name:?} not found in /etc/group"),
        )
    })
}

fn gid_from_group_file(contents: &str, name: &str) -> Option<u32> {
    contents.lines().find_map(|line| {
        let mut fields = line.split(':');
        let (entry, _password, gid) = (fields.next()?, fields.next()?, fields.next()?);
        (entry == name).then(|| gid.parse().ok()).flatten()
    })
}

fn bind_tcp(min_port: u16, max_port: u16) -> io::Result<Bound> {
    let mut last_err = io::Error::new(io::ErrorKind::AddrNotAvailable, "empty port range");
    for port in min_port..=max_port {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(std_listener) => {
                std_listener.set_nonblocking(true)?;
                let listener = TcpListener::from_std(std_listener)?;
                return Ok(Bound {
                    address: listener.local_addr()?.to_string(),
                    listener: Listener::Tcp(listener),
                    network: Network::Tcp,
                    cleanup: SocketCleanup::new(None, None),
                });
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_dir(dir: Option<&Path>) -> PluginEnv {
        PluginEnv {
            client_cert_pem: String::new(),
            min_port: 10000,
            max_port: 25000,
            unix_socket_dir: dir.map(Path::to_path_buf),
            unix_socket_group: None,
        }
    }

    #[tokio::test]
    async fn private_socket_dir_is_0700_and_removed() {
        let bound = bind(&env_with_dir(None)).expect("bind");
        assert_eq!(bound.network, Network::Unix);
        let socket = PathBuf::from(&bound.address);
        let dir = socket.parent().expect("parent").to_path_buf();
        assert!(socket.exists());
        let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");

        bound.cleanup.remove();
        assert!(!socket.exists(), "socket removed explicitly");
        assert!(!dir.exists(), "private dir removed");
        bound.cleanup.remove(); // idempotent
    }

    #[tokio::test]
    async fn drop_is_a_safety_net() {
        let bound = bind(&env_with_dir(None)).expect("bind");
        let socket = PathBuf::from(&bound.address);
        drop(bound);
        assert!(!socket.exists());
    }

    #[tokio::test]
    async fn host_socket_dir_is_used_and_only_our_file_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bound = bind(&env_with_dir(Some(dir.path()))).expect("bind");
        let socket = PathBuf::from(&bound.address);
        assert_eq!(socket.parent(), Some(dir.path()));
        let name = socket.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(name.starts_with("plugin"), "{name}");
        bound.cleanup.remove();
        assert!(!socket.exists());
        assert!(dir.path().exists(), "the host's directory stays");
    }

    #[tokio::test]
    async fn socket_group_gets_0660() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gid = std::fs::metadata(dir.path())
            .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
            .expect("gid");
        let mut env = env_with_dir(Some(dir.path()));
        env.unix_socket_group = Some(gid.to_string());
        let bound = bind(&env).expect("bind");
        let meta = std::fs::metadata(&bound.address).expect("socket");
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), gid);
    }

    #[tokio::test]
    async fn falls_back_to_tcp_when_unix_is_impossible() {
        let long = std::env::temp_dir().join("x".repeat(120));
        let env = PluginEnv {
            min_port: 0,
            max_port: 0,
            ..env_with_dir(Some(&long))
        };
        let bound = bind(&env).expect("tcp fallback");
        assert_eq!(bound.network, Network::Tcp);
        assert!(bound.address.starts_with("127.0.0.1:"), "{}", bound.address);
        assert_eq!(bound.cleanup.socket_path(), None);
    }

    #[test]
    fn stale_dirs_of_dead_processes_are_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // pid 0 never names a live process in /proc; our own pid always does.
        let dead = tmp.path().join(format!("{PRIVATE_DIR_PREFIX}0-deadbeef"));
        let live = tmp.path().join(format!(
            "{PRIVATE_DIR_PREFIX}{}-0badcafe",
            std::process::id()
        ));
        let other = tmp.path().join("vault-plugin-other-0-deadbeef");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).expect("mkdir");
        }
        std::fs::write(dead.join("plugin.sock"), b"").expect("file");
        remove_stale_private_dirs(tmp.path());
        assert!(!dead.exists(), "a dead process's directory is removed");
        assert!(live.exists(), "a live process's directory stays");
        assert!(other.exists(), "directories that are not ours stay");
        assert_eq!(stale_dir_pid("vault-plugin-aws-rs-12-zz"), None);
        assert_eq!(stale_dir_pid("vault-plugin-aws-rs-12-0a"), Some(12));
    }

    #[test]
    fn group_file_lookup() {
        let file = "root:x:0:\nvault:x:995:alice,bob\nbroken\n";
        assert_eq!(gid_from_group_file(file, "vault"), Some(995));
        assert_eq!(gid_from_group_file(file, "root"), Some(0));
        assert_eq!(gid_from_group_file(file, "nobody"), None);
        assert_eq!(gid_from_group_file(file, "broken"), None);
    }
}
