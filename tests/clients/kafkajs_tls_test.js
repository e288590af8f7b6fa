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
const secure = require('./kafkajs_secure')
const [PORT, SUFFIX, SSL_PORT, MTLS_PORT, CERTS] = process.argv.slice(2)
const read = f => fs.readFileSync(path.join(CERTS, f), 'utf8')
let checks = 0
const check = (cond, what) => { checks++; if (!cond) throw new Error(what) }

const client = (port, ssl) => new Kafka({
  clientId: 'kafkajs-tls', brokers: [`localhost:${port}`], ssl, logLevel: logLevel.NOTHING,
  connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 100 }
})

async function main () {
  const start = Date.now()
  const ca = [read('ca.pem')]
  const tls = client(SSL_PORT, { ca })
  check(await secure.roundtrip(tls, `kjs-tls-${SUFFIX}`, 'over-tls', `tls-${SUFFIX}`) === 'over-tls', 'a record produced over SSL was not read back')
  const admin = tls.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  await admin.disconnect()
  check(cluster.brokers.length === 1 && cluster.brokers[0].port === Number(SSL_PORT), `describeCluster over SSL named ${JSON.stringify(cluster.brokers)}`)
  const mtls = client(MTLS_PORT, { ca, cert: read('client.pem'), key: read('client.key') })
  check(await secure.roundtrip(mtls, `kjs-mtls-${SUFFIX}`, 'with-cert', `tls-${SUFFIX}`) === 'with-cert', 'a client with a certificate was not served')
  check(!!await secure.refusal(client(MTLS_PORT, { ca })), 'a client without a certificate was served where one is required')
  check(!!await secure.refusal(client(SSL_PORT, { ca: [read('other-ca.pem')] })), 'a broker certificate from another CA was accepted')
  check(!!await secure.refusal(client(SSL_PORT, undefined)), 'a plaintext client was served on the SSL port')
  check(await secure.roundtrip(tls, `kjs-after-${SUFFIX}`, 'still-serving', `tls-${SUFFIX}`) === 'still-serving', 'the SSL listener stopped serving')
  console.log(`PASS kafkajs_tls_test (kafkajs ${require('kafkajs/package.json').version}): ${checks} checks in ${((Date.now() - start) / 1000).toFixed(1)}s`)
}

main().catch(e => { console.log(`FAIL kafkajs_tls_test: ${e.message}`); process.exit(1) })
