//! The benchmark's report (test layer): per-target tables of latency, CPU per operation
//! and throughput (median with min–max over the repeats), memory and start-up figures, and
//! the targets of issue 5 checked against them; written as markdown and as JSON with every
//! raw number. Pure formatting over the measured values.

use serde::Serialize;

use super::load::{Concurrent, Sequential};
use super::stats::{Spread, percentile};

/// One target measured once.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRun {
    /// Target name.
    pub name: String,
    /// The sequential run.
    pub sequential: Sequential,
    /// The throughput runs, one per concurrency level.
    pub levels: Vec<Concurrent>,
}

/// Memory and start-up figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Footprint {
    /// Plugin RSS right after `secrets enable`, before any request reaches it, MB.
    pub rss_idle_mb: f64,
    /// Plugin RSS after the whole run, MB.
    pub rss_after_mb: f64,
    /// Plugin peak RSS (VmHWM) after the run, MB.
    pub rss_peak_mb: f64,
    /// Of the RSS idle and after the run: (heap and stacks, mapped binary) MB.
    pub rss_split_mb: [(f64, f64); 2],
    /// Spawn → handshake line, ms, each try.
    pub cold_start_ms: Vec<f64>,
    /// `bao secrets enable` of a mount, ms, each try: the first spawns the plugin, the
    /// others join that process (multiplexing).
    pub mount_ms: Vec<f64>,
    /// One plugin process serving 1, 10 and 100 mounts.
    pub multiplex: super::multiplex::MountsRss,
    /// Size of the (stripped) plugin binary, bytes.
    pub binary_bytes: u64,
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it ran (UTC).
    pub started_at: String,
    /// The plugin binary measured.
    pub plugin: String,
    /// How many requests and repeats.
    pub settings: serde_json::Value,
    /// Every repeat's runs, targets in the order they ran.
    pub repeats: Vec<Vec<TargetRun>>,
    /// Memory and start-up.
    pub footprint: Footprint,
}

/// The Go engine's figures on this machine (test-environment.md §6): plugin CPU ms per
/// roles read, STS and iam_user operation.
const GO_CPU_MS: [(&str, f64); 3] = [("roles", 0.52), ("sts", 1.8), ("iam", 4.2)];

impl Report {
    fn runs_of(&self, name: &str) -> Vec<&TargetRun> {
        self.repeats
            .iter()
            .filter_map(|runs| runs.iter().find(|r| r.name == name))
            .collect()
    }

    /// A figure of `name` over the repeats.
    fn spread(&self, name: &str, figure: impl Fn(&TargetRun) -> f64) -> Spread {
        let values: Vec<f64> = self.runs_of(name).into_iter().map(figure).collect();
        Spread::of(&values)
    }

    fn p(&self, name: &str, pct: f64) -> Spread {
        self.spread(name, |r| percentile(&r.sequential.latencies_ms, pct))
    }

    /// Per repeat, `f(run of a, run of b, run of c)`.
    fn per_repeat(&self, names: [&str; 3], f: impl Fn([f64; 3]) -> f64) -> Spread {
        let values: Vec<f64> = self
            .repeats
            .iter()
            .filter_map(|runs| {
                let p50 = |n: &str| {
                    runs.iter()
                        .find(|r| r.name == n)
                        .map(|r| percentile(&r.sequential.latencies_ms, 50.0))
                };
                Some(f([p50(names[0])?, p50(names[1])?, p50(names[2])?]))
            })
            .collect();
        Spread::of(&values)
    }

