#!/usr/bin/env bash
# graftctl new-component writes a skeleton that builds against the installed
# package and whose own test passes. Usage: new_component.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
source "$(dirname "$0")/installed_graft.sh" "$build"
"$work/prefix/bin/graftctl" new-component hello_greeter \
  --interface "$src/components/greeter/greeter.h" --out "$work/hello_greeter"
# Writing over an existing skeleton is refused.
if "$work/prefix/bin/graftctl" new-component hello_greeter \
     --interface "$src/components/greeter/greeter.h" --out "$work/hello_greeter" 2>/dev/null; then
  echo "overwrote an existing skeleton" >&2
  exit 1
fi
cmake -S "$work/hello_greeter" -B "$work/hello_greeter/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/hello_greeter/build" -j2 >/dev/null
ctest --test-dir "$work/hello_greeter/build" --output-on-failure
# The "next:" line names the prefix this graftctl is installed in.
"$work/prefix/bin/graftctl" new-component next_line --interface "$src/components/greeter/greeter.h" \
  --out "$work/next_line" | grep -F -- "-DCMAKE_PREFIX_PATH=$(cd "$work/prefix" && pwd -P)"
