# shellcheck shell=bash
# Sourced by bench/compare/run.sh and conn_scale.sh: a work directory, the processes they start (stopped by
# PID on exit, the last started first: a RabbitMQ node before its epmd), free loopback ports, mosquitto.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    if kill "${PIDS[i]}" 2>/dev/null; then wait "${PIDS[i]}" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_ports() {  # free_ports N: N distinct free ports on one line
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
free_port() { free_ports 1; }

wait_port() {  # wait_port PORT [TRIES]: 50 ms apart, 100 by default
  for _ in $(seq "${2:-100}"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2
  return 1
}

# The brokers run in the calling shell (not in $(...)) so that their PIDs are known to cleanup.
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

stop_last() {  # stops the process started last and forgets it
  local last=$((${#PIDS[@]} - 1))
  [ "$last" -ge 0 ] || return 0
  if kill "${PIDS[last]}" 2>/dev/null; then wait "${PIDS[last]}" 2>/dev/null || true; fi
  unset "PIDS[last]"
}
