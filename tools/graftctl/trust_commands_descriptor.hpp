// What `graftctl bundle` reads from a shared object's own descriptor, so that
// a manifest can never disagree with the code it describes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace graftctl {

struct ComponentIdentity {
  std::string name;
  std::string version;  // as the descriptor prints it
  std::uint32_t abi_version = 0;
  std::string interface_id;
  std::uint32_t interface_major = 0;
};

// dlopens `so` (RTLD_NOW | RTLD_LOCAL), calls its entry function, copies the
// identity fields (reading none beyond the descriptor's struct_size) and
// dlcloses it. nullopt, with `why` naming the file and the cause, when `so`
// is not a loadable graft component.
std::optional<ComponentIdentity> read_component_identity(const std::filesystem::path& so,
                                                         std::string* why);

}  // namespace graftctl
