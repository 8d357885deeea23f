#!/usr/bin/env bash
# Side-by-side comparison of nmqtt with libmosquitto, Paho C (async) and a raw-socket client (the physical
# limit), all on the same work against a private local mosquitto and against mqtt_sink (a minimal broker).
#
#   bench/compare/run.sh [--reps N] [--conn N] [--quick] [--no-docs] [--libs "nmqtt raw libmosquitto paho"]
#
#   --reps N     repetitions of every row, interleaved (default 5, or $REPS)
#   --conn N     clients of the connection storm rows (default 1000; 10000 is the issue's target)
#   --quick      1 repetition and a tenth of the messages (a smoke test of the script, not a measurement)
#   --no-docs    print the table only; do not rewrite docs/performance.md and docs/performance.png
#   --save FILE  keep the raw results (one JSON line per run, tab-separated with row and library) in FILE
#   --rows IDS   only these rows (ids: q0 q1w64 q1w65535 q2 rtt0 rtt1 conn sq0 sq1w64 sconn nrtt1 mrtt1 mrtt2
#                v5q0 v5q1w64 v5rtt1 v5conn sub0 sub1; the v5 rows speak MQTT 5.0 in every program)
#
# The subscriber rows (sub0, sub1) run each program as a subscriber only (`sub` mode), fed through mosquitto
# by raw_peer publishing from another process; with perf (linux-perf, run as root or with
# kernel.perf_event_paranoid <= -1) their system calls are counted too, per received message.
#
# Programs: $NMQTT (default build/release/tools/nmqtt/nmqtt, used as `nmqtt bench ...` when it exists) and
# the peers in $BUILD_DIR/bench/compare (default build/release). Every run is bounded by --timeout and
# by timeout(1); the brokers started here are stopped by PID on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build/release}
NMQTT=${NMQTT:-build/release/tools/nmqtt/nmqtt}
PEERS=$BUILD_DIR/bench/compare
REPS=${REPS:-5}
CONN=1000
SCALE=1
DOCS=1
LIBS="nmqtt raw libmosquitto paho"
SAVE=""
ONLY_ROWS=""

while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --conn) CONN=$2; shift 2 ;;
    --quick) REPS=1; SCALE=10; shift ;;
    --no-docs) DOCS=0; shift ;;
    --libs) LIBS=$2; shift 2 ;;
    --save) SAVE=$2; shift 2 ;;
    --rows) ONLY_ROWS=" $2 "; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run.sh: nothing listens on port $1" >&2
  return 1
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The brokers run in this shell (not in $(...)) so that their PIDs are known to cleanup.
start_mosquitto() {  # start_mosquitto VAR [configuration lines...]: a new mosquitto, its port in VAR
  local var=$1 port conf=$WORK/mosquitto.$RANDOM.conf
  shift
  port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_dest none\n' "$port" > "$conf"
  printf '%s\n' "$@" >> "$conf"
  mosquitto -c "$conf" >"$conf.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  printf -v "$var" '%s' "$port"
}

# The main mosquitto: QoS 1/2 queues unbounded (no drops), 1000 in flight towards a subscriber and from a
# publisher (its QoS 2 receive limit disconnects 3.1.1 clients above it), Nagle off so that the broker's own
# writes do not add 40 ms stalls to what we measure. The second one keeps mosquitto's default (Nagle on).
start_mosquitto MOSQ_PORT "max_queued_messages 0" "max_inflight_messages 1000" "set_tcp_nodelay true"
start_mosquitto NAGLE_MOSQ_PORT "max_queued_messages 0" "max_inflight_messages 1000"

start_sink() {  # start_sink VAR [options...]: a new mqtt_sink, its port in VAR
  local var=$1 out=$WORK/sink.$RANDOM
  shift
  "$PEERS/mqtt_sink" -p 0 --max-seconds 3600 "$@" >"$out" 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do
    if [ -s "$out" ]; then
      printf -v "$var" '%s' "$(head -1 "$out")"
      return 0
    fi
    sleep 0.05
  done
  echo "run.sh: mqtt_sink did not start" >&2
  return 1
}
start_sink SINK_PORT
start_sink NAGLE_PORT --no-nodelay

