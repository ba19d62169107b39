#!/usr/bin/env bash
# run_case.sh - runs one real, unmodified program twice, without and with
# tierpool preloaded, and checks that nothing but the allocator changed.
#
# Usage: run_case.sh CASE
#
# A case is cases/CASE.sh. It may define:
#   case_needs      the programs it runs (checked on the PATH first)
#   case_prepare    makes the inputs, once, in $TP_INPUT, never preloaded
#   case_run        the run itself; it starts each program with tp_run, in
#                   a fresh directory per mode; its stdout is what is compared
#
# Passes when, between the plain and the preloaded run:
#   - stdout is identical, byte for byte;
#   - every program started with tp_run exits with the same status (and
#     the plain run succeeds, so a broken environment is not compared);
#   - every program started with tp_run under the preload wrote its stats
#     dump (TIERPOOL_STATS, JSON) at exit, and that dump shows pool traffic:
#     total_get > 0. Children they spawn may write dumps too; all must parse.
#
# Environment: TP_LIB (libtierpool.so, required), TP_TIMEOUT (seconds per
# program, default 120), TP_KEEP=1 keeps the work directory even on success.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${1:?usage: run_case.sh CASE}
case_file=$here/cases/$name.sh
[ -f "$case_file" ] || { echo "run_case: no case file $case_file" >&2; exit 2; }
: "${TP_LIB:?TP_LIB must name libtierpool.so}"
[ -f "$TP_LIB" ] || { echo "run_case: $TP_LIB does not exist (build the tierpool target)" >&2; exit 2; }
TP_LIB=$(cd "$(dirname "$TP_LIB")" && pwd)/$(basename "$TP_LIB")
export TP_LIB TP_TIMEOUT=${TP_TIMEOUT:-120}
export TP_DATA=$here/data
unset LD_PRELOAD TIERPOOL_STATS TIERPOOL_FORMAT
# The same, neutral environment for both runs.
export LC_ALL=C TZ=UTC PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

work=$(mktemp -d "${TMPDIR:-/tmp}/tierpool-$name.XXXXXX") || exit 2
export TP_INPUT=$work/input
mkdir -p "$TP_INPUT"

# tp_run PROGRAM ARGS... : starts one program of the case, under timeout.
# In the preloaded mode it runs with LD_PRELOAD and the JSON stats dump on;
# in both modes its pid (the wrapper execs it, so the pid is the
# program's) goes to $TP_PIDS and its exit status to $TP_STATUS.
tp_run() {
  local rc
  if [ "$TP_MODE" = preload ]; then
    timeout -k 10 "$TP_TIMEOUT" bash -c 'echo $$ >>"$TP_PIDS"
      export LD_PRELOAD=$TP_LIB TIERPOOL_STATS=$TP_STATS_DIR/tp.%p.json TIERPOOL_FORMAT=json
      exec "$@"' tp_run "$@"
  else
    timeout -k 10 "$TP_TIMEOUT" bash -c 'echo $$ >>"$TP_PIDS"; exec "$@"' tp_run "$@"
  fi
  rc=$?
  [ $rc -eq 124 ] && echo "run_case: '$*' timed out after ${TP_TIMEOUT}s" >&2
  echo "${1##*/} exited $rc" >>"$TP_STATUS"
  return $rc
}

# shellcheck source=/dev/null
. "$case_file"

fail() {
  echo "integration.$name: FAILED: $*"
  for mode in plain preload; do
    [ -f "$work/$mode/status" ] || continue
    echo "--- exit statuses, $mode run:"
    cat "$work/$mode/status"
    echo "--- stderr, $mode run (last 100 lines):"
    tail -n 100 "$work/$mode/stderr"
  done
  echo "--- work directory kept: $work"
  exit 1
}

for prog in $(declare -F case_needs >/dev/null && case_needs); do
  command -v "$prog" >/dev/null || fail "'$prog' is not installed (scripts/setup installs it)"
done
if declare -F case_prepare >/dev/null; then
  (cd "$TP_INPUT" && case_prepare) >"$work/prepare.log" 2>&1 ||
    { cat "$work/prepare.log"; fail "preparing the inputs failed"; }
fi

for mode in plain preload; do
  dir=$work/$mode
  mkdir -p "$dir/run" "$dir/stats"
  export TP_MODE=$mode TP_PIDS=$dir/pids TP_STATUS=$dir/status TP_STATS_DIR=$dir/stats
  : >"$TP_PIDS"
  : >"$TP_STATUS"
  (cd "$dir/run" && case_run) >"$dir/stdout" 2>"$dir/stderr"
  echo "case_run exited $?" >>"$TP_STATUS"
done

grep -qv ' exited 0$' "$work/plain/status" && fail "the plain run (no preload) did not succeed"
[ -s "$work/plain/stdout" ] || fail "the plain run printed nothing: nothing to compare"
if ! cmp -s "$work/plain/stdout" "$work/preload/stdout"; then
  echo "--- stdout, plain vs preloaded:"
  diff -u "$work/plain/stdout" "$work/preload/stdout" | head -n 200
  fail "stdout differs under the preload"
fi
if ! cmp -s "$work/plain/status" "$work/preload/status"; then
  echo "--- exit statuses, plain vs preloaded:"
  diff -u "$work/plain/status" "$work/preload/status"
  fail "exit statuses differ under the preload"
fi
python3 "$here/check_stats.py" "$work/preload/stats" "$work/preload/pids" ||
  fail "the stats dumps do not show the pools serving the programs"

echo "integration.$name: ok ($(wc -l <"$work/preload/pids") programs, same output and status)"
[ "${TP_KEEP:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"
exit 0
