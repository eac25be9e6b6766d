// Fails the runtime's file operations on purpose, through the one seam the
// store and the state writer use (runtime/src/file_io.hpp): every call of one
// kind, or only its n-th call, with a chosen errno.
#pragma once

#include "file_io.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace graft::testing {

enum class FileOp { read, write, fsync, rename };

struct FileFault {
  FileOp op;
  int err;
};

// One fault of each kind the disk can return, for INSTANTIATE_TEST_SUITE_P.
inline auto each_file_fault() {
  return ::testing::Values(FileFault{FileOp::read, EIO}, FileFault{FileOp::write, ENOSPC},
                           FileFault{FileOp::write, EIO}, FileFault{FileOp::fsync, EIO},
                           FileFault{FileOp::fsync, ENOSPC}, FileFault{FileOp::rename, EIO});
}

inline std::string file_fault_name(const ::testing::TestParamInfo<FileFault>& info) {
  static const char* const kOps[] = {"read", "write", "fsync", "rename"};
  return std::string(kOps[static_cast<int>(info.param.op)]) + "_" +
         (info.param.err == EIO ? "EIO" : "ENOSPC");
}

namespace file_fault_detail {
inline FileFault g_fault{FileOp::read, 0};
inline int g_countdown = 0;  // 0: every call fails; n: only the n-th
inline bool g_armed = false;
inline bool g_fired = false;

inline bool should_fail(FileOp op) {
  if (!g_armed || g_fault.op != op) return false;
  if (g_countdown > 0 && (g_fired || --g_countdown > 0)) return false;
  g_fired = true;
  errno = g_fault.err;
  return true;
}

inline const detail::FileOps kOps = {
    [](int fd, void* buf, std::size_t n) -> ssize_t {
      return should_fail(FileOp::read) ? -1 : ::read(fd, buf, n);
    },
    [](int fd, const void* buf, std::size_t n) -> ssize_t {
      return should_fail(FileOp::write) ? -1 : ::write(fd, buf, n);
    },
    [](int fd) { return should_fail(FileOp::fsync) ? -1 : ::fsync(fd); },
    [](const char* a, const char* b) {
      return should_fail(FileOp::rename) ? -1 : std::rename(a, b);
    },
};
}  // namespace file_fault_detail

// While it lives, `fault` is injected: into every call of its kind, or with
// nth > 0 into the n-th call only.
class FileFaultScope {
 public:
  explicit FileFaultScope(FileFault fault, int nth = 0) {
    file_fault_detail::g_fault = fault;
    file_fault_detail::g_countdown = nth;
    file_fault_detail::g_fired = false;
    file_fault_detail::g_armed = true;
    detail::set_file_ops_for_testing(&file_fault_detail::kOps);
  }
  ~FileFaultScope() {
    file_fault_detail::g_armed = false;
    detail::set_file_ops_for_testing(nullptr);
  }
  FileFaultScope(const FileFaultScope&) = delete;
  FileFaultScope& operator=(const FileFaultScope&) = delete;

  // True once the fault was injected.
  static bool fired() { return file_fault_detail::g_fired; }
};

}  // namespace graft::testing
