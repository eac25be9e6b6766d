// The store and the state writer take their file operations through one
// seam (runtime/src/file_io.hpp). Here the k-th read, write, fsync or rename
// of an install fails (ENOSPC or EIO), for every k until the install no
// longer reaches the failing call: each install either succeeds or fails
// cleanly with the serving version still serving, and after a restart the
// host comes back on the version the disk records (the old one after a
// failure, the new one after a success).
#include "bundle_factory.hpp"
#include "file_io.hpp"

#include <cerrno>
#include <cstring>

namespace graft::testing {
namespace {

enum class Op { read, write, fsync, rename };

struct Injection {
  Op op = Op::read;
  int err = EIO;
  int countdown = 0;  // fail the call that brings it to 0
  bool fired = false;
};
Injection g_injection;
bool g_armed = false;

bool should_fail(Op op) {
  if (!g_armed || g_injection.op != op || g_injection.fired) return false;
  if (--g_injection.countdown > 0) return false;
  g_injection.fired = true;
  errno = g_injection.err;
  return true;
}

const detail::FileOps kCountingOps = {
    [](int fd, void* buf, std::size_t n) -> ssize_t {
      return should_fail(Op::read) ? -1 : ::read(fd, buf, n);
    },
    [](int fd, const void* buf, std::size_t n) -> ssize_t {
      return should_fail(Op::write) ? -1 : ::write(fd, buf, n);
    },
    [](int fd) { return should_fail(Op::fsync) ? -1 : ::fsync(fd); },
    [](const char* a, const char* b) { return should_fail(Op::rename) ? -1 : std::rename(a, b); },
};

struct FaultCase {
  Op op;
  int err;
};

class StateFaultTest : public TrustTest, public ::testing::WithParamInterface<FaultCase> {
 protected:
  void TearDown() override {
    g_armed = false;
    detail::set_file_ops_for_testing(nullptr);
  }
};

TEST_P(StateFaultTest, EveryFailingFileOperationLeavesAServingVersionThatARestartRestores) {
  const fs::path a = bundle_a();
  int failures = 0;
  bool installed = false;
  for (int k = 1; k < 200 && !installed; ++k) {
    fs::remove_all(state_dir());
    bool reported_installed = false;
    {
      auto host = base_host();
      ASSERT_EQ(host->tag(), kTagBase);
      detail::set_file_ops_for_testing(&kCountingOps);
      g_injection = Injection{GetParam().op, GetParam().err, k, false};
      g_armed = true;
      const Status s = host->installer->install(a);
      g_armed = false;
      detail::set_file_ops_for_testing(nullptr);
      reported_installed = s.ok();
      if (s) {
        // The failing call was never reached (or did not matter): installed.
        EXPECT_EQ(host->tag(), kTagA) << "k=" << k;
        installed = !g_injection.fired;
        if (g_injection.fired) {
          EXPECT_EQ(host->serving(), "1.0.0 (a)");
        }
      } else {
        ++failures;
        EXPECT_TRUE(g_injection.fired);
        EXPECT_EQ(host->tag(), kTagBase) << "k=" << k << ": " << s.message();
        EXPECT_EQ(host->serving(), "1.0.0") << "k=" << k << ": " << s.message();
        EXPECT_FALSE(s.message().empty());
      }
    }
    // A restarted host on the same state folder comes back on a version the
    // disk records, and answers.
    auto again = start_host();
    const InstalledState st = again->installer->state();
    ASSERT_TRUE(st.components.count("greeter")) << "k=" << k;
    const std::string recorded = st.components.at("greeter").serving->to_string();
    const Status restored = again->installer->restore();
    EXPECT_TRUE(restored.ok()) << "k=" << k << ": " << restored.message();
    if (again->serving().empty()) {
      ASSERT_TRUE(again->greeter->load(greeter_base_so()).ok());
    }
    EXPECT_EQ(again->serving(), recorded) << "k=" << k;
    // An install that said yes survives the restart.
    if (reported_installed) {
      EXPECT_EQ(recorded, "1.0.0 (a)") << "k=" << k;
    }
    EXPECT_NE(again->tag(), -1) << "k=" << k;
  }
  EXPECT_TRUE(installed) << "the install never got past the injected failures";
  EXPECT_GT(failures, 0) << "no injected failure was ever hit";
  std::printf("[ fault    ] %d failing calls injected before the install went through\n", failures);
}

std::string fault_name(const ::testing::TestParamInfo<FaultCase>& info) {
  static const char* const kOps[] = {"read", "write", "fsync", "rename"};
  return std::string(kOps[static_cast<int>(info.param.op)]) + "_" +
         (info.param.err == EIO ? "EIO" : "ENOSPC");
}

INSTANTIATE_TEST_SUITE_P(EachFileOperationInTurn, StateFaultTest,
                         ::testing::Values(FaultCase{Op::read, EIO}, FaultCase{Op::write, ENOSPC},
                                           FaultCase{Op::write, EIO}, FaultCase{Op::fsync, EIO},
                                           FaultCase{Op::fsync, ENOSPC},
                                           FaultCase{Op::rename, EIO}),
                         fault_name);

}  // namespace
}  // namespace graft::testing
