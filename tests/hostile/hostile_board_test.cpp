// Status-board names are predictable (/dev/shm/graft.<uid>.<run dir>.<pid>):
// another user who creates the name first must not stop the host from
// starting, nor have their segment read as the host's board or removed.
#include "bundle_factory.hpp"
#include "child_process.hpp"
#include "hostile_support.hpp"

#include <graft/control_plane.hpp>
#include <graft/host_directory.hpp>
#include <graft/status_board.hpp>

#include <boost/interprocess/shared_memory_object.hpp>

namespace graft::testing {
namespace {

class HostileBoard : public TrustTest {
 protected:
  void TearDown() override { boost::interprocess::shared_memory_object::remove(squatted_.c_str()); }
  std::string squatted_;
};

TEST_F(HostileBoard, SquattedBoardNameDoesNotStopTheHostAndIsNotRead) {
  if (::geteuid() != 0) GTEST_SKIP() << "making a segment of another user needs root";
  const fs::path run_dir = dir_ / "run";
  fs::create_directories(run_dir);
  fs::permissions(run_dir, fs::perms::owner_all);
  // The board name this process would use, taken first by uid 65534.
  squatted_ = HostDirectory(run_dir).board_name(::getpid());
  const fs::path squat = fs::path("/dev/shm") / squatted_;
  write_file(squat, std::string(4096, 'x'));
  ASSERT_EQ(::chown(squat.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(squat.c_str(), 0644), 0);

  auto host = base_host();
  ControlOptions o;
  o.host_name = "squatted";
  o.run_dir = run_dir;
  std::unique_ptr<ControlPlane> plane;
  ASSERT_NO_THROW(plane = std::make_unique<ControlPlane>(*host->runtime, *host->installer, o));
  EXPECT_TRUE(host->log.contains("is taken by uid 65534")) << "no warning";
  // Its board is elsewhere, found through the run directory, and readable.
  EXPECT_NE(plane->board_name(), squatted_);
  EXPECT_EQ(HostDirectory(run_dir).board_name(::getpid()), plane->board_name());
  EXPECT_TRUE(eventually([&] {
    const auto board = read_status_board(plane->board_name());
    return board && board->name == "squatted";
  }));
  // The squatter's segment is untouched, and graftctl lists the real board.
  struct stat st {};
  ASSERT_EQ(::lstat(squat.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(read_file(squat), std::string(4096, 'x'));
  const RunResult status =
      run_program({GRAFTCTL_PATH, "status", "--json"}, {"GRAFT_RUN_DIR=" + run_dir.string()});
  EXPECT_EQ(status.code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("squatted"), std::string::npos) << status.out;
  // It keeps answering its control plane: a rollback after an install.
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  control::Request rollback;
  rollback.id = 1;
  rollback.command = control::Command::rollback;
  rollback.component = "greeter";
  const std::string reply = plane->handle(rollback);
  EXPECT_NE(reply.find("\"ok\":true"), std::string::npos) << reply;
  EXPECT_EQ(host->tag(), kTagBase);
  plane.reset();
  EXPECT_FALSE(fs::exists(run_dir / ("host-" + std::to_string(::getpid()) + ".board")));
}

}  // namespace
}  // namespace graft::testing
