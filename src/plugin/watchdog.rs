//! \[transport\] Makes the process exit by itself when no host is there to stop it.
//!
//! OpenBao 2.7.2 does not kill a plugin whose TLS handshake or Setup failed: such
//! processes were seen alive minutes later (prototype-findings §8). So we watch the host's
//! presence and give up in two cases:
//! - the host never completes a TLS connection within `connect` (30 s by default; the
//!   host dials the moment it reads the handshake line, so this is generous), or
//! - after having connected, the host is gone for longer than `grace` (5 s): every TLS
//!   connection is closed, or the broker's StartStream ended. go-plugin hosts keep one
//!   connection and that stream open for the plugin's whole life, so either event means
//!   the host dropped us; the grace covers a transient reconnect.
//!
//! A third case was observed against OpenBao 2.7.2 while writing this: when `Setup`
//! fails at mount time, the host neither calls us again nor closes its connection, so the
//! two rules above never fire. Hence:
//! - after a `pb.Backend/Setup` call, some other backend call (`Type`, `Initialize`,
//!   `PluginVersion/Version`, …) for the same instance must follow within `setup` (30 s).
//!   Every successful host flow makes one within milliseconds: registration calls
//!   `Version`, mount `Type`, reload `Initialize`.
//!
//! With multiplexing one process serves many mounts, told apart by the `multiplex_id`
//! header of each call, and a failed mount must not take the others down: the Setup rule
//! only fires while no instance is *established* (had a follow-up to its Setup, and no
//! Cleanup since). A process whose last mount was cleaned up is stopped by the host's
//! Shutdown as before; the connection rules do not care how many mounts there are, as
//! the host keeps one connection and one broker stream for the whole process.
//!
//! This module only decides; `plugin::serve` performs the shutdown. It knows no gRPC
//! types: the listener reports connections, the broker its stream, and the server the
//! method path of each call ([`Presence::observe_call`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Why the watchdog gave up on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No TLS connection was completed in time after the handshake line.
    HostNeverConnected,
    /// The host connected, then went away.
    HostGone,
    /// A Setup call was never followed by any other backend call.
    SetupAbandoned,
}

/// How long to wait in each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed from start to the first completed TLS connection.
    pub connect: Duration,
    /// Time the host may be absent before we give up.
    pub grace: Duration,
    /// Time allowed between a Setup call and the next backend call.
    pub setup: Duration,
}

/// The instance a call without a `multiplex_id` header is counted under.
const UNTAGGED: &str = "";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HostState {
    connections: usize,
    ever_connected: bool,
    broker_stream_ended: bool,
    /// Instances whose Setup has had no follow-up yet, with when it arrived.
    setup_pending: HashMap<String, Instant>,
    /// Instances that had a follow-up and no Cleanup or new Setup since.
    established: HashSet<String>,
}

impl HostState {
    fn absent(&self) -> bool {
        self.connections == 0 || self.broker_stream_ended
    }

    /// The oldest unanswered Setup, unless some instance is established: a failed
    /// mount must not end a process that serves others.
    fn setup_abandoned_since(&self) -> Option<Instant> {
        if !self.established.is_empty() {
            return None;
        }
        self.setup_pending.values().min().copied()
    }

    /// Records a call for `path` on `instance`; returns whether the watchdog must look
    /// again.
    fn observe(&mut self, path: &str, instance: &str) -> bool {
        if path == "/pb.Backend/Setup" {
            // A new Setup for an id replaces its instance: it is pending again.
            self.established.remove(instance);
            self.setup_pending
                .insert(instance.to_owned(), Instant::now());
            true
        } else if path == "/pb.Backend/Cleanup" {
            let pending = self.setup_pending.remove(instance).is_some();
            self.established.remove(instance) || pending
        } else if path.starts_with("/pb.Backend/") || path.starts_with("/logical.PluginVersion/") {
            if self.setup_pending.remove(instance).is_some() {
                self.established.insert(instance.to_owned());
                true
            } else {
                false
            }
        } else {
            false
        }
    }
}

