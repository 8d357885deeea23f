#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build/fuzz and runs each for SECONDS (default 300).
# Usage: fuzz/run.sh [SECONDS] [BUILD_DIR]
# The growing corpus is kept in fuzz/corpus-<target>/ (ignored by git) and starts from fuzz/seeds/.
# A crash is saved as fuzz/findings/<target>/crash-*: turn it into a regression test in tests/unit/, then
# replay it with: build/fuzz/<target> fuzz/findings/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-300}
BUILD=${2:-build/fuzz}
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ not found (./dev deps installs it)" >&2; exit 2; }

CC=clang CXX=clang++ cmake -S fuzz -B "$BUILD" -DNMQTT_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null

status=0
for target in fuzz_stream_decoder fuzz_session; do
  corpus=fuzz/corpus-$target
  findings=fuzz/findings/$target
  mkdir -p "$corpus" "$findings"
  echo "fuzz/run.sh: $target for ${SECONDS_PER_TARGET}s" >&2
  # -rss_limit_mb and -timeout bound each input; -max_total_time bounds the run.
  if ! "$BUILD/$target" "$corpus" fuzz/seeds -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 2>"$BUILD/$target.log"; then
    echo "fuzz/run.sh: $target FAILED; see $BUILD/$target.log and $findings/" >&2
    tail -40 "$BUILD/$target.log" >&2
    status=1
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$BUILD/$target.log" >&2 || true
  fi
done
exit $status
