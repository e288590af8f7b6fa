#!/usr/bin/python3
"""SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER) with a stock Python client: kafka-python 2.0.2 (SaslHandshake v0, then
raw token frames) or confluent-kafka-python (librdkafka: SaslHandshake v1 and SaslAuthenticate).

Usage: /usr/bin/python3 tests/clients/sasl_test.py PORT SUFFIX SASL_PORT SASL_SSL_PORT CERT_DIR kafka-python|confluent MECHANISM
  PORT the PLAINTEXT listener; SASL_PORT a SASL_PLAINTEXT one and SASL_SSL_PORT a SASL_SSL one, both with MECHANISM
  and the users alice/alice-secret and bob/bob-secret; CERT_DIR holds ca.pem.
Checks, with MECHANISM:
  a. alice over SASL_PLAINTEXT and bob over SASL_SSL: produce and consume back;
  b. a wrong password, an unknown user: refused (no connection). With OAUTHBEARER (unsecured JWTs, whose subject is
     the user) a "wrong password" is a token signed with HS256 and an "unknown user" an expired token; confluent's
     good tokens come from librdkafka's own unsecured JWT builder, its bad ones from oauth_cb;
  c. a client without SASL on the SASL port: refused;
  d. afterwards the listeners still serve alice.
Prints one summary line; exits non-zero on any failure.
"""
import base64
import json
import os
import sys
import time

from secure_clients import Checks, confluent_io, kafka_python_io

PORT, SUFFIX, SASL_PORT, SASL_SSL_PORT, CERTS, CLIENT, MECHANISM = sys.argv[1:8]
CA = os.path.join(CERTS, "ca.pem")
checks = Checks("sasl_test", f"{CLIENT}, {MECHANISM}")


def jwt(user, password):
    """An unsecured JWT for user; signed with HS256 for a wrong password, expired for mallory (both refused)."""
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    now = time.time()
    exp = now - 600 if user == "mallory" else now + 3600
    alg = "none" if password.endswith("secret") else "HS256"
    return f"{b64({'alg': alg})}.{b64({'sub': user, 'iat': now - 1, 'exp': exp})}."

if CLIENT == "kafka-python":
    def settings(port=SASL_PORT, user="alice", password="alice-secret", protocol="SASL_PLAINTEXT"):
        s = {"bootstrap_servers": f"localhost:{port}", "security_protocol": protocol, "request_timeout_ms": 6000,
             "api_version_auto_timeout_ms": 3000, "reconnect_backoff_max_ms": 200}
        if protocol.startswith("SASL") and MECHANISM == "OAUTHBEARER":
            from kafka.oauth.abstract import AbstractTokenProvider

            class Tokens(AbstractTokenProvider):
                def token(self):
                    return jwt(user, password)
            s.update(sasl_mechanism=MECHANISM, sasl_oauth_token_provider=Tokens())
        elif protocol.startswith("SASL"):
            s.update(sasl_mechanism=MECHANISM, sasl_plain_username=user, sasl_plain_password=password)
        if protocol.endswith("SSL"):
            s.update(ssl_cafile=CA)
        return s

    roundtrip, refused, version = kafka_python_io(checks, settings, SUFFIX)
else:
    def settings(port=SASL_PORT, user="alice", password="alice-secret", protocol="SASL_PLAINTEXT"):
        s = {"bootstrap.servers": f"localhost:{port}", "security.protocol": protocol.lower(), "socket.timeout.ms": 5000}
        if protocol.startswith("SASL") and MECHANISM == "OAUTHBEARER":
            s.update({"sasl.mechanisms": MECHANISM})
            if password.endswith("secret") and user != "mallory":
                s.update({"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": f"principal={user} lifeSeconds=600"})
            else:
                s.update({"oauth_cb": lambda _config: (jwt(user, password), time.time() + 3600)})
        elif protocol.startswith("SASL"):
            s.update({"sasl.mechanisms": MECHANISM, "sasl.username": user, "sasl.password": password})
        if protocol.endswith("SSL"):
            s.update({"ssl.ca.location": CA})
        return s

    roundtrip, refused, version = confluent_io(checks, settings, SUFFIX)

start = time.time()
ok = checks.ok
ok(roundtrip(f"sasl-{MECHANISM}-{SUFFIX}", b"as-alice") == [b"as-alice"], "alice's record over SASL_PLAINTEXT was not read back")
ok(roundtrip(f"sasl-ssl-{MECHANISM}-{SUFFIX}", b"as-bob", port=SASL_SSL_PORT, user="bob", password="bob-secret", protocol="SASL_SSL") == [b"as-bob"],
   "bob's record over SASL_SSL was not read back")
ok(refused(password="wrong-password"), "a wrong password was accepted")
ok(refused(user="mallory"), "an unknown user was accepted")
ok(refused(protocol="PLAINTEXT"), "a client without SASL was served on the SASL port")
ok(roundtrip(f"sasl-after-{MECHANISM}-{SUFFIX}", b"still") == [b"still"], "the SASL listener stopped serving after refused clients")
print(f"PASS sasl_test ({version}): {checks.count} checks: {MECHANISM} over SASL_PLAINTEXT and SASL_SSL, wrong password, unknown user, no SASL in {time.time() - start:.1f}s")
