#!/usr/bin/env node
// Transactions with kafkajs 2.2.4 against KafkaCompat.
//
// Usage: node tests/clients/kafkajs_transactions_test.js PORT SUFFIX
//
// producer.transaction(): a committed and an aborted transaction; a read_committed consumer (kafkajs's default,
// readUncommitted: false) sees only the committed records, a readUncommitted one sees both; sendOffsets commits a
// consumer group's offsets inside a transaction (visible after commit, not after abort); a second producer with
// the same transactionalId fences the first. Every check is an assertion; exits non-zero on failure.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const PORT = Number(process.argv[2])
const SUFFIX = process.argv[3] || 'x'
const TOPIC = `txn-js-${SUFFIX}`
const SRC = `txn-js-in-${SUFFIX}`
let checks = 0
function check (cond, what) {
  checks++
  if (!cond) throw new Error(`assertion failed: ${what}`)
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

const kafka = new Kafka({ clientId: 'txn-js', brokers: [`127.0.0.1:${PORT}`], logLevel: logLevel.NOTHING,
  retry: { initialRetryTime: 50, retries: 8 } })

async function readAll (topic, readUncommitted, want) {
  const consumer = kafka.consumer({ groupId: `txn-js-reader-${SUFFIX}-${Date.now()}`, readUncommitted,
    sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()) } })
  const deadline = Date.now() + 15000
  while (got.length < want && Date.now() < deadline) await sleep(100)
  await sleep(700) // anything that should not be there would arrive now
  await consumer.disconnect()
  return got.sort()
}

async function main () {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }, { topic: SRC, numPartitions: 1 }], waitForLeaders: true })

  const producer = kafka.producer({ transactionalId: `txn-js-${SUFFIX}`, maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  let txn = await producer.transaction()
  await txn.send({ topic: TOPIC, messages: [0, 1, 2, 3].map(i => ({ value: `c${i}`, partition: i % 2 })) })
  await txn.commit()
  txn = await producer.transaction()
  await txn.send({ topic: TOPIC, messages: [0, 1, 2].map(i => ({ value: `a${i}`, partition: i % 2 })) })
  await txn.abort()

  check(JSON.stringify(await readAll(TOPIC, false, 4)) === JSON.stringify(['c0', 'c1', 'c2', 'c3']), 'read_committed sees the committed records only')
  check((await readAll(TOPIC, true, 7)).length === 7, 'readUncommitted sees the aborted records too')

  // offsets inside a transaction
  const group = `txn-js-group-${SUFFIX}`
  txn = await producer.transaction()
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: SRC, partitions: [{ partition: 0, offset: '5' }] }] })
  await txn.abort()
  let offsets = await admin.fetchOffsets({ groupId: group, topics: [SRC] })
  check(offsets[0].partitions[0].offset === '-1', `aborted offsets are not committed: ${JSON.stringify(offsets)}`)
  txn = await producer.transaction()
  await txn.send({ topic: TOPIC, messages: [{ value: 'with-offsets', partition: 0 }] })
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: SRC, partitions: [{ partition: 0, offset: '7' }] }] })
  await txn.commit()
  offsets = await admin.fetchOffsets({ groupId: group, topics: [SRC] })
  check(offsets[0].partitions[0].offset === '7', `committed offsets: ${JSON.stringify(offsets)}`)

  // fencing: kafkajs asks for its producer id on the first transaction, so the second instance starts one first
  const second = kafka.producer({ transactionalId: `txn-js-${SUFFIX}`, maxInFlightRequests: 1, idempotent: true })
  await second.connect()
  txn = await second.transaction()
  await txn.send({ topic: TOPIC, messages: [{ value: 'second', partition: 1 }] })
  await txn.commit()
  let fenced = false
  try {
    txn = await producer.transaction()
    await txn.send({ topic: TOPIC, messages: [{ value: 'zombie', partition: 0 }] })
    await txn.commit()
  } catch (e) {
    fenced = /epoch|fenced/i.test(`${e.type} ${e.message}`)
  }
  check(fenced, 'the first producer is fenced by the second')
  const final = await readAll(TOPIC, false, 6)
  check(final.includes('second') && !final.includes('zombie') && final.includes('with-offsets'), `final committed view: ${final}`)

  await second.disconnect()
  await producer.disconnect().catch(() => {})
  await admin.disconnect()
  console.log(`PASS kafkajs transactions: ${checks} checks`)
}

main().catch(e => { console.log(`FAIL kafkajs_transactions_test: ${e.stack || e}`); process.exit(1) })
