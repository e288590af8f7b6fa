"""What tls_test.py and sasl_test.py share: a round trip (produce one record, read it back in a new group) and a
refused connection, for kafka-python 2.0.2 or confluent-kafka-python, given each script's own client settings."""
import sys
import time


class Checks:
    def __init__(self, name, client):
        self.name, self.client, self.count = name, client, 0

    def fail(self, msg):
        print(f"FAIL {self.name} ({self.client}): {msg}")
        sys.exit(1)

    def ok(self, cond, msg):
        if not cond:
            self.fail(msg)
        self.count += 1


def kafka_python_io(checks, settings, suffix):
    """roundtrip(topic, value, **kw) and refused(**kw); kw goes to settings(**kw), a dict of kafka-python options."""
    try:
        from kafka import KafkaProducer, KafkaConsumer
        from kafka.errors import NoBrokersAvailable, KafkaError
    except ImportError as e:
        checks.fail(f"kafka-python is not importable ({e})")

    def roundtrip(topic, value, **kw):
        p = KafkaProducer(max_block_ms=5000, **settings(**kw))
        p.send(topic, value).get(15)
        p.close()
        c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **settings(**kw))
        got = [m.value for m in c]
        c.close()
        return got

    def refused(**kw):
        try:
            p = KafkaProducer(max_block_ms=5000, **settings(**kw))
            p.send(f"refused-{suffix}", b"x").get(5)
            p.close()
            return False
        except (NoBrokersAvailable, KafkaError, OSError):
            return True

    return roundtrip, refused, "kafka-python 2.0.2"


def confluent_io(checks, settings, suffix):
    """roundtrip(topic, value, **kw) and refused(**kw); kw goes to settings(**kw), a dict of librdkafka properties."""
    try:
        from confluent_kafka import Producer, Consumer, libversion
    except ImportError as e:
        checks.fail(f"confluent-kafka is not importable ({e})")

    def roundtrip(topic, value, **kw):
        p = Producer({**settings(**kw), "message.timeout.ms": 15000})
        errors = []
        p.produce(topic, value, on_delivery=lambda err, m: err and errors.append(err))
        p.flush(20)
        if errors:
            checks.fail(f"produce to {topic} with {kw}: {errors[0]}")
        c = Consumer({**settings(**kw), "group.id": f"{checks.name}-{suffix}-{topic}", "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got, deadline = [], time.time() + 20
        while time.time() < deadline and not got:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        c.close()
        return got

    def refused(**kw):
        p = Producer({**settings(**kw), "message.timeout.ms": 4000})
        errors = []
        p.produce(f"refused-{suffix}", b"x", on_delivery=lambda err, m: errors.append(err))
        p.flush(8)
        return len(errors) == 1 and errors[0] is not None

    return roundtrip, refused, f"librdkafka {libversion()[0]}"
