#!/usr/bin/env node
// An idempotent kafkajs 2.2.4 producer (idempotent: true) against KafkaCompat.
//
// Usage: node tests/clients/kafkajs_idempotence_test.js PORT SUFFIX
//
// The test that runs this arms the broker to drop some Produce responses (the connection closes after the
// records were appended), so kafkajs retries batches the broker already has. Every send must succeed and
// every record be read back exactly once, in order per partition (read with a kafkajs consumer group).
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const PORT = Number(process.argv[2])
const SUFFIX = process.argv[3] || 'x'
const TOPIC = `idem-js-${SUFFIX}`
const N = 300

async function main () {
  const kafka = new Kafka({ clientId: 'idem-js', brokers: [`127.0.0.1:${PORT}`], logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 10 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true })
  await admin.disconnect()

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const reported = new Map()
  for (let i = 0; i < N; i += 10) {
    const messages = []
    for (let j = i; j < i + 10; j++) messages.push({ key: String(j % 2), value: String(j), partition: j % 2 })
    const res = await producer.send({ topic: TOPIC, acks: -1, messages })
    for (const r of res) {
      if (r.errorCode !== 0) throw new Error(`send answered error ${r.errorCode}`)
      reported.set(`${r.partition}:${r.baseOffset}`, true)
    }
  }
  await producer.disconnect()

  const seen = { 0: [], 1: [] }
  const consumer = kafka.consumer({ groupId: `idem-js-${SUFFIX}`, sessionTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  let done
  const finished = new Promise(resolve => { done = resolve })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen[partition].push(Number(message.value.toString()))
      if (seen[0].length + seen[1].length >= N) done()
    }
  })
  const timer = setTimeout(() => done(), 30000)
  await finished
  clearTimeout(timer)
  await new Promise(resolve => setTimeout(resolve, 500)) // anything extra (a duplicate) would arrive now
  await consumer.disconnect()
  for (const q of [0, 1]) {
    const want = []
    for (let i = 0; i < N; i++) if (i % 2 === q) want.push(i)
    if (JSON.stringify(seen[q]) !== JSON.stringify(want)) {
      throw new Error(`partition ${q} holds ${seen[q].length} records, expected ${want.length} in order: ${seen[q].slice(0, 20)}`)
    }
  }
  console.log(`PASS kafkajs idempotence: ${N} records exactly once`)
}

main().catch(e => { console.log(`FAIL kafkajs_idempotence_test: ${e.stack || e}`); process.exit(1) })
