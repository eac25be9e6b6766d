// Incremental SHA-256 (OpenSSL's libcrypto). libsodium signs and verifies
// (Ed25519) but its SHA-256 is portable C with no SHA-NI path; libcrypto's
// uses the SHA extensions or AVX2 where the CPU has them, several times
// faster on the multi-megabyte objects every install hashes
// (docs/architecture.md, "Dependencies").
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

// Exported for graft's own trust and control libraries and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

class Sha256 {
 public:
  // Throws graft::Error (io_error) if libcrypto cannot start a digest.
  Sha256();
  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;
  ~Sha256();
  void update(const void* data, std::size_t size);
  std::string hex();  // finalises; update() or hex() after it throws graft::Error

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

// sodium_init(), once; throws graft::Error if libsodium cannot start.
void ensure_sodium();

}  // namespace graft::detail

#pragma GCC visibility pop
