#!/bin/sh
# The pooling library as an installed user sees it: install the build into a
# scratch prefix, then build docs/examples/swap.c with nothing but
# `pkg-config tierpool` and run it against the installed library.
# (--define-prefix: the prefix from where the .pc file lies, whatever
# prefix it was written with.)
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
pc=$(find "$tmp/usr" -name tierpool.pc | head -n 1)
test -f "$tmp/usr/include/tierpool_pools.h"
export PKG_CONFIG_PATH="$(dirname "$pc")"
# shellcheck disable=SC2046
cc -o "$tmp/swap" "$src/docs/examples/swap.c" $(pkg-config --define-prefix --cflags --libs tierpool)
LD_LIBRARY_PATH="$(pkg-config --define-prefix --variable=libdir tierpool)" "$tmp/swap"
echo "installed header, pkg-config entry and library: ok"
