// A private aedes broker for the test suite (tests/support/broker_fixtures.*).
// Usage: node aedes_broker.mjs <node_modules dir> [--port N] [--ws-port N] [--wss-port N --cert F --key F] [--quiet]
//   N = 0 picks a free port; --ws-port adds a WebSocket listener (npm ws) on path /mqtt, --wss-port the same
//   over TLS (node:https) with the PEM certificate chain F and key F.
// Listens on 127.0.0.1 only. Prints "aedes <version> listening mqtt=<port> ws=<port|0> wss=<port|0>" once
// ready, then one line per client event (none with --quiet: bench/compare/run.sh, where a line per publish
// would slow the broker down). Stops on SIGTERM/SIGINT (closing the broker), exits 2 on a Node older than 20.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

if (Number(process.versions.node.split('.')[0]) < 20) {
  console.error(`aedes_broker: Node >= 20 is required, this is ${process.version}`)
  process.exit(2)
}
const args = process.argv.slice(2)
const text = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1] }
const option = (name) => { const value = text(name); return value === undefined ? undefined : Number(value) }
const require = createRequire(path.join(path.resolve(args[0] ?? '.'), 'index.js'))
const load = (name) => import(pathToFileURL(require.resolve(name)).href)

const { Aedes } = await load('aedes')
const version = require(path.join(path.dirname(require.resolve('aedes')), 'package.json')).version
const broker = await Aedes.createBroker({ drainTimeout: 30000 })
const listen = (server, port) => new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(port, '127.0.0.1', () => resolve(server.address().port))
})

const mqttPort = await listen(net.createServer(broker.handle), option('--port') ?? 0)
// MQTT over WebSockets on `server` (plain http or https), path /mqtt.
const serveWebSocket = async (server, port) => {
  const { WebSocketServer, createWebSocketStream } = (await load('ws')).default
  const wss = new WebSocketServer({ server, path: '/mqtt' })
  wss.on('connection', (socket, req) => broker.handle(createWebSocketStream(socket), req))
  return listen(server, port)
}
const wsPort = option('--ws-port') === undefined ? 0 : await serveWebSocket(http.createServer(), option('--ws-port'))
let wssPort = 0
if (option('--wss-port') !== undefined) {
  const tls = { cert: fs.readFileSync(text('--cert')), key: fs.readFileSync(text('--key')) }
  wssPort = await serveWebSocket(https.createServer(tls), option('--wss-port'))
}
const log = (line) => process.stdout.write(line + '\n')
if (!args.includes('--quiet')) {
  broker.on('client', (c) => log(`client connected ${c.id}`))
  broker.on('clientDisconnect', (c) => log(`client disconnected ${c.id}`))
  broker.on('clientError', (c, e) => log(`client error ${c.id}: ${e.message}`))
  broker.on('keepaliveTimeout', (c) => log(`keepalive timeout ${c.id}`))
  broker.on('subscribe', (subs, c) => log(`subscribe ${c?.id} ${subs.map((s) => `${s.topic}:${s.qos}`).join(' ')}`))
  broker.on('publish', (p, c) => { if (c) log(`publish ${c.id} ${p.topic} q${p.qos} r${p.retain ? 1 : 0}`) })
}
log(`aedes ${version} listening mqtt=${mqttPort} ws=${wsPort} wss=${wssPort}`)
const stop = () => broker.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
