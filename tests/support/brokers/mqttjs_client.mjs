// MQTT.js (npm mqtt) as the other side of interop tests (tests/integration/websocket_test.cpp).
// Usage: node mqttjs_client.mjs <node_modules dir> <url> sub <client id> <topic> <qos> <count>
//        node mqttjs_client.mjs <node_modules dir> <url> pub <client id> <topic> <qos> <hex payload>...
//   url e.g. ws://127.0.0.1:PORT/mqtt. sub prints "subscribed <granted qos>" once the SUBACK is in, then
//   "message <topic> <qos> <hex payload>" per message, and exits 0 after <count> of them. pub publishes each
//   payload in turn (the next once the previous completed), prints "published <n>" and exits 0.
// Any error prints "error <message>" on stderr and exits 1; it gives up after 20 s (exit 3).
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, url, role, id, topic, qosText, ...rest] = process.argv.slice(2)
const require = createRequire(path.join(path.resolve(modules ?? '.'), 'index.js'))
const mod = await import(pathToFileURL(require.resolve('mqtt')).href)
const connect = mod.connect ?? mod.default.connect
const qos = Number(qosText)
const fail = (e) => { console.error(`error ${e?.message ?? e}`); process.exit(1) }
setTimeout(() => { console.error('error timed out'); process.exit(3) }, 20000).unref()

const client = connect(url, { clientId: id, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000 })
client.on('error', fail)
// Once the work is done, an error while closing (the broker dropping the socket under the last PUBACK or
// the DISCONNECT: EPIPE) no longer counts.
const done = () => {
  client.removeListener('error', fail)
  client.on('error', () => {})
  client.end(false, {}, () => process.exit(0))
}

client.once('connect', () => {
  if (role === 'sub') {
    const count = Number(rest[0])
    let seen = 0
    client.on('message', (t, payload, packet) => {
      console.log(`message ${t} ${packet.qos} ${payload.toString('hex')}`)
      if (++seen === count) done()
    })
    client.subscribe(topic, { qos }, (e, granted) => {
      if (e) fail(e)
      console.log(`subscribed ${granted[0].qos}`)
    })
  } else if (role === 'pub') {
    const next = (i) => {
      if (i === rest.length) { console.log(`published ${i}`); done(); return }
      client.publish(topic, Buffer.from(rest[i], 'hex'), { qos }, (e) => (e ? fail(e) : next(i + 1)))
    }
    next(0)
  } else {
    fail(`unknown role ${role}`)
  }
})
