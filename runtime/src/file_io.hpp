// The one seam through which the store and the state writer touch files, so
// that tests can make any read, write, fsync or rename fail (ENOSPC, EIO).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>

// Exported for graft's own trust and control libraries and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

struct FileOps {
  ssize_t (*read)(int fd, void* buf, std::size_t n);
  ssize_t (*write)(int fd, const void* buf, std::size_t n);
  int (*fsync)(int fd);
  int (*rename)(const char* from, const char* to);
};

// The operations in force (the real ones unless a test replaced them).
const FileOps& io() noexcept;
// For tests: replace the operations; nullptr restores the real ones.
void set_file_ops_for_testing(const FileOps* ops) noexcept;

// write() until done; false with errno set on failure.
bool write_all(int fd, const void* data, std::size_t size);
// fsync of a directory, so that a rename in it is durable.
bool fsync_dir(const std::filesystem::path& dir);
// Replaces `file` with `content` so that a crash leaves the old content or
// the new, never a mix: temp file, fsync, rename, fsync of the folder. On
// failure returns false and, in `error`, what failed.
// With sync_folder false, the folder's fsync is left to the caller (who
// writes several files there and syncs it once).
bool write_file_atomically(const std::filesystem::path& file, const std::string& content,
                           std::string* error, unsigned mode = 0600, bool sync_folder = true);
// Reads a whole file; false (with `error`) if it cannot.
bool read_whole_file(const std::filesystem::path& file, std::string* out, std::string* error);

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept;
  // Hands the descriptor to the caller, who closes it.
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Unlinks a temporary file on scope exit unless released.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() noexcept { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace graft::detail

#pragma GCC visibility pop
