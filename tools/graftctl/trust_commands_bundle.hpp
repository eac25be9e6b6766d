// `graftctl bundle`: a signed bundle folder from a built component.
#pragma once

#include <graft/version.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace graftctl {

// "30d", "12h", "90m", "45s" -> seconds; nullopt for anything else (no
// number, no unit, zero, or more than ten years).
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

struct BundleRequest {
  std::filesystem::path secret_key;
  std::filesystem::path shared_object;
  graft::Version version;
  graft::Version applies_to;
  std::chrono::seconds lifetime{0};
  std::filesystem::path out;
  // A base bundle folder or shared object: the bundle then carries a delta
  // that rebuilds the object from that exact base (named by its sha256).
  std::filesystem::path delta_from;
  bool delta_only = false;  // leave the full object out of the bundle
};

struct BundleResult {
  int exit_code = 0;  // a graftctl exit code
  std::string error;  // when exit_code != 0
  std::string summary;
};

// Writes `out` (which must not exist, or be empty) holding the shared object
// (and/or, with delta_from, its delta), manifest.json and manifest.sig. The folder appears whole or
// not at all: it is built beside `out` and renamed into place, so an inbox never sees half a
// bundle.
BundleResult write_bundle(const BundleRequest& request);

}  // namespace graftctl
