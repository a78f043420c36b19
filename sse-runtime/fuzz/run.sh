#!/usr/bin/env bash
# Fuzzes the encoder, the parser (issue 5) and the fast JSON path of data fields (issue 25): first replays the committed reproducers of
# past crashes (regressions/TARGET/), then runs each target for SECONDS (default 60).
#
#   bash sse-runtime/fuzz/run.sh [SECONDS]
#
# cargo-fuzz passes nightly-only rustc flags (-Zsanitizer=address, ...): on the stable
# toolchain RUSTC_BOOTSTRAP=1 lets it. A crash fails the run and leaves its input in
# fuzz/artifacts/TARGET/; copy it to fuzz/regressions/TARGET/ to keep it as a regression.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
log_dir="fuzz/target/logs"
mkdir -p "$log_dir"

echo "== fuzz: build ($(cargo fuzz --version))"
cargo fuzz build

for target in roundtrip parse_bytes json_data; do
  if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    echo "== fuzz $target: replaying fuzz/regressions/$target"
    cargo fuzz run "$target" "fuzz/regressions/$target"/* -- -runs=1
  fi
  corpus=("fuzz/corpus/$target")
  mkdir -p "${corpus[0]}"
  if [ -d "fuzz/seeds/$target" ]; then
    corpus+=("fuzz/seeds/$target")
  fi
  echo "== fuzz $target: ${seconds} s"
  log="$log_dir/$target.log"
  if ! cargo fuzz run "$target" "${corpus[@]}" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz $target: FAILED; reproducer in sse-runtime/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
  grep -E '^stat::(number_of_executed_units|peak_rss_mb):' "$log" || true
done