/// Where the listener and the broker report what the host does. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Presence {
    state: Arc<watch::Sender<HostState>>,
}

/// Held for as long as one host connection is open; dropping it reports the close.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    state: Arc<watch::Sender<HostState>>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.state
            .send_modify(|s| s.connections = s.connections.saturating_sub(1));
    }
}

impl Presence {
    pub(crate) fn new() -> Self {
        Presence {
            state: Arc::new(watch::channel(HostState::default()).0),
        }
    }

    /// A TLS connection from the host completed.
    pub(crate) fn connection_opened(&self) -> ConnectionGuard {
        self.state.send_modify(|s| {
            s.connections += 1;
            s.ever_connected = true;
        });
        ConnectionGuard {
            state: self.state.clone(),
        }
    }

    /// The host's GRPCBroker/StartStream request stream ended.
    pub(crate) fn broker_stream_ended(&self) {
        self.state.send_modify(|s| s.broker_stream_ended = true);
    }

    /// A gRPC call arrived for `path` (`/package.Service/Method`), for the backend
    /// instance named by its `multiplex_id` header, if any.
    pub(crate) fn observe_call(&self, path: &str, instance: Option<&str>) {
        let instance = instance.unwrap_or(UNTAGGED);
        // The common request path: no Setup awaits its first call, so there is nothing to
        // record, and a shared read lock is all it costs (not the write lock every mount's
        // calls would otherwise contend on).
        let lifecycle = path == "/pb.Backend/Setup" || path == "/pb.Backend/Cleanup";
        if !lifecycle && self.state.borrow().setup_pending.is_empty() {
            return;
        }
        // send_if_modified: a call that changes nothing must not wake the watchdog.
        self.state.send_if_modified(|s| s.observe(path, instance));
    }

