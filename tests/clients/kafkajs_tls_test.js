#!/usr/bin/env node
// TLS listeners with kafkajs 2.2.4 (Node's TLS).
// Usage: node tests/clients/kafkajs_tls_test.js PORT SUFFIX SSL_PORT MTLS_PORT CERT_DIR
//   PORT the PLAINTEXT listener; SSL_PORT an SSL listener; MTLS_PORT an SSL listener with ssl.client.auth=required;
//   CERT_DIR holds ca.pem, client.pem, client.key and other-ca.pem (see tests/clients/tls_test.py).
// Checks: produce and consume over SSL with the CA and host name checked; the cluster's brokers on the SSL port;
// served with a client certificate on the client-auth listener, refused without; a broker certificate from another CA
// refused; a plaintext client on the SSL port refused. Prints one summary line; exits non-zero on failure.
'use strict'
const fs = require('fs')
const path = require('path')
let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  console.log(`FAIL kafkajs_tls_test: kafkajs is not installed (${e.code || e.message})`)
  process.exit(2)
}
const { Kafka, logLevel } = kafkajs
const [PORT, SUFFIX, SSL_PORT, MTLS_PORT, CERTS] = process.argv.slice(2)
const read = f => fs.readFileSync(path.join(CERTS, f), 'utf8')
let checks = 0
const check = (cond, what) => { checks++; if (!cond) throw new Error(what) }

const client = (port, ssl) => new Kafka({
  clientId: 'kafkajs-tls', brokers: [`localhost:${port}`], ssl, logLevel: logLevel.NOTHING,
  connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 100 }
})

async function roundtrip (kafka, topic, value) {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `tls-${SUFFIX}-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing consumed from ${topic}`)), 20000)
    consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(message.value.toString()) } })
  })
  await consumer.disconnect()
  return got
}

async function refused (kafka) {
  const admin = kafka.admin()
  try {
    await admin.connect()
    await admin.describeCluster()
    return false
  } catch (e) {
    return true
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

async function main () {
  const start = Date.now()
  const ca = [read('ca.pem')]
  const tls = client(SSL_PORT, { ca })
  check(await roundtrip(tls, `kjs-tls-${SUFFIX}`, 'over-tls') === 'over-tls', 'a record produced over SSL was not read back')
  const admin = tls.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  await admin.disconnect()
  check(cluster.brokers.length === 1 && cluster.brokers[0].port === Number(SSL_PORT), `describeCluster over SSL named ${JSON.stringify(cluster.brokers)}`)
  const mtls = client(MTLS_PORT, { ca, cert: read('client.pem'), key: read('client.key') })
  check(await roundtrip(mtls, `kjs-mtls-${SUFFIX}`, 'with-cert') === 'with-cert', 'a client with a certificate was not served')
  check(await refused(client(MTLS_PORT, { ca })), 'a client without a certificate was served where one is required')
  check(await refused(client(SSL_PORT, { ca: [read('other-ca.pem')] })), 'a broker certificate from another CA was accepted')
  check(await refused(client(SSL_PORT, undefined)), 'a plaintext client was served on the SSL port')
  check(await roundtrip(tls, `kjs-after-${SUFFIX}`, 'still-serving') === 'still-serving', 'the SSL listener stopped serving')
  console.log(`PASS kafkajs_tls_test (kafkajs ${require('kafkajs/package.json').version}): ${checks} checks in ${((Date.now() - start) / 1000).toFixed(1)}s`)
}

main().catch(e => { console.log(`FAIL kafkajs_tls_test: ${e.message}`); process.exit(1) })
