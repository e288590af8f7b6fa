#!/usr/bin/env node
// SASL with kafkajs 2.2.4 (SaslHandshake v1 and SaslAuthenticate v1): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
// Usage: node tests/clients/kafkajs_sasl_test.js PORT SUFFIX SASL_PORT SASL_SSL_PORT CERT_DIR MECHANISM
//   users alice/alice-secret and bob/bob-secret on both SASL listeners; CERT_DIR holds ca.pem.
// Checks: alice over SASL_PLAINTEXT and bob over SASL_SSL produce and consume; a wrong password and an unknown user
// are refused with kafkajs's authentication error; the listener serves alice afterwards.
'use strict'
const fs = require('fs')
const path = require('path')
let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  console.log(`FAIL kafkajs_sasl_test: kafkajs is not installed (${e.code || e.message})`)
  process.exit(2)
}
const { Kafka, logLevel } = kafkajs
const secure = require('./kafkajs_secure')
const [PORT, SUFFIX, SASL_PORT, SASL_SSL_PORT, CERTS, MECHANISM] = process.argv.slice(2)
// the broker's reason for a wrong password: PLAIN's own words, SCRAM's generic message
const WRONG = MECHANISM === 'PLAIN' ? /Invalid username or password/ : new RegExp(`invalid credentials with SASL mechanism ${MECHANISM}`)
let checks = 0
const check = (cond, what) => { checks++; if (!cond) throw new Error(what) }
const ca = [fs.readFileSync(path.join(CERTS, 'ca.pem'), 'utf8')]

const client = (port, username, password, ssl) => new Kafka({
  clientId: 'kafkajs-sasl', brokers: [`localhost:${port}`], ssl: ssl ? { ca } : undefined,
  sasl: { mechanism: MECHANISM.toLowerCase(), username, password }, logLevel: logLevel.NOTHING,
  connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 100 }
})

async function main () {
  const start = Date.now()
  check(await secure.roundtrip(client(SASL_PORT, 'alice', 'alice-secret', false), `kjs-sasl-${MECHANISM}-${SUFFIX}`, 'as-alice', `sasl-${MECHANISM}-${SUFFIX}`) === 'as-alice', 'alice over SASL_PLAINTEXT')
  check(await secure.roundtrip(client(SASL_SSL_PORT, 'bob', 'bob-secret', true), `kjs-sasl-ssl-${MECHANISM}-${SUFFIX}`, 'as-bob', `sasl-${MECHANISM}-${SUFFIX}`) === 'as-bob', 'bob over SASL_SSL')
  const wrong = await secure.refusal(client(SASL_PORT, 'alice', 'wrong', false))
  check(wrong && wrong.name === 'KafkaJSSASLAuthenticationError', `a wrong password: ${wrong && wrong.name}`)
  check(WRONG.test(wrong.message), `the broker's reason reaches the client: ${wrong.message}`)
  const unknown = await secure.refusal(client(SASL_PORT, 'mallory', 'x', false))
  check(unknown && unknown.name === 'KafkaJSSASLAuthenticationError', `an unknown user: ${unknown && unknown.name}`)
  check(await secure.roundtrip(client(SASL_PORT, 'alice', 'alice-secret', false), `kjs-sasl-after-${MECHANISM}-${SUFFIX}`, 'still', `sasl-${MECHANISM}-${SUFFIX}`) === 'still', 'served afterwards')
  console.log(`PASS kafkajs_sasl_test (kafkajs ${require('kafkajs/package.json').version}, ${MECHANISM}): ${checks} checks in ${((Date.now() - start) / 1000).toFixed(1)}s`)
}

main().catch(e => { console.log(`FAIL kafkajs_sasl_test: ${e.message}`); process.exit(1) })
