// A bundle's manifest.json: what the signed bundle claims about its shared
// object. docs/bundle-format.md specifies it.
#pragma once

#include <graft/status.hpp>
#include <graft/version.hpp>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

inline constexpr const char* kManifestFormat = "graft-bundle/1";
// Caps known before a byte is read: manifest.json and manifest.sig larger
// than these are refused without reading them.
inline constexpr std::size_t kManifestMaxBytes = 64 * 1024;
inline constexpr std::size_t kSignatureMaxBytes = 1024;
// How far a bundle's `created` may lie in the future (clock skew between the
// signing machine and the host) before the bundle is refused.
inline constexpr std::time_t kCreatedSkewSeconds = 300;

// The optional "delta" object: a file in the bundle that rebuilds the shared
// object from the exact base object named by its SHA-256.
struct ManifestDelta {
  std::string base_sha256;  // the base object the delta applies to, lower-case hex
  std::string file;         // the delta's name inside the bundle folder
  std::string sha256;       // SHA-256 of the delta file
  std::uint64_t size = 0;   // its size in bytes
};

struct Manifest {
  std::string component;
  Version version;
  Version applies_to;  // the base release the bundle patches
  std::uint32_t abi_version = 0;
  std::string interface_id;
  std::uint32_t interface_major = 0;
  std::string file;    // the shared object's name inside the bundle folder
  std::string sha256;  // lower-case hex
  std::uint64_t size = 0;
  std::time_t created = 0;  // UTC, written as 2026-11-27T20:40:00Z
  std::time_t expires = 0;
  std::string key_id;
  std::optional<ManifestDelta> delta;  // absent in bundles that carry only the object

  // Parses and checks every field's type and form: at most
  // kManifestMaxBytes, a flat object, no key twice, no field outside
  // manifest_fields(), hex in lower case, created before expires. Never
  // throws. Meant for signed bytes: BundleVerifier checks the signature
  // first.
  static Status parse(std::string_view json_text, Manifest* out);
  // Canonical JSON (sorted keys, two-space indent, trailing newline).
  std::string to_json() const;
};

// The names of every field a manifest may hold (docs/bundle-format.md).
const std::vector<std::string_view>& manifest_fields();

// 2026-11-27T20:40:00Z <-> time_t (UTC). parse returns false on bad text.
std::string format_utc(std::time_t t);
bool parse_utc(std::string_view text, std::time_t* out);

}  // namespace graft

#pragma GCC visibility pop
