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
#include <string_view>
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
  const std::map<std::string, PublicKey>& all() const noexcept { return keys_; }
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
  // first failure) and returns that failure, or ok. The order is signature
  // first: manifest.json (at most kManifestMaxBytes) and manifest.sig (at
  // most kSignatureMaxBytes) are read as raw bytes from regular files, a
  // trusted key must verify them, and only then is the manifest parsed.
  // `manifest` is filled once it parsed; when the signature fails it gets
  // the component and version the unsigned bytes claim (for messages). `now`
  // is for tests.
  Status verify(const std::filesystem::path& bundle_dir, Manifest* manifest,
                std::vector<BundleCheck>* checks, std::time_t now = std::time(nullptr)) const;
  // The same, keeping what was checked: on success `opened->object_fd` is
  // the descriptor that was hashed (the caller closes it), so that what is
  // copied into the store is what was checked, never a file opened again by
  // name; and the manifest's exact bytes and the signature text, which the
  // store keeps beside the object so that a restart can check them again.
  struct Opened {
    int object_fd = -1;
    std::string manifest_text;
    std::string signature_text;
  };
  Status verify_and_open(const std::filesystem::path& bundle_dir, Manifest* manifest,
                         std::vector<BundleCheck>* checks, Opened* opened,
                         std::time_t now = std::time(nullptr)) const;
  // Checks a manifest's exact bytes and signature text against the trusted
  // keys (signature first, then parse), as verify() does for a folder; used
  // by restore() on the copies the store keeps. `where` prefixes messages.
  Status verify_signed_manifest(std::string_view manifest_text, std::string_view signature_text,
                                const std::string& where, Manifest* manifest,
                                std::vector<BundleCheck>* checks) const;

  // Size and SHA-256 of a file (the store copy) against the manifest.
  static Status check_file(const Manifest& manifest, const std::string& sha256, std::uint64_t size,
                           const std::string& what);

 private:
  TrustedKeys keys_;
};

}  // namespace graft

#pragma GCC visibility pop
