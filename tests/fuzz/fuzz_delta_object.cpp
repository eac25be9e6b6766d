// The delta reader: whatever the bytes, apply_delta never writes past the
// expected size, never crashes, and when it succeeds returns exactly the
// expected size, with the SHA-256 of exactly those bytes. Input: 2 bytes
// of expected size (little-endian), then the delta; the base is fixed (the
// seed corpus was made against it).
#include "trust/delta_object.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const std::string& fuzz_base() {
  static const std::string base = [] {
    std::string b(8192, '\0');
    for (std::size_t i = 0; i < b.size(); ++i)
      b[i] = static_cast<char>(i * 131 % 251);
    return b;
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint64_t expected = data[0] | (std::uint64_t{data[1]} << 8);
  const std::string_view delta(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string out;
  std::string sha;
  const graft::Status s = graft::detail::apply_delta(fuzz_base(), delta, expected, &out, &sha);
  if (s && out.size() != expected) std::abort();
  // The hash taken block by block while decoding is the hash of the result.
  if (s && sha != graft::sha256_hex(out.data(), out.size())) std::abort();
  if (!s && (s.message().empty() || !out.empty() || !sha.empty())) std::abort();
  return 0;
}
