#include "trust_commands_descriptor.hpp"

#include <graft/abi.h>

#include <dlfcn.h>

#include <cstring>

namespace graftctl {
namespace {

// Descriptor strings longer than this are refused (the runtime's limit too).
constexpr std::size_t kMaxDescriptorString = 256;

bool copy_string(const char* s, std::string* out) {
  if (s == nullptr) return false;
  const std::size_t n = ::strnlen(s, kMaxDescriptorString + 1);
  if (n == 0 || n > kMaxDescriptorString) return false;
  out->assign(s, n);
  return true;
}

// Closes the handle on every path out of read_component_identity.
struct LibraryHandle {
  void* handle = nullptr;
  ~LibraryHandle() {
    if (handle != nullptr) ::dlclose(handle);
  }
};

}  // namespace

std::optional<ComponentIdentity> read_component_identity(const std::filesystem::path& so,
                                                         std::string* why) {
  const std::string what = "'" + so.string() + "'";
  // dlopen searches the library path for a bare name; a path with a slash
  // names exactly this file.
  const std::filesystem::path exact = so.has_parent_path() ? so : std::filesystem::path(".") / so;
  LibraryHandle lib;
  ::dlerror();
  lib.handle = ::dlopen(exact.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib.handle == nullptr) {
    const char* e = ::dlerror();
    *why = what + " cannot be loaded: " + (e != nullptr ? e : "unknown dlopen error");
    return std::nullopt;
  }
  void* sym = ::dlsym(lib.handle, GRAFT_ENTRY_SYMBOL);
  if (sym == nullptr) {
    *why = what + " is not a graft component: it exports no " + GRAFT_ENTRY_SYMBOL;
    return std::nullopt;
  }
  graft_entry_fn entry = nullptr;
  static_assert(sizeof entry == sizeof sym);
  std::memcpy(&entry, &sym, sizeof entry);  // object pointer to function pointer, without UB casts
  const graft_component_descriptor* d = entry(GRAFT_ABI_VERSION);
  if (d == nullptr) {
    *why = what + ": its entry function returned no descriptor for graft ABI " +
           std::to_string(GRAFT_ABI_VERSION);
    return std::nullopt;
  }
  ComponentIdentity id;
  const std::uint32_t size = d->struct_size;
  id.abi_version = d->abi_version;
  if (!GRAFT_DESCRIPTOR_HAS(size, interface_major)) {
    *why = what + ": its descriptor is " + std::to_string(size) +
           " bytes, too small to name component, version and interface";
    return std::nullopt;
  }
  if (!copy_string(d->component_name, &id.name)) {
    *why = what + ": its descriptor has no valid component name";
    return std::nullopt;
  }
  if (!copy_string(d->component_version, &id.version)) {
    *why = what + ": its descriptor has no valid version";
    return std::nullopt;
  }
  if (!copy_string(d->interface_id, &id.interface_id)) {
    *why = what + ": its descriptor has no valid interface id";
    return std::nullopt;
  }
  id.interface_major = d->interface_major;
  return id;
}

}  // namespace graftctl
