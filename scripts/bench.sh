#!/usr/bin/env bash
# The benchmark, with one command: builds the release plugin (the binary users run),
# installs the pinned test tools, then runs the full benchmark (`bench_full` in
# tests/bench.rs) — OpenBao and moto on free loopback ports, every target in three
# alternating repeats — and writes bench/results/<UTC time>.md and .json (raw numbers) and
# bench/results/latest.md, whose table it also puts into README.md between the
# `<!-- bench:begin -->` and `<!-- bench:end -->` markers.
#
# Takes about 10 minutes on a quiet 2-core machine (plus the builds). Keep the machine
# otherwise idle: the figures are CPU times and latencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "test tools (scripts/install-test-deps.sh)"
tools="$(scripts/install-test-deps.sh)"
AWS_RS_BAO_BIN="$(sed -n 's/^AWS_RS_BAO_BIN=//p' <<<"$tools")"
AWS_RS_MOTO_BIN="$(sed -n 's/^AWS_RS_MOTO_BIN=//p' <<<"$tools")"
export AWS_RS_BAO_BIN AWS_RS_MOTO_BIN BAO_ACC=1

step "cargo build --release (the plugin under test)"
cargo build --release
export AWS_RS_BENCH_PLUGIN="$PWD/target/release/vault-plugin-secrets-aws-rs"
export AWS_RS_BENCH_OUT="$PWD/bench/results"

step "benchmark (tests/bench.rs bench_full)"
cargo test --test bench -- --ignored --exact bench_full --nocapture

step "README.md table"
python3 - "$AWS_RS_BENCH_OUT/latest.md" README.md <<'PY'
import sys
latest, readme = sys.argv[1], sys.argv[2]
table = open(latest).read().strip()
text = open(readme).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
if begin not in text or end not in text:
    sys.exit("README.md has no bench markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(readme, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
PY
echo "bench.sh: results in $AWS_RS_BENCH_OUT; README.md updated" >&2
