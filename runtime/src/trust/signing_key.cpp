#include <graft/signing_key.hpp>

#include <graft/artifact_store.hpp>

#include "file_io.hpp"
#include "sha256.hpp"
#include "untrusted_file.hpp"

#include <sodium.h>

namespace graft {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPublicTag = "graft-ed25519-public ";
constexpr std::string_view kSecretTag = "graft-ed25519-secret ";

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

bool from_hex(std::string_view hex, unsigned char* out, std::size_t n) {
  if (hex.size() != n * 2) return false;
  std::size_t got = 0;
  return sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &got, nullptr) == 0 && got == n;
}

template <std::size_t N>
Status read_key(const fs::path& file, std::string_view tag, const char* kind,
                std::array<unsigned char, N>* out) {
  // A key file is one short line; a FIFO or device in its place is refused
  // rather than read (graftctl and hosts would block on it).
  std::string text;
  detail::UntrustedFile f = detail::UntrustedFile::open(file, 4096);
  if (!f.read_all(&text)) {
    return Status(f.refusal() == detail::FileRefusal::missing ? ErrorCode::file_missing
                                                              : ErrorCode::invalid_argument,
                  std::string(kind) + " key " + f.error());
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.rfind(tag, 0) != 0 ||
      !from_hex(std::string_view(text).substr(tag.size()), out->data(), N)) {
    return Status(ErrorCode::invalid_argument,
                  std::string(kind) + " key '" + file.string() + "' is not a graft ed25519 " +
                      kind + " key (expected '" + std::string(tag) + "<hex>')");
  }
  return Status();
}

}  // namespace

std::string PublicKey::key_id() const {
  return sha256_hex(bytes.data(), bytes.size()).substr(0, 16);
}

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  crypto_sign_ed25519_sk_to_pk(pk.bytes.data(), bytes.data());
  return pk;
}

Status generate_key_pair(const fs::path& dir, fs::path* secret_file, fs::path* public_file) {
  detail::ensure_sodium();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status(ErrorCode::io_error, "cannot create '" + dir.string() + "': " + ec.message());
  PublicKey pk;
  SecretKey sk;
  crypto_sign_keypair(pk.bytes.data(), sk.bytes.data());
  const std::string id = pk.key_id();
  const fs::path sec = dir / (id + ".key");
  const fs::path pub = dir / (id + ".pub");
  std::string error;
  const std::string secret_text =
      std::string(kSecretTag) + to_hex(sk.bytes.data(), sk.bytes.size()) + "\n";
  if (!detail::write_file_atomically(sec, secret_text, &error, 0600)) {
    sodium_memzero(sk.bytes.data(), sk.bytes.size());
    return Status(ErrorCode::io_error, "writing secret key: " + error);
  }
  sodium_memzero(sk.bytes.data(), sk.bytes.size());
  const std::string public_text =
      std::string(kPublicTag) + to_hex(pk.bytes.data(), pk.bytes.size()) + "\n";
  if (!detail::write_file_atomically(pub, public_text, &error, 0644)) {
    return Status(ErrorCode::io_error, "writing public key: " + error);
  }
  *secret_file = sec;
  *public_file = pub;
  return Status();
}

Status read_public_key(const fs::path& file, PublicKey* out) {
  return read_key(file, kPublicTag, "public", &out->bytes);
}

Status read_secret_key(const fs::path& file, SecretKey* out) {
  return read_key(file, kSecretTag, "secret", &out->bytes);
}

std::string sign_detached(const SecretKey& key, std::string_view message) {
  detail::ensure_sodium();
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), key.bytes.data());
  return to_hex(sig, sizeof sig);
}

bool verify_detached(const PublicKey& key, std::string_view message,
                     std::string_view signature_hex) {
  detail::ensure_sodium();
  while (!signature_hex.empty() && (signature_hex.back() == '\n' || signature_hex.back() == '\r')) {
    signature_hex.remove_suffix(1);
  }
  unsigned char sig[crypto_sign_BYTES];
  if (!from_hex(signature_hex, sig, sizeof sig)) return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.bytes.data()) == 0;
}

}  // namespace graft
