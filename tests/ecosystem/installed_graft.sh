# Sourced by the ecosystem tests: installs the build tree into a temporary
# prefix and sets $work (removed on exit), $prefix and LD_LIBRARY_PATH.
# Usage: source installed_graft.sh BUILD_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$1" --prefix "$prefix" >/dev/null
LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libgraft.so*' | head -n1)")
export LD_LIBRARY_PATH
