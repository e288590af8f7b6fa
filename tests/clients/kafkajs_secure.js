// What kafkajs_tls_test.js and kafkajs_sasl_test.js share: a round trip (produce one record, read it back in a new
// group) and a connection attempt that should be refused.
'use strict'

async function roundtrip (kafka, topic, value, groupPrefix) {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing consumed from ${topic}`)), 20000)
    consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(message.value.toString()) } })
  })
  await consumer.disconnect()
  return got
}

// the error an admin client's connect and describeCluster ended with; null when it was served
async function refusal (kafka) {
  const admin = kafka.admin()
  try {
    await admin.connect()
    await admin.describeCluster()
    return null
  } catch (e) {
    return e
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

module.exports = { roundtrip, refusal }
