#!/usr/bin/env bash
# Runs every KafkaCompat test on a fresh Debian 12 machine with the .NET 10 SDK:
# installs the stock clients the tests drive, then runs all test projects.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(python3-kafka python3-confluent-kafka python3-lz4 python3-snappy python3-zstandard kcat librdkafka-dev jq afl++ chromium)
# node/npm may come from elsewhere than Debian; only ask apt for them when absent
command -v node >/dev/null && command -v npm >/dev/null || apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# kafkajs 2.2.4, @platformatic/kafka 1.35.0 and kafka-ts 1.5.0 into tests/clients/node_modules
if [ ! -d tests/clients/node_modules/kafkajs ] || [ ! -d tests/clients/node_modules/@platformatic/kafka ] || [ ! -d tests/clients/node_modules/kafka-ts ]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

# the crash tests run the broker as a separate process
dotnet build -c Release src/KafkaCompat -v q -nologo
dotnet test KafkaCompat.sln -c Release --logger "console;verbosity=normal" -nologo

# the test fixture package as a user gets it: packed, then referenced from a local folder feed by a test project
# outside the solution (the cached copy of the package is dropped first, so the one just packed is the one tested)
dotnet pack src/KafkaCompat.Testing -c Release -o artifacts/packages -nologo -v q
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/kafkacompat.testing"
dotnet test samples/KafkaCompat.Testing.Sample -c Release --logger "console;verbosity=normal" -nologo

# the installable programs from their packaged form: the .NET tool package and the native executable's tarball
scripts/test-packages.sh

# coverage-guided fuzzing of the decoders with a fixed budget (longer runs by hand: scripts/fuzz.sh SECONDS)
scripts/fuzz.sh 60
