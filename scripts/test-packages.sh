#!/usr/bin/env bash
# The installable programs, run from their packaged form as a user gets them (called by scripts/test.sh):
#  - the .NET tool package (dotnet pack src/KafkaCompat), installed with `dotnet tool install` from a folder feed;
#  - the single-file Native AOT executable, unpacked from artifacts/kafkacompat-linux-x64.tar.gz.
# Each one serves with --ephemeral and --ready-file, is driven by its own client commands (a topic, a record written
# and read back), and stops cleanly on SIGTERM (exit 0, the ready file and the temporary log gone).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/kafkacompat-packages.XXXXXX)"
trap 'rm -rf "$work"' EXIT

smoke() {
  local exe="$1" name="$2" ready="$work/$2-ready.json"
  "$exe" serve --port 0 --ephemeral --ready-file "$ready" 2>"$work/$name.log" &
  local pid=$!
  for _ in $(seq 1 600); do [ -f "$ready" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [ ! -f "$ready" ]; then echo "FAIL $name: no ready file"; cat "$work/$name.log"; return 1; fi
  local bootstrap data
  bootstrap="$(jq -r .bootstrap_servers "$ready")"
  data="$(jq -r .data_dir "$ready")"
  "$exe" topic create smoke --partitions 1 -b "$bootstrap" >/dev/null
  echo "hello from $name" | "$exe" produce smoke -b "$bootstrap"
  local got
  got="$("$exe" consume smoke --from-beginning --count 1 -b "$bootstrap")"
  if [ "$got" != "hello from $name" ]; then echo "FAIL $name: read back '$got'"; kill "$pid"; return 1; fi
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  if [ "$code" -ne 0 ]; then echo "FAIL $name: exit code $code after SIGTERM"; cat "$work/$name.log"; return 1; fi
  if [ -e "$ready" ] || [ -e "$data" ]; then echo "FAIL $name: the ready file or the ephemeral log outlived the broker"; return 1; fi
  echo "PASS $name: served $bootstrap, wrote and read a record, stopped with exit code 0"
}

# the .NET tool: packed, then installed from the folder feed (the cached copy is dropped, so this build is the one tested)
dotnet pack src/KafkaCompat -c Release -o artifacts/packages -nologo -v q
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/kafkacompat"
dotnet tool install KafkaCompat --version 0.1.0 --tool-path "$work/tools" --add-source artifacts/packages >/dev/null
smoke "$work/tools/kafkacompat" dotnet-tool

# the native executable: published, packed into its tarball, unpacked elsewhere
scripts/publish-native.sh "$work/publish/native" >/dev/null
mkdir -p "$work/native"
tar -xzf "$work/publish/kafkacompat-linux-x64.tar.gz" -C "$work/native"
[ "$(ls "$work/native")" = "kafkacompat" ] || { echo "FAIL native: the tarball holds $(ls "$work/native")"; exit 1; }
smoke "$work/native/kafkacompat" native
