#!/usr/bin/env node
// kafkajs 2.2.4's admin client and the kafkacompat command line, cross-checked: what one does, the other sees.
//
// Setup (once): npm install --prefix tests/clients
// Usage:        KAFKACOMPAT_DLL=src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll \
//               node tests/clients/kafkajs_admin_test.js PORT [TOPIC_SUFFIX]
//
// createTopics with a config -> CLI describe; CLI alter-config -> describeConfigs (values and sources);
// alterConfigs -> CLI describe; createPartitions <-> CLI add-partitions; setOffsets -> CLI group describe (lag)
// -> CLI reset-offsets -> fetchOffsets; the Kafka error names for bad input in both; deleteTopics -> CLI list.
// Every check is an assertion; prints one summary line; exits non-zero on failure.
'use strict'

const { spawnSync } = require('child_process')
const crypto = require('crypto')
const path = require('path')

let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  console.log(`FAIL kafkajs_admin_test: kafkajs is not installed (${e.code || e.message}); ` +
    'run `npm install --prefix tests/clients` from the repository root')
  process.exit(2)
}
const { Kafka, logLevel, ConfigResourceTypes } = kafkajs
const KAFKAJS_VERSION = require('kafkajs/package.json').version

if (process.argv.length < 3) {
  console.log('usage: kafkajs_admin_test.js PORT [TOPIC_SUFFIX]')
  process.exit(2)
}
const PORT = process.argv[2]
const SUFFIX = process.argv[3] || crypto.randomBytes(4).toString('hex')
const BOOTSTRAP = `127.0.0.1:${PORT}`
const DLL = process.env.KAFKACOMPAT_DLL || path.join(__dirname, '..', '..', 'src', 'KafkaCompat', 'bin', 'Release', 'net10.0', 'kafkacompat.dll')

let checks = 0
function check (cond, what) {
  checks++
  if (!cond) throw new Error(`check failed: ${what}`)
}

function cli (args, expect = 0) {
  const r = spawnSync('dotnet', [DLL, ...args, '--bootstrap-server', BOOTSTRAP], { encoding: 'utf8', timeout: 60000 })
  check(r.status === expect, `kafkacompat ${args.join(' ')}: exit ${r.status}, expected ${expect}; stderr ${r.stderr}`)
  if (expect !== 0) return r.stderr
  return args.includes('-o') ? JSON.parse(r.stdout) : r.stdout
}

const describedTopic = topic => cli(['topic', 'describe', topic, '-o', 'json'])[0]

async function errorType (fn) {
  try {
    await fn()
  } catch (e) {
    return e.type || (e.errors && e.errors[0] && e.errors[0].type) || e.message
  }
  return 'NO ERROR'
}

