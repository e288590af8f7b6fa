#!/usr/bin/env bash
# Coverage-guided fuzzing of every request decoder, the record-batch parser and the codecs: AFL++ (Debian's afl++)
# drives tests/KafkaCompat.Fuzz through SharpFuzz, which instruments a copy of the protocol and record assemblies.
# The seeds are the captured client frames plus every input that ever failed (FuzzRegressions).
#
#   scripts/fuzz.sh [SECONDS]     default 60; the test command runs it with a fixed budget, longer runs by hand
#
# A crash (an exception other than the protocol's own errors, or a hang) makes it exit 1 after copying the inputs
# into tests/KafkaCompat.Protocol.Tests/FuzzRegressions/, where the unit tests replay them from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
work="${FUZZ_WORK:-$(mktemp -d /tmp/kafkacompat-fuzz.XXXXXX)}"
regressions=tests/KafkaCompat.Protocol.Tests/FuzzRegressions

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: install Debian's afl++ (the test command does)" >&2; exit 2; }
tools=.test-deps/tools
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# a copy of the program whose protocol and record assemblies carry AFL's coverage instrumentation
dotnet publish tests/KafkaCompat.Fuzz -c Release -o "$work/bin" -v q -nologo >/dev/null
for dll in KafkaCompat.Protocol.dll KafkaCompat.Records.dll; do
  "$tools/sharpfuzz" "$work/bin/$dll" >/dev/null
done

mkdir -p "$work/seeds"
cp tests/KafkaCompat.Protocol.Tests/Fixtures/*.bin "$work/seeds/"
find "$regressions" -type f ! -name '*.md' -exec cp {} "$work/seeds/" \;

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=60000 DOTNET_CLI_TELEMETRY_OPTOUT=1
echo "fuzzing for ${seconds} s in $work"
afl-fuzz -s 1 -i "$work/seeds" -o "$work/out" -V "$seconds" -t 10000 -m none -- dotnet "$work/bin/kafkacompat-fuzz.dll" >"$work/afl.log" 2>&1 || {
  echo "afl-fuzz failed:" >&2; tail -40 "$work/afl.log" >&2; exit 2; }

stats="$work/out/default/fuzzer_stats"
get() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$stats"; }
echo "executions $(get execs_done), $(get execs_per_sec) a second; corpus $(get corpus_count) inputs; edges found $(get edges_found) of $(get total_edges) ($(get bitmap_cvg))"
echo "crashes $(get saved_crashes), hangs $(get saved_hangs)"

found=0
for kind in crashes hangs; do
  for f in "$work/out/default/$kind"/id:*; do
    [ -e "$f" ] || continue
    found=$((found + 1))
    name="$kind-$(sha1sum "$f" | cut -c1-16).bin"
    cp "$f" "$regressions/$name"
    echo "  $kind: $regressions/$name"
  done
done
if [ "$found" -gt 0 ]; then
  # the uninstrumented build tells what each input does
  dotnet build tests/KafkaCompat.Fuzz -c Release -v q -nologo >/dev/null
  dotnet tests/KafkaCompat.Fuzz/bin/Release/net10.0/kafkacompat-fuzz.dll "$regressions" || true
  exit 1
fi
[ -n "${FUZZ_WORK:-}" ] || rm -rf "$work"
