// MQTT.js (npm mqtt 5.x) peer of the comparison (bench/compare/run.sh), on the command line of the C peers
// (bench/compare/bench_common.h) plus the transport:
//
//   node mqttjs_peer.mjs pub|rtt -h HOST -p PORT -c CLIENTS -n MESSAGES -s PAYLOAD -q QOS --inflight N -t TOPIC
//        [--timeout S] [--json] [-V 4|5] [--ws] [--ws-path PATH] [--ws-deflate]
//
// --ws connects to ws://HOST:PORT/PATH (default path /mqtt; RabbitMQ's web_mqtt serves /ws), mqtt://HOST:PORT
// otherwise (TCP_NODELAY set on the socket once connected, as the libmosquitto peer does; the ws library sets
// it itself). The ws library offers permessage-deflate by default and RabbitMQ's web_mqtt accepts it: every
// frame is then compressed both ways, which costs MQTT.js over ten times its CPU per message. nmqtt does not
// compress, so the peer turns the offer off (wsOptions.perMessageDeflate = false) unless --ws-deflate.
// Payload and report as bench_common.c: the first 16 bytes hold the send time in ns (the
// monotonic clock of process.hrtime.bigint(), which libuv reads from CLOCK_MONOTONIC, little endian = host
// order on x86), the publisher index (u32) and the sequence number (u32); one JSON line with "lib":"mqttjs".
// pub: the publishers keep at most --inflight messages outstanding each (QoS 0: until MQTT.js reports the
// write done, QoS 1/2: until the acknowledgement); a subscriber in this process counts arrivals; seconds =
// first publish to last arrival, CPU = process.cpuUsage() (user + system) over that phase.
// rtt: one client subscribed to its own topic publishes one message at a time and waits for it.
// MQTT.js is loaded from $NMQTT_NPM_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/nmqtt/npm, filled by
// `./dev deps`). Every run is bounded by --timeout (plus 20 s for connecting and closing); exits by itself.
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const LIB = 'mqttjs'
const MIN_PAYLOAD = 16

function usage (message) {
  if (message) console.error(`mqttjs_peer: ${message}`)
  console.error('usage: node mqttjs_peer.mjs pub|rtt [-h host] [-p port] [-c clients] [-n messages] [-s payload]\n' +
    '          [-q qos] [--inflight n] [-t topic(%i = client index)] [--timeout s] [--json] [-V 4|5]\n' +
    '          [--ws] [--ws-path path] [--ws-deflate]')
  process.exit(2)
}

function parseArgs (argv) {
  const a = {
    mode: argv[0], host: '127.0.0.1', port: 1883, clients: 1, messages: 10000, payload: 64, qos: 0,
    inflight: 64, topic: 'bench/%i', timeout: 60, json: false, protocol: 4, ws: false, wsPath: '/mqtt', wsDeflate: false
  }
  if (a.mode !== 'pub' && a.mode !== 'rtt') usage(`mode ${a.mode ?? '(none)'} is not supported (pub, rtt)`)
  const integer = (flag, text, min, max) => {
    const v = Number(text)
    if (!Number.isInteger(v) || v < min || v > max) usage(`bad value for ${flag}: ${text}`)
    return v
  }
  for (let i = 1; i < argv.length; ++i) {
    const flag = argv[i]
    if (flag === '--json') { a.json = true; continue }
    if (flag === '--ws') { a.ws = true; continue }
    if (flag === '--ws-deflate') { a.wsDeflate = true; continue }
    const value = argv[++i]
    if (value === undefined) usage(`option ${flag} needs a value`)
    switch (flag) {
      case '-h': a.host = value; break
      case '-p': a.port = integer(flag, value, 1, 65535); break
      case '-c': a.clients = integer(flag, value, 1, 10000); break
      case '-n': a.messages = integer(flag, value, 1, 100000000); break
      case '-s': a.payload = integer(flag, value, 0, 256 << 20); break
      case '-q': a.qos = integer(flag, value, 0, 2); break
      case '--inflight': a.inflight = integer(flag, value, 1, 65535); break
      case '-t': a.topic = value; break
      case '--timeout': a.timeout = Number(value); if (!(a.timeout > 0)) usage(`bad value for ${flag}`); break
      case '-I': if (Number(value) !== 0) usage('-I is not supported (the peers only stream)'); break
      case '-V':
        if (value === '5' || value === 'mqttv5') a.protocol = 5
        else if (value === '4' || value === '311' || value === 'mqttv311') a.protocol = 4
        else usage(`bad value for -V: ${value}`)
        break
      case '--ws-path': a.wsPath = value.startsWith('/') ? value : `/${value}`; break
      default: usage(`unknown option ${flag}`)
    }
  }
  if (a.payload < MIN_PAYLOAD) {
    console.error(`mqttjs_peer: payload raised to ${MIN_PAYLOAD} bytes (timestamp, index, sequence)`)
    a.payload = MIN_PAYLOAD
  }
  return a
}

