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
#   --merge      rewrite in docs/performance.md only the tables and goal lines of the rows measured here
#                (the rest of the page, and docs/performance.png, stay as they are); for --rows runs
#   --markdown F write the Markdown report to F instead of docs/performance.md (with --merge: merge into F)
#   --save FILE  keep the raw results (one JSON line per run, tab-separated with row and library) in FILE
#   --rows IDS   only these rows (ids: q0 q1w64 q1w65535 q2 rtt0 rtt1 conn sq0 sq1w64 sconn nrtt1 mrtt1 mrtt2
#                v5q0 v5q1w64 v5rtt1 v5conn sub0 sub1; the v5 rows speak MQTT 5.0 in every program;
#                WebSockets: wsq0 wsq1w64 wsrtt1 against RabbitMQ, wsaq0 wsaq1w64 wsartt1 against aedes)
#
# The subscriber rows (sub0, sub1) run each program as a subscriber only (`sub` mode), fed through mosquitto
# by raw_peer publishing from another process; with perf (linux-perf, run as root or with
# kernel.perf_event_paranoid <= -1) their system calls are counted too, per received message.
#
# The WebSocket rows (ws*) run their own programs against one broker over both transports: nmqtt over TCP,
# nmqtt-ws (`nmqtt bench --ws`), mqttjs and mqttjs-ws (MQTT.js 5, bench/compare/mqttjs_peer.mjs, loaded from
# $NMQTT_NPM_DIR as ./dev deps installs it). Their brokers start only when such a row is selected: a private
# RabbitMQ node (rabbitmq_mqtt + rabbitmq_web_mqtt on /ws, its own epmd; ~15 s to start) and aedes
# (tests/support/brokers/aedes_broker.mjs, npm ws on /mqtt). A missing broker or Node.js skips its rows.
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
MERGE=0
MARKDOWN=""
NPM_DIR=${NMQTT_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nmqtt/npm}
RABBITMQ_SERVER=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}

while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --conn) CONN=$2; shift 2 ;;
    --quick) REPS=1; SCALE=10; shift ;;
    --no-docs) DOCS=0; shift ;;
    --merge) MERGE=1; shift ;;
    --markdown) MARKDOWN=$2; shift 2 ;;
    --libs) LIBS=$2; shift 2 ;;
    --save) SAVE=$2; shift 2 ;;
    --rows) ONLY_ROWS=" $2 "; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/compare/processes.sh
source bench/compare/processes.sh

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

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

# ---- WebSocket rows: id|label|broker|arguments. Each runs nmqtt and MQTT.js over TCP and over WebSockets
# against the same broker, in the same repetition.
WS_ROWS=(
  "wsq0|QoS 0 stream (RabbitMQ)|rabbitmq|pub -q 0 --inflight 1024 -n $(m 30000) --timeout 10"
  "wsq1w64|QoS 1 stream, window 64 (RabbitMQ)|rabbitmq|pub -q 1 --inflight 64 -n $(m 20000) --timeout 10"
  "wsrtt1|Round trip QoS 1 (RabbitMQ)|rabbitmq|rtt -q 1 -n $(m 1000) --timeout 5"
  "wsaq0|QoS 0 stream (aedes)|aedes|pub -q 0 --inflight 1024 -n $(m 20000) --timeout 10"
  "wsaq1w64|QoS 1 stream, window 64 (aedes)|aedes|pub -q 1 --inflight 64 -n $(m 10000) --timeout 10"
  "wsartt1|Round trip QoS 1 (aedes)|aedes|rtt -q 1 -n $(m 500) --timeout 5"
)
selected() { [ -z "$ONLY_ROWS" ] || [[ "$ONLY_ROWS" == *" $1 "* ]]; }
declare -A WS_BROKERS  # brokers the selected WebSocket rows need
for row in "${WS_ROWS[@]}"; do
  IFS='|' read -r id _ broker _ <<<"$row"
  selected "$id" && WS_BROKERS[$broker]=1
done

NODE_OK=0
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then NODE_OK=1; fi