    /// Resolves when the host is considered lost; never resolves while it is present.
    pub(crate) async fn watch(&self, limits: Limits) -> Verdict {
        let started = Instant::now();
        let mut rx = self.state.subscribe();
        let mut absent_since: Option<Instant> = None;
        loop {
            let (ever_connected, absent, setup_since) = {
                let state = rx.borrow_and_update();
                (
                    state.ever_connected,
                    state.absent(),
                    state.setup_abandoned_since(),
                )
            };
            let presence = if !ever_connected {
                Some((started + limits.connect, Verdict::HostNeverConnected))
            } else if absent {
                let since = *absent_since.get_or_insert_with(Instant::now);
                Some((since + limits.grace, Verdict::HostGone))
            } else {
                absent_since = None;
                None
            };
            let setup = setup_since.map(|since| (since + limits.setup, Verdict::SetupAbandoned));
            let deadline = [presence, setup]
                .into_iter()
                .flatten()
                .min_by_key(|(at, _)| *at);
            let changed = async {
                // The sender lives in `self`, so this cannot fail while we borrow it.
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            match deadline {
                Some((at, verdict)) => tokio::select! {
                    () = changed => {}
                    () = tokio::time::sleep_until(at) => return verdict,
                },
                None => changed.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        connect: Duration::from_secs(30),
        grace: Duration::from_secs(5),
        setup: Duration::from_secs(30),
    };

    async fn still_waiting(p: &Presence, within: Duration) -> bool {
        tokio::time::timeout(within, p.watch(LIMITS)).await.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_host_never_connects() {
        let p = Presence::new();
        let start = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::HostNeverConnected);
        assert_eq!(start.elapsed(), LIMITS.connect);
    }

    #[tokio::test(start_paused = true)]
    async fn stays_while_the_host_is_connected() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        assert!(still_waiting(&p, Duration::from_secs(24 * 3600)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_grace_once_connections_close() {
        let p = Presence::new();
        let conn = p.connection_opened();
        let watcher = {
            let p = p.clone();
            tokio::spawn(async move { (p.watch(LIMITS).await, Instant::now()) })
        };
        tokio::time::sleep(Duration::from_secs(100)).await;
        let closed_at = Instant::now();
        drop(conn);
        let (verdict, at) = watcher.await.expect("join");
        assert_eq!(verdict, Verdict::HostGone);
        assert_eq!(at - closed_at, LIMITS.grace);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reconnect_within_the_grace_resets_it() {
        let p = Presence::new();
        let first = p.connection_opened();
        let watcher = {
            let p = p.clone();
            tokio::spawn(async move { p.watch(LIMITS).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(first);
        tokio::time::sleep(Duration::from_secs(4)).await;
        let second = p.connection_opened();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!watcher.is_finished(), "host came back in time");
        drop(second);
        assert_eq!(watcher.await.expect("join"), Verdict::HostGone);
    }

    #[tokio::test(start_paused = true)]
    async fn the_broker_stream_ending_means_the_host_is_gone() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        p.broker_stream_ended();
        let start = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::HostGone);
        assert_eq!(start.elapsed(), LIMITS.grace);
    }

    #[tokio::test(start_paused = true)]
    async fn a_setup_with_no_follow_up_is_abandoned() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        tokio::time::sleep(Duration::from_secs(100)).await;
        p.observe_call("/plugin.GRPCBroker/StartStream", None);
        p.observe_call("/pb.Backend/Setup", None);
        let setup_at = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::SetupAbandoned);
        assert_eq!(setup_at.elapsed(), LIMITS.setup);
    }

    #[tokio::test(start_paused = true)]
    async fn any_backend_call_after_setup_clears_it() {
        for follow_up in [
            "/pb.Backend/Type",
            "/pb.Backend/Initialize",
            "/logical.PluginVersion/Version",
        ] {
            let p = Presence::new();
            let _conn = p.connection_opened();
            p.observe_call("/pb.Backend/Setup", None);
            p.observe_call(
                "/pluginutil.multiplexing.PluginMultiplexing/MultiplexingSupport",
                None,
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            p.observe_call(follow_up, None);
            assert!(
                still_waiting(&p, Duration::from_secs(24 * 3600)).await,
                "{follow_up}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_setup_restarts_the_clock() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        p.observe_call("/pb.Backend/Setup", None);
        p.observe_call("/pb.Backend/Initialize", None);
        tokio::time::sleep(Duration::from_secs(600)).await;
        p.observe_call("/pb.Backend/Setup", None);
        let start = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::SetupAbandoned);
        assert_eq!(start.elapsed(), LIMITS.setup);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_mount_does_not_end_a_process_serving_others() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        p.observe_call("/pb.Backend/Setup", Some("mountA"));
        p.observe_call("/pb.Backend/Type", Some("mountA"));
        // mountB's Setup fails: the host never follows it up, and mountA stays idle.
        p.observe_call("/pb.Backend/Setup", Some("mountB"));
        assert!(still_waiting(&p, Duration::from_secs(24 * 3600)).await);
        // A follow-up for another instance does not answer mountB's Setup.
        p.observe_call("/pb.Backend/Cleanup", Some("mountA"));
        let start = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::SetupAbandoned);
        assert!(start.elapsed() <= LIMITS.setup);
    }

    #[tokio::test(start_paused = true)]
    async fn follow_ups_count_for_their_own_instance_only() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        p.observe_call("/pb.Backend/Setup", Some("mountA"));
        p.observe_call("/pb.Backend/Type", Some("mountB"));
        let start = Instant::now();
        assert_eq!(p.watch(LIMITS).await, Verdict::SetupAbandoned);
        assert_eq!(start.elapsed(), LIMITS.setup);
    }

    #[tokio::test(start_paused = true)]
    async fn cleanup_of_one_mount_keeps_the_others_established() {
        let p = Presence::new();
        let _conn = p.connection_opened();
        for id in ["mountA", "mountB"] {
            p.observe_call("/pb.Backend/Setup", Some(id));
            p.observe_call("/pb.Backend/Initialize", Some(id));
        }
        p.observe_call("/pb.Backend/Cleanup", Some("mountA"));
        p.observe_call("/pb.Backend/Setup", Some("mountC"));
        assert!(still_waiting(&p, Duration::from_secs(24 * 3600)).await);
    }
}