const args = parseArgs(process.argv.slice(2))
// The hard bound of the whole process: the measured phase is bounded by --timeout, connecting and closing
// by the rest.
setTimeout(() => { console.error('mqttjs_peer: timed out'); process.exit(3) }, (args.timeout + 20) * 1000).unref()

const npmDir = process.env.NMQTT_NPM_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'nmqtt', 'npm')
let connect
try {
  const require = createRequire(path.join(npmDir, 'node_modules', 'index.js'))
  const mod = await import(pathToFileURL(require.resolve('mqtt')).href)
  connect = mod.connect ?? mod.default.connect
} catch (e) {
  console.error(`mqttjs_peer: cannot load MQTT.js from ${npmDir} (run ./dev deps): ${e.message}`)
  process.exit(2)
}

const now = () => process.hrtime.bigint()
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system }
const topicOf = (index) => args.topic.replaceAll('%i', String(index))
const filter = args.topic.replaceAll('%i', '+')
const url = args.ws ? `ws://${args.host}:${args.port}${args.wsPath}` : `mqtt://${args.host}:${args.port}`

// A connected client (CONNACK received), or null after 10 s or an error.
function open (role, index) {
  return new Promise((resolve) => {
    const client = connect(url, {
      clientId: `mqttjs-${role}-${index}-${process.pid}`, protocolVersion: args.protocol, clean: true,
      keepalive: 60, reconnectPeriod: 0, connectTimeout: 10000,
      wsOptions: { perMessageDeflate: args.wsDeflate }
    })
    const fail = (e) => { console.error(`mqttjs_peer: ${role} ${index}: ${e?.message ?? e}`); resolve(null) }
    client.once('error', fail)
    client.once('connect', () => {
      client.removeListener('error', fail)
      client.on('error', (e) => console.error(`mqttjs_peer: ${role} ${index}: ${e?.message ?? e}`))
      if (!args.ws && typeof client.stream?.setNoDelay === 'function') client.stream.setNoDelay(true)
      // A QoS 0 publish whose write was not absorbed waits for 'drain': up to --inflight listeners at once
      // (MQTT.js allows 1000).
      client.stream?.setMaxListeners?.(args.inflight + 1000)
      resolve(client)
    })
  })
}

function subscribe (client, topicFilter) {
  return new Promise((resolve) => {
    client.subscribe(topicFilter, { qos: args.qos }, (e, granted) => {
      if (e || !granted?.length || granted[0].qos > 2) {
        console.error(`mqttjs_peer: subscribe ${topicFilter}: ${e?.message ?? 'refused'}`)
        resolve(false)
      } else {
        resolve(true)
      }
    })
  })
}

// Arrival bookkeeping as bench_common.c's recorder: one bit per expected message, latencies in µs.
class Recorder {
  constructor (clients, perClient) {
    this.clients = clients
    this.perClient = perClient
    this.seen = new Uint8Array(Math.floor((clients * perClient) / 8) + 1)
    this.latency = new Uint32Array(clients * perClient)
    this.received = 0
    this.unique = 0
    this.duplicated = 0
    this.foreign = 0
    this.firstNs = 0n
    this.lastNs = 0n
    this.waiter = null // { target, resolve }
  }