async function main () {
  const done = []
  const kafka = new Kafka({ clientId: 'kjs-admin-x', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING, retry: { retries: 1 } })
  const admin = kafka.admin()
  await admin.connect()
  const a = `kjs-a-${SUFFIX}`
  const b = `kjs-b-${SUFFIX}`
  try {
    await admin.createTopics({ topics: [{ topic: a, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '7200000' }] }], timeout: 10000 })
    let d = describedTopic(a)
    check(d.partitions.length === 2 && JSON.stringify(d.configs) === '{"retention.ms":"7200000"}', `CLI view of ${a}: ${JSON.stringify(d)}`)
    done.push('createTopics->cli describe')

    cli(['topic', 'create', b, '--partitions', '1'])
    cli(['topic', 'alter-config', b, '--set', 'cleanup.policy=compact', '--set', 'segment.ms=600000'])
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: b }], includeSynonyms: true })
    const entries = Object.fromEntries(described.resources[0].configEntries.map(e => [e.configName, e]))
    check(entries['cleanup.policy'].configValue === 'compact' && entries['cleanup.policy'].configSource === 1, `cleanup.policy ${JSON.stringify(entries['cleanup.policy'])}`)
    check(entries['segment.ms'].configValue === '600000', `segment.ms ${JSON.stringify(entries['segment.ms'])}`)
    check(entries['retention.ms'].configSource === 5 && entries['retention.ms'].isDefault, `retention.ms ${JSON.stringify(entries['retention.ms'])}`)
    done.push('cli alter-config->describeConfigs')

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: a, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })
    d = describedTopic(a)
    check(JSON.stringify(d.configs) === '{"retention.ms":"3600000"}', `CLI view after alterConfigs: ${JSON.stringify(d.configs)}`)
    done.push('alterConfigs->cli describe')

    await admin.createPartitions({ topicPartitions: [{ topic: a, count: 4 }] })
    check(describedTopic(a).partitions.length === 4, 'CLI does not see 4 partitions')
    cli(['topic', 'add-partitions', a, '--partitions', '5'])
    const md = await admin.fetchTopicMetadata({ topics: [a] })
    check(md.topics[0].partitions.length === 5, `kafkajs sees ${md.topics[0].partitions.length} partitions`)
    done.push('createPartitions<->cli add-partitions')

    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: a, messages: Array.from({ length: 10 }, (_, i) => ({ value: `${i}`, partition: 0 })) })
    await producer.disconnect()
    const group = `kjs-group-${SUFFIX}`
    await admin.setOffsets({ groupId: group, topic: a, partitions: [{ partition: 0, offset: '3' }] })
    const view = cli(['group', 'describe', group, '-o', 'json'])
    const p0 = view.partitions.find(p => p.topic === a && p.partition === 0)
    check(p0 && p0.currentOffset === 3 && p0.lag === 7, `CLI group describe: ${JSON.stringify(view)}`)
    cli(['group', 'reset-offsets', group, '--topic', a, '--to-latest', '--execute'])
    const fetched = await admin.fetchOffsets({ groupId: group, topics: [a] })
    check(fetched[0].partitions.find(p => p.partition === 0).offset === '10', `kafkajs reads ${JSON.stringify(fetched)}`)
    done.push('setOffsets->cli group describe(lag 7)->cli reset->fetchOffsets')

    check((await errorType(() => admin.createPartitions({ topicPartitions: [{ topic: a, count: 2 }] }))) === 'INVALID_PARTITIONS', 'kafkajs shrink')
    check(cli(['topic', 'add-partitions', a, '--partitions', '2'], 1).startsWith('ERROR INVALID_PARTITIONS'), 'CLI shrink')
    const badConfig = await errorType(() => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: a, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }))
    check(badConfig === 'INVALID_CONFIG', `kafkajs bad config: ${badConfig}`)
    check(cli(['topic', 'alter-config', a, '--set', 'retention.ms=soon'], 1).startsWith('ERROR INVALID_CONFIG'), 'CLI bad config')
    check(cli(['topic', 'describe', `kjs-missing-${SUFFIX}`], 1).startsWith('ERROR UNKNOWN_TOPIC_OR_PARTITION'), 'CLI missing topic')
    done.push('errors(INVALID_PARTITIONS, INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION)')

    await admin.deleteTopics({ topics: [a, b], timeout: 10000 })
    const left = cli(['topic', 'list', '-o', 'json']).map(t => t.topic)
    check(!left.includes(a) && !left.includes(b), `CLI still lists ${left}`)
    done.push('deleteTopics->cli list')
  } finally {
    await admin.disconnect()
  }
  return done
}

const t0 = Date.now()
const guard = setTimeout(() => { console.log('FAIL kafkajs_admin_test: took longer than 120 s'); process.exit(1) }, 120000)
main().then(done => {
  clearTimeout(guard)
  console.log(`PASS kafkajs_admin_test (kafkajs ${KAFKAJS_VERSION}): ${checks} checks, ${done.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
}).catch(e => {
  clearTimeout(guard)
  console.log(`FAIL kafkajs_admin_test (kafkajs ${KAFKAJS_VERSION}): ${e.stack || e}`)
  process.exit(1)
})
