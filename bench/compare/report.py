#!/usr/bin/env python3
"""Summarises bench/compare/run.sh results: medians per row and library, ratios against the reference
library (nmqtt when it ran, otherwise raw), a Markdown report and a gnuplot script for the PNG plot.

Input: a TSV of `row_id, row_label, lib, json_line` (one line per run)."""
import argparse
import datetime
import json
import statistics
import sys
from collections import OrderedDict

STREAM = "stream"
RTT = "rtt"
CONN = "conn"
SUB = "sub"
WS = "ws"  # the WebSocket rows (ids ws*): their own programs, nmqtt and MQTT.js over TCP and WebSockets


def kind_of(row_id):
    if row_id.startswith("ws"):
        return WS
    if row_id.startswith("sub"):
        return SUB
    if "rtt" in row_id:
        return RTT
    if "conn" in row_id:
        return CONN
    return STREAM


def load(path):
    rows = OrderedDict()  # row id -> {"label", "runs": {lib: [dict]}, "failed": {lib: n}}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 3)
            if len(parts) != 4:
                continue
            row_id, label, lib, text = parts
            row = rows.setdefault(row_id, {"label": label, "runs": {}, "failed": {}})
            try:
                result = json.loads(text)
            except json.JSONDecodeError:
                result = {"failed": True}
            reads = [result.get(k) for k in ("recvfrom_per_msg", "read_per_msg") if result.get(k) is not None]
            if reads:
                result["reads_per_msg"] = sum(reads)
            if result.get("failed"):
                row["failed"][lib] = row["failed"].get(lib, 0) + 1
            else:
                row["runs"].setdefault(lib, []).append(result)
    return rows


def median(runs, key):
    values = [r[key] for r in runs if key in r and r[key] is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.{digits}f}"


COLUMNS = {
    STREAM: [("msgs/s", "msgs_per_s", 0), ("CPU µs/msg", "client_cpu_us_per_msg", 2), ("p50 µs", "p50_us", 0),
             ("p99 µs", "p99_us", 0), ("lost", "lost", 0), ("dup", "duplicated", 0)],
    RTT: [("p50 µs", "p50_us", 0), ("p90 µs", "p90_us", 0), ("p99 µs", "p99_us", 0), ("max µs", "max_us", 0),
          ("samples", "messages", 0), ("CPU µs/msg", "client_cpu_us_per_msg", 2)],
    SUB: [("msgs/s", "msgs_per_s", 0), ("CPU µs/msg", "client_cpu_us_per_msg", 2),
          ("syscalls/msg", "syscalls_per_msg", 3), ("reads/msg", "reads_per_msg", 3),
          ("epoll_wait/msg", "epoll_wait_per_msg", 3), ("epoll_ctl/msg", "epoll_ctl_per_msg", 3),
          ("setsockopt/msg", "setsockopt_per_msg", 3), ("futex/msg", "futex_per_msg", 3), ("lost", "lost", 0)],
    CONN: [("connects/s", "connect_per_s", 0), ("KiB/client", "rss_kib_per_client", 2),
           ("CPU µs/connect", "client_cpu_us_per_msg", 1), ("connected", "messages", 0)],
}
# The ratios shown per kind: (title, key). Throughput ratios are ref/peer; cost ratios too (lower is better).
RATIOS = {
    STREAM: [("rate", "msgs_per_s"), ("CPU", "client_cpu_us_per_msg")],
    RTT: [("p50", "p50_us"), ("p99", "p99_us")],
    CONN: [("rate", "connect_per_s"), ("KiB", "rss_kib_per_client")],
    SUB: [("CPU", "client_cpu_us_per_msg"), ("syscalls", "syscalls_per_msg")],
}


