// One host per state directory: a second Runtime on a folder in use is
// refused with the holder named, and the first keeps serving.
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace graft::testing {
namespace {

// The Error a Runtime::open throws, or an ok Status if it opened.
Status open_error(const fs::path& dir, LogCapture& log) {
  try {
    auto rt = Runtime::open(test_options(dir, log.logger));
    return Status();
  } catch (const Error& e) {
    return e.status();
  }
}

TEST(StateDirTest, SecondRuntimeOnTheSameFolderIsRefusedAndTheFirstKeepsServing) {
  TempDir dir;
  LogCapture log;
  auto first = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = first->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());

  const Status s = open_error(dir.path(), log);
  EXPECT_EQ(s.code(), ErrorCode::state_dir_in_use);
  EXPECT_NE(s.message().find("is in use by another host (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find(dir.path().string()), std::string::npos) << s.message();

  int64_t out = -1;
  EXPECT_EQ(slot.call(&greeter_v1::tag, int64_t{0}, &out), GRAFT_OK);
  EXPECT_EQ(out, 1000);
}

TEST(StateDirTest, FolderIsFreeAgainOnceTheRuntimeIsGone) {
  TempDir dir;
  LogCapture log;
  Runtime::open(test_options(dir.path(), log.logger)).reset();
  EXPECT_TRUE(open_error(dir.path(), log).ok());
}

TEST(StateDirTest, AnotherProcessHoldingTheFolderIsNamedAndItsDeathFreesIt) {
  TempDir dir;
  LogCapture log;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto rt = Runtime::open(test_options(dir.path(), log.logger));
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    ::pause();  // until killed: a host that dies without closing anything
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);

  const Status s = open_error(dir.path(), log);
  EXPECT_EQ(s.code(), ErrorCode::state_dir_in_use);
  EXPECT_NE(s.message().find("(pid " + std::to_string(child) + ")"), std::string::npos)
      << s.message();

  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  const Status after = open_error(dir.path(), log);
  EXPECT_TRUE(after.ok()) << after.message();
}

TEST(StateDirTest, StateDirThatIsAFileIsRefusedWithTheCause) {
  TempDir dir;
  LogCapture log;
  write_file(dir / "state", "not a folder");
  const Status s = open_error(dir / "state", log);
  EXPECT_EQ(s.code(), ErrorCode::io_error);
  EXPECT_NE(s.message().find("state directory '" + (dir / "state").string() + "'"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace graft::testing
