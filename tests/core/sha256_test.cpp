// SHA-256 (runtime/src/sha256.cpp, OpenSSL's libcrypto): the FIPS 180-2
// known answers, streaming in odd-sized pieces against one shot, and every
// length around the 64-byte block boundary against libsodium's independent
// implementation. Every bundle, store and delta check rests on these bytes.
#include "sha256.hpp"

#include <graft/artifact_store.hpp>
#include <graft/status.hpp>

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using graft::detail::Sha256;

std::string streamed(const std::string& data, const std::vector<std::size_t>& pieces) {
  Sha256 hash;
  std::size_t at = 0;
  for (std::size_t i = 0; at < data.size(); ++i) {
    const std::size_t n = std::min(pieces[i % pieces.size()], data.size() - at);
    hash.update(data.data() + at, n);
    at += n;
  }
  return hash.hex();
}

std::string sodium_hex(const std::string& data) {
  graft::detail::ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char out[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(out, sizeof out, digest, sizeof digest);
  return out;
}

std::string pseudo_random(std::size_t size, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::string data(size, '\0');
  for (auto& c : data)
    c = static_cast<char>(gen() & 0xff);
  return data;
}

TEST(Sha256, EmptyInput) {
  EXPECT_EQ(graft::sha256_hex("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 hash;
  hash.update(nullptr, 0);
  EXPECT_EQ(hash.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(graft::sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage) {
  const std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(graft::sha256_hex(m.data(), m.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAs) {
  const std::string a(1'000'000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  EXPECT_EQ(graft::sha256_hex(a.data(), a.size()), expected);
  // The same million fed in pieces that straddle every block boundary.
  EXPECT_EQ(streamed(a, {1, 63, 64, 65, 127, 4093, 7}), expected);
}

TEST(Sha256, OddSizedPiecesMatchOneShot) {
  const std::string data = pseudo_random(3 * 1024 * 1024 + 17, 14);
  const std::string one_shot = graft::sha256_hex(data.data(), data.size());
  EXPECT_EQ(one_shot, sodium_hex(data));
  for (const std::vector<std::size_t>& pieces : std::vector<std::vector<std::size_t>>{
           {1}, {3, 5, 7}, {55, 56, 57}, {63, 64, 65}, {4093}, {65537, 1}, {1024 * 1024 + 3}}) {
    if (pieces == std::vector<std::size_t>{1}) {
      // One byte at a time over 3 MB is slow under ASan; a 70 KB prefix
      // covers the same code paths.
      const std::string prefix = data.substr(0, 70'001);
      EXPECT_EQ(streamed(prefix, pieces), graft::sha256_hex(prefix.data(), prefix.size()));
      EXPECT_EQ(streamed(prefix, pieces), sodium_hex(prefix));
      continue;
    }
    EXPECT_EQ(streamed(data, pieces), one_shot) << "first piece " << pieces.front();
  }
}

TEST(Sha256, EveryLengthAroundTheBlockAgreesWithLibsodium) {
  const std::string data = pseudo_random(1100, 7);
  for (std::size_t n = 0; n <= data.size(); ++n) {
    const std::string part = data.substr(0, n);
    ASSERT_EQ(graft::sha256_hex(part.data(), part.size()), sodium_hex(part)) << "length " << n;
  }
}

TEST(Sha256, FileHashMatchesTheBytes) {
  char tmpl[] = "/tmp/graft-sha256-test-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::filesystem::path file = tmpl;
  const std::string a(1'000'000, 'a');
  {
    std::ofstream out(file, std::ios::binary);
    out.write(a.data(), static_cast<std::streamsize>(a.size()));
  }
  std::uint64_t size = 0;
  EXPECT_EQ(graft::sha256_file(file, &size),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(size, a.size());
  std::filesystem::remove(file);
}

TEST(Sha256, UseAfterFinishIsRefused) {
  Sha256 hash;
  hash.update("abc", 3);
  EXPECT_EQ(hash.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(hash.update("abc", 3), graft::Error);
  EXPECT_THROW(hash.hex(), graft::Error);
}

TEST(Sha256, MovedHashContinues) {
  Sha256 first;
  first.update("ab", 2);
  Sha256 second = std::move(first);
  second.update("c", 1);
  EXPECT_EQ(second.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
