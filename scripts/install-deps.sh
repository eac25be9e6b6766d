#!/usr/bin/env bash
# Installs the Debian 12 packages graft builds with, only those missing
# (a machine that has them all needs no network).
set -euo pipefail
packages=(
  g++ cmake make pkg-config python3 clang-format
  libboost-dev libspdlog-dev libfmt-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  liburcu-dev libzstd-dev zstd bsdiff xdelta3 etcd-server etcd-client nginx-light
  libssl-dev
)
# --fuzz: also clang 14 and its sanitizer runtimes (libFuzzer).
if [ "${1:-}" = "--fuzz" ]; then packages+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "graft: installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
