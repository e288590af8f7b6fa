#!/usr/bin/env node
// SASL with kafkajs 2.2.4 (SaslHandshake v1 and SaslAuthenticate v1): PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or
// OAUTHBEARER (unsecured JWTs whose subject is the user: a "wrong password" is a token signed with HS256, an
// "unknown user" an expired token).
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
const b64 = obj => Buffer.from(JSON.stringify(obj)).toString('base64url')
const jwt = (user, password) => {
  const now = Date.now() / 1000
  return `${b64({ alg: password.endsWith('secret') ? 'none' : 'HS256' })}.${b64({ sub: user, iat: now - 1, exp: user === 'mallory' ? now - 600 : now + 3600 })}.`
}
const sasl = (username, password) => MECHANISM === 'OAUTHBEARER'
  ? { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt(username, password) }) }
  : { mechanism: MECHANISM.toLowerCase(), username, password }
let checks = 0
const check = (cond, what) => { checks++; if (!cond) throw new Error(what) }
const ca = [fs.readFileSync(path.join(CERTS, 'ca.pem'), 'utf8')]

const client = (port, username, password, ssl) => new Kafka({
  clientId: 'kafkajs-sasl', brokers: [`localhost:${port}`], ssl: ssl ? { ca } : undefined,
  sasl: sasl(username, password), logLevel: logLevel.NOTHING,
  connectionTimeout: 3000, requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 100 }
})

async function main () {
  const start = Date.now()
  check(await secure.roundtrip(client(SASL_PORT, 'alice', 'alice-secret', false), `kjs-sasl-${MECHANISM}-${SUFFIX}`, 'as-alice', `sasl-${MECHANISM}-${SUFFIX}`) === 'as-alice', 'alice over SASL_PLAINTEXT')
  check(await secure.roundtrip(client(SASL_SSL_PORT, 'bob', 'bob-secret', true), `kjs-sasl-ssl-${MECHANISM}-${SUFFIX}`, 'as-bob', `sasl-${MECHANISM}-${SUFFIX}`) === 'as-bob', 'bob over SASL_SSL')
  const wrong = await secure.refusal(client(SASL_PORT, 'alice', 'wrong', false))
  const unknown = await secure.refusal(client(SASL_PORT, 'mallory', 'x', false))
  if (MECHANISM === 'OAUTHBEARER') {
    // kafkajs 2.2.4 takes any answer to its token for success (its OAUTHBEARER response parser returns true), so it
    // never reads the invalid_token step: the broker, like Kafka, answers its next request (Metadata) with that
    // request's error response, ILLEGAL_SASL_STATE (a Metadata answer naming no broker), and closes the connection;
    // kafkajs then finds no broker to talk to
    const inner = e => e && (e.originalError || e.cause)
    const refusedAsKafkaDoes = e => e && e.name === 'KafkaJSNumberOfRetriesExceeded' && inner(e) &&
      (inner(e).name === 'KafkaJSBrokerNotFound' || inner(e).type === 'ILLEGAL_SASL_STATE')
    check(refusedAsKafkaDoes(wrong), `a token signed with HS256: ${wrong && wrong.name} ${wrong && wrong.message}`)
    check(refusedAsKafkaDoes(unknown), `an expired token: ${unknown && unknown.name} ${unknown && unknown.message}`)
  } else {
    check(wrong && wrong.name === 'KafkaJSSASLAuthenticationError', `a wrong password: ${wrong && wrong.name}`)
    check(WRONG.test(wrong.message), `the broker's reason reaches the client: ${wrong.message}`)
    check(unknown && unknown.name === 'KafkaJSSASLAuthenticationError', `an unknown user: ${unknown && unknown.name}`)
  }
  check(await secure.roundtrip(client(SASL_PORT, 'alice', 'alice-secret', false), `kjs-sasl-after-${MECHANISM}-${SUFFIX}`, 'still', `sasl-${MECHANISM}-${SUFFIX}`) === 'still', 'served afterwards')
  console.log(`PASS kafkajs_sasl_test (kafkajs ${require('kafkajs/package.json').version}, ${MECHANISM}): ${checks} checks in ${((Date.now() - start) / 1000).toFixed(1)}s`)
}

main().catch(e => { console.log(`FAIL kafkajs_sasl_test: ${e.message}`); process.exit(1) })
