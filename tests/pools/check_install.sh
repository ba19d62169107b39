#!/bin/sh
# The pooling library as an installed user sees it: install the build into a
# scratch prefix, then build docs/examples/swap.c with nothing but
# `pkg-config tierpool`, docs/examples/bounded.c with find_package(tierpool),
# and run both against the installed library.
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

# The same through the CMake package: find_package(tierpool), tierpool::tierpool.
mkdir "$tmp/proj"
cat > "$tmp/proj/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(uses_pools C)
find_package(tierpool REQUIRED)
find_package(Threads REQUIRED)
add_executable(bounded "$src/docs/examples/bounded.c")
target_link_libraries(bounded PRIVATE tierpool::tierpool Threads::Threads)
CMAKE
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$tmp/usr" >/dev/null
cmake --build "$tmp/proj/build" >/dev/null
LD_LIBRARY_PATH="$(pkg-config --define-prefix --variable=libdir tierpool)" "$tmp/proj/build/bounded"
echo "installed header, pkg-config entry, CMake package and library: ok"
