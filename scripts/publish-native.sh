#!/usr/bin/env bash
# Builds the broker as one native executable (Native AOT, linux-x64): no .NET runtime needed to run it, a start in
# tens of milliseconds and about 25 MB resident when idle. Usage: scripts/publish-native.sh [OUTPUT_DIR]
# (default artifacts/native); then run OUTPUT_DIR/kafkacompat serve ... with the same options as dotnet run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/native}"
dotnet publish src/KafkaCompat -c Release -r linux-x64 -p:PublishAot=true -p:DebugType=none -o "$out" -nologo -v q
# the packaged form: one executable in a tarball, to copy onto any linux-x64 machine
tar -czf "$(dirname "$out")/kafkacompat-linux-x64.tar.gz" -C "$out" kafkacompat
echo "native broker: $out/kafkacompat (packaged: $(dirname "$out")/kafkacompat-linux-x64.tar.gz)"
