// What `graftctl bundle` reads from a shared object's own descriptor, so that
// a manifest can never disagree with the code it describes.
#pragma once

#include <chrono>
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

// In a child process (fork): dlopens `so` (RTLD_NOW | RTLD_LOCAL), which
// runs its constructors, calls its entry function, copies the identity
// fields (reading none beyond the descriptor's struct_size) and sends them
// back over a pipe. A constructor that crashes, hangs past `timeout` (the
// child is killed) or ends the process costs the signing tool nothing.
// nullopt, with `why` naming the file and the cause, when `so` is not a
// loadable graft component.
std::optional<ComponentIdentity> read_component_identity(
    const std::filesystem::path& so, std::string* why,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace graftctl
