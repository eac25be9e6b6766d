#!/usr/bin/env bash
# The installed graftctl runs from a temporary prefix with no
# LD_LIBRARY_PATH (its RPATH finds libgraft beside it), also after the prefix
# is moved. Usage: installed_graftctl_runs.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/installed_graft.sh" "$1"
unset LD_LIBRARY_PATH
"$prefix/bin/graftctl" --version
"$prefix/bin/graftctl" keygen --out "$work/keys" >/dev/null
mv "$prefix" "$work/moved"
"$work/moved/bin/graftctl" --version