    /// The whole report as markdown.
    pub fn markdown(&self, names: &[&str]) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Measured {} on this machine (2 cores), {} repeat(s), medians [min–max]; \
             latency of sequential requests after a warm-up, CPU per operation from /proc.\n\n",
            self.started_at,
            self.repeats.len()
        ));
        out.push_str(&self.latency_table(names));
        out.push('\n');
        out.push_str(&self.throughput_table(names));
        out.push('\n');
        out.push_str(&self.footprint_table());
        out.push('\n');
        out.push_str(&self.targets_table());
        out
    }

    fn latency_table(&self, names: &[&str]) -> String {
        let mut out = String::from(
            "| target | requests | p50 ms | p95 ms | p99 ms | plugin CPU ms/op | bao CPU ms/op | moto CPU ms/op |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for name in names {
            let requests = self.spread(name, |r| r.sequential.latencies_ms.len() as f64);
            out.push_str(&format!(
                "| {name} | {:.0} | {} | {} | {} | {} | {} | {} |\n",
                requests.median,
                self.p(name, 50.0).show(2),
                self.p(name, 95.0).show(2),
                self.p(name, 99.0).show(2),
                cpu_cell(name, self.spread(name, |r| r.sequential.cpu.plugin)),
                cpu_cell(name, self.spread(name, |r| r.sequential.cpu.bao)),
                self.spread(name, |r| r.sequential.cpu.moto).show(2),
            ));
        }
        out
    }

    fn throughput_table(&self, names: &[&str]) -> String {
        let levels: Vec<usize> = self
            .repeats
            .first()
            .and_then(|runs| runs.first())
            .map(|r| r.levels.iter().map(|l| l.concurrency).collect())
            .unwrap_or_default();
        let mut out = String::from("| target |");
        for c in &levels {
            out.push_str(&format!(" c={c} ops/s (p50 ms) |"));
        }
        out.push_str("\n| --- |");
        out.push_str(&" --- |".repeat(levels.len()));
        out.push('\n');
        for name in names {
            out.push_str(&format!("| {name} |"));
            for (i, _) in levels.iter().enumerate() {
                let rate = self.spread(name, |r| r.levels.get(i).map_or(0.0, |l| l.ops_per_sec));
                let p50 = self.spread(name, |r| {
                    r.levels
                        .get(i)
                        .map_or(0.0, |l| percentile(&l.latencies_ms, 50.0))
                });
                out.push_str(&format!(" {} ({:.1}) |", rate.show(0), p50.median));
            }
            out.push('\n');
        }
        out
    }

    fn footprint_table(&self) -> String {
        let f = &self.footprint;
        format!(
            "| footprint | value |\n| --- | --- |\n\
             | plugin RSS idle after mount (heap + binary pages) | {:.1} MB ({:.1} + {:.1}) |\n\
             | plugin RSS after the run (heap + binary pages; peak) | {:.1} MB ({:.1} + {:.1}; {:.1}) |\n\
             | cold start, spawn → handshake | {} ms |\n\
             | mount (`bao secrets enable`; the first spawns the plugin) | {} ms |\n\
             | plugin RSS, one process serving 1 / 10 / 100 mounts | {} MB |\n\
             | plugin binary (stripped) | {:.1} MB |\n",
            f.rss_idle_mb,
            f.rss_split_mb[0].0,
            f.rss_split_mb[0].1,
            f.rss_after_mb,
            f.rss_split_mb[1].0,
            f.rss_split_mb[1].1,
            f.rss_peak_mb,
            Spread::of(&f.cold_start_ms).show(1),
            Spread::of(&f.mount_ms).show(0),
            mounts_rss(&f.multiplex),
            f.binary_bytes as f64 / 1_048_576.0,
        )
    }

    /// The targets of issue 5, each with what was measured and whether it is met.
    pub fn targets(&self) -> Vec<(String, String, bool)> {
        let mut rows = Vec::new();
        for (name, go) in GO_CPU_MS {
            let cpu = self.spread(name, |r| r.sequential.cpu.plugin).median;
            rows.push((
                format!(
                    "plugin CPU per {name} op ≤ {:.2} ms (⅓ of the Go engine's {go} ms)",
                    go / 3.0
                ),
                format!("{cpu:.3} ms"),
                cpu <= go / 3.0,
            ));
        }
        let f = &self.footprint;
        rows.push((
            "plugin RSS idle ≤ 12 MB".into(),
            format!("{:.1} MB", f.rss_idle_mb),
            f.rss_idle_mb <= 12.0,
        ));
        rows.push((
            "plugin RSS after the run ≤ 16 MB".into(),
            format!("{:.1} MB", f.rss_after_mb),
            f.rss_after_mb <= 16.0,
        ));
        let ratio = self.per_repeat(["roles", "kv_read", "kv_read"], |[roles, kv, _]| roles / kv);
        rows.push((
            "roles p50 ≤ 2.5 × kv read p50 (same run)".into(),
            format!("{} ×", ratio.show(2)),
            ratio.median <= 2.5,
        ));
        let slack = self.per_repeat(["sts", "kv_write", "moto_sts"], |[sts, kv, moto]| {
            kv + moto + 1.0 - sts
        });
        rows.push((
            "sts p50 ≤ kv write p50 + moto AssumeRole p50 + 1 ms (same run)".into(),
            format!("{} ms to spare", slack.show(2)),
            slack.median >= 0.0,
        ));
        let cold = Spread::of(&f.cold_start_ms);
        rows.push((
            "cold start (spawn → handshake) ≤ 30 ms".into(),
            format!("{:.1} ms", cold.median),
            cold.median <= 30.0,
        ));
        rows
    }

    fn targets_table(&self) -> String {
        let mut out = String::from("| target | measured | met |\n| --- | --- | --- |\n");
        for (what, measured, met) in self.targets() {
            out.push_str(&format!(
                "| {what} | {measured} | {} |\n",
                if met { "yes" } else { "**no**" }
            ));
        }
        out
    }
}

/// CPU of the plugin/bao is meaningless for the direct-to-moto targets.
/// `a / b / c` of the RSS figures at each mount count.
fn mounts_rss(m: &super::multiplex::MountsRss) -> String {
    let figures: Vec<String> = m.rss_mb.iter().map(|(_, mb)| format!("{mb:.1}")).collect();
    figures.join(" / ")
}

fn cpu_cell(name: &str, spread: Spread) -> String {
    if name.starts_with("moto_") {
        "–".to_string()
    } else {
        spread.show(3)
    }
}
