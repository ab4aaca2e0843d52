//! The benchmark (test layer): OpenBao and moto started the way the end-to-end suites
//! start them, the plugin under test mounted, and every target measured in one run —
//! OpenBao's own kv-v1 read and write (the floor), the plugin (`roles` read, `sts`
//! AssumeRole, `iam` iam_user issuance, `revoke` of an iam_user lease), and the same AWS
//! calls straight to moto (the emulator's share) — in alternating repeats with moto reset
//! before every target, plus memory, cold start, mount time and binary size, and the
//! memory of one plugin process serving 1, 10 and 100 mounts (on a fresh server). `tests/bench.rs`
//! runs it small as a smoke test in every CI run, and full from `scripts/bench.sh`.
#![allow(dead_code)]

pub mod client;
pub mod coldstart;
pub mod load;
pub mod multiplex;
pub mod procfs;
pub mod report;
pub mod stats;
pub mod world;

use std::path::Path;
use std::time::Duration;

use load::{Target, concurrent, sequential};
use report::{Footprint, Report, TargetRun};
use world::{TARGETS, World};

/// How much to measure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settings {
    /// Alternating repeats of every target.
    pub repeats: usize,
    /// Unmeasured operations before each sequential run.
    pub warmup: usize,
    /// Sequential operations for the cheap targets (kv, roles, moto_sts).
    pub cheap: usize,
    /// Sequential operations for `sts`.
    pub sts: usize,
    /// Sequential operations for the IAM targets (iam, revoke, moto_iam).
    pub costly: usize,
    /// Concurrency levels of the throughput runs.
    pub levels: Vec<usize>,
    /// Seconds each throughput run lasts at most.
    pub level_secs: f64,
    /// Leases issued for each revoke throughput run.
    pub revoke_leases: usize,
    /// Cold starts and extra mounts measured.
    pub starts: usize,
    /// Seconds of rest after the run before the plugin's RSS is read again.
    pub settle_secs: u64,
}

impl Settings {
    /// What `scripts/bench.sh` measures (issue 5: ≥ 300 sequential requests after a
    /// warm-up, concurrency 1, 8 and 32, three repeats).
    pub fn full() -> Self {
        Settings {
            repeats: 3,
            warmup: 30,
            cheap: 2000,
            sts: 1000,
            costly: 300,
            levels: vec![1, 8, 32],
            level_secs: 3.0,
            revoke_leases: 150,
            starts: 10,
            settle_secs: 10,
        }
    }

    /// One repeat of fewer requests, for iterating on a change (`AWS_RS_BENCH_PROFILE=quick`
    /// with `scripts/bench.sh`); not for the README.
    pub fn quick() -> Self {
        Settings {
            repeats: 1,
            cheap: 2000,
            sts: 600,
            costly: 150,
            level_secs: 1.5,
            revoke_leases: 60,
            starts: 5,
            ..Self::full()
        }
    }

    /// A few requests per target: proves the benchmark still runs (CI).
    pub fn smoke() -> Self {
        Settings {
            repeats: 1,
            warmup: 1,
            cheap: 5,
            sts: 5,
            costly: 3,
            levels: vec![1, 4],
            level_secs: 0.3,
            revoke_leases: 4,
            starts: 2,
            settle_secs: 0,
        }
    }

    fn sequential_count(&self, name: &str) -> usize {
        match name {
            "sts" => self.sts,
            "iam" | "revoke" | "moto_iam" => self.costly,
            _ => self.cheap,
        }
    }
}

