// kafka-ts 1.5.0 (a current TypeScript client, npm) against a running KafkaCompat broker.
// Usage: node tests/clients/kafka_ts_test.js PORT [SUFFIX]
// kafka-ts sends every request at the highest version both sides support, and it knows Kafka 4.2's newest: Produce 13
// and Fetch 18 (topic ids), ListOffsets 11, Metadata 13, OffsetCommit/OffsetFetch 10 (topic ids), DescribeGroups 6,
// ListGroups 5, DescribeCluster 2, CreateTopics 7, DescribeTopicPartitions 0, ListConfigResources 1,
// OffsetForLeaderEpoch 4, DescribeLogDirs. Checks:
//   a. ApiVersions: the versions it will use are the newest of both (Produce 13, Fetch 18, ...);
//   b. create a 3-partition topic (CreateTopics 7), produce 6 keyed records (Produce 13, idempotent), read them in a
//      classic group and in a consumer-protocol group (Fetch 18, OffsetCommit 10), each record once; OffsetFetch 10
//      returns the commits;
//   c. ListOffsets 11 (latest, earliest, max timestamp), DescribeGroups 6 (the classic group described, the consumer
//      group GROUP_ID_NOT_FOUND as Kafka answers v6+), ListGroups 5 with a type filter, DescribeCluster 2,
//      DescribeTopicPartitions 0 with cursor paging, ListConfigResources 1, OffsetForLeaderEpoch 4.
// Prints one summary line; exits non-zero on any failure.
const { createKafkaClient, API, setLogger } = require('kafka-ts')

const [port, suffix = Math.random().toString(16).slice(2, 10)] = process.argv.slice(2)
if (!port) { console.log('usage: kafka_ts_test.js PORT [SUFFIX]'); process.exit(2) }
const quiet = { debug () {}, info () {}, warn () {}, error (...a) { if (process.env.KAFKA_TS_DEBUG) console.error(...a) } }
setLogger(quiet)
const kafka = createKafkaClient({ clientId: 'kafka-ts-test', bootstrapServers: [{ host: '127.0.0.1', port: Number(port) }] })
let checks = 0
function check (cond, what) { checks++; if (!cond) throw new Error(what) }
const json = v => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? String(x) : Buffer.isBuffer(x) ? x.toString('hex') : x)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function readAll (protocol, topic, count) {
  const seen = []
  const consumer = await kafka.startConsumer({
    groupId: `kts-${protocol}-${suffix}`,
    groupProtocol: protocol,
    topics: [topic],
    fromBeginning: true,
    maxWaitMs: 200,
    ...(protocol === 'classic' ? { sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000 } : {}),
    onBatch: messages => { for (const m of messages) seen.push(`${m.partition}-${m.offset}-${m.value}`) }
  })
  const deadline = Date.now() + 30000
  while (seen.length < count && Date.now() < deadline) await sleep(100)
  await sleep(300) // let the consumer commit what it resolved
  await consumer.close()
  return seen
}

