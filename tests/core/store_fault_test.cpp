// The store takes its file operations through one seam (runtime/src/file_io.hpp);
// here each read, write, fsync and rename fails in turn (ENOSPC, EIO). Every
// swap fails cleanly and the serving version keeps serving.
#include "file_io.hpp"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace graft::testing {
namespace {

enum class Op { read, write, fsync, rename };

struct Fault {
  Op op;
  int err;
};
Fault g_fault{Op::read, 0};
bool g_armed = false;

bool hit(Op op) {
  if (g_armed && g_fault.op == op) {
    errno = g_fault.err;
    return true;
  }
  return false;
}

const detail::FileOps kFaultyOps = {
    [](int fd, void* buf, std::size_t n) -> ssize_t {
      return hit(Op::read) ? -1 : ::read(fd, buf, n);
    },
    [](int fd, const void* buf, std::size_t n) -> ssize_t {
      return hit(Op::write) ? -1 : ::write(fd, buf, n);
    },
    [](int fd) { return hit(Op::fsync) ? -1 : ::fsync(fd); },
    [](const char* a, const char* b) { return hit(Op::rename) ? -1 : std::rename(a, b); },
};

class StoreFaultTest : public ::testing::TestWithParam<Fault> {
 protected:
  void SetUp() override { detail::set_file_ops_for_testing(&kFaultyOps); }
  void TearDown() override {
    g_armed = false;
    detail::set_file_ops_for_testing(nullptr);
  }
};

TEST_P(StoreFaultTest, SwapFailsCleanlyAndTheServingVersionKeepsServing) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());

  g_fault = GetParam();
  g_armed = true;
  const Status s = slot.swap(component_file("greeter-1.1.0.so"));
  g_armed = false;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::io_error) << s.message();
  EXPECT_NE(s.message().find(std::strerror(GetParam().err)), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("greeter"), std::string::npos) << s.message();

  int64_t out = 0;
  ASSERT_EQ(slot.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_OK);
  EXPECT_EQ(out, 1001);
  EXPECT_EQ(slot.status().version, "1.0.0");
  // No half-written file is left in the store.
  for (const auto& e : fs::directory_iterator(dir / "store")) {
    EXPECT_EQ(e.path().filename().string().rfind(".incoming", 0), std::string::npos) << e.path();
  }
  // Once the disk behaves, the same swap goes through.
  const Status again = slot.swap(component_file("greeter-1.1.0.so"));
  EXPECT_TRUE(again.ok()) << again.message();
  ASSERT_EQ(slot.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_OK);
  EXPECT_EQ(out, 2001);
}

std::string fault_name(const ::testing::TestParamInfo<Fault>& info) {
  static const char* const kOps[] = {"read", "write", "fsync", "rename"};
  return std::string(kOps[static_cast<int>(info.param.op)]) + "_" +
         (info.param.err == EIO ? "EIO" : "ENOSPC");
}

INSTANTIATE_TEST_SUITE_P(EachFileOperation, StoreFaultTest,
                         ::testing::Values(Fault{Op::read, EIO}, Fault{Op::write, ENOSPC},
                                           Fault{Op::write, EIO}, Fault{Op::fsync, EIO},
                                           Fault{Op::fsync, ENOSPC}, Fault{Op::rename, EIO}),
                         fault_name);

}  // namespace
}  // namespace graft::testing
