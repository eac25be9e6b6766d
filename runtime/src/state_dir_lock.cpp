#include "state_dir_lock.hpp"

#include "owned_folder.hpp"

#include <graft/status.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace graft::detail {
namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& message) {
  throw Error(Status(code, message));
}

// The pid the holder wrote, or "" when it has not yet written one.
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid;
}

}  // namespace

StateDirLock::StateDirLock(const std::filesystem::path& dir) {
  // Another user who can write here could plant installed.json or a store
  // object that the next restart trusts: refuse before reading anything.
  if (Status s = ensure_owned_folder(dir, "state directory"); !s) throw Error(s);
  const std::filesystem::path file = dir / "lock";
  fd_ =
      UniqueFd(::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd_)
    fail(ErrorCode::io_error, "cannot open '" + file.string() + "': " + std::strerror(errno));
  // flock, not fcntl locks: those belong to the process, so a second Runtime
  // in the same process would not see the first one's.
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      const std::string pid = holder_pid(fd_.get());
      fail(ErrorCode::state_dir_in_use, "state directory '" + dir.string() +
                                            "' is in use by another host" +
                                            (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                            "; each host needs a state directory of its own");
    }
    fail(ErrorCode::io_error, "cannot lock '" + file.string() + "': " + std::strerror(errno));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) != 0 || ::pwrite(fd_.get(), pid.data(), pid.size(), 0) < 0) {
    fail(ErrorCode::io_error, "cannot write '" + file.string() + "': " + std::strerror(errno));
  }
}

}  // namespace graft::detail
