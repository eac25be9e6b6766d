// What a manifest whose signature has not been checked claims about itself.
// Unsigned bytes reach a JSON parser only here, and only bounded: at most
// kManifestMaxBytes, nested at most kClaimsMaxDepth levels, no recursion.
// Two readers use it: BundleVerifier, to name the bundle and key in a refusal
// when no trusted key verifies the bytes, and the inbox's completeness probe.
// Nothing read here is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

inline constexpr std::size_t kClaimsMaxDepth = 8;

struct ManifestClaims {
  bool parsed = false;  // a JSON object within the limits
  std::string error;    // why not: "not valid JSON", "nested deeper than 8 levels", ...
  // Not a manifest still being written (those are cut-short JSON): too
  // large, too deep, a key twice. Waiting will not make it one.
  bool beyond_limits = false;
  // Top-level string fields, empty when absent or not strings.
  std::string component, version, key_id, sha256;
  std::optional<std::uint64_t> size;
};

ManifestClaims read_manifest_claims(std::string_view text);

}  // namespace graft::detail

#pragma GCC visibility pop
