#!/usr/bin/env node
// End-to-end check of a running KafkaCompat broker with kafkajs 2.2.4.
//
// Setup (once): npm install --prefix tests/clients
// Usage:        node tests/clients/kafkajs_test.js PORT [TOPIC_SUFFIX]
//
// kafkajs consumers always join a consumer group, which this broker does not support yet, so
// the produced data is verified with admin.fetchTopicOffsets / fetchTopicOffsetsByTimestamp
// (ListOffsets) and, for the record contents (keys, values, headers, timestamps, GZIP batch),
// by reading the partitions back with kcat -C -J.
// Every check is an assertion; prints one summary line; exits non-zero on failure.
'use strict'

const { execFileSync } = require('child_process')
const crypto = require('crypto')

let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  console.log(`FAIL kafkajs_test: kafkajs is not installed (${e.code || e.message}); ` +
    'run `npm install --prefix tests/clients` from the repository root')
  process.exit(2)
}
const { Kafka, logLevel, CompressionTypes } = kafkajs
const KAFKAJS_VERSION = require('kafkajs/package.json').version

if (process.argv.length < 3) {
  console.log('usage: kafkajs_test.js PORT [TOPIC_SUFFIX]')
  process.exit(2)
}
const PORT = Number(process.argv[2])
const SUFFIX = process.argv[3] || crypto.randomBytes(4).toString('hex')
const BROKER = `127.0.0.1:${PORT}`

let checks = 0
function check (cond, what) {
  checks++
  if (!cond) throw new Error(`assertion failed: ${what}`)
}
function eq (actual, expected, what) {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  check(a === e, `${what}: got ${a}, expected ${e}`)
}

