#!/usr/bin/env bash
# cpack -G DEB makes the runtime package (libgraft + graftctl, with its
# shared-library dependencies) and the -dev package (headers, CMake package,
# pkg-config file). Usage: debian_packages.sh BUILD_DIR
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$1" && cpack -G DEB -B "$out" >/dev/null 2>&1)
runtime=$(ls "$out"/graft_*.deb)
dev=$(ls "$out"/graft-dev_*.deb)
runtime_files=$(dpkg-deb -c "$runtime")
runtime_info=$(dpkg-deb -I "$runtime")
dev_files=$(dpkg-deb -c "$dev")
dev_info=$(dpkg-deb -I "$dev")
has() { grep -q -- "$2" <<<"$1" || { echo "missing: $2" >&2; exit 1; }; }
has "$runtime_files" 'usr/bin/graftctl'
has "$runtime_files" 'libgraft.so.1'
has "$runtime_info" 'Depends:.*libsodium'
has "$runtime_info" 'Depends:.*libssl3'
has "$dev_files" 'usr/include/graft/abi.h'
has "$dev_files" 'cmake/graft/graftConfig.cmake'
has "$dev_files" 'cmake/graft/GraftComponent.cmake'
has "$dev_files" 'pkgconfig/graft.pc'
has "$dev_info" 'Depends: graft (= '
echo "built $(basename "$runtime") and $(basename "$dev")"