# Programs present, in a fixed order.
declare -A PROG
[ -x "$NMQTT" ] && "$NMQTT" bench --help >/dev/null 2>&1 && PROG[nmqtt]="$NMQTT bench"
[ -x "$PEERS/raw_peer" ] && PROG[raw]="$PEERS/raw_peer" && PROG[raw-quickack]="env RAW_QUICKACK=1 $PEERS/raw_peer"
[ -x "$PEERS/mosquitto_peer" ] && PROG[libmosquitto]="$PEERS/mosquitto_peer"
[ -x "$PEERS/paho_peer" ] && PROG[paho]="$PEERS/paho_peer"
ORDER=()
for lib in $LIBS raw-quickack; do [ -n "${PROG[$lib]:-}" ] && ORDER+=("$lib"); done
if [ ${#ORDER[@]} -eq 0 ]; then
  echo "run.sh: no program found (build with ./dev build release)" >&2
  exit 1
fi
echo "run.sh: ${ORDER[*]}; $REPS repetition(s); mosquitto :$MOSQ_PORT (Nagle on: :$NAGLE_MOSQ_PORT)," \
  "sink :$SINK_PORT (Nagle on: :$NAGLE_PORT)" >&2

# Rows: id|label|port|arguments (same for every program)|stall (the rows where raw-quickack runs too:
# raw_peer with TCP_QUICKACK re-armed after every read). Timeouts bound each run.
m() { echo $(( $1 / SCALE )); }
ROWS=(
  "q0|QoS 0 stream (mosquitto)|$MOSQ_PORT|pub -q 0 --inflight 1024 -n $(m 100000) --timeout 10"
  "q1w64|QoS 1 stream, window 64 (mosquitto)|$MOSQ_PORT|pub -q 1 --inflight 64 -n $(m 50000) --timeout 10"
  "q1w65535|QoS 1 stream, window 65535 (mosquitto)|$MOSQ_PORT|pub -q 1 --inflight 65535 -n $(m 30000) --timeout 10"
  "q2|QoS 2 stream, window 64 (mosquitto)|$MOSQ_PORT|pub -q 2 --inflight 64 -n $(m 30000) --timeout 10"
  "rtt0|Round trip QoS 0 (mosquitto)|$MOSQ_PORT|rtt -q 0 -n $(m 2000) --timeout 5"
  "rtt1|Round trip QoS 1 (mosquitto)|$MOSQ_PORT|rtt -q 1 -n $(m 1000) --timeout 3"
  "conn|Connection storm, $CONN clients (mosquitto)|$MOSQ_PORT|conn -c $CONN --timeout 30"
  "sq0|QoS 0 stream (sink)|$SINK_PORT|pub -q 0 --inflight 1024 -n $(m 100000) --timeout 10"
  "sq1w64|QoS 1 stream, window 64 (sink)|$SINK_PORT|pub -q 1 --inflight 64 -n $(m 100000) --timeout 10"
  "sconn|Connection storm, $CONN clients (sink)|$SINK_PORT|conn -c $CONN --timeout 30"
  "nrtt1|Round trip QoS 1 (sink without TCP_NODELAY)|$NAGLE_PORT|rtt -q 1 -n $(m 1000) --timeout 3|stall"
  "mrtt1|Round trip QoS 1 (mosquitto without TCP_NODELAY)|$NAGLE_MOSQ_PORT|rtt -q 1 -n $(m 500) --timeout 3|stall"
  "mrtt2|Round trip QoS 2 (mosquitto without TCP_NODELAY)|$NAGLE_MOSQ_PORT|rtt -q 2 -n $(m 500) --timeout 3|stall"
  "v5q0|MQTT 5 QoS 0 stream (mosquitto)|$MOSQ_PORT|pub -V 5 -q 0 --inflight 1024 -n $(m 100000) --timeout 10|v5"
  "v5q1w64|MQTT 5 QoS 1 stream, window 64 (mosquitto)|$MOSQ_PORT|pub -V 5 -q 1 --inflight 64 -n $(m 50000) --timeout 10|v5"
  "v5rtt1|MQTT 5 round trip QoS 1 (mosquitto)|$MOSQ_PORT|rtt -V 5 -q 1 -n $(m 1000) --timeout 3|v5"
  "v5conn|MQTT 5 connection storm, $CONN clients (mosquitto)|$MOSQ_PORT|conn -V 5 -c $CONN --timeout 30|v5"
  "sub0|Subscriber only, QoS 0 (mosquitto)|$MOSQ_PORT|sub -q 0 -n $(m 200000) --timeout 20|sub|pub -q 0 --inflight 64 -n $(m 200000) --timeout 20"
  "sub1|Subscriber only, QoS 1 (mosquitto)|$MOSQ_PORT|sub -q 1 -n $(m 100000) --timeout 20|sub|pub -q 1 --inflight 64 -n $(m 100000) --timeout 20"
)
# System calls counted in the subscriber rows (perf tracepoints; the first is the total).
SYSCALLS="raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_setsockopt,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_futex,syscalls:sys_enter_sendto,syscalls:sys_enter_write"
COUNT_SYSCALLS=0
if command -v perf >/dev/null && perf stat -x, -e "$SYSCALLS" -o /dev/null -- true >/dev/null 2>&1; then
  COUNT_SYSCALLS=1
fi

# run_sub_row LIB ID PORT SUB_ARGS PUB_ARGS: the subscriber in the background, the feeder once it stands;
# prints the subscriber's JSON line, with "syscalls_per_msg" and per-call counts merged in when perf counts.
run_sub_row() {
  local lib=$1 id=$2 port=$3 sub_args=$4 pub_args=$5 ready=$WORK/ready.$RANDOM stats=$WORK/perf.$RANDOM
  local out=$WORK/sub.$RANDOM timeout_s counter=()
  timeout_s=$(sed -n 's/.*--timeout \([0-9]*\).*/\1/p' <<<"$sub_args")
  [ "$COUNT_SYSCALLS" = 1 ] && counter=(perf stat -x, -e "$SYSCALLS" -o "$stats" --)
  # shellcheck disable=SC2086
  BENCH_READY_FILE=$ready timeout -k 5 $((timeout_s + 30)) "${counter[@]}" ${PROG[$lib]} $sub_args -h 127.0.0.1 \
    -p "$port" -t "bench/$id/%i" --json >"$out" 2>>"$WORK/stderr.log" &
  local sub_pid=$!
  for _ in $(seq 200); do [ -e "$ready" ] && break; sleep 0.05; done
  # shellcheck disable=SC2086
  [ -e "$ready" ] && RAW_PUBLISH_ONLY=1 timeout -k 5 $((timeout_s + 30)) "$PEERS/raw_peer" $pub_args -h 127.0.0.1 \
    -p "$port" -t "bench/$id/%i" >/dev/null 2>>"$WORK/stderr.log"
  wait "$sub_pid" || true
  python3 - "$out" "$stats" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("{")]
if not lines:
    print('{"failed":true}'); sys.exit()
result = json.loads(lines[-1])
try:
    counts = {}
    for line in open(sys.argv[2], encoding="utf-8"):
        parts = line.strip().split(",")
        if len(parts) >= 3 and parts[0].isdigit():
            counts[parts[2].split(":")[-1].replace("sys_enter_", "")] = int(parts[0])
    n = max(result.get("messages", 0), 1)
    if "sys_enter" in counts:
        result["syscalls_per_msg"] = counts.pop("sys_enter") / n
        for name, value in counts.items():
            result[name + "_per_msg"] = value / n
except OSError:
    pass
print(json.dumps(result))
PY
}
# The programs that speak MQTT 5 (the rows marked v5 run only these).
V5_LIBS=" nmqtt raw libmosquitto paho "

RESULTS=$WORK/results.tsv
: > "$RESULTS"
started=$(date +%s)
for rep in $(seq "$REPS"); do
  for row in "${ROWS[@]}"; do
    IFS='|' read -r id label port args stall feeder <<<"$row"
    [ -n "$ONLY_ROWS" ] && [[ "$ONLY_ROWS" != *" $id "* ]] && continue
    timeout_s=$(sed -n 's/.*--timeout \([0-9]*\).*/\1/p' <<<"$args")
    for lib in "${ORDER[@]}"; do
      [ "$lib" = raw-quickack ] && [ "${stall:-}" != stall ] && continue
      [ "${stall:-}" = v5 ] && [[ "$V5_LIBS" != *" $lib "* ]] && continue
      if [ "${stall:-}" = sub ]; then
        [ "$lib" = raw-quickack ] && continue
        line=$(run_sub_row "$lib" "$id" "$port" "$args" "$feeder")
        printf '%s\t%s\t%s\t%s\n' "$id" "$label" "$lib" "$line" >> "$RESULTS"
        continue
      fi
      # shellcheck disable=SC2086
      line=$(timeout -k 5 $((timeout_s + 30)) ${PROG[$lib]} $args -h 127.0.0.1 -p "$port" -t "bench/$id/%i" --json \
             2>>"$WORK/stderr.log" | tail -1) || true
      [ -n "$line" ] || line='{"failed":true}'
      printf '%s\t%s\t%s\t%s\n' "$id" "$label" "$lib" "$line" >> "$RESULTS"
    done
    printf '\rrun.sh: repetition %s/%s, %s done (%ss)   ' "$rep" "$REPS" "$id" $(( $(date +%s) - started )) >&2
  done
done
echo >&2
[ -n "$SAVE" ] && cp "$RESULTS" "$SAVE"

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) || true
mosquitto_version=$( (mosquitto -h 2>/dev/null || true) | head -1)
MACHINE="$(nproc) cores, ${cpu_model:-unknown CPU}, Linux $(uname -r), ${mosquitto_version:-mosquitto}"
OUT_MD=/dev/null
OUT_PNG=""
if [ "$DOCS" = 1 ]; then
  OUT_MD=docs/performance.md
  command -v gnuplot >/dev/null && OUT_PNG=docs/performance.png
fi
python3 bench/compare/report.py --results "$RESULTS" --machine "$MACHINE" --reps "$REPS" --order "${ORDER[*]}" \
  --markdown "$OUT_MD" --plot-dir "$WORK" --png "$OUT_PNG" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" --seconds $(( $(date +%s) - started ))
if [ -n "$OUT_PNG" ] && [ -f "$WORK/plot.gp" ]; then
  gnuplot "$WORK/plot.gp" && echo "run.sh: wrote $OUT_MD and $OUT_PNG" >&2
fi
if [ -s "$WORK/stderr.log" ]; then
  echo "run.sh: messages from the programs (first 20 lines):" >&2
  sort "$WORK/stderr.log" | uniq -c | sort -rn | head -20 >&2
fi
