#!/usr/bin/env bash
# Builds the broker as one native executable (Native AOT, linux-x64): no .NET runtime needed to run it, a start in
# tens of milliseconds and about 25 MB resident when idle. Usage: scripts/publish-native.sh [OUTPUT_DIR]
# (default artifacts/native); then run OUTPUT_DIR/kafkacompat serve ... with the same options as dotnet run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/native}"
dotnet publish src/KafkaCompat -c Release -r linux-x64 -p:PublishAot=true -p:DebugType=none -o "$out" -nologo -v q
echo "native broker: $out/kafkacompat"