  record (payload) {
    const t = now()
    this.note(payload, t)
    if (this.firstNs === 0n) this.firstNs = t
    this.lastNs = t
    ++this.received
    if (this.waiter && this.received >= this.waiter.target) {
      const { resolve } = this.waiter
      this.waiter = null
      resolve()
    }
  }

  note (payload, t) {
    if (payload.length < MIN_PAYLOAD) { ++this.foreign; return }
    const sent = payload.readBigUInt64LE(0)
    const index = payload.readUInt32LE(8)
    const seq = payload.readUInt32LE(12)
    if (index >= this.clients || seq >= this.perClient) { ++this.foreign; return }
    const bit = index * this.perClient + seq
    if (this.seen[bit >> 3] & (1 << (bit & 7))) { ++this.duplicated; return }
    this.seen[bit >> 3] |= 1 << (bit & 7)
    const us = t > sent ? Number((t - sent) / 1000n) : 0
    this.latency[this.unique++] = Math.min(us, 0xffffffff)
  }

  // Resolves once `target` arrivals are in or at `deadlineNs` (bigint, now() time).
  wait (target, deadlineNs) {
    if (this.received >= target) return Promise.resolve()
    return new Promise((resolve) => {
      const ms = Math.max(0, Number((deadlineNs - now()) / 1000000n))
      const timer = setTimeout(() => { this.waiter = null; resolve() }, ms)
      this.waiter = { target, resolve: () => { clearTimeout(timer); resolve() } }
    })
  }

  // All `target` arrivals, giving up after `idleMs` without progress or at the deadline.
  async waitAll (target, idleMs, deadlineNs) {
    let last = this.received
    let progress = now()
    while (this.received < target) {
      const t = now()
      const idleDeadline = progress + BigInt(idleMs) * 1000000n
      if (t >= deadlineNs || t >= idleDeadline) break
      let slice = t + 100000000n
      if (slice > idleDeadline) slice = idleDeadline
      if (slice > deadlineNs) slice = deadlineNs
      await this.wait(target, slice)
      if (this.received !== last) { last = this.received; progress = now() }
    }
  }
}

function stamp (payload, index, seq) {
  payload.writeBigUInt64LE(now(), 0)
  payload.writeUInt32LE(index, 8)
  payload.writeUInt32LE(seq, 12)
}

function percentile (sorted, count, q) {
  if (count === 0) return 0
  let rank = Math.floor(q * count + 0.999999) // nearest rank
  if (rank < 1) rank = 1
  if (rank > count) rank = count
  return sorted[rank - 1]
}

function report (result, rec) {
  const sorted = rec.latency.subarray(0, rec.unique).sort()
  const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => percentile(sorted, rec.unique, q))
  const max = rec.unique > 0 ? sorted[rec.unique - 1] : 0
  const messages = rec.unique
  const lost = result.sent > messages ? result.sent - messages : 0
  const rate = result.seconds > 0 ? messages / result.seconds : 0
  const cpu = messages > 0 ? result.cpuUs / messages : 0
  if (args.json) {
    // Same keys, order and precision as bench_report() in bench_common.c.
    process.stdout.write(`{"lib":"${LIB}","mode":"${args.mode}","qos":${args.qos},"clients":${args.clients},` +
      `"inflight":${args.inflight},"payload":${args.payload},"sent":${result.sent},"messages":${messages},` +
      `"seconds":${result.seconds.toFixed(6)},"msgs_per_s":${rate.toFixed(1)},` +
      `"client_cpu_us_per_msg":${cpu.toFixed(3)},"p50_us":${p50},"p90_us":${p90},"p99_us":${p99},` +
      `"max_us":${max},"lost":${lost},"duplicated":${rec.duplicated}}\n`)
  } else {
    process.stdout.write(`${LIB} ${args.mode} qos ${args.qos}: ${messages} messages in ${result.seconds.toFixed(3)} s = ` +
      `${rate.toFixed(0)} msg/s, ${cpu.toFixed(3)} us CPU/msg, latency us p50 ${p50} p90 ${p90} p99 ${p99} ` +
      `max ${max}, lost ${lost}, duplicated ${rec.duplicated}\n`)
  }
}