async function main () {
  const cluster = kafka.createCluster()
  await cluster.connect()
  try {
    const versions = await cluster.sendRequest(API.API_VERSIONS, {})
    const max = key => versions.versions.find(v => v.apiKey === key)?.maxVersion
    check(max(0) === 13 && max(1) === 18 && max(2) === 11 && max(8) === 10 && max(9) === 10 && max(75) === 0,
      `ApiVersions: ${json(versions.versions.filter(v => [0, 1, 2, 8, 9, 75].includes(v.apiKey)))}`)

    const topic = `kts-topic-${suffix}`
    await cluster.sendRequest(API.CREATE_TOPICS, {
      validateOnly: false, timeoutMs: 10000,
      topics: [{ name: topic, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }]
    })
    const metadata = await cluster.sendRequest(API.METADATA, { topics: [{ id: null, name: topic }], allowTopicAutoCreation: false, includeTopicAuthorizedOperations: false })
    const topicId = metadata.topics[0].topicId
    check(metadata.topics[0].errorCode === 0 && /^[0-9a-f-]{32,36}$/.test(topicId) && !/^0+$/.test(topicId.replace(/-/g, '')), `Metadata 13: ${json(metadata.topics)}`)
    const producer = kafka.createProducer({})
    const now = BigInt(Date.now())
    await producer.send([0, 1, 2, 3, 4, 5].map(i => ({ topic, partition: i % 3, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp: now + BigInt(i) })))
    await producer.close()

    for (const protocol of ['classic', 'consumer']) {
      const seen = await readAll(protocol, topic, 6)
      check(seen.length === 6 && new Set(seen).size === 6, `${protocol}: read ${seen}`)
      const group = `kts-${protocol}-${suffix}`
      const coordinator = await cluster.sendRequest(API.FIND_COORDINATOR, { keyType: 0, keys: [group] })
      const fetched = await cluster.sendRequestToNode(coordinator.coordinators[0].nodeId)(API.OFFSET_FETCH, {
        groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics: [{ name: topic, topicId, partitionIndexes: [0, 1, 2] }] }],
        requireStable: true
      })
      const parts = fetched.groups[0].topics[0]?.partitions ?? []
      check(parts.length === 3 && parts.every(p => p.committedOffset === 2n), `${protocol}: OffsetFetch ${json(fetched)}`)
    }

    // ListOffsets 11: latest, earliest, the record with the highest timestamp, and the tiered-storage kinds (-5, -6)
    const listed = await cluster.sendRequest(API.LIST_OFFSETS, {
      replicaId: -1, isolationLevel: 0, timeoutMs: 5000,
      topics: [{ name: topic, partitions: [-1n, -2n, -3n, -5n, -6n].map(timestamp => ({ partitionIndex: 0, currentLeaderEpoch: -1, timestamp })) }]
    })
    const byKind = listed.topics[0].partitions.map(p => [p.errorCode, Number(p.offset)])
    check(json(byKind) === json([[0, 2], [0, 0], [0, 1], [0, -1], [0, -1]]), `ListOffsets 11: ${json(listed.topics[0].partitions)}`)

    // DescribeGroups 6: the classic group as before; a consumer group is GROUP_ID_NOT_FOUND (69) from v6
    // (kafka-ts throws on a group's error, with the whole response attached)
    const described = await cluster.sendRequest(API.DESCRIBE_GROUPS, { groups: [`kts-classic-${suffix}`, `kts-consumer-${suffix}`], includeAuthorizedOperations: false })
      .then(r => r, e => { if (!e.response) throw e; return e.response })
    const [classic, modern] = described.groups
    check(classic.errorCode === 0 && classic.groupState === 'Empty' && classic.protocolType === 'consumer', `DescribeGroups 6 classic: ${json(classic)}`)
    check(modern.errorCode === 69 && modern.errorMessage, `DescribeGroups 6 consumer group: ${json(modern)}`)

    // ListGroups 5 with a type filter
    const groups = await cluster.sendRequest(API.LIST_GROUPS, { statesFilter: [], typesFilter: ['consumer'] })
    const mine = groups.groups.filter(g => g.groupId.endsWith(suffix))
    check(json(mine.map(g => [g.groupId, g.groupType])) === json([[`kts-consumer-${suffix}`, 'consumer']]), `ListGroups 5: ${json(groups.groups)}`)

    // DescribeCluster 2 (fenced brokers included): this broker, not fenced
    const described2 = await cluster.sendRequest(API.DESCRIBE_CLUSTER, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: true })
    check(described2.errorCode === 0 && described2.brokers.length === 1 && described2.brokers[0].port === Number(port) && described2.brokers[0].isFenced === false,
      `DescribeCluster 2: ${json(described2)}`)

    // DescribeTopicPartitions 0: pages of 2 partitions through next_cursor
    const seen = []
    let cursor = null
    for (let page = 0; page < 5; page++) {
      const r = await cluster.sendRequest(API.DESCRIBE_TOPIC_PARTITIONS, { topics: [{ name: topic }], responsePartitionLimit: 2, cursor })
      check(r.topics[0].topicId === topicId, `DescribeTopicPartitions topic id ${r.topics[0].topicId}`)
      seen.push(...r.topics[0].partitions.map(p => p.partitionIndex))
      cursor = r.nextCursor
      if (!cursor) break
    }
    check(json(seen) === '[0,1,2]', `DescribeTopicPartitions pages: ${seen}`)

    // ListConfigResources 1: topics (2) and groups (32)
    const resources = await cluster.sendRequest(API.LIST_CONFIG_RESOURCES, { resourceTypes: [2, 32] })
    const names = resources.configResources.map(r => `${r.resourceType}:${r.resourceName}`)
    check(names.includes(`2:${topic}`) && names.includes(`32:kts-classic-${suffix}`) && names.includes(`32:kts-consumer-${suffix}`),
      `ListConfigResources 1: ${names}`)

    // OffsetForLeaderEpoch 4, as a consumer validates its position: epoch 0 ends at the log end
    const ends = await cluster.sendRequest(API.OFFSET_FOR_LEADER_EPOCH, {
      replicaId: -1, topics: [{ topic, partitions: [0, 1, 2].map(partition => ({ partition, currentLeaderEpoch: 0, leaderEpoch: 0 })) }]
    })
    check(json(ends.topics[0].partitions.map(p => [p.errorCode, p.leaderEpoch, Number(p.endOffset)])) === json([[0, 0, 2], [0, 0, 2], [0, 0, 2]]),
      `OffsetForLeaderEpoch 4: ${json(ends)}`)

    // DescribeLogDirs: the data directory holds the three partitions
    const dirs = await cluster.sendRequest(API.DESCRIBE_LOG_DIRS, { topics: [{ topic, partitions: [0, 1, 2] }] })
    check(dirs.results.length === 1 && dirs.results[0].topics[0].partitions.length === 3, `DescribeLogDirs: ${json(dirs)}`)

    await cluster.sendRequest(API.DELETE_TOPICS, { topics: [{ name: topic, topicId: null }], timeoutMs: 10000 })
  } finally {
    await cluster.disconnect()
  }
  console.log(`PASS kafka_ts_test (kafka-ts 1.5.0): ${checks} checks`)
}

main().catch(e => { console.error(`FAIL kafka_ts_test: ${e && e.stack || e}`); process.exit(1) })