# A private RabbitMQ node on loopback, as tests/support/broker_fixtures.cpp starts one: its own epmd on a
# free port, HOME (the Erlang cookie), mnesia and log directories under $WORK, MQTT and web_mqtt (/ws)
# listeners on 127.0.0.1. RUNNING_UNDER_SYSTEMD makes the script exec the VM, so the PID kept is beam.smp.
# Sets WS_PORTS[rabbitmq] to "MQTT-port WebSocket-port path"; returns 1 (with a message) when it cannot.
declare -A WS_PORTS
start_rabbitmq() {
  local dir=$WORK/rabbitmq epmd_port amqp_port mqtt_port dist_port ws_port dist_args pid
  if [ ! -x "$RABBITMQ_SERVER" ] || ! command -v epmd >/dev/null ||
     ! compgen -G "$(dirname "$RABBITMQ_SERVER")/../lib/rabbitmq_server-*/plugins/rabbitmq_web_mqtt-*" >/dev/null; then
    echo "run.sh: RabbitMQ with rabbitmq_web_mqtt is not installed: its WebSocket rows are skipped" >&2
    return 1
  fi
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  printf 'NMQTTBENCH%s' "$$" > "$dir/home/.erlang.cookie"
  chmod 400 "$dir/home/.erlang.cookie"
  read -r epmd_port amqp_port mqtt_port dist_port ws_port <<<"$(free_ports 5)"
  epmd -port "$epmd_port" -address 127.0.0.1 >"$dir/epmd.log" 2>&1 &
  PIDS+=($!)
  wait_port "$epmd_port" || return 1
  printf '%s\n' "listeners.tcp.1 = 127.0.0.1:$amqp_port" "mqtt.listeners.tcp.1 = 127.0.0.1:$mqtt_port" \
    "mqtt.allow_anonymous = true" "loopback_users = none" "log.console = false" "log.file.level = warning" \
    "web_mqtt.tcp.ip = 127.0.0.1" "web_mqtt.tcp.port = $ws_port" > "$dir/rabbitmq.conf"
  echo '[rabbitmq_mqtt,rabbitmq_web_mqtt].' > "$dir/enabled_plugins"
  : > "$dir/rabbitmq-env.conf"
  dist_args="-kernel inet_dist_use_interface {127,0,0,1}"
  env HOME="$dir/home" ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_NODENAME="nmqttbench$$@localhost" RABBITMQ_USE_LONGNAME=false RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$dist_args" RABBITMQ_CTL_ERL_ARGS="$dist_args" RUNNING_UNDER_SYSTEMD=true \
    "$RABBITMQ_SERVER" >"$dir/server.out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  # web_mqtt opens its listener after the MQTT one: wait for both (60 s at most, or until the node dies).
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$ws_port") 2>/dev/null; then
      WS_PORTS[rabbitmq]="$mqtt_port $ws_port /ws"
      return 0
    fi
    sleep 0.1
  done
  echo "run.sh: RabbitMQ did not start: its WebSocket rows are skipped; its output:" >&2
  tail -5 "$dir/server.out" >&2
  return 1
}

# aedes (Node.js) with its MQTT and WebSocket (/mqtt) listeners on free loopback ports; sets WS_PORTS[aedes].
start_aedes() {
  local out=$WORK/aedes.log line=""
  if [ "$NODE_OK" = 0 ] || [ ! -f "$NPM_DIR/node_modules/aedes/package.json" ]; then
    echo "run.sh: Node.js >= 20 or the npm aedes (./dev deps) is missing: the aedes WebSocket rows are skipped" >&2
    return 1
  fi
  node tests/support/brokers/aedes_broker.mjs "$NPM_DIR/node_modules" --port 0 --ws-port 0 --quiet >"$out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do
    line=$(head -1 "$out")
    [[ "$line" == *listening* ]] && break
    sleep 0.05
  done
  if [[ "$line" =~ mqtt=([0-9]+)\ ws=([0-9]+) ]]; then
    WS_PORTS[aedes]="${BASH_REMATCH[1]} ${BASH_REMATCH[2]} /mqtt"
    return 0
  fi
  echo "run.sh: aedes did not start: its WebSocket rows are skipped ($line)" >&2
  return 1
}

