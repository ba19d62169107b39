#!/usr/bin/env bash
# The README's options table is generated from the option tables
# (core/config.h, stats/options.h) by tests/stats/options_doc.c; this test
# fails when the README drifts from them.
#   check_options_doc.sh ROOT OPTIONS_DOC_BINARY [--write]
# --write replaces the table in the README (between the options markers).
set -euo pipefail
root=$1 gen=$2 mode=${3:-check}
readme="$root/README.md"
begin='<!-- options:begin -->' end='<!-- options:end -->'
want=$("$gen")
have=$(sed -n "/^$begin\$/,/^$end\$/p" "$readme" | sed '1d;$d')
if [ "$mode" = --write ]; then
  tmp=$(mktemp)
  awk -v b="$begin" -v e="$end" -v f=<(printf '%s\n' "$want") '
    $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$readme" > "$tmp"
  cat "$tmp" > "$readme" && rm -f "$tmp"
  echo "README options table written"
  exit 0
fi
if [ -z "$have" ]; then
  echo "README.md has no '$begin' ... '$end' section" >&2
  exit 1
fi
if [ "$want" != "$have" ]; then
  echo "README options table differs from the option tables; run" >&2
  echo "  tests/check_options_doc.sh . build/tests/stats/stats_options_doc --write" >&2
  diff <(printf '%s\n' "$have") <(printf '%s\n' "$want") >&2 || true
  exit 1
fi
echo "options documented: $(printf '%s\n' "$want" | grep -c '^| `TIERPOOL_')"
