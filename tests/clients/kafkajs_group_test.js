#!/usr/bin/env node
// Consumer groups on a running KafkaCompat broker with kafkajs 2.2.4.
//
// Setup (once): npm install --prefix tests/clients
// Usage:        node tests/clients/kafkajs_group_test.js PORT [SUFFIX]
//
// Two group consumers (consumer.run + eachMessage, offsets committed after every message) share a
// 3-partition topic: every record is delivered exactly once, to the member that owns its partition.
// Both disconnect (commit + LeaveGroup); a restarted consumer resumes after the committed offsets.
// Admin: listGroups, describeGroups (Stable/Empty/Dead, members, decoded assignments), fetchOffsets,
// setOffsets / resetOffsets on an empty group (and refused on a running one), deleteGroups of a
// running group (NON_EMPTY_GROUP) and of an empty one.
// The broker must run with group.initial.rebalance.delay.ms=0 and group.min.session.timeout.ms<=3000.
// Every check is an assertion; prints one summary line; exits non-zero on failure.
'use strict'

const crypto = require('crypto')

let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  console.log(`FAIL kafkajs_group_test: kafkajs is not installed (${e.code || e.message}); ` +
    'run `npm install --prefix tests/clients` from the repository root')
  process.exit(2)
}
const { Kafka, logLevel, AssignerProtocol } = kafkajs
const KAFKAJS_VERSION = require('kafkajs/package.json').version

