#!/usr/bin/env bash
# The fuzz campaign: builds the libFuzzer targets with clang into build/fuzz and runs each in turn (one
# fuzzer process at a time) for RUNS executions (default 10,000,000), bounded by MAX_SECONDS per target
# (default 5400). Then merges what it found into the committed, minimised corpus fuzz/corpus/<target>/.
# Usage: fuzz/run.sh [RUNS] [TARGET...]          (./dev fuzz [RUNS] calls it)
#   NMQTT_FUZZ_MAX_SECONDS=N   time bound per target
#   NMQTT_FUZZ_JOBS=N          build parallelism (default 2)
#   NMQTT_FUZZ_MAX_LEN=N       largest input (default 2048 bytes: up to ~500 session operations)
# Each target starts from fuzz/corpus/<target>/ and fuzz/seeds/; the run's growing corpus is kept in
# build/fuzz/work-<target>/ (not committed). A crash, timeout or invariant violation is saved as
# fuzz/findings/<target>/crash-* (ignored by git): turn it into a regression test in tests/unit/, then
# replay it with build/fuzz/<target> fuzz/findings/<target>/crash-... (NMQTT_FUZZ_TRACE=1 prints the steps
# of the session targets).
# Figures (executions, exec/s, new units, coverage as libFuzzer's cov/ft counters, corpus size) are printed
# and appended to build/fuzz/campaign.txt; docs/reliability.md ("Fuzzing") records the last campaign's.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_stream_decoder fuzz_session fuzz_session_ops)
MAX_SECONDS=${NMQTT_FUZZ_MAX_SECONDS:-5400}
BUILD=build/fuzz
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ not found (./dev deps installs it)" >&2; exit 2; }

CC=clang CXX=clang++ cmake -S fuzz -B "$BUILD" -DNMQTT_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "${NMQTT_FUZZ_JOBS:-2}" >/dev/null

# Prints a libFuzzer statistic from a log.
stat() { grep -E "^stat::$1:" "$2" | awk '{print $2}' | tail -1; }

status=0
for target in "${TARGETS[@]}"; do
  corpus=fuzz/corpus/$target
  work=$BUILD/work-$target
  findings=fuzz/findings/$target
  log=$BUILD/$target.log
  mkdir -p "$corpus" "$work" "$findings"
  echo "fuzz/run.sh: $target: $RUNS runs (at most ${MAX_SECONDS}s)" >&2
  # -rss_limit_mb and -timeout bound each input; -runs and -max_total_time bound the run.
  if ! "$BUILD/$target" "$work" "$corpus" fuzz/seeds -runs="$RUNS" -max_total_time="$MAX_SECONDS" \
      -max_len="${NMQTT_FUZZ_MAX_LEN:-2048}" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 \
      2>"$log"; then
    echo "fuzz/run.sh: $target FAILED; see $log and $findings/" >&2
    tail -40 "$log" >&2
    status=1
    continue
  fi
  # Minimise: keep only the inputs that add coverage, into a fresh directory that replaces the corpus.
  fresh=$BUILD/merged-$target
  rm -rf "$fresh" && mkdir -p "$fresh"
  "$BUILD/$target" -merge=1 -max_len="${NMQTT_FUZZ_MAX_LEN:-2048}" "$fresh" "$corpus" "$work" 2>"$BUILD/$target.merge.log"
  rm -rf "$corpus" && mv "$fresh" "$corpus"
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$done_line")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$done_line")
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(find "$corpus" -type f -exec cat {} + | wc -c)
  line="$(date -u +%Y-%m-%dT%H:%MZ) $target runs=$(stat number_of_executed_units "$log")"
  line+=" exec_per_s=$(stat average_exec_per_sec "$log") new_units=$(stat new_units_added "$log")"
  line+=" cov=$cov ft=$ft peak_rss_mb=$(stat peak_rss_mb "$log") corpus_files=$files corpus_bytes=$bytes"
  echo "$line" | tee -a "$BUILD/campaign.txt" >&2
done
exit $status
