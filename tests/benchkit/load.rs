//! Driving one benchmark target (test layer): the [`Target`] seam every measured request
//! goes through, a sequential run after a warm-up (latencies, and the CPU each process
//! spent per operation), and runs at a fixed concurrency for a bounded time (throughput).
//! Every run is bounded in count and time and stops by itself.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::client::Client;
use super::procfs;

/// Something to measure: one operation is one client-visible request (or, for the
/// moto-direct IAM target, the sequence of calls one issuance makes).
pub trait Target: Sync {
    /// A connection for one worker.
    fn client(&self) -> Client;
    /// One operation; `Ok(false)` when the target has nothing left to do (revoke ran out
    /// of leases), which ends the run early.
    fn op(&self, client: &mut Client) -> Result<bool, String>;
    /// Gets ready for up to `count` operations, unmeasured (revoke issues its leases).
    fn prepare(&self, _count: usize) {}
}

/// The processes whose CPU is counted.
#[derive(Debug, Clone, Copy)]
pub struct Pids {
    /// The OpenBao server.
    pub bao: u32,
    /// The plugin process of the measured mount.
    pub plugin: u32,
    /// moto.
    pub moto: u32,
}

/// CPU milliseconds per operation of each process during a run.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuPerOp {
    /// OpenBao.
    pub bao: f64,
    /// The plugin.
    pub plugin: f64,
    /// moto.
    pub moto: f64,
    /// The benchmark driver itself.
    pub driver: f64,
}

fn cpu_now(pids: Pids) -> [f64; 4] {
    let read = |pid| procfs::cpu_ms(pid).unwrap_or(0.0);
    [
        read(pids.bao),
        read(pids.plugin),
        read(pids.moto),
        procfs::own_cpu_ms(),
    ]
}

fn per_op(before: [f64; 4], after: [f64; 4], ops: usize) -> CpuPerOp {
    let n = ops.max(1) as f64;
    CpuPerOp {
        bao: (after[0] - before[0]) / n,
        plugin: (after[1] - before[1]) / n,
        moto: (after[2] - before[2]) / n,
        driver: (after[3] - before[3]) / n,
    }
}

/// `d` in milliseconds, to the tenth of a microsecond (the raw numbers stay readable).
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 1e4
}

/// A sequential run: latencies in ms and the CPU per operation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sequential {
    /// Latency of every measured operation, ms.
    pub latencies_ms: Vec<f64>,
    /// Operations that failed.
    pub errors: usize,
    /// CPU per operation of each process.
    pub cpu: CpuPerOp,
}

/// `warmup` unmeasured operations, then `count` measured ones, one after the other.
pub fn sequential(target: &dyn Target, pids: Pids, warmup: usize, count: usize) -> Sequential {
    let mut client = target.client();
    for _ in 0..warmup {
        let _ = target.op(&mut client);
    }
    let before = cpu_now(pids);
    let mut latencies = Vec::with_capacity(count);
    let mut errors = 0;
    for _ in 0..count {
        let started = Instant::now();
        match target.op(&mut client) {
            Ok(true) => latencies.push(ms(started.elapsed())),
            Ok(false) => break,
            Err(e) => {
                errors += 1;
                if errors == 1 {
                    eprintln!("bench: first failed operation: {e}");
                }
            }
        }
    }
    let cpu = per_op(before, cpu_now(pids), latencies.len() + errors);
    Sequential {
        latencies_ms: latencies,
        errors,
        cpu,
    }
}

/// A run at a fixed concurrency. Its latencies are summarised in the JSON report (there
/// are thousands); the sequential runs keep every one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Concurrent {
    /// Workers.
    pub concurrency: usize,
    /// Completed operations per second.
    pub ops_per_sec: f64,
    /// Latencies of the completed operations, ms.
    #[serde(skip)]
    pub latencies_ms: Vec<f64>,
    /// p50, p95 and p99 of those latencies, ms.
    pub percentiles_ms: [f64; 3],
    /// Completed operations.
    pub completed: usize,
    /// Operations that failed.
    pub errors: usize,
    /// CPU per operation of each process.
    pub cpu: CpuPerOp,
}

/// `concurrency` workers issuing operations back to back for `duration` (or until the
/// target runs out); workers finish the operation in hand when time is up.
pub fn concurrent(
    target: &dyn Target,
    pids: Pids,
    concurrency: usize,
    duration: Duration,
) -> Concurrent {
    let latencies = Mutex::new(Vec::new());
    let errors = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let before = cpu_now(pids);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let mut client = target.client();
                let mut mine = Vec::new();
                while !done.load(Ordering::Relaxed) && started.elapsed() < duration {
                    let t = Instant::now();
                    match target.op(&mut client) {
                        Ok(true) => mine.push(ms(t.elapsed())),
                        Ok(false) => done.store(true, Ordering::Relaxed),
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(mine);
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = latencies.into_inner().unwrap_or_else(|e| e.into_inner());
    let errors = errors.load(Ordering::Relaxed);
    let cpu = per_op(before, cpu_now(pids), latencies.len() + errors);
    let p = |pct| super::stats::percentile(&latencies, pct);
    Concurrent {
        concurrency,
        ops_per_sec: latencies.len() as f64 / elapsed.max(1e-9),
        percentiles_ms: [p(50.0), p(95.0), p(99.0)],
        completed: latencies.len(),
        latencies_ms: latencies,
        errors,
        cpu,
    }
}
