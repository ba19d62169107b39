#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (build-fuzz/) and runs each for a
# bounded time from the seed corpus committed under tests/fuzz/corpus/:
#   engine       the engine with the default options
#   engine_slow  the engine in slow mode: TIERPOOL_HARDEN=full, a 64 MiB
#                TIERPOOL_LIMIT, TIERPOOL_FAIL=random, a 64 KiB largest tier
#   config       the option parser, every variable
#   cli          the file parsers of scripts/tierpool (python, no clang)
# Usage: tests/fuzz/run.sh [SECONDS]   (default 60, or $TIERPOOL_FUZZ_SECONDS)
# New inputs go to a temporary directory; a crash leaves its input in
# build-fuzz/crashes/ and fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-${TIERPOOL_FUZZ_SECONDS:-60}}
build=$root/build-fuzz
corpus=$root/tests/fuzz/corpus
cd "$root"

cc=${TIERPOOL_FUZZ_CC:-$(command -v clang || command -v clang-14 || echo clang)}
CC=$cc cmake -S tests/fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/crashes"

fuzz() { # name binary seed-dir [VAR=value ...] -- libFuzzer flags
  local name=$1 bin=$2 seeds=$3
  shift 3
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  mkdir -p "$work/$name"
  echo "fuzz: $name for ${secs}s" >&2
  env ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "${vars[@]}" \
    "$build/$bin" -seed=1 -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix="$build/crashes/$name-" -print_final_stats=1 "$@" "$work/$name" "$corpus/$seeds" \
    2>"$work/$name.log" || { tail -60 "$work/$name.log" >&2; echo "fuzz: $name FAILED" >&2; return 1; }
  grep -E "^(Done|stat::number_of_executed_units)" "$work/$name.log" >&2 || true
}

fuzz engine fuzz_engine engine -- -max_len=4096
fuzz engine_slow fuzz_engine engine TIERPOOL_HARDEN=full TIERPOOL_LIMIT=64M \
  TIERPOOL_FAIL=random=0.02,seed=7 TIERPOOL_MAX_TIER=64K -- -max_len=4096
fuzz config fuzz_config config -- -max_len=12000 -close_fd_mask=2

# The CLI parsers (suppressions, baselines, dumps): any
# exception other than the clean exit they print is a failure.
if [ -f scripts/tierpool_cli/suppress.py ]; then
  echo "fuzz: cli parsers for ${secs}s" >&2
  /usr/bin/python3 tests/fuzz/cli_parsers_fuzz.py --seconds "$secs" --seed 1 --out "$build/crashes"
fi
echo "fuzz: all runs clean" >&2
