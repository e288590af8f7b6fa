#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ (Debian's afl++) driving tests/KafkaCompat.Fuzz through SharpFuzz, which
# instruments a copy of the protocol, record and broker assemblies. Two targets share the budget:
#   frames      (2/3) every request decoder, the record-batch parser and the codecs; seeds: the captured client
#               frames plus every input that ever failed (tests/KafkaCompat.Protocol.Tests/FuzzRegressions)
#   handshakes  (1/3) the SASL exchange of each mechanism and the server side of a TLS handshake; seeds: the
#               program's own (right and wrong exchanges of each mechanism) plus past failures
#               (tests/KafkaCompat.Server.Tests/HandshakeRegressions)
#
#   scripts/fuzz.sh [SECONDS] [frames|handshakes]   default 60 s for both; the test command runs it with a fixed
#                                                   budget, longer runs by hand
#
# A crash (an exception other than the expected refusals, or a hang) makes it exit 1 after copying the inputs into
# the target's regressions folder, where the unit tests replay them from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
only="${2:-}"
work="${FUZZ_WORK:-$(mktemp -d /tmp/kafkacompat-fuzz.XXXXXX)}"

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: install Debian's afl++ (the test command does)" >&2; exit 2; }
tools=.test-deps/tools
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# a copy of the program whose protocol, record and broker assemblies carry AFL's coverage instrumentation
dotnet publish tests/KafkaCompat.Fuzz -c Release -o "$work/bin" -v q -nologo >/dev/null
# (the handshake seeds are written first: an instrumented assembly runs only under afl-fuzz)
dotnet "$work/bin/kafkacompat-fuzz.dll" --write-handshake-seeds "$work/seeds-handshakes" >/dev/null
for dll in KafkaCompat.Protocol.dll KafkaCompat.Records.dll KafkaCompat.Broker.dll; do
  "$tools/sharpfuzz" "$work/bin/$dll" >/dev/null
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=60000 DOTNET_CLI_TELEMETRY_OPTOUT=1
found=0

# fuzz TARGET SECONDS SEEDS REGRESSIONS
fuzz() {
  local target="$1" budget="$2" seeds="$3" regressions="$4" out="$work/out-$1"
  echo "fuzzing $target for ${budget} s in $work"
  KAFKACOMPAT_FUZZ_TARGET="$target" afl-fuzz -s 1 -i "$seeds" -o "$out" -V "$budget" -t 10000 -m none -- dotnet "$work/bin/kafkacompat-fuzz.dll" \
    >"$work/afl-$target.log" 2>&1 || { echo "afl-fuzz failed:" >&2; tail -40 "$work/afl-$target.log" >&2; exit 2; }
  local stats="$out/default/fuzzer_stats"
  get() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$stats"; }
  echo "$target: executions $(get execs_done), $(get execs_per_sec) a second; corpus $(get corpus_count) inputs; edges found $(get edges_found) of $(get total_edges) ($(get bitmap_cvg))"
  echo "$target: crashes $(get saved_crashes), hangs $(get saved_hangs)"
  for kind in crashes hangs; do
    for f in "$out/default/$kind"/id:*; do
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
    KAFKACOMPAT_FUZZ_TARGET="$target" dotnet tests/KafkaCompat.Fuzz/bin/Release/net10.0/kafkacompat-fuzz.dll "$regressions" || true
    exit 1
  fi
}

frames=tests/KafkaCompat.Protocol.Tests/FuzzRegressions
handshakes=tests/KafkaCompat.Server.Tests/HandshakeRegressions
if [ "$only" != handshakes ]; then
  mkdir -p "$work/seeds-frames"
  cp tests/KafkaCompat.Protocol.Tests/Fixtures/*.bin "$work/seeds-frames/"
  find "$frames" -type f ! -name '*.md' -exec cp {} "$work/seeds-frames/" \;
  fuzz frames $([ -z "$only" ] && echo $((seconds * 2 / 3)) || echo "$seconds") "$work/seeds-frames" "$frames"
fi
if [ "$only" != frames ]; then
  find "$handshakes" -type f ! -name '*.md' -exec cp {} "$work/seeds-handshakes/" \;
  # a TLS input runs only .NET's TLS code, which carries no instrumentation: AFL refuses such a seed, so the
  # ClientHello stays out of the corpus (AFL still sends random TLS inputs: any first byte from 0x80 is one; the unit
  # tests mutate the recorded ClientHello)
  rm -f "$work/seeds-handshakes/"*tls*
  fuzz handshakes $([ -z "$only" ] && echo $((seconds - seconds * 2 / 3)) || echo "$seconds") "$work/seeds-handshakes" "$handshakes"
fi
[ -n "${FUZZ_WORK:-}" ] || rm -rf "$work"
