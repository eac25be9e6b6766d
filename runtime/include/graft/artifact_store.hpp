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
  // put: this call wrote the copy (false: an intact copy was there already).
  bool written = false;
};

class ArtifactStore {
 public:
  // Uses (and creates, mode 0700) `dir`. Throws graft::Error if it cannot,
  // or if the folder is not this user's or others can write to it.
  explicit ArtifactStore(std::filesystem::path dir);

  // The largest shared object the store takes (the manifest's limit too).
  static constexpr std::uint64_t kMaxObjectSize = std::uint64_t{1} << 40;

  // Copies `file` into the store and verifies the copy. The copy's hash is
  // computed from the bytes written, then read back and checked. `file` must
  // be a regular file (not a symlink, FIFO or device).
  Status put(const std::filesystem::path& file, Artifact* out) const;
  // Stores `data` (an object rebuilt in memory, already checked against a
  // signed manifest) the same way: the copy is read back and verified.
  // `source` says where it came from, for messages.
  Status put_bytes(std::string_view data, const std::filesystem::path& source, Artifact* out,
                   bool sync_folder = true) const;
  // The same from a file the caller has open and checked (read from its
  // start, at most `max_size` bytes): what was verified is what is copied,
  // with no second open by name. `source` names it in messages.
  // Every put is durable when it returns (the copy fsynced, the folder
  // too). With sync_folder false the folder's fsync is left to the caller,
  // who stores several files and then calls sync_folder() once.
  Status put(int fd, const std::filesystem::path& source, std::uint64_t max_size, Artifact* out,
             bool sync_folder = true) const;
  Status sync_folder() const;
  // Looks up a stored artifact by hash and verifies its content again.
  Status get(const std::string& sha256, Artifact* out) const;
  // Reads a stored artifact whole (at most `max_size` bytes) and verifies
  // the bytes read against its hash: one read and one hash where get() and
  // then a read would hash it and read it twice. file_missing when absent,
  // size_mismatch when larger than `max_size`, hash_mismatch when corrupt.
  Status read(const std::string& sha256, std::uint64_t max_size, std::string* content) const;
  // Removes a stored artifact and the files kept beside it (no error if
  // they are already gone), unless it is in use in this process: a slot
  // loading it or able to roll back to it, an install being prepared, a
  // version the Installer records. Returns whether it removed it.
  bool remove(const std::string& sha256) const;

  // Files kept beside an artifact, named <sha256><suffix>: the signed
  // manifest and signature it was installed with (".manifest.json",
  // ".manifest.sig"), or the host's own attestation (".own"). Written
  // atomically, mode 0600; read back through the untrusted-file reader, at
  // most `max_size` bytes. get_beside: file_missing when there is none.
  static constexpr const char* kManifestSuffix = ".manifest.json";
  static constexpr const char* kSignatureSuffix = ".manifest.sig";
  static constexpr const char* kOwnSuffix = ".own";
  // A file with that exact content already there is kept as it is (it was
  // fsynced before it got its name).
  // `written`, when given, says whether this call wrote the file.
  Status put_beside(const std::string& sha256, const char* suffix, std::string_view content,
                    bool sync_folder = true, bool* written = nullptr) const;
  Status get_beside(const std::string& sha256, const char* suffix, std::uint64_t max_size,
                    std::string* content) const;

  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
};

// SHA-256 of a regular file's content, lower-case hex. Empty on read error
// and for anything but a regular file (a symlink, FIFO or device is not read).
std::string sha256_file(const std::filesystem::path& file, std::uint64_t* size = nullptr);
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace graft

#pragma GCC visibility pop
