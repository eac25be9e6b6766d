// What the hostile-input tests share: files that are not what they claim
// (FIFOs, device nodes, symlinks, sparse giants), a deadline for calls that
// the old code would block in, and a snapshot of a folder to show that a
// refusal changed nothing on disk but its own record.
#pragma once

#include "test_support.hpp"

#include <graft/artifact_store.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace graft::testing {

// Replaces `file` with a FIFO.
inline void make_fifo(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0) << file << ": " << std::strerror(errno);
}

// Replaces `file` with a character device node like /dev/zero (1, 5);
// false when this process may not make one (not root).
inline bool make_zero_device(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  return ::mknod(file.c_str(), S_IFCHR | 0600, makedev(1, 5)) == 0;
}

// Replaces `file` with a symlink to `target`.
inline void make_symlink(const fs::path& file, const fs::path& target) {
  std::error_code ec;
  fs::remove(file, ec);
  fs::create_symlink(target, file);
}

// Replaces `file` with a sparse file of `size` bytes (no disk used).
inline void make_sparse(const fs::path& file, off_t size) {
  std::error_code ec;
  fs::remove(file, ec);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, size), 0);
  ::close(fd);
}

// Runs `call` on a thread of its own and waits up to `limit`. When it does
// not return in time (code that blocks on a FIFO), each FIFO in `unblock`
// is opened for writing and closed, which hands a blocked reader its end of
// file, so that the test fails instead of hanging. nullopt: it blocked.
template <class T>
std::optional<T> within(std::chrono::milliseconds limit, std::function<T()> call,
                        const std::vector<fs::path>& unblock = {}) {
  std::promise<T> done;
  std::future<T> result = done.get_future();
  std::thread worker([&] { done.set_value(call()); });
  const bool in_time = result.wait_for(limit) == std::future_status::ready;
  if (!in_time) {
    for (int round = 0; round < 100 && result.wait_for(std::chrono::milliseconds(100)) !=
                                           std::future_status::ready;
         ++round) {
      for (const auto& f : unblock) {
        const int fd = ::open(f.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
      }
    }
  }
  worker.join();
  if (!in_time) return std::nullopt;
  return result.get();
}

// Every entry under `dir` with its kind, size and content hash (regular
// files), skipping the names in `except`.
inline std::map<std::string, std::string> folder_snapshot(const fs::path& dir,
                                                          const std::vector<std::string>& except) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), dir).string();
    if (std::find(except.begin(), except.end(), rel) != except.end()) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::string what = std::to_string(st.st_mode) + ":" + std::to_string(st.st_size);
    if (S_ISREG(st.st_mode)) what += ":" + sha256_file(it->path());
    out[rel] = what;
  }
  return out;
}

}  // namespace graft::testing
