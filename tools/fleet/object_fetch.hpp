// Bundle objects over HTTP into a machine's cache, named by SHA-256. The
// size and hash come from a signed manifest: a download longer than the
// signed size is cut off, and what arrived is kept only if its size and
// SHA-256 match. An interrupted download resumes (HTTP Range) from the
// partial file; every agent of the machine shares the cache, so an object
// is fetched once per machine.
#pragma once

#include <graft/status.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace graft::fleet {

struct ObjectCacheOptions {
  std::string base_url;  // objects are at <base_url>/<sha256>
  std::filesystem::path dir;
  std::string ca_file;  // https: the CA of the server's certificate (empty: the system's)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{120000};
};

struct FetchReport {
  bool cached = false;              // was already in the cache
  std::uint64_t bytes_fetched = 0;  // transferred by this call
};

class ObjectCache {
 public:
  explicit ObjectCache(ObjectCacheOptions options);

  // The verified object's path in the cache, fetching it if needed.
  Status fetch(const std::string& sha256, std::uint64_t size, std::filesystem::path* path,
               FetchReport* report);
  std::filesystem::path object_path(const std::string& sha256) const {
    return options_.dir / sha256;
  }

 private:
  Status download(const std::string& sha256, std::uint64_t size, const std::filesystem::path& part,
                  FetchReport* report);

  ObjectCacheOptions options_;
};

// SHA-256 (lower-case hex) and size of a file; "" when unreadable.
std::string sha256_of_file(const std::filesystem::path& file, std::uint64_t* size);
bool is_sha256_hex(const std::string& text);

}  // namespace graft::fleet