# The programs of the WebSocket rows; a -ws program gets `--ws --ws-path PATH` and the WebSocket port.
declare -A WS_PROG
WS_ORDER=()
if [ ${#WS_BROKERS[@]} -gt 0 ]; then
  [ -n "${PROG[nmqtt]:-}" ] && WS_PROG[nmqtt]=${PROG[nmqtt]} && WS_PROG[nmqtt-ws]=${PROG[nmqtt]}
  if [ "$NODE_OK" = 1 ] && [ -f "$NPM_DIR/node_modules/mqtt/package.json" ]; then
    WS_PROG[mqttjs]="env NMQTT_NPM_DIR=$NPM_DIR node bench/compare/mqttjs_peer.mjs"
    WS_PROG[mqttjs-ws]=${WS_PROG[mqttjs]}
  else
    echo "run.sh: Node.js >= 20 or MQTT.js (./dev deps) is missing: the WebSocket rows run without MQTT.js" >&2
  fi
  for lib in nmqtt nmqtt-ws mqttjs mqttjs-ws; do [ -n "${WS_PROG[$lib]:-}" ] && WS_ORDER+=("$lib"); done
  if [ ${#WS_ORDER[@]} -gt 0 ]; then
    [ -n "${WS_BROKERS[rabbitmq]:-}" ] && { start_rabbitmq || true; }
    [ -n "${WS_BROKERS[aedes]:-}" ] && { start_aedes || true; }
  fi
  for broker in "${!WS_PORTS[@]}"; do echo "run.sh: $broker for the WebSocket rows: ${WS_PORTS[$broker]}" >&2; done
fi

# run_ws_row ID LABEL BROKER ARGS: one line per program into $RESULTS.
run_ws_row() {
  local id=$1 label=$2 broker=$3 args=$4 tcp_port ws_port ws_path timeout_s lib port extra line
  read -r tcp_port ws_port ws_path <<<"${WS_PORTS[$broker]}"
  timeout_s=$(sed -n 's/.*--timeout \([0-9]*\).*/\1/p' <<<"$args")
  for lib in "${WS_ORDER[@]}"; do
    port=$tcp_port
    extra=""
    [[ "$lib" == *-ws ]] && port=$ws_port && extra="--ws --ws-path $ws_path"
    # shellcheck disable=SC2086
    line=$(timeout -k 5 $((timeout_s + 30)) ${WS_PROG[$lib]} $args $extra -h 127.0.0.1 -p "$port" \
           -t "bench/$id/%i" --json 2>>"$WORK/stderr.log" | tail -1) || true
    [ -n "$line" ] || line='{"failed":true}'
    printf '%s\t%s\t%s\t%s\n' "$id" "$label" "$lib" "$line" >> "$RESULTS"
  done
}

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
  for row in "${WS_ROWS[@]}"; do
    IFS='|' read -r id label broker args <<<"$row"
    if ! selected "$id" || [ -z "${WS_PORTS[$broker]:-}" ] || [ ${#WS_ORDER[@]} -eq 0 ]; then continue; fi
    run_ws_row "$id" "$label" "$broker" "$args"
    printf '\rrun.sh: repetition %s/%s, %s done (%ss)   ' "$rep" "$REPS" "$id" $(( $(date +%s) - started )) >&2
  done
done
echo >&2
[ -n "$SAVE" ] && cp "$RESULTS" "$SAVE"

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) || true
mosquitto_version=$( (mosquitto -h 2>/dev/null || true) | head -1)
MACHINE="$(nproc) cores, ${cpu_model:-unknown CPU}, Linux $(uname -r), ${mosquitto_version:-mosquitto}"
if [ -n "${WS_PORTS[rabbitmq]:-}" ]; then
  MACHINE+=", RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?') (web_mqtt)"
fi
npm_version() { sed -n 's/^[[:space:]]*"version": "\(.*\)",$/\1/p' "$NPM_DIR/node_modules/$1/package.json" 2>/dev/null; }
[ -n "${WS_PORTS[aedes]:-}" ] && MACHINE+=", aedes $(npm_version aedes)"
[ -n "${WS_PROG[mqttjs]:-}" ] && MACHINE+=", Node.js $(node --version), MQTT.js $(npm_version mqtt)"
OUT_MD=/dev/null
OUT_PNG=""
if [ -n "$MARKDOWN" ]; then
  OUT_MD=$MARKDOWN
elif [ "$DOCS" = 1 ]; then
  OUT_MD=docs/performance.md
  [ "$MERGE" = 0 ] && command -v gnuplot >/dev/null && OUT_PNG=docs/performance.png
fi
ALL_ORDER=("${ORDER[@]}")
for lib in "${WS_ORDER[@]}"; do [[ " ${ALL_ORDER[*]} " == *" $lib "* ]] || ALL_ORDER+=("$lib"); done
merge=()
[ "$MERGE" = 1 ] && merge=(--merge)
python3 bench/compare/report.py --results "$RESULTS" --machine "$MACHINE" --reps "$REPS" --order "${ALL_ORDER[*]}" \
  --markdown "$OUT_MD" --plot-dir "$WORK" --png "$OUT_PNG" "${merge[@]}" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" --seconds $(( $(date +%s) - started ))
if [ -n "$OUT_PNG" ] && [ -f "$WORK/plot.gp" ]; then
  gnuplot "$WORK/plot.gp" && echo "run.sh: wrote $OUT_MD and $OUT_PNG" >&2
fi
if [ -s "$WORK/stderr.log" ]; then
  echo "run.sh: messages from the programs (first 20 lines):" >&2
  sort "$WORK/stderr.log" | uniq -c | sort -rn | head -20 >&2
fi
