//! The benchmark (`benchkit`), as tests: `bench_smoke` measures a few requests per target
//! against the debug build in every CI run (gated by `BAO_ACC=1` like the end-to-end
//! suites), so the benchmark never rots; `bench_full` is the real thing, ignored by
//! default and run by `scripts/bench.sh` against the release build, writing its results
//! under `bench/results/`.

mod benchkit;
mod common;

use std::path::PathBuf;

use common::moto::moto_for_acceptance;
use common::openbao::{bao_for_acceptance, plugin_binary};

#[test]
fn bench_smoke() {
    let (Some(bao), Some(moto)) = (bao_for_acceptance(), moto_for_acceptance()) else {
        return;
    };
    let out = tempfile::Builder::new()
        .prefix("aws-rs-bench-")
        .tempdir()
        .expect("temp dir");
    let report = benchkit::run(&bao, &moto, &plugin_binary(), &benchkit::Settings::smoke());
    let markdown = benchkit::write(&report, out.path());
    println!("{markdown}");
    let runs = &report.repeats[0];
    assert_eq!(runs.len(), benchkit::world::TARGETS.len());
    for run in runs {
        assert_eq!(run.sequential.errors, 0, "{}: failed operations", run.name);
        assert!(
            !run.sequential.latencies_ms.is_empty(),
            "{}: nothing measured",
            run.name
        );
        for level in &run.levels {
            assert!(
                level.ops_per_sec > 0.0 && level.errors == 0,
                "{}: {level:?}",
                run.name
            );
        }
        assert!(
            markdown.contains(&format!("| {} |", run.name)),
            "{} not in the table",
            run.name
        );
    }
    let f = &report.footprint;
    assert!(f.rss_idle_mb > 0.0 && f.rss_after_mb > 0.0, "{f:?}");
    assert!(
        f.cold_start_ms.iter().all(|ms| *ms > 0.0) && f.binary_bytes > 0,
        "{f:?}"
    );
    let m = &f.multiplex;
    assert_eq!(m.rss_mb.len(), 3, "RSS at 1, 10 and 100 mounts: {m:?}");
    assert!(m.rss_mb.iter().all(|(_, mb)| *mb > 0.0), "{m:?}");
    assert!(out.path().join("latest.md").exists());
    assert_eq!(
        report.targets().len(),
        8,
        "every target of issue 5 is checked"
    );
}

/// The full benchmark: `AWS_RS_BENCH_PLUGIN` (the release binary) and
/// `AWS_RS_BENCH_OUT` (the results directory) come from `scripts/bench.sh`.
#[test]
#[ignore = "minutes long; run by scripts/bench.sh"]
fn bench_full() {
    let (Some(bao), Some(moto)) = (bao_for_acceptance(), moto_for_acceptance()) else {
        panic!("the benchmark needs BAO_ACC=1 and the test tools (scripts/bench.sh sets them)");
    };
    let plugin = std::env::var_os("AWS_RS_BENCH_PLUGIN").map_or_else(plugin_binary, PathBuf::from);
    let out = std::env::var_os("AWS_RS_BENCH_OUT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results"),
        PathBuf::from,
    );
    let settings = match std::env::var("AWS_RS_BENCH_PROFILE").as_deref() {
        Ok("quick") => benchkit::Settings::quick(),
        _ => benchkit::Settings::full(),
    };
    let report = benchkit::run(&bao, &moto, &plugin, &settings);
    println!("{}", benchkit::write(&report, &out));
}
