// The store: every file the runtime loads is first copied here, named by its
// SHA-256, and the copy is what gets loaded. dlopen of a path that is already
// open returns the old handle, and overwriting a mapped file crashes the
// host; loading only private, content-addressed copies avoids both.
#pragma once

#include <graft/status.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct Artifact {
  std::filesystem::path path;  // the copy in the store
  std::string sha256;          // lower-case hex of the copy's content
  std::uint64_t size = 0;
  std::filesystem::path source;  // where it was copied from
};

class ArtifactStore {
 public:
  // Uses (and creates) `dir`. Throws graft::Error if it cannot.
  explicit ArtifactStore(std::filesystem::path dir);

  // Copies `file` into the store and verifies the copy. The copy's hash is
  // computed from the bytes written, then read back and checked.
  Status put(const std::filesystem::path& file, Artifact* out) const;
  // Stores `data` (an object rebuilt in memory, already checked against a
  // signed manifest) the same way: the copy is read back and verified.
  // `source` says where it came from, for messages.
  Status put_bytes(std::string_view data, const std::filesystem::path& source, Artifact* out) const;
  // Looks up a stored artifact by hash and verifies its content again.
  Status get(const std::string& sha256, Artifact* out) const;
  // Removes a stored artifact (no error if it is already gone).
  void remove(const std::string& sha256) const;

  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
};

// SHA-256 of a file's content, lower-case hex. Empty on read error.
std::string sha256_file(const std::filesystem::path& file, std::uint64_t* size = nullptr);
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace graft

#pragma GCC visibility pop
