// @platformatic/kafka 1.35.0 (a current pure-JavaScript client, npm) against a running KafkaCompat broker.
// Usage: node tests/clients/platformatic_test.mjs PORT [SUFFIX]
// It negotiates the newest versions it knows (Fetch 17, ListOffsets 9, Produce 11, Metadata 12, ...). Checks:
//   a. create a 3-partition topic, produce 6 keyed records, read them back in a classic group and in a
//      consumer-protocol group (KIP-848, its own implementation of ConsumerGroupHeartbeat), each record once;
//   b. the committed offsets of both groups are at the end; ListOffsets latest/earliest per partition;
//   c. describeGroups: the classic group is described, the consumer group is not a classic group; describeLogDirs;
//   d. two consumer-protocol members split the partitions between them;
//   e. the client's own DescribeTopicPartitions v0 and DescribeCluster v1 (its admin does not call them yet): pages
//      of at most 3 partitions followed by next_cursor cover a 5- and a 3-partition topic, an unknown topic answers
//      UNKNOWN_TOPIC_OR_PARTITION; the cluster lists this broker.
// Prints one summary line; exits non-zero on any failure.
import { Producer, Consumer, Admin, Connection, stringSerializers, stringDeserializers, describeTopicPartitionsV0, describeClusterV1 } from '@platformatic/kafka'

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

async function describeTopicPartitions (small) {
  const big = `pk-dtp-${suffix}`
  const admin = new Admin({ clientId: 'pk-dtp-admin', bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [big], partitions: 5, replicas: 1 })
  await admin.close()
  const connection = new Connection('pk-dtp')
  await connection.connect('127.0.0.1', Number(port))
  try {
    const seen = []
    let cursor = null
    let pages = 0
    const wanted = [big, small].sort()
    do {
      const page = await describeTopicPartitionsV0.api.async(connection, wanted.map(name => ({ name })), 3, cursor)
      pages++
      const count = page.topics.reduce((n, t) => n + t.partitions.length, 0)
      check(count <= 3, `page ${pages} holds ${count} partitions, limit 3`)
      for (const t of page.topics) {
        check(t.errorCode === 0 && t.topicId && !t.isInternal, `topic ${t.name}: ${t.errorCode}`)
        for (const p of t.partitions) {
          check(p.leaderId === 1 && p.isrNodes.length === 1 && p.replicaNodes[0] === 1, `${t.name}-${p.partitionIndex} leader`)
          seen.push(`${t.name}-${p.partitionIndex}`)
        }
      }
      cursor = page.nextCursor ?? null
      check(pages < 10, 'cursor paging ends')
    } while (cursor)
    const expected = wanted.flatMap(name => [...Array(name === big ? 5 : 3).keys()].map(p => `${name}-${p}`))
    check(JSON.stringify(seen) === JSON.stringify(expected), `paged partitions ${seen} (expected ${expected})`)
    check(pages === 3, `8 partitions in pages of 3: ${pages} pages`)
    const unknown = await describeTopicPartitionsV0.api.async(connection, [{ name: `pk-none-${suffix}` }], 100, null)
      .then(() => null, e => e.response)
    check(unknown?.topics[0]?.errorCode === 3, `unknown topic: ${JSON.stringify(unknown?.topics)}`)
    const cluster = await describeClusterV1.api.async(connection, false, 1)
    check(cluster.errorCode === 0 && cluster.brokers.some(b => b.port === Number(port)), `DescribeCluster v1 brokers ${JSON.stringify(cluster.brokers)}`)
    check(cluster.endpointType === 1 && cluster.clusterId, 'DescribeCluster v1 endpoint type and cluster id')
  } finally {
    await connection.close()
  }
  const cleanup = new Admin({ clientId: 'pk-dtp-admin', bootstrapBrokers: brokers })
  await cleanup.deleteTopics({ topics: [big] })
  await cleanup.close()
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

    await describeTopicPartitions(topic)

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
