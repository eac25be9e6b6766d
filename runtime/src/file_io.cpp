#include "file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace graft::detail {
namespace {

const FileOps kRealOps = {
    [](int fd, void* buf, std::size_t n) { return ::read(fd, buf, n); },
    [](int fd, const void* buf, std::size_t n) { return ::write(fd, buf, n); },
    [](int fd) { return ::fsync(fd); },
    [](const char* from, const char* to) { return std::rename(from, to); },
};

std::atomic<const FileOps*> g_ops{&kRealOps};

}  // namespace

const FileOps& io() noexcept {
  return *g_ops.load(std::memory_order_acquire);
}

void set_file_ops_for_testing(const FileOps* ops) noexcept {
  g_ops.store(ops != nullptr ? ops : &kRealOps, std::memory_order_release);
}

bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = io().write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  return io().fsync(fd.get()) == 0;
}

void UniqueFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

TempFileGuard::~TempFileGuard() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace graft::detail
