#!/usr/bin/env bash
# Every variable of the option table (core/config.h) has a row in the
# README's options table, and the README names no variable the table lacks.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
code=$(grep -o '"TIERPOOL_[A-Z_]*"' "$root/core/config.h" | tr -d '"' | sort -u)
doc=$(grep -o '^| `TIERPOOL_[A-Z_]*`' "$root/README.md" | grep -o 'TIERPOOL_[A-Z_]*' | sort -u)
if [ "$code" != "$doc" ]; then
  echo "README options table and core/config.h disagree:" >&2
  diff <(echo "$code") <(echo "$doc") >&2 || true
  exit 1
fi
echo "options documented: $(echo "$code" | wc -l)"
