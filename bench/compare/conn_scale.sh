#!/usr/bin/env bash
# Idle connections at scale: resident memory per idle client and connects per second against the number of
# clients in one process, for nmqtt, libmosquitto, Paho C and the raw client, each run against a fresh
# private mosquitto (paced at 64 connection attempts in progress, as the comparison's storm rows).
#
#   bench/compare/conn_scale.sh [--counts "1000 5000 19000"] [--reps N] [--no-docs]
#
# Writes docs/connections.md and docs/connections.png (gnuplot) unless --no-docs. A library that cannot hold
# a count in one process under the descriptor limit (libmosquitto needs 3 descriptors per client) is run
# anyway and reported as failed, with its message. Every run is bounded by --timeout and timeout(1); the
# brokers started here are stopped by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build/release}
NMQTT=${NMQTT:-build/release/tools/nmqtt/nmqtt}
PEERS=$BUILD_DIR/bench/compare
COUNTS="1000 5000 19000"
REPS=1
DOCS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --counts) COUNTS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --no-docs) DOCS=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "conn_scale.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# shellcheck source=bench/compare/processes.sh
source bench/compare/processes.sh

declare -A PROG=([nmqtt]="$NMQTT bench" [raw]="$PEERS/raw_peer" [libmosquitto]="$PEERS/mosquitto_peer"
                 [paho]="$PEERS/paho_peer")
RESULTS=$WORK/results.tsv
: > "$RESULTS"
for rep in $(seq "$REPS"); do
  for n in $COUNTS; do
    for lib in nmqtt raw libmosquitto paho; do
      [ -x "${PROG[$lib]%% *}" ] || continue
      start_mosquitto BROKER_PORT "max_connections -1" "set_tcp_nodelay true"
      # shellcheck disable=SC2086
      line=$(timeout -k 5 150 ${PROG[$lib]} conn -c "$n" --timeout 120 -h 127.0.0.1 -p "$BROKER_PORT" -t 'scale/%i' \
             --json 2>>"$WORK/stderr.log" | tail -1) || true
      [ -n "$line" ] || line='{"failed":true}'
      printf '%s\t%s\t%s\n' "$n" "$lib" "$line" >> "$RESULTS"
      stop_last
      printf '\rconn_scale.sh: repetition %s/%s, %s clients, %s done   ' "$rep" "$REPS" "$n" "$lib" >&2
    done
  done
done
echo >&2
OUT_MD=/dev/null
OUT_PNG=""
if [ "$DOCS" = 1 ]; then
  OUT_MD=docs/connections.md
  command -v gnuplot >/dev/null && OUT_PNG=docs/connections.png
fi
python3 bench/compare/conn_scale_report.py --results "$RESULTS" --markdown "$OUT_MD" --plot-dir "$WORK" \
  --png "$OUT_PNG" --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --machine "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r), descriptor limit $(ulimit -n)"
if [ -n "$OUT_PNG" ] && [ -f "$WORK/plot.gp" ]; then
  gnuplot "$WORK/plot.gp" && echo "conn_scale.sh: wrote $OUT_MD and $OUT_PNG" >&2
fi
if [ -s "$WORK/stderr.log" ]; then
  echo "conn_scale.sh: messages from the programs (first 10 lines):" >&2
  sort "$WORK/stderr.log" | uniq -c | sort -rn | head -10 >&2
fi
