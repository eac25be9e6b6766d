// Offline checks of a bundle folder: the manifest parses, is signed by a
// trusted key over its exact bytes, has not expired, and describes the
// shared object beside it (size and SHA-256).
#pragma once

#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>
#include <graft/status.hpp>

#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct BundleCheck {
  std::string name;  // "manifest", "signature", "trusted key", "expiry", "size", "sha256", ...
  bool passed = false;
  std::string detail;
};

class TrustedKeys {
 public:
  void add(const PublicKey& key) { keys_[key.key_id()] = key; }
  // Reads each public key file; the first unreadable one is an error.
  static Status load(const std::vector<std::filesystem::path>& files, TrustedKeys* out);
  const PublicKey* find(const std::string& key_id) const;
  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::map<std::string, PublicKey> keys_;
};

class BundleVerifier {
 public:
  explicit BundleVerifier(TrustedKeys keys) : keys_(std::move(keys)) {}

  // Every check on the folder as it is. Fills `checks` (in order, up to the
  // first failure) and returns that failure, or ok. `manifest` is filled as
  // soon as it parses, even when a later check fails. `now` is for tests.
  Status verify(const std::filesystem::path& bundle_dir, Manifest* manifest,
                std::vector<BundleCheck>* checks, std::time_t now = std::time(nullptr)) const;

  // Size and SHA-256 of a file (the store copy) against the manifest.
  static Status check_file(const Manifest& manifest, const std::string& sha256, std::uint64_t size,
                           const std::string& what);

 private:
  TrustedKeys keys_;
};

}  // namespace graft

#pragma GCC visibility pop
