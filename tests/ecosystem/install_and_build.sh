#!/usr/bin/env bash
# Installs graft into a temporary prefix, builds examples/external_component
# and examples/external_host against the installed package only, and runs the
# host swapping the component live. Usage: install_and_build.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
source "$(dirname "$0")/installed_graft.sh" "$build"
test -f "$work/prefix/include/graft/abi.h"
test -x "$work/prefix/bin/graftctl"
pkg-config --exists --print-errors "graft >= 0.1" \
  --with-path="$work/prefix/lib/pkgconfig" --with-path="$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
for project in external_component external_host; do
  cmake -S "$src/examples/$project" -B "$work/$project" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/$project" -j2 >/dev/null
done
"$work/external_host/external_host" \
  "$work/external_component/shout-1.0.0.so" "$work/external_component/shout-1.0.1.so"