def table(rows, kind, order, ref):
    cols = COLUMNS[kind]
    ratios = RATIOS[kind]
    head = ["row", "library"] + [c[0] for c in cols] + [f"{ref}/lib {r[0]}" for r in ratios] + ["failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows.values():
        if kind_of(row["id"]) != kind:
            continue
        ref_runs = row["runs"].get(ref, [])
        for lib in order:
            runs = row["runs"].get(lib, [])
            failed = row["failed"].get(lib, 0)
            if not runs and not failed:
                continue
            cells = [row["label"], lib] + [fmt(median(runs, key), d) for _, key, d in cols]
            cells += ["" if lib == ref else ratio(median(ref_runs, key), median(runs, key)) for _, key in ratios]
            cells.append(str(failed) if failed else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The WebSocket rows: each program over WebSockets against its own TCP run (same broker, same repetition) and
# nmqtt-ws against the others. Stream rows compare rates, round trip rows the p50 (and CPU per message in both).
WS_LIBS = ["nmqtt", "nmqtt-ws", "mqttjs", "mqttjs-ws"]
WS_REF = "nmqtt-ws"


def ws_rtt(row_id):
    return "rtt" in row_id


def ws_table(rows, rtt):
    cols = COLUMNS[RTT] if rtt else COLUMNS[STREAM]
    first = ("p50", "p50_us") if rtt else ("rate", "msgs_per_s")
    ratios = [first, ("CPU", "client_cpu_us_per_msg")]
    head = (["row", "program"] + [c[0] for c in cols] + [f"ws/TCP {r[0]}" for r in ratios] +
            [f"{WS_REF}/program {r[0]}" for r in ratios] + ["failed"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows.values():
        if kind_of(row["id"]) != WS or ws_rtt(row["id"]) != rtt:
            continue
        ref_runs = row["runs"].get(WS_REF, [])
        for lib in WS_LIBS:
            runs = row["runs"].get(lib, [])
            failed = row["failed"].get(lib, 0)
            if not runs and not failed:
                continue
            cells = [row["label"], lib] + [fmt(median(runs, key), d) for _, key, d in cols]
            tcp_runs = row["runs"].get(lib[:-3], []) if lib.endswith("-ws") else None
            cells += ["" if tcp_runs is None else ratio(median(runs, key), median(tcp_runs, key)) for _, key in ratios]
            cells += ["" if lib == WS_REF else ratio(median(ref_runs, key), median(runs, key)) for _, key in ratios]
            cells.append(str(failed) if failed else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def short(label):
    """Row labels short enough for the plot's axis."""
    for long_text, short_text in (("Round trip ", "rtt "), (" without TCP_NODELAY", ", Nagle on"), ("stream, ", ""),
                                  (" stream", ""), ("window ", "w"), ("mosquitto", "mosq")):
        label = label.replace(long_text, short_text)
    return label


def plot_script(rows, order, plot_dir, png):
    """Two panels: stream throughput (log scale) and round trip p50/p99, bars per library."""
    streams = [r for r in rows.values() if kind_of(r["id"]) == STREAM]
    rtts = [r for r in rows.values() if kind_of(r["id"]) == RTT]
    with open(f"{plot_dir}/throughput.dat", "w", encoding="utf-8") as f:
        for r in streams:
            values = [median(r["runs"].get(lib, []), "msgs_per_s") or 0 for lib in order]
            f.write(f"\"{short(r['label'])}\" " + " ".join(f"{v:.1f}" for v in values) + "\n")
    with open(f"{plot_dir}/latency.dat", "w", encoding="utf-8") as f:
        for r in rtts:
            for key, name in (("p50_us", "p50"), ("p99_us", "p99")):
                values = [median(r["runs"].get(lib, []), key) or 0 for lib in order]
                f.write(f"\"{short(r['label'])} {name}\" " + " ".join(f"{max(v, 1):.1f}" for v in values) + "\n")
    series = ", ".join(
        ("'{d}' using {c}:xtic(1) title '{lib}'" if i == 0 else "'' using {c} title '{lib}'").format(
            d="{d}", c=i + 2, lib=lib)
        for i, lib in enumerate(order))
    script = f"""set terminal pngcairo size 1400,1000 font ',10' noenhanced
set output '{png}'
set multiplot layout 2,1
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key outside right top vertical
set xtics rotate by -25 scale 0
set ylabel 'messages/s (median, log scale)'
set title 'Stream throughput, end to end (higher is better)'
plot {series.format(d=f'{plot_dir}/throughput.dat')}
set ylabel 'microseconds (median, log scale)'
set title 'Publish -> receive round trip (lower is better; 40 ms and more = Nagle/delayed-ACK stall)'
plot {series.format(d=f'{plot_dir}/latency.dat')}
unset multiplot
"""
    with open(f"{plot_dir}/plot.gp", "w", encoding="utf-8") as f:
        f.write(script)


def med(rows, row_id, lib, key):
    row = rows.get(row_id)
    return median(row["runs"].get(lib, []), key) if row else None


def check(measured, ok):
    if measured is None:
        return "—", "not measured"
    return measured, "yes" if ok else "**no**"


def targets(rows, goals=None):
    """The goals of issues 6, 14 and 15, evaluated on this run's medians (nmqtt against the others). Appends
    (row ids, measured, line) per goal to `goals` when given."""
    goals = [] if goals is None else goals
    lines = ["| goal | measured | met |", "|---|---|---|"]

    def add(goal, value, ok, row_ids=None):
        """row_ids: the rows the goal is measured on (None: all rows); a merge (--merge) replaces a goal's
        line only when all of them were measured in the run being merged."""
        shown, verdict = check(value, ok)
        lines.append(f"| {goal} | {shown} | {verdict} |")
        goals.append((row_ids, verdict != "not measured", lines[-1]))

    for row_id, name in (("q0", "QoS 0"), ("q1w64", "QoS 1 window 64")):
        n, raw = med(rows, row_id, "nmqtt", "msgs_per_s"), med(rows, row_id, "raw", "msgs_per_s")
        r = n / raw if n and raw else None
        add(f"{name}: rate >= 95% of raw", f"{r:.0%}" if r else None, r is not None and r >= 0.95, [row_id])
        n, mosq = (med(rows, row_id, "nmqtt", "client_cpu_us_per_msg"),
                   med(rows, row_id, "libmosquitto", "client_cpu_us_per_msg"))
        r = n / mosq if n and mosq else None
        add(f"{name}: CPU/msg <= 1/5 of libmosquitto", f"{r:.2f}x" if r else None, r is not None and r <= 0.2, [row_id])
    w64, w65535 = med(rows, "q1w64", "nmqtt", "msgs_per_s"), med(rows, "q1w65535", "nmqtt", "msgs_per_s")
    r = w65535 / w64 if w64 and w65535 else None
    add("QoS 1: window 65535 within 10% of window 64", f"{r:.0%}" if r else None, r is not None and r >= 0.9,
        ["q1w64", "q1w65535"])
    for row_id, name in (("rtt0", "QoS 0"), ("rtt1", "QoS 1")):
        n, raw = med(rows, row_id, "nmqtt", "p50_us"), med(rows, row_id, "raw", "p50_us")
        r = n / raw if n and raw else None
        add(f"round trip {name}: p50 <= 1.1x raw", f"{r:.2f}x" if r else None, r is not None and r <= 1.1, [row_id])
    worst = [med(rows, rid, "nmqtt", "max_us") for rid in rows if kind_of(rid) == RTT]
    worst = [w for w in worst if w is not None]
    add("no 40 ms stall in any round trip row (worst median max)", f"{max(worst):,.0f} µs" if worst else None,
        bool(worst) and max(worst) < 40000)
    for row_id in ("conn", "sconn"):
        n, mosq = med(rows, row_id, "nmqtt", "rss_kib_per_client"), med(rows, row_id, "libmosquitto", "rss_kib_per_client")
        add(f"{rows[row_id]['label'] if row_id in rows else row_id}: KiB per idle client <= libmosquitto's",
            f"{n:.2f} vs {mosq:.2f}" if n is not None and mosq is not None else None,
            n is not None and mosq is not None and n <= mosq, [row_id])
        n, mosq = med(rows, row_id, "nmqtt", "connect_per_s"), med(rows, row_id, "libmosquitto", "connect_per_s")
        add(f"{rows[row_id]['label'] if row_id in rows else row_id}: connect rate >= libmosquitto's",
            f"{n:,.0f} vs {mosq:,.0f}/s" if n is not None and mosq is not None else None,
            n is not None and mosq is not None and n >= mosq, [row_id])
    for row_id, name in (("sub0", "subscriber QoS 0"), ("sub1", "subscriber QoS 1")):
        n = med(rows, row_id, "nmqtt", "client_cpu_us_per_msg")
        mosq, raw = (med(rows, row_id, "libmosquitto", "client_cpu_us_per_msg"),
                     med(rows, row_id, "raw", "client_cpu_us_per_msg"))
        r = n / mosq if n and mosq else None
        add(f"{name}: CPU/msg <= 1/2 of libmosquitto's", f"{r:.2f}x" if r else None, r is not None and r <= 0.5, [row_id])
        r = n / raw if n and raw else None
        add(f"{name}: CPU/msg <= 1.5x the raw reader's", f"{r:.2f}x" if r else None, r is not None and r <= 1.5, [row_id])
        calls, reads = med(rows, row_id, "nmqtt", "syscalls_per_msg"), med(rows, row_id, "nmqtt", "reads_per_msg")
        r = calls / reads if calls and reads else None
        add(f"{name}: system calls per read <= 2", f"{r:.2f}" if r else None, r is not None and r <= 2, [row_id])
    n, raw = med(rows, "sq1w64", "nmqtt", "msgs_per_s"), med(rows, "sq1w64", "raw", "msgs_per_s")
    r = n / raw if n and raw else None
    add("QoS 1 against the sink: rate >= 0.9x raw", f"{r:.2f}x" if r else None, r is not None and r >= 0.9, ["sq1w64"])
    n, raw = med(rows, "sq1w64", "nmqtt", "client_cpu_us_per_msg"), med(rows, "sq1w64", "raw", "client_cpu_us_per_msg")
    r = n / raw if n and raw else None
    add("QoS 1 against the sink: CPU <= 1.5x raw", f"{r:.2f}x" if r else None, r is not None and r <= 1.5, ["sq1w64"])
    for row_id, name in (("wsq0", "QoS 0"), ("wsq1w64", "QoS 1 window 64")):
        ws, tcp = med(rows, row_id, "nmqtt-ws", "msgs_per_s"), med(rows, row_id, "nmqtt", "msgs_per_s")
        r = ws / tcp if ws and tcp else None
        add(f"WebSockets, {name} (RabbitMQ): rate >= 85% of nmqtt's over TCP", f"{r:.0%}" if r else None,
            r is not None and r >= 0.85, [row_id])
        js = med(rows, row_id, "mqttjs-ws", "msgs_per_s")
        r = ws / js if ws and js else None
        add(f"WebSockets, {name} (RabbitMQ): rate >= MQTT.js's over WebSockets", f"{r:.2f}x" if r else None,
            r is not None and r >= 1, [row_id])
        ws, js = med(rows, row_id, "nmqtt-ws", "client_cpu_us_per_msg"), med(rows, row_id, "mqttjs-ws", "client_cpu_us_per_msg")
        r = ws / js if ws and js else None
        add(f"WebSockets, {name} (RabbitMQ): CPU/msg <= MQTT.js's over WebSockets", f"{r:.2f}x" if r else None,
            r is not None and r <= 1, [row_id])
    ws, tcp = med(rows, "wsrtt1", "nmqtt-ws", "p50_us"), med(rows, "wsrtt1", "nmqtt", "p50_us")
    r = ws / tcp if ws and tcp else None
    add("WebSockets, round trip QoS 1 (RabbitMQ): p50 <= 1.15x nmqtt's over TCP", f"{r:.2f}x" if r else None,
        r is not None and r <= 1.15, ["wsrtt1"])
    lost = [(r["label"] + (" over WebSockets" if lib == "nmqtt-ws" else ""), median(r["runs"].get(lib, []), "lost"))
            for r in rows.values() for lib in ("nmqtt", "nmqtt-ws")]
    lost = [(label, v) for label, v in lost if v]
    has_nmqtt = any("nmqtt" in r["runs"] for r in rows.values())
    add("nothing lost (rows where nmqtt's median loss > 0)",
        ("; ".join(f"{label}: {v:,.0f}" for label, v in lost) or "none") if has_nmqtt else None, not lost)
    return "\n".join(lines)


NOTES = """## How to read this

- Every program gets the same command line (`<prog> pub|rtt|conn -h -p -c -n -s -q --inflight -t --json`) and
  prints one JSON line; `bench/compare/run.sh` runs them interleaved (repetition by repetition) so that noise
  from the shared machine spreads evenly, and reports medians. Only ratios within one run mean anything.
- **pub**: one publisher streams the messages (64-byte payloads carrying a send timestamp, publisher index and
  sequence number), keeping at most `--inflight` messages outstanding (written for QoS 0, acknowledged for
  QoS 1/2); a subscriber in the same process counts arrivals. Rate = unique arrivals / (last arrival - first
  publish). CPU = getrusage (user + system) of the whole process, publisher and subscriber, per message.
  Stream latencies are dominated by queueing (the publisher runs ahead of the broker) and say little;
  the round trip rows measure latency.
- **sub** (rows "Subscriber only"): the program is a subscriber and nothing else; raw_peer publishes the stream
  from another process (`RAW_PUBLISH_ONLY=1`, started once the subscription stands). CPU = getrusage of the
  subscriber process from its SUBACK to the last arrival, per message. System calls are counted with
  `perf stat` tracepoints over the subscriber's whole life (connect included), per received message; reads
  are `recvfrom` + `read`.
- **rtt**: one client subscribed to its own topic publishes one message at a time and waits for it.
- **conn**: N clients connect and stay idle; connect rate until the last CONNACK, resident memory (VmRSS)
  growth per client.
- **raw** is not a library: a few dozen lines writing pre-encoded PUBLISH packets in large batches (one write
  per batch) and counting acks. It is the physical limit of the machine, broker and kernel.
- **nmqtt** is `nmqtt bench` (tools/nmqtt/bench.cpp): one io_context per thread (the subscriber and the
  publisher get one each here), the next message published from the completion handler of an earlier one.
  In a connection storm it keeps at most 64 attempts pending (`--connecting`), so mosquitto's backlog does
  not overflow; the peers connect one client after the other.
- **libmosquitto** runs its network thread per client (`mosquitto_loop_start`), TCP_NODELAY on, send maximum
  raised to the window; for the connection storm one epoll loop drives all clients through
  `mosquitto_loop_read/write` (a thread per client would not be a competent choice, and `mosquitto_loop`
  uses select(), limited to descriptors below 1024). **paho** is the asynchronous API (MQTTAsync) with
  `maxInflight` raised; it offers no way to set TCP_NODELAY.
- libmosquitto takes three descriptors per client (its socket and a socketpair that wakes its loop), so
  with a hard limit of 20000 descriptors it stops near 6,600 clients (`--conn 10000`).
- Idle connections at 1,000, 5,000 and 19,000 clients in one process, with a plot: docs/connections.md
  (`bench/compare/conn_scale.sh`).
- **mosquitto** (started by the script): `max_queued_messages 0`, `max_inflight_messages 1000` (its QoS 2
  receive limit disconnects 3.1.1 clients that exceed it), `set_tcp_nodelay true`. Its listen backlog is 100:
  in a connection storm, SYNs beyond it are dropped and retried by the kernel after 1 s, so the connect rate
  against mosquitto measures the broker, not the client; the sink rows (backlog 4096) measure the client.
- A second **mosquitto** keeps its default (`set_tcp_nodelay false`): it writes a PUBACK and the forwarded
  PUBLISH separately, Nagle's algorithm holds the second write until the client acknowledges the first, and a
  client that delays its ACKs (Linux does, up to 40 ms) stalls. **raw-quickack** is raw_peer re-arming
  TCP_QUICKACK after every read: the client-side cure, shown in those rows only.
- **sink** (`mqtt_sink`): a one-thread minimal broker that acknowledges everything and forwards every PUBLISH
  as QoS 0 to every subscribed connection without topic matching, coalescing its responses into one write per
  connection per loop turn. It removes the broker as the bottleneck. Its `--no-nodelay` instance leaves
  Nagle's algorithm on at the broker side: any 40 ms stall in that row comes from the client's own writes.
- **WebSockets** (table "WebSockets", row ids `ws*`; `bench/compare/run.sh --rows "wsq0 wsq1w64 wsrtt1"`): the
  same pub and rtt work against one broker over plain TCP (**nmqtt**, **mqttjs**) and over WebSockets
  (**nmqtt-ws** = `nmqtt bench --ws --ws-path PATH`, **mqttjs-ws**), in the same repetitions, so that the
  ws/TCP ratio isolates the transport. The main broker is a private **RabbitMQ** node (rabbitmq_mqtt and
  rabbitmq_web_mqtt on `/ws`, started by the script on loopback with its own epmd); **aedes** (npm `ws` on
  `/mqtt`) follows as a second set of rows: Node's `ws` there writes one frame and one TCP segment per MQTT
  packet, so a client that keeps up wakes and reads once per message (nmqtt-ws: 0.65 recvfrom and 0.65
  epoll_wait per QoS 0 message, against 0.055 over TCP), which multiplies its CPU per message and, on a
  2-core machine, competes with the one-threaded broker; those rows measure aedes as much as the client.
  **mqttjs** is MQTT.js 5 (bench/compare/mqttjs_peer.mjs, the peers' command line and report; TCP_NODELAY
  set over TCP), with the WebSocket permessage-deflate offer of npm `ws` turned off: RabbitMQ accepts it, and
  compressing every frame costs MQTT.js over ten times its CPU per message (`--ws-deflate` keeps it); nmqtt
  does not offer compression. RabbitMQ 3.10 speaks MQTT
  3.1.1 only, so these rows do not run `-V 5`. MQTT.js over TCP against aedes waits about 44 ms per QoS 1
  round trip (aedes leaves Nagle's algorithm on; nmqtt over TCP against the same aedes does not stall), so
  that row ends at its timeout with fewer samples.
"""


def split_sections(text):
    """[(heading line or None, body)], cut at every '## ' and '### ' line; joins back with join_sections."""
    parts, head, body = [], None, []
    for line in text.split("\n"):
        if line.startswith("## ") or line.startswith("### "):
            parts.append([head, "\n".join(body)])
            head, body = line, []
        else:
            body.append(line)
    parts.append([head, "\n".join(body)])
    return parts


def join_sections(parts):
    return "\n".join((f"{head}\n{body}" if head else body) for head, body in parts)


def row_label(line):
    return line.split(" | ")[0][2:]


def tables_of(lines):
    """{header line: (index of the header, index after the last row)} of the Markdown tables in `lines`."""
    found = {}
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            end = i + 2
            while end < len(lines) and lines[end].startswith("| "):
                end += 1
            found[lines[i]] = (i, end)
            i = end
        else:
            i += 1
    return found


def merge_tables(old_body, text):
    """A section's old body with the rows of the tables in `text` put in place of the old rows of the same
    labels (first cell), in the table with the same header; the others stay. A table of `text` that the
    old body lacks is appended with the paragraph before it."""
    lines = old_body.split("\n")
    new_lines = text.split("\n")
    for header, (start, end) in tables_of(new_lines).items():
        rows = new_lines[start + 2:end]
        labels = {row_label(r) for r in rows}
        old_tables = tables_of(lines)
        if header not in old_tables:
            caption = new_lines[start - 2] if start >= 2 and not new_lines[start - 2].startswith("|") else ""
            while lines and lines[-1] == "":
                lines.pop()
            lines += ([""] + ([caption, ""] if caption else []) + new_lines[start:end] + [""])
            continue
        o_start, o_end = old_tables[header]
        old_rows = lines[o_start + 2:o_end]
        kept = [r for r in old_rows if row_label(r) not in labels]
        first = next((i for i, r in enumerate(old_rows) if row_label(r) in labels), None)
        at = len(kept) if first is None else sum(1 for r in old_rows[:first] if row_label(r) not in labels)
        lines[o_start + 2:o_end] = kept[:at] + rows + kept[at:]
    return "\n".join(lines)


def merge(old, sections, goals, goals_heading, stamp, stamp_key):
    """The page `old` with this run's table rows put in place of the old rows of the same labels (sections
    this run adds go before "How to read this"),
    this run's goal lines replaced or appended (those whose rows were all measured here), the notes refreshed,
    and the paragraph starting with `stamp_key` in the preamble replaced by `stamp`."""
    parts = split_sections(old)
    def stale(paragraph):  # the note of an earlier merge whose rows this one measures again, all of them
        if not (paragraph.startswith("Rows ") and " merged in " in paragraph):
            return False
        return set(paragraph[5:paragraph.index(" merged in ")].split()) <= set(stamp_key[5:-10].split())

    paragraphs = [p for p in parts[0][1].split("\n\n") if not stale(p)]
    at = next((i + 1 for i, p in enumerate(paragraphs) if p.startswith("Machine:")), len(paragraphs))
    paragraphs.insert(at, stamp)
    parts[0][1] = "\n\n".join(paragraphs)
    for part in parts:
        if part[0] and part[0].startswith("### Goals"):
            part[0] = f"### {goals_heading}"
            lines = part[1].split("\n")
            for line in goals:
                key = line.split(" | ")[0] + " | "
                found = [i for i, old_line in enumerate(lines) if old_line.startswith(key)]
                if found:
                    lines[found[0]] = line
                else:
                    last = max(i for i, old_line in enumerate(lines) if old_line.startswith("|"))
                    lines.insert(last + 1, line)
            part[1] = "\n".join(lines)
    notes_at = next((i for i, part in enumerate(parts) if part[0] == "## How to read this"), len(parts))
    for title, text in sections.items():
        found = [part for part in parts if part[0] == f"### {title}"]
        if found:
            found[0][1] = merge_tables(found[0][1], text)
        else:
            parts.insert(notes_at, [f"### {title}", f"\n{text}\n"])
            notes_at += 1
    head, body = NOTES.split("\n", 1)
    if notes_at < len(parts):
        parts[notes_at] = [head, body]
    else:
        parts.append([head, body])
    return join_sections(parts)


WS_INTRO = ("Programs: **nmqtt** and **mqttjs** (MQTT.js) over TCP, **nmqtt-ws** and **mqttjs-ws** over "
            "WebSockets (ws://), each row against one broker, in the same repetitions. ws/TCP: a program over "
            "WebSockets against itself over TCP (rate above 1, p50 and CPU below 1 = WebSockets better); "
            "nmqtt-ws/program: nmqtt-ws's median divided by the program's (rate above 1, p50 and CPU below 1 = "
            "nmqtt-ws better).")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--machine", default="")
    p.add_argument("--reps", default="")
    p.add_argument("--order", default="nmqtt raw libmosquitto paho")
    p.add_argument("--markdown", default="/dev/null")
    p.add_argument("--merge", action="store_true",
                   help="rewrite in --markdown only this run's tables and goal lines (the rest stays)")
    p.add_argument("--plot-dir", default=".")
    p.add_argument("--png", default="")
    p.add_argument("--commit", default="")
    p.add_argument("--seconds", default="")
    a = p.parse_args()
    rows = load(a.results)
    for row_id, row in rows.items():
        row["id"] = row_id
    order = [lib for lib in a.order.split() if any(lib in r["runs"] or lib in r["failed"] for r in rows.values())]
    ref = "nmqtt" if "nmqtt" in order else "raw"
    tables = [("Throughput", STREAM), ("Subscriber only", SUB), ("Latency", RTT), ("Connections", CONN)]
    present = [(title, kind) for title, kind in tables if any(kind_of(r) == kind for r in rows)]
    sections = OrderedDict((title, table(rows, kind, order, ref)) for title, kind in present)
    ws_rows = [r for r in rows if kind_of(r) == WS]
    if ws_rows:
        parts = [WS_INTRO]
        if any(not ws_rtt(r) for r in ws_rows):
            parts.append(f"Streams:\n\n{ws_table(rows, rtt=False)}")
        if any(ws_rtt(r) for r in ws_rows):
            parts.append(f"Round trips:\n\n{ws_table(rows, rtt=True)}")
        sections["WebSockets"] = "\n\n".join(parts)
    text = "\n\n".join(f"### {title}\n\n{body}" for title, body in sections.items())
    goals_heading = "Goals (issues 6, 14 and 15)"
    goals = []
    if "nmqtt" in order:
        text = f"### {goals_heading}\n\n{targets(rows, goals)}\n\n{text}"
    print(text)
    if a.markdown == "/dev/null":
        return 0
    today = datetime.date.today().isoformat()
    if a.merge:
        try:
            with open(a.markdown, encoding="utf-8") as f:
                old = f.read()
        except FileNotFoundError:
            old = None
        if old is not None:
            measured = set(rows)
            merged_goals = [line for row_ids, ok, line in goals if ok and row_ids and set(row_ids) <= measured]
            ids = " ".join(rows)
            key = f"Rows {ids} merged in"
            stamp = (f"{key} from `bench/compare/run.sh --rows \"{ids}\" --merge` on {today}, commit {a.commit}, "
                     f"{a.reps} repetitions, medians, {a.seconds} s in total; {a.machine}.")
            with open(a.markdown, "w", encoding="utf-8") as f:
                f.write(merge(old, sections, merged_goals, goals_heading, stamp, key))
            return 0
    if a.png:
        plot_script(rows, order, a.plot_dir, a.png)
    ratio_note = ("Ratio columns: nmqtt's median divided by the library's (rate above 1 = nmqtt faster; CPU, "
                  "latency and KiB below 1 = nmqtt cheaper)." if ref == "nmqtt" else
                  "nmqtt bench was not available in this run: the ratio columns divide the raw client's median "
                  "by each library's (rate above 1 = raw faster; CPU, latency and KiB below 1 = raw cheaper).")
    image = f"\n![throughput and latency per library](performance.png)\n" if a.png else ""
    with open(a.markdown, "w", encoding="utf-8") as f:
        f.write(f"# Performance: nmqtt, libmosquitto, Paho C and a raw client\n\n"
                f"Generated by `./dev bench compare` (bench/compare/run.sh) on {today}, commit {a.commit}, "
                f"{a.reps} repetitions, medians, {a.seconds} s in total.\n\n"
                f"Machine: {a.machine}.\n\n{ratio_note}\n\n{text}\n{image}\n{NOTES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
