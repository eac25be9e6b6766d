// Incremental SHA-256 (libsodium).
#pragma once

#include <sodium.h>

#include <cstddef>
#include <string>

// Exported for graft's own trust and control libraries and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  std::string hex();  // finalises

 private:
  crypto_hash_sha256_state state_;
};

// sodium_init(), once; throws graft::Error if libsodium cannot start.
void ensure_sodium();

}  // namespace graft::detail

#pragma GCC visibility pop