function kcatRead (topic, partition) {
  let out
  try {
    out = execFileSync('kcat', ['-b', BROKER, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-J'],
      { encoding: 'utf8', timeout: 15000, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('kcat is not installed (apt-get install kcat); it is needed to read records back')
    throw new Error(`kcat -C failed: ${e.stderr || e.message}`)
  }
  return out.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l))
}

function offsetsByPartition (list) {
  const m = {}
  for (const o of list) m[o.partition] = { low: o.low, high: o.high, offset: o.offset }
  return m
}

async function main () {
  const done = []
  const topic = `kjs-main-${SUFFIX}`
  const topicGzip = `kjs-gzip-${SUFFIX}`
  const kafka = new Kafka({
    clientId: 'kafkacompat-kafkajs-test',
    brokers: [BROKER],
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 100 } })
  await admin.connect()
  await producer.connect()
  try {
    // --- createTopics ---
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }, { topic: topicGzip, numPartitions: 1 }],
      waitForLeaders: true,
      timeout: 10000
    })
    eq(created, true, 'createTopics result')
    const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: false, timeout: 10000 })
    eq(again, false, 'createTopics of an existing topic')
    const listed = await admin.listTopics()
    check(listed.includes(topic) && listed.includes(topicGzip), `listTopics lacks the new topics: ${listed}`)
    done.push('createTopics')

    // --- fetchTopicMetadata ---
    const md = await admin.fetchTopicMetadata({ topics: [topic] })
    eq(md.topics.map(t => t.name), [topic], 'fetchTopicMetadata topic names')
    const parts = md.topics[0].partitions.slice().sort((a, b) => a.partitionId - b.partitionId)
    eq(parts.map(p => p.partitionId), [0, 1, 2], 'partition ids')
    eq(parts.map(p => p.partitionErrorCode), [0, 0, 0], 'partition error codes')
    const leader = parts[0].leader
    check(parts.every(p => p.leader === leader && p.replicas.length === 1 && p.replicas[0] === leader &&
      p.isr.length === 1 && p.isr[0] === leader), `leaders/replicas/isr: ${JSON.stringify(parts)}`)
    done.push('fetchTopicMetadata')

    // --- fetchTopicOffsets of the empty topic ---
    eq(offsetsByPartition(await admin.fetchTopicOffsets(topic)),
      { 0: { low: '0', high: '0', offset: '0' }, 1: { low: '0', high: '0', offset: '0' }, 2: { low: '0', high: '0', offset: '0' } },
      'offsets of the empty topic')

    // --- producer.send with keys, headers and explicit timestamps, to explicit partitions ---
    const ts0 = Date.now() - 60000
    const msgs = []
    for (let i = 0; i < 8; i++) {
      const m = { key: `key-${i}`, value: JSON.stringify({ i, text: `kafkajs record ${i}` }), timestamp: String(ts0 + i * 1000), partition: 1 }
      if (i % 2 === 0) m.headers = { 'x-index': String(i), 'x-origin': 'kafkajs' }
      if (i === 3) m.key = null
      msgs.push(m)
    }
    let res = await producer.send({ topic, messages: msgs.slice(0, 5), acks: -1 })
    eq(res.map(r => [r.topicName, r.partition, r.errorCode, r.baseOffset]), [[topic, 1, 0, '0']], 'send #1 result (acks=-1)')
    res = await producer.send({ topic, messages: msgs.slice(5), acks: 1 })
    eq(res.map(r => [r.topicName, r.partition, r.errorCode, r.baseOffset]), [[topic, 1, 0, '5']], 'send #2 result (acks=1)')
    // the same key always goes to the same partition with the default partitioner
    res = await producer.send({ topic, messages: [1, 2, 3].map(n => ({ key: 'sticky-key', value: `s${n}` })) })
    eq(res.length, 1, 'keyed messages went to a single partition')
    const keyedPartition = res[0].partition
    eq(res[0].baseOffset, keyedPartition === 1 ? '8' : '0', 'keyed batch base offset')
    done.push('send(keys,headers)')

    // --- fetchTopicOffsets / fetchTopicOffsetsByTimestamp after producing ---
    const expectedHigh = { 0: 0, 1: 8, 2: 0 }
    expectedHigh[keyedPartition] += 3
    const offs = offsetsByPartition(await admin.fetchTopicOffsets(topic))
    for (const p of [0, 1, 2]) {
      eq(offs[p], { low: '0', high: String(expectedHigh[p]), offset: String(expectedHigh[p]) }, `offsets of partition ${p}`)
    }
    const byTs = async ts => (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).find(o => o.partition === 1).offset
    eq(await byTs(ts0 - 1), '0', 'offset for a timestamp before the first record')
    eq(await byTs(ts0 + 3500), '4', 'offset for a timestamp between records 3 and 4')
    eq(await byTs(ts0 + 7000), '7', 'offset for the timestamp of record 7')
    done.push('fetchTopicOffsets')

    // --- read partition 1 back (kcat) and compare every record ---
    const back = kcatRead(topic, 1).filter(r => r.offset < 8)
    eq(back.length, 8, 'records read back from partition 1')
    back.forEach((r, i) => {
      const m = msgs[i]
      eq([r.offset, r.key, r.payload, r.ts, r.tstype], [i, m.key, m.value, ts0 + i * 1000, 'create'], `record ${i}`)
      const hdrs = m.headers ? Object.entries(m.headers).flat() : undefined
      eq(r.headers, hdrs, `record ${i} headers`)
    })
    done.push('records-verified')

    // --- GZIP batch ---
    const gz = []
    for (let i = 0; i < 6; i++) gz.push({ key: `gz-${i}`, value: `gzip payload ${i} `.repeat(20), headers: { codec: 'gzip' } })
    res = await producer.send({ topic: topicGzip, compression: CompressionTypes.GZIP, messages: gz })
    eq(res.map(r => [r.partition, r.errorCode, r.baseOffset]), [[0, 0, '0']], 'GZIP send result')
    eq(offsetsByPartition(await admin.fetchTopicOffsets(topicGzip)), { 0: { low: '0', high: '6', offset: '6' } }, 'offsets after GZIP send')
    const gzBack = kcatRead(topicGzip, 0)
    eq(gzBack.map(r => [r.offset, r.key, r.payload, r.headers]), gz.map((m, i) => [i, m.key, m.value, ['codec', 'gzip']]), 'GZIP records read back')
    done.push('gzip')

    // --- acks=0: the broker must not answer; the records must still land ---
    res = await producer.send({ topic: topicGzip, acks: 0, messages: [{ key: 'a0', value: 'acks zero' }] })
    let high = '6'
    for (let i = 0; i < 20 && high === '6'; i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      high = (await admin.fetchTopicOffsets(topicGzip))[0].high
    }
    eq(high, '7', 'high watermark after an acks=0 send')
    done.push('acks=0')

    // --- deleteTopicRecords (DeleteRecords): the low watermark moves, and beyond the high watermark is refused ---
    await admin.deleteTopicRecords({ topic: topicGzip, partitions: [{ partition: 0, offset: '4' }] })
    eq(offsetsByPartition(await admin.fetchTopicOffsets(topicGzip)), { 0: { low: '4', high: '7', offset: '7' } }, 'offsets after deleteTopicRecords')
    let refused = null
    try {
      await admin.deleteTopicRecords({ topic: topicGzip, partitions: [{ partition: 0, offset: '99' }] })
    } catch (e) {
      refused = e
    }
    check(refused !== null, 'deleteTopicRecords past the high watermark was not refused')
    await admin.deleteTopicRecords({ topic: topicGzip, partitions: [{ partition: 0, offset: '-1' }] })
    eq(offsetsByPartition(await admin.fetchTopicOffsets(topicGzip))[0].low, '7', 'low watermark after deleting up to the end (-1)')
    done.push('deleteTopicRecords')

    // --- deleteTopics ---
    await admin.deleteTopics({ topics: [topic, topicGzip], timeout: 10000 })
    const after = await admin.listTopics()
    check(!after.includes(topic) && !after.includes(topicGzip), `topics still listed after deleteTopics: ${after}`)
    done.push('deleteTopics')
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
  return done
}

const t0 = Date.now()
const guard = setTimeout(() => {
  console.log('FAIL kafkajs_test: took longer than 60 s (a request hung?)')
  process.exit(1)
}, 60000)
main().then(done => {
  clearTimeout(guard)
  console.log(`PASS kafkajs_test (kafkajs ${KAFKAJS_VERSION}): ${checks} checks, ${done.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
}, err => {
  clearTimeout(guard)
  console.error(err && err.stack ? err.stack : err)
  console.log(`FAIL kafkajs_test (kafkajs ${KAFKAJS_VERSION}): ${err && err.message ? err.message : err}`)
  process.exit(1)
})
