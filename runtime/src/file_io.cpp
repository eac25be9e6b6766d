#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

bool write_file_atomically(const std::filesystem::path& file, const std::string& content,
                           std::string* error, unsigned mode, bool sync_folder) {
  const std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
  std::string tmpl = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (!fd) {
    *error = "cannot create a temporary file in '" + dir.string() + "': " + std::strerror(errno);
    return false;
  }
  TempFileGuard guard(tmpl);
  ::fchmod(fd.get(), mode);
  if (!write_all(fd.get(), content.data(), content.size())) {
    *error = "writing '" + tmpl + "': " + std::strerror(errno);
    return false;
  }
  if (io().fsync(fd.get()) != 0) {
    *error = "fsync of '" + tmpl + "': " + std::strerror(errno);
    return false;
  }
  fd.reset();
  if (io().rename(tmpl.c_str(), file.c_str()) != 0) {
    *error = "rename to '" + file.string() + "': " + std::strerror(errno);
    return false;
  }
  guard.release();
  if (sync_folder && !fsync_dir(dir)) {
    *error = "fsync of folder '" + dir.string() + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

bool read_whole_file(const std::filesystem::path& file, std::string* out, std::string* error) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *error = "cannot open '" + file.string() + "': " + std::strerror(errno);
    return false;
  }
  out->clear();
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = io().read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "reading '" + file.string() + "': " + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    out->append(buf, static_cast<std::size_t>(n));
  }
}

void UniqueFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

TempFileGuard::~TempFileGuard() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace graft::detail
