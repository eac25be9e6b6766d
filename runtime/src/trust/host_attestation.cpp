#include "host_attestation.hpp"

#include "file_io.hpp"
#include "sha256.hpp"
#include "untrusted_file.hpp"

#include <graft/status.hpp>

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace graft::detail {
namespace fs = std::filesystem;

namespace {

std::string message_of(std::string_view component, std::string_view version,
                       std::string_view sha256) {
  std::string m = "graft-own-object/1\n";
  m.append(component).append("\n").append(version).append("\n").append(sha256);
  return m;
}

bool from_hex(std::string_view hex, unsigned char* out, std::size_t n) {
  std::size_t got = 0;
  return hex.size() == 2 * n && hex.find_first_not_of("0123456789abcdef") == std::string::npos &&
         sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &got, nullptr) == 0 && got == n;
}

}  // namespace

HostAttestation HostAttestation::open(const fs::path& state_dir) {
  ensure_sodium();
  HostAttestation a;
  const fs::path file = state_dir / "host.key";
  UntrustedFile existing = UntrustedFile::open(file, 128);
  std::string text;
  if (existing.read_all(&text)) {
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    if (!from_hex(text, a.key_.data(), a.key_.size())) {
      throw Error(Status(ErrorCode::state_corrupt,
                         "'" + file.string() +
                             "' is not a host key (64 hex digits); remove it to make a new one "
                             "(objects the host loaded itself are then not restored)"));
    }
    return a;
  }
  if (existing.refusal() != FileRefusal::missing) {
    throw Error(Status(ErrorCode::state_corrupt, "host key " + existing.error()));
  }
  randombytes_buf(a.key_.data(), a.key_.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, a.key_.data(), a.key_.size());
  const std::string line = std::string(hex) + "\n";
  // Whole or not at all (temp file, fsync, rename): a host stopped half way
  // must not find a half-made key at its next start. The state folder's
  // lock means no other host writes here at the same time.
  std::string error;
  if (!write_file_atomically(file, line, &error, 0600)) {
    throw Error(
        Status(ErrorCode::io_error, "cannot create host key '" + file.string() + "': " + error));
  }
  return a;
}

std::string HostAttestation::tag(std::string_view component, std::string_view version,
                                 std::string_view sha256) const {
  const std::string m = message_of(component, version, sha256);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(m.data()), m.size(), key_.data());
  char hex[2 * crypto_auth_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string(hex) + "\n";
}

bool HostAttestation::check(std::string_view component, std::string_view version,
                            std::string_view sha256, std::string_view tag_text) const {
  while (!tag_text.empty() && tag_text.back() == '\n')
    tag_text.remove_suffix(1);
  unsigned char mac[crypto_auth_BYTES];
  if (!from_hex(tag_text, mac, sizeof mac)) return false;
  const std::string m = message_of(component, version, sha256);
  return crypto_auth_verify(mac, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                            key_.data()) == 0;
}

}  // namespace graft::detail
