//! What `/proc` says about a process, for the benchmark (test layer): CPU time used so far
//! (user + system, all threads, in clock ticks converted to milliseconds) and resident
//! memory (current and peak). Linux only, like the rest of the suite.

use std::fs;

/// Milliseconds per clock tick (`getconf CLK_TCK` is 100 on Linux).
const MS_PER_TICK: f64 = 10.0;

/// CPU milliseconds `pid` has used (utime + stime of `/proc/<pid>/stat`), or `None` when it
/// is gone.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * MS_PER_TICK)
}

/// CPU milliseconds of this process (the driver).
pub fn own_cpu_ms() -> f64 {
    cpu_ms(std::process::id()).unwrap_or(0.0)
}

/// Resident memory of `pid` in MB (`VmRSS`), and its peak (`VmHWM`).
pub fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    Some((status_mb(pid, "VmRSS:")?, status_mb(pid, "VmHWM:")?))
}

/// Of the resident memory, MB of heap and stacks (`RssAnon`) and of mapped files — the
/// binary's code and data pages (`RssFile`).
pub fn rss_split_mb(pid: u32) -> Option<(f64, f64)> {
    Some((status_mb(pid, "RssAnon:")?, status_mb(pid, "RssFile:")?))
}

fn status_mb(pid: u32, key: &str) -> Option<f64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
