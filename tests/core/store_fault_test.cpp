// The store takes its file operations through one seam (runtime/src/file_io.hpp);
// here each read, write, fsync and rename fails in turn (ENOSPC, EIO). Every
// swap fails cleanly and the serving version keeps serving.
#include "file_faults.hpp"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace graft::testing {
namespace {

using StoreFaultTest = ::testing::TestWithParam<FileFault>;

TEST_P(StoreFaultTest, SwapFailsCleanlyAndTheServingVersionKeepsServing) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());

  Status s;
  {
    FileFaultScope fault(GetParam());
    s = slot.swap(component_file("greeter-1.1.0.so"));
  }
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

INSTANTIATE_TEST_SUITE_P(EachFileOperation, StoreFaultTest, each_file_fault(), file_fault_name);

}  // namespace
}  // namespace graft::testing
