// kafkajs 2.2.4 against a three-broker KafkaCompat cluster while brokers fail.
// Usage: node tests/clients/kafkajs_failover_test.js PORT SUFFIX BOOTSTRAP ADMIN_URL idempotent|plain
// A producer (acks=all; idempotent or not) keeps sending numbered records to a topic with replication factor 3 and
// min.insync.replicas 2, and a consumer in a group keeps consuming, while through the admin HTTP API: the broker
// leading partition 0 is stopped and started; the group's coordinator is stopped and started;
// NOT_LEADER_OR_FOLLOWER and REQUEST_TIMED_OUT are injected for Produce and COORDINATOR_NOT_AVAILABLE for Heartbeat
// and OffsetCommit (retried); TOPIC_AUTHORIZATION_FAILED for Produce reaches the application. Every acknowledged
// record must be consumed; with idempotence, none is in the log twice. Prints one summary line; exits non-zero on
// any failure.
const { Kafka, logLevel } = require('kafkajs')

const [port, suffix, bootstrap, adminUrl, mode] = process.argv.slice(2)
if (!adminUrl) { console.log('usage: kafkajs_failover_test.js PORT SUFFIX BOOTSTRAP ADMIN_URL idempotent|plain'); process.exit(2) }
const idempotent = mode === 'idempotent'
const kafka = new Kafka({ clientId: `kjs-failover-${mode}`, brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 }, connectionTimeout: 3000, requestTimeout: 10000 })
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function admin (method, path, body) {
  const r = await fetch(adminUrl + path, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) })
  const json = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`)
  return json
}
async function leaderOf (topic, partition) {
  const t = (await admin('GET', '/v1/cluster')).topics.find(t => t.name === topic)
  return t.partitions[partition].leader
}

async function main () {
  const topic = `failover-kjs-${mode}-${suffix}`
  const groupId = `failover-kjs-${mode}-${suffix}`
  const a = kafka.admin()
  await a.connect()
  await a.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] })
  await a.disconnect()

  const acked = new Set()
  const consumed = new Set()
  const failed = []
  let stop = false
  const producer = kafka.producer({ idempotent, maxInFlightRequests: idempotent ? 1 : 5, allowAutoTopicCreation: false })
  await producer.connect()
  const producing = (async () => {
    const pending = []
    for (let i = 0; !stop; i++) {
      const v = `v${i}`
      pending.push(producer.send({ topic, acks: -1, messages: [{ key: `k${i % 12}`, value: v }] })
        .then(() => acked.add(v), e => failed.push(`${v}: ${e.message}`)))
      // kafkajs 2.2.4's idempotent producer gives a batch sent while an earlier one is being retried the sequence
      // number of the one that failed: after a REQUEST_TIMED_OUT (written, not confirmed) the broker answers the newer
      // batch as the duplicate it seems to be, and the retried one is written again under the next number, as Kafka
      // would do too. Sends are awaited one at a time with idempotence, the way kafkajs keeps its sequence right.
      if (pending.length >= (idempotent ? 1 : 20)) await Promise.all(pending.splice(0))
      await sleep(3)
    }
    await Promise.all(pending)
  })()

  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200, retry: { retries: 30 } })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let crashed = null
  consumer.on(consumer.events.CRASH, e => { if (!e.payload.restart) crashed = e.payload.error })
  await consumer.run({ autoCommitInterval: 200, eachMessage: async ({ message }) => { consumed.add(message.value.toString()) } })

  async function waitAcked (more, what) {
    const target = acked.size + more
    const deadline = Date.now() + 60000
    while (acked.size < target && Date.now() < deadline) await sleep(50)
    if (acked.size < target) throw new Error(`${what}: ${acked.size} acknowledged, wanted ${target}; errors ${failed.slice(0, 5)}`)
  }
  async function waitConsumed (what) {
    const target = [...acked]
    const deadline = Date.now() + 60000
    while (Date.now() < deadline && !target.every(v => consumed.has(v))) await sleep(50)
    if (crashed) throw new Error(`${what}: the consumer crashed: ${crashed.message}`)
    const missing = target.filter(v => !consumed.has(v))
    if (missing.length) throw new Error(`${what}: the group stopped consuming (${missing.length} acknowledged not consumed, e.g. ${missing.slice(0, 5)})`)
  }

  let victim, coordinator
  try {
    await waitAcked(150, 'before any failure')
    await waitConsumed('before any failure')
    victim = await leaderOf(topic, 0)
    await admin('POST', `/v1/brokers/${victim}/stop`)
    await waitAcked(150, `broker ${victim} stopped`)
    await waitConsumed(`broker ${victim} stopped`)
    await admin('POST', `/v1/brokers/${victim}/start`)
    await waitAcked(150, `broker ${victim} started`)
    coordinator = await leaderOf('__consumer_offsets', 0)
    await admin('POST', `/v1/brokers/${coordinator}/stop`)
    await waitAcked(150, `coordinator ${coordinator} stopped`)
    await waitConsumed(`coordinator ${coordinator} stopped`)
    await admin('POST', `/v1/brokers/${coordinator}/start`)
    await admin('POST', '/v1/elect-leaders')
    for (const [api, error, count] of [['Produce', 'NOT_LEADER_OR_FOLLOWER', 3], ['Produce', 'REQUEST_TIMED_OUT', 2],
      ['Heartbeat', 'COORDINATOR_NOT_AVAILABLE', 2], ['OffsetCommit', 'COORDINATOR_NOT_AVAILABLE', 2]]) {
      await admin('POST', '/v1/faults', { kind: 'error', api, error, count })
    }
    await waitAcked(200, 'retriable errors injected')
    await waitConsumed('retriable errors injected')
    await admin('DELETE', '/v1/faults')
  } finally {
    stop = true
    await producing
  }
  await waitConsumed('at the end')
  await consumer.disconnect()
  await producer.disconnect()
  if (failed.length) throw new Error(`send errors: ${failed.slice(0, 5)}`)

  // a fatal error reaches the application
  await admin('POST', '/v1/faults', { kind: 'error', api: 'Produce', error: 'TOPIC_AUTHORIZATION_FAILED', count: 1 })
  const p2 = kafka.producer({ retry: { retries: 2 } })
  await p2.connect()
  const fatal = await p2.send({ topic, acks: -1, messages: [{ value: 'fatal' }] }).then(() => null, e => e)
  await p2.disconnect()
  await admin('DELETE', '/v1/faults')
  if (!fatal || !/TOPIC_AUTHORIZATION_FAILED|Not authorized/i.test(`${fatal.type} ${fatal.message}`)) throw new Error(`the injected TOPIC_AUTHORIZATION_FAILED was not reported: ${fatal && fatal.message}`)

  // the log holds every acknowledged record; once each with idempotence
  const counts = new Map()
  const reader = kafka.consumer({ groupId: `reader-${groupId}`, maxWaitTimeInMs: 200 })
  await reader.connect()
  await reader.subscribe({ topics: [topic], fromBeginning: true })
  await reader.run({ autoCommit: false, eachMessage: async ({ message }) => { const v = message.value.toString(); counts.set(v, (counts.get(v) || 0) + 1) } })
  const deadline = Date.now() + 60000
  while (Date.now() < deadline && ![...acked].every(v => counts.has(v))) await sleep(100)
  await sleep(500)
  await reader.disconnect()
  const lost = [...acked].filter(v => !counts.has(v))
  if (lost.length) throw new Error(`${lost.length} acknowledged record(s) not in the log, e.g. ${lost.slice(0, 5)}`)
  const twice = [...counts].filter(([, n]) => n > 1)
  if (idempotent && twice.length) throw new Error(`idempotent producer, yet ${twice.length} record(s) are in the log twice, e.g. ${twice.slice(0, 3)}`)
  console.log(`PASS kafkajs_failover_test (${mode}): ${acked.size} acknowledged, all consumed; ${twice.length} duplicate(s) in the log; ` +
    `broker ${victim} and coordinator ${coordinator} stopped and started; retriable faults retried, the fatal one reported`)
}

main().then(() => process.exit(0), e => { console.error(`FAIL kafkajs_failover_test: ${e && e.stack || e}`); process.exit(1) })
