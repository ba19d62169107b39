#!/bin/sh
# The README's pooling-library examples are the files in docs/examples,
# verbatim: each block that follows a line `<!-- example: docs/examples/X.c -->`
# must equal that file, and every example file must appear. The files are
# compiled and run by the pools.example.* tests.
set -eu
root=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /^<!-- example: / { name = $3; sub(/.*\//, "", name); want = 1; next }
  want && /^```c$/ { out = dir "/" name; printf "" > out; inblock = 1; want = 0; next }
  inblock && /^```$/ { inblock = 0; close(out); next }
  inblock { print >> out }
' "$root/README.md"
status=0
for f in "$root"/docs/examples/*.c; do
  n=$(basename "$f")
  if [ ! -f "$tmp/$n" ]; then
    echo "README.md: no example block for docs/examples/$n"; status=1
  elif ! diff -u "$f" "$tmp/$n" >/dev/null; then
    echo "README.md: the block for docs/examples/$n differs from the file:"
    diff -u "$f" "$tmp/$n" || true; status=1
  fi
done
exit $status
