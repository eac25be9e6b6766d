// The one way the host, the inbox, the store and graftctl read a file that
// someone else may have put there (a bundle's manifest, signature and shared
// object, a store object, the installed state). A FIFO, a device, a symlink or
// a huge file in place of one must not block the host, feed it endless bytes
// or send it elsewhere:
//
//   - the file is opened relative to a folder's fd with O_NOFOLLOW |
//     O_NONBLOCK | O_NOCTTY | O_CLOEXEC, after an lstat that refuses anything
//     but a regular file without opening it (opening a device can have
//     effects of its own);
//   - fstat of the open fd must show the same regular file, no larger than a
//     cap the caller knows before reading;
//   - the same fd is read, hashed and copied: nothing opens it again by name.
//
// Refusals name what the thing is: "'x/manifest.json' is a FIFO",
// "... is a symlink", "... is larger than 65536 bytes".
//
//   UntrustedFile f = UntrustedFile::open_at(dir_fd, "manifest.json", 64 * 1024, "bundle/");
//   std::string text;
//   if (!f.ok() || !f.read_all(&text)) return refuse(f.error());
#pragma once

#include "file_io.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

// Why a file was refused, so that callers can pick their error code.
enum class FileRefusal {
  none,
  missing,      // no such file
  unreadable,   // there, but open or read failed (permissions, I/O)
  not_regular,  // a symlink, FIFO, device, socket or folder
  too_large,    // larger than the cap (or grew past it while read)
};

class UntrustedFile {
 public:
  // Opens `name` (a plain file name) inside the folder open as `dir_fd`.
  // `shown_dir` is how messages print that folder (with its trailing '/').
  static UntrustedFile open_at(int dir_fd, const std::string& name, std::uint64_t max_size,
                               const std::string& shown_dir);
  // The same for a path: its folder is opened as the operator named it
  // (symlinks in the folder's path are followed), the file itself is not.
  static UntrustedFile open(const std::filesystem::path& path, std::uint64_t max_size);

  bool ok() const noexcept { return refusal_ == FileRefusal::none; }
  FileRefusal refusal() const noexcept { return refusal_; }
  // What went wrong, naming the file: "'b/manifest.json' is a FIFO".
  const std::string& error() const noexcept { return error_; }
  // The size fstat reported at open (also when refused as too_large).
  std::uint64_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_.get(); }
  const std::string& shown() const noexcept { return shown_; }
  // Hands the open descriptor to the caller, who closes it.
  int release() noexcept { return fd_.release(); }

  // Streams the content from the start of the file to `sink` (which returns
  // false to stop with an error of its own). At most the cap is read: a file
  // that grew past it since the open is refused as too_large. `total` gets
  // the bytes read. Reads go through io(), the tests' fault seam.
  bool stream(const std::function<bool(const char* data, std::size_t n)>& sink,
              std::uint64_t* total);
  // The whole content (at most the cap).
  bool read_all(std::string* out);
  // SHA-256 (lower-case hex) and length of the content.
  bool sha256(std::string* hex, std::uint64_t* total);

 private:
  void refuse(FileRefusal why, std::string text);

  UniqueFd fd_;
  std::string shown_;
  std::uint64_t max_size_ = 0;
  std::uint64_t size_ = 0;
  FileRefusal refusal_ = FileRefusal::none;
  std::string error_;
};

// Opens a folder to read files in with UntrustedFile::open_at. The folder's
// own path may hold symlinks (the operator named it); with `no_follow`, the
// last component must not be one (an inbox entry, a store). False with
// `error` naming the cause.
bool open_folder(const std::filesystem::path& dir, bool no_follow, UniqueFd* out,
                 std::string* error, FileRefusal* why = nullptr);

// "a FIFO", "a symlink", "a character device", ... for an lstat mode.
std::string file_kind(unsigned mode);

}  // namespace graft::detail

#pragma GCC visibility pop
