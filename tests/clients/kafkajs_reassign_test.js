// kafkajs 2.2.4's partition reassignment admin calls against a three-broker KafkaCompat cluster.
// Usage: node tests/clients/kafkajs_reassign_test.js PORT SUFFIX BOOTSTRAP
// alterPartitionReassignments (AlterPartitionReassignments v0, sent to the controller) moves partition 0 of a topic
// with replication factor 2 to the one broker that held none of it plus one that did; listPartitionReassignments
// (ListPartitionReassignments v0) then has nothing in progress (the emulated replicas share one log, so a move
// completes at once); Metadata shows the new replicas and a leader among them; a record produced afterwards is
// consumed from the new leader; a replica list naming a broker that does not exist is refused with
// INVALID_REPLICA_ASSIGNMENT and changes nothing. Prints one summary line; exits non-zero on any failure.
const { Kafka, logLevel } = require('kafkajs')

const [port, suffix, bootstrap] = process.argv.slice(2)
if (!bootstrap) { console.log('usage: kafkajs_reassign_test.js PORT SUFFIX BOOTSTRAP'); process.exit(2) }
const kafka = new Kafka({ clientId: 'kjs-reassign', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100 } })
const check = (ok, what) => { if (!ok) throw new Error(what) }

async function replicasOf (admin, topic) {
  const md = await admin.fetchTopicMetadata({ topics: [topic] })
  return md.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId)
}

async function main () {
  const topic = `reassign-js-${suffix}`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 2 }], waitForLeaders: true })
  const before = (await replicasOf(admin, topic))[0]
  const missing = [1, 2, 3].find(b => !before.replicas.includes(b))
  const target = [missing, before.replicas[1]]

  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: target }] }] })
  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0, 1] }] })
  const inProgress = listed.topics.flatMap(t => t.partitions)
  check(inProgress.length === 0, `reassignments still in progress: ${JSON.stringify(listed)}`)
  const after = await replicasOf(admin, topic)
  check(JSON.stringify(after[0].replicas) === JSON.stringify(target), `replicas ${after[0].replicas}, wanted ${target}`)
  check(target.includes(after[0].leader), `leader ${after[0].leader} is not one of ${target}`)
  check(JSON.stringify(after[1].replicas) === JSON.stringify((await replicasOf(admin, topic))[1].replicas), 'partition 1 changed')

  // the partition works at its new place
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'moved' }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `reassign-js-${suffix}`, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()) } })
  const deadline = Date.now() + 20000
  while (got.length < 1 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  await consumer.disconnect()
  check(got.length === 1 && got[0] === 'moved', `consumed ${JSON.stringify(got)}`)

  // a broker that does not exist
  let refused = null
  try {
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [1, 9] }] }] })
  } catch (e) {
    refused = e
  }
  check(refused !== null, 'a reassignment to broker 9 was accepted')
  const type = refused.type || (refused.errors && refused.errors[0] && refused.errors[0].type) || String(refused)
  check(String(type).includes('INVALID_REPLICA_ASSIGNMENT'), `refused with ${type}`)
  const unchanged = await replicasOf(admin, topic)
  check(!unchanged[1].replicas.includes(9), `partition 1 moved to ${unchanged[1].replicas}`)
  await admin.disconnect()
  console.log(`kafkajs reassign: ok (${topic}-0 from ${before.replicas} to ${target}, leader ${after[0].leader}; broker 9 refused: ${type})`)
}

main().catch(e => { console.error(e); process.exit(1) })
