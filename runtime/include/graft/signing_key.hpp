// ed25519 keys (libsodium) for signing bundle manifests.
//
// Files are one line of text: `graft-ed25519-public <64 hex>` and
// `graft-ed25519-secret <128 hex>` (the secret file is written 0600). A key
// id is the first 16 hex digits of the SHA-256 of the public key.
#pragma once

#include <graft/status.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct PublicKey {
  std::array<unsigned char, 32> bytes{};
  std::string key_id() const;
};

struct SecretKey {
  std::array<unsigned char, 64> bytes{};
  PublicKey public_key() const;
};

// Writes <dir>/<key id>.key (0600) and <dir>/<key id>.pub; both paths are returned.
Status generate_key_pair(const std::filesystem::path& dir, std::filesystem::path* secret_file,
                         std::filesystem::path* public_file);

Status read_public_key(const std::filesystem::path& file, PublicKey* out);
Status read_secret_key(const std::filesystem::path& file, SecretKey* out);

// Detached signature over `message`, as 128 hex digits.
std::string sign_detached(const SecretKey& key, std::string_view message);
// False for a malformed signature text as well as a wrong one.
bool verify_detached(const PublicKey& key, std::string_view message,
                     std::string_view signature_hex);

}  // namespace graft

#pragma GCC visibility pop