/// Measures everything with `plugin` as the plugin binary.
pub fn run(bao: &Path, moto: &Path, plugin: &Path, settings: &Settings) -> Report {
    let started_at = now_utc();
    let mut footprint = Footprint {
        binary_bytes: std::fs::metadata(plugin).map(|m| m.len()).unwrap_or(0),
        cold_start_ms: ms(&coldstart::spawn_to_handshake(plugin, settings.starts)),
        ..Footprint::default()
    };
    let world = World::start(bao, moto, plugin);
    footprint
        .mount_ms
        .push(world.mount().as_secs_f64() * 1000.0);
    let pids = world.pids();
    footprint.rss_idle_mb = procfs::rss_mb(pids.plugin).map_or(0.0, |m| m.0);
    footprint.rss_split_mb[0] = procfs::rss_split_mb(pids.plugin).unwrap_or_default();
    world.configure();
    footprint
        .mount_ms
        .extend(extra_mounts(&world, settings.starts));

    // AWS_RS_BENCH_TARGETS=roles,sts measures only those (for profiling one path).
    let only = std::env::var("AWS_RS_BENCH_TARGETS").unwrap_or_default();
    let chosen: Vec<&str> = TARGETS
        .into_iter()
        .filter(|t| only.is_empty() || only.split(',').any(|o| o == *t))
        .collect();
    let mut repeats = Vec::new();
    for repeat in 0..settings.repeats {
        let mut runs = Vec::new();
        for name in chosen.iter().copied() {
            world.reset();
            let target = world.target(name);
            eprintln!("bench: repeat {}/{}: {name}", repeat + 1, settings.repeats);
            runs.push(measure(name, target.as_ref(), pids, settings));
        }
        repeats.push(runs);
    }
    world.reset();
    // "After the run" is the plugin at rest again: its allocator hands freed memory back
    // to the system after a few idle seconds.
    std::thread::sleep(Duration::from_secs(settings.settle_secs));
    if let Some((rss, peak)) = procfs::rss_mb(pids.plugin) {
        footprint.rss_after_mb = rss;
        footprint.rss_peak_mb = peak;
        footprint.rss_split_mb[1] = procfs::rss_split_mb(pids.plugin).unwrap_or_default();
    }
    drop(world);
    footprint.multiplex = mounts_rss(bao, plugin);
    Report {
        started_at,
        plugin: plugin.display().to_string(),
        settings: serde_json::to_value(settings).unwrap_or_default(),
        repeats,
        footprint,
    }
}

fn measure(name: &str, target: &dyn Target, pids: load::Pids, settings: &Settings) -> TargetRun {
    let count = settings.sequential_count(name);
    target.prepare(settings.warmup + count);
    let sequential = sequential(target, pids, settings.warmup, count);
    let levels = settings
        .levels
        .iter()
        .map(|&c| {
            target.prepare(settings.revoke_leases);
            concurrent(
                target,
                pids,
                c,
                Duration::from_secs_f64(settings.level_secs),
            )
        })
        .collect();
    TargetRun {
        name: name.to_string(),
        sequential,
        levels,
    }
}

/// The plugin's memory with 1, 10 and 100 mounts, all served by one process, on a server
/// of its own (so the benchmark's mounts and leases do not count).
fn mounts_rss(bao: &Path, plugin: &Path) -> multiplex::MountsRss {
    let server = crate::common::openbao::OpenBao::start(bao);
    server.install_plugin_from(plugin);
    multiplex::enable_and_measure(&server)
}

/// Times `n` more mounts of the plugin (they join the running plugin process, which
/// multiplexes), then removes them.
fn extra_mounts(world: &World, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let path = format!("-path=aws-mount-{i}");
            let started = std::time::Instant::now();
            world.server.cli_ok(&["secrets", "enable", &path, "aws"]);
            let took = started.elapsed().as_secs_f64() * 1000.0;
            world
                .server
                .cli_ok(&["secrets", "disable", &format!("aws-mount-{i}")]);
            took
        })
        .collect()
}

fn ms(durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect()
}

fn now_utc() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Writes the report as `<stamp>.md`, `<stamp>.json` and `latest.md` under `dir`; returns
/// the markdown.
pub fn write(report: &Report, dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("results directory");
    let markdown = report.markdown(&TARGETS);
    let stamp = report.started_at.replace(':', "");
    std::fs::write(dir.join(format!("{stamp}.md")), &markdown).expect("write markdown");
    // Compact: the raw latencies are thousands of numbers.
    let json = serde_json::to_string(report).expect("json");
    std::fs::write(dir.join(format!("{stamp}.json")), json).expect("write json");
    std::fs::write(dir.join("latest.md"), &markdown).expect("write latest.md");
    markdown
}
