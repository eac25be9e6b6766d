// The host's word for the objects it loaded from its own files (its base
// release, named by the program, not installed from a bundle): such an
// object has no signed manifest, yet a restart must be able to restore it
// and to trust a version floor that names it. The host signs it with a key
// only it can read, <state_dir>/host.key (32 random bytes, mode 0600,
// created once with O_EXCL | O_NOFOLLOW); the store keeps the tag beside
// the object as <sha256>.own. A store object with neither a signed manifest
// nor a valid tag (one planted by someone who could write the store) is
// never loaded.
//
//   HostAttestation own = HostAttestation::open(state_dir);  // throws graft::Error
//   store.put_beside(sha, ArtifactStore::kOwnSuffix, own.tag("greeter", "1.0.0", sha));
//   own.check("greeter", "1.0.0", sha, tag_read_back);
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

class HostAttestation {
 public:
  // Reads <state_dir>/host.key, creating it when there is none.
  static HostAttestation open(const std::filesystem::path& state_dir);

  // HMAC-SHA-512/256 over component, version and SHA-256, in hex.
  std::string tag(std::string_view component, std::string_view version,
                  std::string_view sha256) const;
  bool check(std::string_view component, std::string_view version, std::string_view sha256,
             std::string_view tag_text) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace graft::detail

#pragma GCC visibility pop