if (process.argv.length < 3) {
  console.log('usage: kafkajs_group_test.js PORT [SUFFIX]')
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
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
async function waitFor (cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return
    await sleep(50)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`)
}

const kafka = new Kafka({
  clientId: 'kafkacompat-kafkajs-group-test',
  brokers: [BROKER],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 }
})

// A group member: records what it receives ([partition, offset, value]) and its latest assignment.
class Member {
  constructor (name, groupId) {
    this.name = name
    this.records = []
    this.assignment = null
    this.joins = 0
    this.crashes = []
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeout: 3000,
      heartbeatInterval: 300,
      rebalanceTimeout: 6000,
      maxWaitTimeInMs: 100,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 }
    })
    const { GROUP_JOIN, CRASH } = this.consumer.events
    this.consumer.on(GROUP_JOIN, e => {
      this.joins++
      this.memberId = e.payload.memberId
      this.assignment = (e.payload.memberAssignment[this.topic] || []).slice().sort((a, b) => a - b)
    })
    this.consumer.on(CRASH, e => this.crashes.push(e.payload.error && e.payload.error.message))
  }

  async start (topic) {
    this.topic = topic
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true })
    await this.consumer.run({
      autoCommitThreshold: 1, // commit after every message
      eachMessage: async ({ partition, message }) => {
        this.records.push([partition, Number(message.offset), message.value.toString()])
      }
    })
  }

  async stop () {
    await this.consumer.disconnect() // commits and sends LeaveGroup
  }
}

function key (r) { return `${r[0]}/${r[1]}/${r[2]}` }

function exactlyOnce (got, expected, what) {
  const seen = new Map()
  for (const r of got) seen.set(key(r), (seen.get(key(r)) || 0) + 1)
  const dups = [...seen].filter(([, n]) => n > 1).map(([k]) => k)
  eq(dups, [], `${what}: records delivered more than once`)
  const want = new Set(expected.map(key))
  eq([...want].filter(k => !seen.has(k)).slice(0, 5), [], `${what}: missing records`)
  eq([...seen.keys()].filter(k => !want.has(k)).slice(0, 5), [], `${what}: unexpected records`)
}

async function main () {
  const done = []
  const topic = `kjsg-${SUFFIX}`
  const groupId = `kjsg-group-${SUFFIX}`
  const emptyGroup = `kjsg-empty-${SUFFIX}`
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const members = []
  await admin.connect()
  await producer.connect()

  async function produce (tag, n) {
    const res = []
    for (let p = 0; p < 3; p++) {
      const msgs = []
      for (let i = p; i < n; i += 3) msgs.push({ key: `${tag}-${i}`, value: `${tag}-${i}`, partition: p })
      const [meta] = await producer.send({ topic, messages: msgs, acks: -1 })
      eq([meta.partition, meta.errorCode], [p, 0], `${tag}: send to partition ${p}`)
      msgs.forEach((m, j) => res.push([p, Number(meta.baseOffset) + j, m.value]))
    }
    return res
  }
  async function describe (group) {
    const { groups } = await admin.describeGroups([group])
    eq(groups.map(g => [g.groupId, g.errorCode]), [[group, 0]], `describeGroups(${group})`)
    return groups[0]
  }
  async function committed (group) {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
    eq(t.topic, topic, 'fetchOffsets topic')
    const o = {}
    for (const p of t.partitions) o[p.partition] = Number(p.offset)
    return o
  }
  const assignedOf = m => (m.assignment || [])

  try {
    eq(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10000 }), true, 'createTopics')

    // --- two members split the three partitions ---
    const a = new Member('a', groupId)
    const b = new Member('b', groupId)
    members.push(a, b)
    await a.start(topic)
    await b.start(topic)
    await waitFor(async () => {
      const all = [...assignedOf(a), ...assignedOf(b)].sort()
      if (JSON.stringify(all) !== '[0,1,2]' || assignedOf(a).length === 0 || assignedOf(b).length === 0) return false
      const d = await describe(groupId)
      return d.state === 'Stable' && d.members.length === 2
    }, 20000, () => 'two members with a stable split of partitions 0,1,2 (is the broker\'s group.min.session.timeout.ms ' +
      `<= 3000?); consumer crashes: ${JSON.stringify([...a.crashes, ...b.crashes])}`)
    let d = await describe(groupId)
    eq([d.protocolType, d.protocol], ['consumer', 'RoundRobinAssigner'], 'group protocol type and assigner')
    const described = {}
    for (const m of d.members) {
      const asg = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
      const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
      eq(meta.topics, [topic], `member ${m.memberId} subscription`)
      described[m.memberId] = (asg.assignment[topic] || []).slice().sort((x, y) => x - y)
    }
    eq(Object.entries(described).sort(), [[a.memberId, assignedOf(a)], [b.memberId, assignedOf(b)]].sort(),
      'described assignments vs. GROUP_JOIN events')
    done.push(`split(${JSON.stringify(assignedOf(a))}+${JSON.stringify(assignedOf(b))})`)

    // --- every record exactly once, at the owner of its partition ---
    const first = await produce('one', 30)
    await waitFor(() => a.records.length + b.records.length >= 30, 15000, 'the first 30 records')
    await sleep(300)
    exactlyOnce([...a.records, ...b.records], first, 'two members')
    for (const m of [a, b]) {
      check(m.records.every(r => m.assignment.includes(r[0])), `${m.name} received records of partitions it does not own`)
    }
    await waitFor(async () => JSON.stringify(await committed(groupId)) === '{"0":10,"1":10,"2":10}', 5000,
      'committed offsets 10/10/10 after eachMessage')
    done.push('exactly-once')

    // --- a running group: listGroups, refused setOffsets / deleteGroups ---
    const listed = (await admin.listGroups()).groups
    check(listed.some(g => g.groupId === groupId && g.protocolType === 'consumer'), `listGroups lacks ${groupId}: ${JSON.stringify(listed)}`)
    let err = null
    try { await admin.deleteGroups([groupId]) } catch (e) { err = e }
    check(err && err.name === 'KafkaJSDeleteGroupsError', `deleteGroups of a running group: ${err}`)
    eq(err.groups.map(g => [g.groupId, g.errorCode, g.error && g.error.type]), [[groupId, 68, 'NON_EMPTY_GROUP']], 'deleteGroups error')
    err = null
    try { await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] }) } catch (e) { err = e }
    check(err && /must have no running instances, current state: Stable/.test(err.message), `setOffsets on a running group: ${err}`)
    done.push('NON_EMPTY_GROUP')

    // --- both leave; the group is Empty with its offsets ---
    await a.stop()
    await b.stop()
    d = await describe(groupId)
    eq([d.state, d.members.length], ['Empty', 0], 'group after both members left')
    eq(await committed(groupId), { 0: 10, 1: 10, 2: 10 }, 'committed offsets after disconnect')

    // --- a restarted consumer resumes after the committed offsets ---
    const second = await produce('two', 15)
    const c = new Member('c', groupId)
    members.push(c)
    await c.start(topic)
    await waitFor(() => c.records.length >= 15, 15000, 'the restarted consumer to read the 15 new records')
    await sleep(500)
    exactlyOnce(c.records, second, 'restarted consumer (fromBeginning, but committed offsets win)')
    eq(assignedOf(c), [0, 1, 2], 'the single member owns every partition')
    d = await describe(groupId)
    eq([d.state, d.members.length, d.members[0].memberId], ['Stable', 1, c.memberId], 'group with the restarted member')
    await waitFor(async () => JSON.stringify(await committed(groupId)) === '{"0":15,"1":15,"2":15}', 5000, 'committed 15/15/15')
    await c.stop()
    done.push('resume-after-restart')

    // --- setOffsets / resetOffsets on the empty group ---
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }, { partition: 2, offset: '12' }] })
    eq(await committed(groupId), { 0: 3, 1: 15, 2: 12 }, 'committed offsets after setOffsets')
    const fromSet = new Member('d', groupId)
    members.push(fromSet)
    await fromSet.start(topic)
    const allRecords = [...first, ...second]
    const expectSet = allRecords.filter(r => (r[0] === 0 && r[1] >= 3) || (r[0] === 2 && r[1] >= 12))
    await waitFor(() => fromSet.records.length >= expectSet.length, 15000, 'records after setOffsets')
    await sleep(300)
    exactlyOnce(fromSet.records, expectSet, 'consumer after setOffsets')
    await fromSet.stop()
    eq(await committed(groupId), { 0: 15, 1: 15, 2: 15 }, 'committed offsets after consuming from the set offsets')

    await admin.resetOffsets({ groupId, topic, earliest: true })
    const [reset] = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true })
    eq(reset.partitions.map(p => [p.partition, p.offset]).sort(), [[0, '0'], [1, '0'], [2, '0']], 'offsets after resetOffsets(earliest), resolved')
    const fromReset = new Member('e', groupId)
    members.push(fromReset)
    await fromReset.start(topic)
    await waitFor(() => fromReset.records.length >= allRecords.length, 15000, 'every record after resetOffsets(earliest)')
    await sleep(300)
    exactlyOnce(fromReset.records, allRecords, 'consumer after resetOffsets(earliest)')
    await fromReset.stop()
    eq(await committed(groupId), { 0: 15, 1: 15, 2: 15 }, 'committed offsets after re-reading everything')
    done.push('setOffsets+resetOffsets')

    // --- deleteGroups of empty groups ---
    // a group that only ever committed (setOffsets on a new group id joins it briefly), then is empty
    await admin.setOffsets({ groupId: emptyGroup, topic, partitions: [{ partition: 1, offset: '5' }] })
    eq((await committed(emptyGroup))[1], 5, 'setOffsets on a new group')
    const res = await admin.deleteGroups([groupId, emptyGroup])
    eq(res.map(r => [r.groupId, r.errorCode]).sort(), [[emptyGroup, 0], [groupId, 0]], 'deleteGroups result')
    const after = (await admin.listGroups()).groups.map(g => g.groupId)
    check(!after.includes(groupId) && !after.includes(emptyGroup), `deleted groups still listed: ${after}`)
    d = await describe(groupId)
    eq([d.state, d.members.length], ['Dead', 0], 'describeGroups of a deleted group')
    eq(await committed(groupId), { 0: -1, 1: -1, 2: -1 }, 'offsets of a deleted group')
    err = null
    try { await admin.deleteGroups([groupId]) } catch (e) { err = e }
    check(err && err.name === 'KafkaJSDeleteGroupsError', `deleteGroups of a missing group: ${err}`)
    eq(err.groups.map(g => [g.groupId, g.errorCode]), [[groupId, 69]], 'deleteGroups of a missing group: GROUP_ID_NOT_FOUND')
    done.push('deleteGroups')

    for (const m of members) eq(m.crashes, [], `consumer ${m.name} crashed`)
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
  } finally {
    for (const m of members) await m.consumer.disconnect().catch(() => {})
    await producer.disconnect()
    await admin.disconnect()
  }
  return done
}

const t0 = Date.now()
const guard = setTimeout(() => {
  console.log('FAIL kafkajs_group_test: took longer than 120 s (a request hung?)')
  process.exit(1)
}, 120000)
main().then(done => {
  clearTimeout(guard)
  console.log(`PASS kafkajs_group_test (kafkajs ${KAFKAJS_VERSION}): ${checks} checks, ${done.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
}, err => {
  clearTimeout(guard)
  console.error(err && err.stack ? err.stack : err)
  console.log(`FAIL kafkajs_group_test (kafkajs ${KAFKAJS_VERSION}): ${err && err.message ? err.message : err}`)
  process.exit(1)
})
