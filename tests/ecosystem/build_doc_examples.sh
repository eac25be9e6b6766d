#!/usr/bin/env bash
# Extracts the code blocks of the author guide and the embedding guide (a
# block whose first line is "// file: NAME" or "# file: NAME"), builds them
# against graft installed into a temporary prefix, and runs the guide's host
# on the guide's two component versions.
# Usage: build_doc_examples.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
source "$(dirname "$0")/installed_graft.sh" "$build"
mkdir -p "$work/project"
for doc in "$src/docs/author-guide.md" "$src/docs/embedding.md"; do
  awk -v dir="$work/project" '
    /^```/ {
      if (inblock) { inblock = 0; if (out != "") close(out); out = ""; next }
      inblock = 1; first = 1; next
    }
    inblock && first {
      first = 0
      if (match($0, /^(\/\/|#) file: /)) { out = dir "/" substr($0, RLENGTH + 1); print > out; next }
      out = ""
    }
    inblock && out != "" { print >> out }
  ' "$doc"
done
for f in wordcount.h wordcount.cpp CMakeLists.txt host.cpp managed_host.cpp; do
  test -s "$work/project/$f" || { echo "no code block for $f in the guides" >&2; exit 1; }
done
cmake -S "$work/project" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/wordcount_host" \
  "$work/build/wordcount-1.0.0.so" "$work/build/wordcount-1.0.0-a.so" 2>/dev/null
# The managed host of docs/embedding.md, driven by the installed graftctl.
graftctl=$prefix/bin/graftctl
"$graftctl" keygen --out "$work/keys" >/dev/null
export GRAFT_RUN_DIR=$work/run
"$work/build/wordcount_managed_host" "$work/state" "$work"/keys/*.pub \
  "$work/build/wordcount-1.0.0.so" >"$work/managed.log" 2>&1 &
managed=$!
for _ in $(seq 200); do
  "$graftctl" hosts --json | grep -q '"name": "wordcount"' && break
  kill -0 "$managed" || { cat "$work/managed.log" >&2; exit 1; }
  sleep 0.05
done
"$graftctl" bundle --key "$work"/keys/*.key --so "$work/build/wordcount-1.0.0-a.so" \
  --version "1.0.0 (a)" --applies-to 1.0.0 --out "$work/bundle" >/dev/null
"$graftctl" install "$work/bundle" | tee /dev/stderr |
  grep -F "installed wordcount 1.0.0 (a) (was 1.0.0; state carried)"
"$graftctl" rollback wordcount | tee /dev/stderr | grep -F "rolled back wordcount 1.0.0 (was 1.0.0 (a)"
kill -TERM "$managed"
wait "$managed"
