#include "sha256.hpp"

#include <graft/status.hpp>

namespace graft::detail {

void ensure_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw Error(Status(ErrorCode::io_error, "libsodium failed to initialise"));
}

Sha256::Sha256() {
  ensure_sodium();
  crypto_hash_sha256_init(&state_);
}

void Sha256::update(const void* data, std::size_t size) {
  crypto_hash_sha256_update(&state_, static_cast<const unsigned char*>(data), size);
}

std::string Sha256::hex() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state_, digest);
  char out[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(out, sizeof out, digest, sizeof digest);
  return std::string(out, crypto_hash_sha256_BYTES * 2);
}

}  // namespace graft::detail
