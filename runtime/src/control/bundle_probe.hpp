// Whether a bundle folder in the inbox is there in full: its manifest and
// signature present, and its shared object as long as the manifest says,
// with the manifest's hash. Only a complete bundle is worth verifying; a
// partial one is still being copied.
#pragma once

#include "inbox.hpp"

#include <filesystem>

// Exported for the fuzz target, not a public API.
#pragma GCC visibility push(default)

namespace graft::control {

BundleCompleteness probe_bundle(const std::filesystem::path& bundle);

}  // namespace graft::control

#pragma GCC visibility pop
