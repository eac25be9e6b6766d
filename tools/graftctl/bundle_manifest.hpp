// What graftctl needs to know of a bundle before asking hosts to install
// it: which component it patches (install --all picks the hosts that have
// it). The hosts verify the bundle themselves.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace graftctl {

// The component named by BUNDLE/manifest.json; nullopt with `why` set when
// the manifest cannot be read.
std::optional<std::string> bundle_component(const std::filesystem::path& bundle, std::string* why);

}  // namespace graftctl
