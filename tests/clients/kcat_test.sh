#!/usr/bin/env bash
# End-to-end check of a running KafkaCompat broker with kcat (librdkafka underneath).
#
# Usage: bash tests/clients/kcat_test.sh PORT [TOPIC_SUFFIX]
#
# Covers: kcat -P with per-message keys (-K:) and headers (-H), kcat -C -e with -f format strings
# (offsets, keys, values, headers, NULL keys), absolute and relative start offsets, -J JSON output,
# kcat -Q (ListOffsets by timestamp), kcat -L and -L -J metadata, and -z gzip/snappy/lz4/zstd.
# Every check is an assertion; prints one summary line; exits non-zero on the first failure.
set -uo pipefail

fail() { echo "FAIL kcat_test: $*"; exit 1; }

[[ $# -ge 1 ]] || { echo "usage: kcat_test.sh PORT [TOPIC_SUFFIX]"; exit 2; }
command -v kcat >/dev/null 2>&1 || fail "kcat is not installed (apt-get install kcat)"
command -v jq >/dev/null 2>&1 || fail "jq is not installed (apt-get install jq)"

PORT=$1
SUFFIX=${2:-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')}
B="127.0.0.1:$PORT"
T="kcat-main-$SUFFIX"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s%N)
CHECKS=0
DONE=()
KCAT_VERSION=$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*librdkafka \([^ ]*\).*/kcat \1, librdkafka \2/p')

# Every kcat call is bounded so that a hanging request fails the script instead of blocking it.
k() { timeout 15 kcat -b "$B" "$@"; }

# expect NAME ACTUAL EXPECTED
expect() {
  CHECKS=$((CHECKS + 1))
  if [[ "$2" != "$3" ]]; then
    echo "--- expected ($1):"; printf '%s\n' "$3"
    echo "--- actual:"; printf '%s\n' "$2"
    fail "$1"
  fi
}

# --- produce keyed records with headers (auto-creates the topic) ---
# Line format with -K: is key:value; a line without ':' has a NULL key; only the first ':' splits.
# Note: with -Z kcat prints an empty (non-NULL) key as "NULL" too; %K (key length 0 vs -1) tells them apart.
printf '%s\n' 'k0:v0' 'k1:value with spaces' 'no-key-line' 'k3:v:with:colons' ':empty-key' 'k5:{"json":true}' \
  > "$WORK/in1"
k -P -t "$T" -p 0 -K: -H trace=abc -H empty= -H num=42 -l "$WORK/in1" 2>"$WORK/p1.err" \
  || fail "kcat -P (batch 1) exited non-zero: $(cat "$WORK/p1.err")"

FMT='%o|%k|%K|%s|%S|%h\n'
out=$(k -C -t "$T" -p 0 -o beginning -e -q -Z -f "$FMT") || fail "kcat -C from beginning exited non-zero"
H='trace=abc,empty=,num=42'
exp=$(printf '%s\n' \
  "0|k0|2|v0|2|$H" \
  "1|k1|2|value with spaces|17|$H" \
  "2|NULL|-1|no-key-line|11|$H" \
  "3|k3|2|v:with:colons|13|$H" \
  "4|NULL|0|empty-key|9|$H" \
  "5|k5|2|{\"json\":true}|13|$H")
expect "consume -o beginning" "$out" "$exp"
DONE+=("produce+consume")

# --- a second batch without headers, appended after the first ---
printf '%s\n' 'a:1' 'b:2' 'c:3' | k -P -t "$T" -p 0 -K: 2>"$WORK/p2.err" \
  || fail "kcat -P (batch 2) exited non-zero: $(cat "$WORK/p2.err")"
out=$(k -C -t "$T" -p 0 -o 4 -e -q -Z -f "$FMT") || fail "kcat -C -o 4 exited non-zero"
exp=$(printf '%s\n' "4|NULL|0|empty-key|9|$H" "5|k5|2|{\"json\":true}|13|$H" "6|a|1|1|1|" "7|b|1|2|1|" "8|c|1|3|1|")
expect "consume -o 4 (absolute offset)" "$out" "$exp"
out=$(k -C -t "$T" -p 0 -o -2 -e -q -f '%o:%k:%s\n') || fail "kcat -C -o -2 exited non-zero"
expect "consume -o -2 (relative to end)" "$out" "$(printf '%s\n' '7:b:2' '8:c:3')"
out=$(k -C -t "$T" -p 0 -o beginning -c 3 -q -f '%o\n') || fail "kcat -C -c 3 exited non-zero"
expect "consume -c 3" "$out" "$(printf '%s\n' 0 1 2)"
DONE+=("offsets")

# --- JSON envelope ---
out=$(k -C -t "$T" -p 0 -o beginning -e -q -J) || fail "kcat -C -J exited non-zero"
expect "-J line count" "$(wc -l <<<"$out" | tr -d ' ')" "9"
expect "-J offsets" "$(jq -c -s '[.[].offset]' <<<"$out")" "[0,1,2,3,4,5,6,7,8]"
expect "-J keys" "$(jq -c -s '[.[].key]' <<<"$out")" '["k0","k1",null,"k3","","k5","a","b","c"]'
expect "-J payloads" "$(jq -c -s '[.[].payload]' <<<"$out")" \
  '["v0","value with spaces","no-key-line","v:with:colons","empty-key","{\"json\":true}","1","2","3"]'
expect "-J headers of #0" "$(jq -c -s '.[0].headers' <<<"$out")" '["trace","abc","empty","","num","42"]'
expect "-J headers of #6" "$(jq -c -s '.[6].headers // []' <<<"$out")" '[]'
expect "-J topic/partition/tstype" "$(jq -r -s '[.[] | "\(.topic)/\(.partition)/\(.tstype)"] | unique | join(" ")' <<<"$out")" \
  "$T/0/create"
now=$(date +%s%3N)
ts_ok=$(jq -s --argjson now "$now" 'all(.[]; .ts > ($now - 120000) and .ts <= ($now + 1000))' <<<"$out")
expect "-J timestamps are recent create times" "$ts_ok" "true"
DONE+=("json")

# --- kcat -Q: offsets for timestamps (ListOffsets) ---
ts6=$(jq -s '.[6].ts' <<<"$out")
out=$(k -Q -t "$T:0:0") || fail "kcat -Q ts=0 exited non-zero"
expect "-Q timestamp 0" "$out" "$T [0] offset 0"
out=$(k -Q -t "$T:0:$ts6") || fail "kcat -Q ts6 exited non-zero"
first6=$(jq -s --argjson t "$ts6" '[.[] | select(.ts >= $t)][0].offset' <<<"$(k -C -t "$T" -p 0 -o beginning -e -q -J)")
expect "-Q timestamp of record 6" "$out" "$T [0] offset $first6"
out=$(k -Q -t "$T:0:$((now + 3600000))") || fail "kcat -Q future exited non-zero"
expect "-Q future timestamp" "$out" "$T [0] offset -1"
DONE+=("query")

# --- metadata ---
out=$(k -L -t "$T") || fail "kcat -L exited non-zero"
grep -q "^ 1 brokers:" <<<"$out" || fail "kcat -L: expected 1 broker, got: $out"
grep -q "^  broker [0-9]* at 127.0.0.1:$PORT" <<<"$out" || fail "kcat -L: broker not advertised at 127.0.0.1:$PORT: $out"
grep -q "^  topic \"$T\" with 1 partitions:" <<<"$out" || fail "kcat -L: topic line missing: $out"
grep -q "^    partition 0, leader [0-9]*, replicas: [0-9]*, isrs: [0-9]*" <<<"$out" || fail "kcat -L: partition line: $out"
CHECKS=$((CHECKS + 4))
out=$(k -L -J) || fail "kcat -L -J exited non-zero"
expect "-L -J broker name" "$(jq -r '.brokers | map(.name) | join(",")' <<<"$out")" "127.0.0.1:$PORT"
expect "-L -J topic partitions" "$(jq -c --arg t "$T" '[.topics[] | select(.topic == $t) | .partitions[] | .partition]' <<<"$out")" "[0]"
expect "-L -J leader is the broker" \
  "$(jq --arg t "$T" '[.topics[] | select(.topic == $t) | .partitions[0].leader] == [.brokers[0].id]' <<<"$out")" "true"
expect "-L -J no topic error" "$(jq -c --arg t "$T" '[.topics[] | select(.topic == $t) | .error // empty]' <<<"$out")" "[]"
# Metadata for an unknown topic with allow_auto_topic_creation=false: UNKNOWN_TOPIC_OR_PARTITION, no creation
out=$(k -L -J -t "kcat-missing-$SUFFIX" -X allow.auto.create.topics=false) || fail "kcat -L -J (missing topic) exited non-zero"
expect "-L -J unknown topic" "$(jq -c '.topics' <<<"$out")" \
  "[{\"topic\":\"kcat-missing-$SUFFIX\",\"error\":\"Broker: Unknown topic or partition\",\"partitions\":[]}]"
# ... and with kcat's default (allow_auto_topic_creation=true) the broker creates it
out=$(k -L -J -t "kcat-autocreated-$SUFFIX") || fail "kcat -L -J (auto-created topic) exited non-zero"
expect "-L -J auto-created topic" "$(jq -c '[.topics[] | {topic, error, n: (.partitions | length)}]' <<<"$out")" \
  "[{\"topic\":\"kcat-autocreated-$SUFFIX\",\"error\":null,\"n\":1}]"
DONE+=("metadata")

# --- compression codecs: each codec in its own topic, a compressible batch with keys and headers ---
for z in gzip snappy lz4 zstd; do
  TZ="kcat-$z-$SUFFIX"
  : > "$WORK/in-$z"
  for i in $(seq 0 9); do printf 'key-%d:%s-%d-%s\n' "$i" "$z" "$i" "$(printf 'x%.0s' $(seq 1 120))" >> "$WORK/in-$z"; done
  k -P -t "$TZ" -p 0 -K: -H codec="$z" -z "$z" -d msg,feature -l "$WORK/in-$z" 2>"$WORK/pz-$z.err" \
    || fail "kcat -P -z $z exited non-zero: $(grep -v '^%7' "$WORK/pz-$z.err")"
  # What librdkafka actually sent (its debug log names the codec of each ProduceRequest batch).
  sent=$(grep -o 'Produce MessageSet with [0-9]* message(s) ([^)]*)' "$WORK/pz-$z.err" | sed 's/.*, //; s/)$//' | sort -u | tr '\n' ' ')
  # librdkafka enables LZ4 only when the broker advertises FindCoordinator; the broker does, so lz4 must be real
  want="$z"
  expect "-z $z: codec librdkafka used" "$sent" "$want "
  out=$(k -C -t "$TZ" -p 0 -o beginning -e -q -f '%o|%k|%s|%h\n') || fail "kcat -C (codec $z) exited non-zero"
  exp=$(awk -F: -v z="$z" '{ k=$1; sub(/^[^:]*:/, ""); printf "%d|%s|%s|codec=%s\n", NR-1, k, $0, z }' "$WORK/in-$z")
  expect "consume -z $z batch" "$out" "$exp"
  DONE+=("$z")
done

secs=$(awk -v s="$START" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')
echo "PASS kcat_test ($KCAT_VERSION): $CHECKS checks, ${DONE[*]} in ${secs}s"