// One publisher's stream: at most --inflight outstanding; resolves when all are completed or at the deadline.
// MQTT.js may call a QoS 0 callback synchronously (inside publish()): the loop below then simply goes on.
function stream (client, index, deadlineNs, counts) {
  return new Promise((resolve) => {
    const topic = topicOf(index)
    let seq = 0
    let outstanding = 0
    let pumping = false
    let finished = false
    const finish = () => { if (!finished) { finished = true; clearTimeout(timer); resolve() } }
    const timer = setTimeout(finish, Math.max(0, Number((deadlineNs - now()) / 1000000n)))
    const completed = (e) => {
      if (e && !finished) console.error(`mqttjs_peer: publish: ${e.message ?? e}`)
      --outstanding
      pump()
    }
    const pump = () => {
      if (pumping || finished) return
      pumping = true
      while (outstanding < args.inflight && seq < args.messages) {
        // A new buffer each time: MQTT.js keeps the payload (in the stream, and in its store until the ack).
        const payload = Buffer.alloc(args.payload)
        stamp(payload, index, seq++)
        ++outstanding
        ++counts.sent
        client.publish(topic, payload, { qos: args.qos }, completed)
      }
      pumping = false
      if (seq >= args.messages && outstanding === 0) finish()
    }
    pump()
  })
}

async function runPub () {
  const rec = new Recorder(args.clients, args.messages)
  const sub = await open('sub', 0)
  if (!sub) return 1
  sub.on('message', (_topic, payload) => rec.record(payload))
  if (!(await subscribe(sub, filter))) return 1
  const pubs = []
  for (let i = 0; i < args.clients; ++i) {
    const c = await open('pub', i)
    if (!c) return 1
    pubs.push(c)
  }
  const deadline = now() + BigInt(Math.round(args.timeout * 1e9))
  const counts = { sent: 0 }
  const cpu0 = cpuUs()
  const t0 = now()
  await Promise.all(pubs.map((c, i) => stream(c, i, deadline, counts)))
  await rec.waitAll(counts.sent, 3000, deadline)
  const cpu = cpuUs() - cpu0
  const t1 = rec.lastNs > t0 ? rec.lastNs : now()
  report({ sent: counts.sent, seconds: Number(t1 - t0) / 1e9, cpuUs: cpu }, rec)
  await Promise.all([sub, ...pubs].map(close))
  return 0
}

async function runRtt () {
  const rec = new Recorder(1, args.messages)
  const client = await open('rtt', 0)
  if (!client) return 1
  const topic = topicOf(0)
  client.on('message', (_topic, payload) => rec.record(payload))
  if (!(await subscribe(client, topic))) return 1
  const deadline = now() + BigInt(Math.round(args.timeout * 1e9))
  let sent = 0
  const cpu0 = cpuUs()
  const t0 = now()
  for (let k = 0; k < args.messages && now() < deadline; ++k) {
    const payload = Buffer.alloc(args.payload)
    stamp(payload, 0, k)
    client.publish(topic, payload, { qos: args.qos })
    ++sent
    const sampleDeadline = now() + 2000000000n
    await rec.wait(sent, sampleDeadline < deadline ? sampleDeadline : deadline)
  }
  const cpu = cpuUs() - cpu0
  report({ sent, seconds: Number(now() - t0) / 1e9, cpuUs: cpu }, rec)
  await close(client)
  return 0
}

// DISCONNECT and close, bounded (errors while closing no longer count).
function close (client) {
  return new Promise((resolve) => {
    client.removeAllListeners('error')
    client.on('error', () => {})
    const timer = setTimeout(() => { client.end(true); resolve() }, 2000)
    client.end(false, {}, () => { clearTimeout(timer); resolve() })
  })
}

const rc = args.mode === 'pub' ? await runPub() : await runRtt()
process.exit(rc)
