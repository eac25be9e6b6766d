#include "sha256.hpp"

#include <graft/status.hpp>

#include <openssl/evp.h>
#include <sodium.h>

namespace graft::detail {

namespace {

Error digest_error(const char* what) {
  return Error(Status(ErrorCode::io_error, std::string("SHA-256: ") + what));
}

// Fetched once: EVP_sha256() would look the implementation up in the
// provider on every EVP_DigestInit_ex. Never freed; it lives as long as
// libcrypto's default provider does.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw digest_error("libcrypto has no SHA256 implementation");
  return md;
}

}  // namespace

void ensure_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw Error(Status(ErrorCode::io_error, "libsodium failed to initialise"));
}

void Sha256::CtxFree::operator()(evp_md_ctx_st* ctx) const noexcept {
  EVP_MD_CTX_free(ctx);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw digest_error("cannot allocate a digest context");
  if (EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr) != 1) {
    throw digest_error("cannot start a digest");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
  if (!ctx_) throw digest_error("update after hex()");
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw digest_error("update failed");
}

std::string Sha256::hex() {
  if (!ctx_) throw digest_error("hex() called twice");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const int rc = EVP_DigestFinal_ex(ctx_.get(), digest, &length);
  ctx_.reset();
  if (rc != 1 || length != 32) throw digest_error("final failed");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * length, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace graft::detail
