// A release record: what `graftctl fleet publish` puts in etcd for one
// bundle. It carries the manifest's exact bytes and their signature, so an
// agent checks the signature with its own trusted keys before it believes
// anything the record says (and before it fetches the object the manifest
// names by SHA-256 and size).
#pragma once

#include <graft/bundle_verifier.hpp>
#include <graft/manifest.hpp>

#include <ctime>
#include <string>

namespace graft::fleet {

inline constexpr const char* kReleaseFormat = "graft-release/1";
// A record is small; anything larger is refused unread.
inline constexpr std::size_t kMaxReleaseRecordBytes = 64 * 1024;

struct ReleaseRecord {
  std::string manifest_text;  // manifest.json, byte for byte
  std::string signature;      // manifest.sig (hex)

  std::string to_json() const;
  // Parses the envelope only; says nothing about trust.
  static Status parse(const std::string& text, ReleaseRecord* out);
};

// Signature (with `keys`), then the manifest's form, then expiry. On
// success `manifest` holds what was signed.
Status verify_release(const ReleaseRecord& record, const TrustedKeys& keys, Manifest* manifest,
                      std::time_t now = std::time(nullptr));

}  // namespace graft::fleet
