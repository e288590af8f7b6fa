// @platformatic/kafka 1.35.0 (a current pure-JavaScript client, npm) against a running KafkaCompat broker.
// Usage: node tests/clients/platformatic_test.mjs PORT [SUFFIX]
// It negotiates the newest versions it knows (Fetch 17, ListOffsets 9, Produce 11, Metadata 12, ...). Checks:
//   a. create a 3-partition topic, produce 6 keyed records, read them back in a classic group and in a
//      consumer-protocol group (KIP-848, its own implementation of ConsumerGroupHeartbeat), each record once;
//   b. the committed offsets of both groups are at the end; ListOffsets latest/earliest per partition;
//   c. describeGroups: the classic group is described, the consumer group is not a classic group; describeLogDirs;
//   d. two consumer-protocol members split the partitions between them.
// Prints one summary line; exits non-zero on any failure.
import { Producer, Consumer, Admin, stringSerializers, stringDeserializers } from '@platformatic/kafka'

const [port, suffix = Math.random().toString(16).slice(2, 10)] = process.argv.slice(2)
if (!port) { console.log('usage: platformatic_test.mjs PORT [SUFFIX]'); process.exit(2) }
const brokers = [`127.0.0.1:${port}`]
let checks = 0
function check (cond, what) { checks++; if (!cond) throw new Error(what) }

async function readAll (protocol, topic, count) {
  const consumer = new Consumer({ groupId: `pk-${protocol}-${suffix}`, clientId: `pk-${protocol}`, bootstrapBrokers: brokers,
    deserializers: stringDeserializers, groupProtocol: protocol, ...(protocol === 'classic' ? { sessionTimeout: 6000, heartbeatInterval: 500 } : {}) })
  const stream = await consumer.consume({ autocommit: true, topics: [topic], mode: 'earliest' })
  const values = []
  for await (const m of stream) { values.push(m.value); if (values.length === count) break }
  await consumer.commit({ offsets: [0, 1, 2].map(p => ({ topic, partition: p, offset: 2n, leaderEpoch: 0 })) }).catch(() => {})
  await consumer.close(true)
  return values
}

async function main () {
  const admin = new Admin({ clientId: 'pk-admin', bootstrapBrokers: brokers })
  const producer = new Producer({ clientId: 'pk-producer', bootstrapBrokers: brokers, serializers: stringSerializers })
  try {
    const topic = `pk-topic-${suffix}`
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
    await producer.send({ messages: [0, 1, 2, 3, 4, 5].map(i => ({ topic, key: `k${i}`, value: `v${i}`, partition: i % 3 })) })

    for (const protocol of ['classic', 'consumer']) {
      const values = await readAll(protocol, topic, 6)
      check(values.length === 6 && new Set(values).size === 6, `${protocol}: read ${values}`)
      const offsets = await admin.listConsumerGroupOffsets({ groups: [`pk-${protocol}-${suffix}`] })
      const parts = offsets[0].topics.find(t => t.name === topic)?.partitions ?? []
      check(parts.length === 3 && parts.every(p => p.committedOffset === 2n), `${protocol}: committed ${JSON.stringify(parts, (k, v) => typeof v === 'bigint' ? String(v) : v)}`)
    }

    const latest = await admin.listOffsets({ topics: [{ name: topic, partitions: [0, 1, 2].map(p => ({ partitionIndex: p, timestamp: -1n })) }] })
    check(latest[0].partitions.every(p => p.offset === 2n), 'latest offsets')
    const earliest = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2n }] }] })
    check(earliest[0].partitions[0].offset === 0n, 'earliest offset')

    // DescribeLogDirs: the broker's data directory holds the topic's three partitions, partition 0 not empty
    const dirs = await admin.describeLogDirs({ topics: [{ name: topic, partitions: [0, 1, 2] }] })
    const dir = dirs[0].results[0]
    const described = dir.topics.find(t => t.name === topic)?.partitions ?? []
    check(described.length === 3 && described.find(p => p.partitionIndex === 0).partitionSize > 0n, `log dirs ${JSON.stringify(dir, (k, v) => typeof v === 'bigint' ? String(v) : v)}`)
    check(dir.totalBytes > 0n && dir.usableBytes > 0n, 'log dir total and usable bytes (v4)')

    const groups = await admin.describeGroups({ groups: [`pk-classic-${suffix}`, `pk-consumer-${suffix}`] })
    check(groups.get(`pk-classic-${suffix}`).protocolType === 'consumer', 'classic group described')
    check(groups.get(`pk-consumer-${suffix}`).state === 'DEAD', 'a consumer group is no classic group (DescribeGroups)')

    // two consumer-protocol members of one group share the partitions
    const group = `pk-split-${suffix}`
    const members = [1, 2].map(i => new Consumer({ groupId: group, clientId: `pk-split-${i}`, bootstrapBrokers: brokers,
      deserializers: stringDeserializers, groupProtocol: 'consumer' }))
    const streams = await Promise.all(members.map(m => m.consume({ autocommit: false, topics: [topic], mode: 'earliest' })))
    const seen = new Map()
    streams.forEach((s, i) => s.on('data', m => { seen.set(`${m.partition}-${m.offset}`, i) }))
    const deadline = Date.now() + 30000
    while (Date.now() < deadline && !(seen.size === 6 && new Set(seen.values()).size === 2)) await new Promise(r => setTimeout(r, 100))
    check(seen.size === 6, `split group read ${seen.size} of 6`)
    check(new Set(seen.values()).size === 2, 'both members got partitions')
    await Promise.all(members.map(m => m.close(true)))
    await admin.deleteTopics({ topics: [topic] })
  } finally {
    await producer.close()
    await admin.close()
  }
  console.log(`PASS platformatic_test (@platformatic/kafka 1.35.0): ${checks} checks`)
}

// the client may keep timers alive after close: the verdict ends the process
main().then(() => process.exit(0), e => { console.log(`FAIL platformatic_test: ${e.stack ?? e}`); process.exit(1) })
