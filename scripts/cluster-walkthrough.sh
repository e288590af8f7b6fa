#!/usr/bin/env bash
# The cluster walk-through of docs/cluster.md, runnable: three brokers, a topic with replication factor 3 led by broker 1, a
# producer (kcat, acks=all, idempotent) and a consumer group (kcat -G) running, broker 1 stopped: broker 2 takes
# over and nothing is lost. Needs the built broker (dotnet build -c Release src/KafkaCompat) and kcat.
# Usage: scripts/cluster-walkthrough.sh [FIRST_PORT]   (ports FIRST_PORT..+2 and FIRST_PORT+552 for the admin API)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-9092}
admin_port=$((port + 552))
work=$(mktemp -d)
kafkacompat() { dotnet src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll "$@"; }
export KAFKACOMPAT_ADMIN="http://127.0.0.1:$admin_port"
bootstrap="127.0.0.1:$port,127.0.0.1:$((port + 1)),127.0.0.1:$((port + 2))"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

echo '$ kafkacompat serve --brokers 3 --admin-port' "$admin_port" '&'
dotnet src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll serve --brokers 3 --port "$port" --admin-port "$admin_port" \
  --data-dir "$work/data" --set group.initial.rebalance.delay.ms=0 > "$work/serve.out" 2> "$work/serve.log" &
pids+=($!)
until grep -q "admin api on" "$work/serve.out" 2>/dev/null; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the broker did not start:"; cat "$work/serve.log"; exit 1; }
  sleep 0.1
done
cat "$work/serve.out"

echo; echo '$ kafkacompat topic create orders --partitions 1 --replication-factor 3'
kafkacompat topic create orders --partitions 1 --replication-factor 3 -b "$bootstrap"
echo '$ kafkacompat cluster reassign orders 0 1,2,3 && kafkacompat cluster move-leader orders 0 1   # as the tutorial draws it'
kafkacompat cluster reassign orders 0 1,2,3
kafkacompat cluster move-leader orders 0 1 || true   # (exit 1 when broker 1 already leads)
echo '$ kafkacompat cluster status'
kafkacompat cluster status

echo; echo '$ kcat -b ... -G order-service orders > consumed.txt &                 # a consumer group'
kcat -b "$bootstrap" -G order-service -X auto.offset.reset=earliest -u -q -f '%s\n' orders > "$work/consumed.txt" 2> "$work/consumer.log" &
pids+=($!)
echo '$ for i in $(seq 1 300); do echo order-$i; sleep 0.01; done | kcat -b ... -P -t orders -X acks=all -X enable.idempotence=true &'
(for i in $(seq 1 300); do echo "order-$i"; sleep 0.01; done | kcat -b "$bootstrap" -P -t orders -X acks=all -X enable.idempotence=true 2> "$work/producer.log") &
producer=$!
sleep 1.5
echo; echo '$ kafkacompat cluster stop-broker 1          # broker 1, the leader, fails'
kafkacompat cluster stop-broker 1
echo '$ kafkacompat cluster status'
kafkacompat cluster status
wait "$producer"
for _ in $(seq 1 100); do [ "$(sort -u "$work/consumed.txt" | wc -l)" -ge 300 ] && break; sleep 0.1; done
echo; echo '$ sort -u consumed.txt | wc -l; wc -l < consumed.txt    # 300 orders produced'
sort -u "$work/consumed.txt" | wc -l
wc -l < "$work/consumed.txt"
echo '$ kafkacompat consume orders --from-beginning -b ... | sort -u | wc -l   # in the log'
kafkacompat consume orders --from-beginning -b "$bootstrap" | sort -u | wc -l
echo; echo '$ kafkacompat cluster start-broker 1 && kafkacompat cluster elect-leaders   # back, and leading again'
kafkacompat cluster start-broker 1
kafkacompat cluster elect-leaders
kafkacompat cluster status
