// The store and the state writer take their file operations through one
// seam (runtime/src/file_io.hpp). Here the k-th read, write, fsync or rename
// of an install fails (ENOSPC or EIO), for every k until the install no
// longer reaches the failing call: each install either succeeds or fails
// cleanly with the serving version still serving, and after a restart the
// host comes back on the version the disk records (the old one after a
// failure, the new one after a success).
#include "bundle_factory.hpp"
#include "file_faults.hpp"

#include <cerrno>
#include <cstring>

namespace graft::testing {
namespace {

class StateFaultTest : public TrustTest, public ::testing::WithParamInterface<FileFault> {};

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
      Status s;
      {
        FileFaultScope fault(GetParam(), k);
        s = host->installer->install(a);
      }
      reported_installed = s.ok();
      if (s) {
        // The failing call was never reached (or did not matter): installed.
        EXPECT_EQ(host->tag(), kTagA) << "k=" << k;
        installed = !FileFaultScope::fired();
        if (FileFaultScope::fired()) {
          EXPECT_EQ(host->serving(), "1.0.0 (a)");
        }
      } else {
        ++failures;
        EXPECT_TRUE(FileFaultScope::fired());
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

INSTANTIATE_TEST_SUITE_P(EachFileOperationInTurn, StateFaultTest, each_file_fault(),
                         file_fault_name);

// The host key (host.key, which attests the objects the host stored itself)
// is made on the first start. A failing write, fsync or rename leaves no
// half-made key behind: the next start makes one and runs (a host killed
// between creating the file and writing it used to be refused on every
// start after: "is not a host key").
class HostKeyFaultTest : public TrustTest, public ::testing::WithParamInterface<FileFault> {};

TEST_P(HostKeyFaultTest, AHostKeyThatCouldNotBeWrittenIsNotLeftHalfMade) {
  fs::remove_all(state_dir());
  {
    LogCapture log;
    auto rt = Runtime::open(test_options(state_dir(), log.logger));
    FileFaultScope fault(GetParam());
    EXPECT_THROW(Installer(*rt, InstallerOptions{{key_.public_file}}), Error);
    EXPECT_TRUE(FileFaultScope::fired());
  }
  EXPECT_FALSE(fs::exists(state_dir() / "host.key"));
  std::unique_ptr<TestHost> host;
  EXPECT_NO_THROW(host = start_host());
  EXPECT_EQ(fs::file_size(state_dir() / "host.key"), 65u);  // 64 hex digits and a newline
}

INSTANTIATE_TEST_SUITE_P(WriteFsyncRename, HostKeyFaultTest,
                         ::testing::Values(FileFault{FileOp::write, ENOSPC},
                                           FileFault{FileOp::fsync, EIO},
                                           FileFault{FileOp::rename, EIO}),
                         file_fault_name);

}  // namespace
}  // namespace graft::testing
