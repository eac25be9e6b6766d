// Two real hosts under call load, driven by the real graftctl: listing,
// installing on one and on all, rolling back, status from the boards; a
// host killed with SIGKILL; owner-only socket and board; another user.
#include "control_fixture.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <random>

namespace graft::testing {
namespace {

using nlohmann::json;

class HostControl : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(run_dir_);
    fs::create_directories(dir_ / "keys");
    keys_ = make_keys(dir_ / "keys");
    bundle_ = make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "greeter-1.1.0");
  }

  HostOptions host(const std::string& name) {
    HostOptions o;
    o.name = name;
    o.keys = {keys_.public_key};
    return o;
  }

  json run_json(std::vector<std::string> args, int expect_code = 0) {
    const RunResult r = graftctl(run_dir_, std::move(args));
    EXPECT_EQ(r.code, expect_code) << describe(r);
    return json::parse(r.out, nullptr, false);
  }

  TempDir dir_;
  fs::path run_dir_ = dir_ / "run";
  KeyPair keys_;
  fs::path bundle_;
};

TEST_F(HostControl, TwoHostsUnderLoadInstallOnOneThenAllThenRollBack) {
  TestHost a(dir_.path(), run_dir_, host("alpha"));
  TestHost b(dir_.path(), run_dir_, host("beta"));
  const pid_t pid_a = a.start();
  const pid_t pid_b = b.start();

  json hosts = run_json({"hosts", "--json"});
  ASSERT_EQ(hosts["hosts"].size(), 2u) << hosts.dump(2);
  std::set<std::string> names;
  for (const auto& h : hosts["hosts"])
    names.insert(h["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"alpha", "beta"}));

  // With two hosts, a command for one host must name it.
  const RunResult ambiguous = graftctl(run_dir_, {"install", bundle_.string()});
  EXPECT_EQ(ambiguous.code, 2) << describe(ambiguous);
  EXPECT_NE(ambiguous.err.find("2 hosts are running"), std::string::npos) << ambiguous.err;

  json one = run_json({"install", bundle_.string(), "--host", "alpha", "--json"});
  ASSERT_EQ(one["results"].size(), 1u);
  EXPECT_EQ(one["results"][0]["result"]["version"], "1.1.0") << one.dump(2);
  EXPECT_EQ(one["results"][0]["result"]["from"], "1.0.0");
  EXPECT_TRUE(eventually([&] { return a.board_version() == "1.1.0"; })) << a.board_version();
  EXPECT_EQ(b.board_version(), "1.0.0");

  // --all: beta installs; alpha already serves that build: nothing to do.
  const RunResult all = graftctl(run_dir_, {"install", bundle_.string(), "--all", "--json"});
  EXPECT_EQ(all.code, 0) << describe(all);
  json results = json::parse(all.out, nullptr, false);
  ASSERT_EQ(results["results"].size(), 2u) << all.out;
  for (const auto& r : results["results"]) {
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump(2);
    EXPECT_EQ(r["result"]["version"], "1.1.0");
    EXPECT_EQ(r["result"].value("already_serving", false), r["name"] == "alpha") << r.dump(2);
  }
  EXPECT_TRUE(eventually([&] { return b.board_version() == "1.1.0"; }));

  const RunResult rollback =
      graftctl(run_dir_, {"rollback", "greeter", "--host", std::to_string(pid_b)});
  EXPECT_EQ(rollback.code, 0) << describe(rollback);
  EXPECT_NE(rollback.out.find("rolled back greeter 1.0.0 (was 1.1.0"), std::string::npos)
      << rollback.out;
  EXPECT_TRUE(eventually([&] { return b.board_version() == "1.0.0"; }));

  // graftctl status shows what the boards say, for both hosts.
  json status = run_json({"status", "--json"});
  ASSERT_EQ(status["hosts"].size(), 2u);
  for (const auto& h : status["hosts"]) {
    const auto& greeter = h["components"][0];
    EXPECT_EQ(greeter["component"], "greeter");
    EXPECT_EQ(greeter["version"], h["name"] == "alpha" ? "1.1.0" : "1.0.0") << h.dump(2);
    EXPECT_GT(greeter["calls"].get<std::uint64_t>(), 0u);
  }
  const RunResult table = graftctl(run_dir_, {"status", "--host", "alpha"});
  EXPECT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("COMPONENT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("1.1.0"), std::string::npos) << table.out;

  json after = run_json({"hosts", "--json"});
  std::set<int> pids;
  for (const auto& h : after["hosts"])
    pids.insert(h["pid"].get<int>());
  EXPECT_EQ(pids, (std::set<int>{pid_a, pid_b}));

  for (TestHost* h : {&a, &b}) {
    const pid_t pid = h->pid();
    const json report = h->stop();
    EXPECT_EQ(report["pid"].get<int>(), pid);
    EXPECT_GT(report["calls"].get<std::uint64_t>(), 1000u) << report.dump();
    EXPECT_EQ(report["failures"].get<std::uint64_t>(), 0u) << report.dump();
  }
}

TEST_F(HostControl, CommandsAnswerWithTheirExitCodes) {
  TestHost a(dir_.path(), run_dir_, host("alpha"));
  a.start();
  EXPECT_EQ(graftctl(run_dir_, {"rollback", "nosuch"}).code, 3);
  EXPECT_EQ(graftctl(run_dir_, {"status", "--host", "nosuch"}).code, 3);
  EXPECT_EQ(graftctl(run_dir_, {"install", (dir_ / "missing").string()}).code, 3);
  EXPECT_EQ(graftctl(run_dir_, {"rollback"}).code, 2);
  EXPECT_EQ(graftctl(run_dir_, {"policy", "auto-install", "maybe"}).code, 2);
  // Nothing to roll back to yet: refused.
  const RunResult refused = graftctl(run_dir_, {"rollback", "greeter"});
  EXPECT_EQ(refused.code, 1) << describe(refused);
  for (const char* cmd : {"hosts", "status", "top", "install", "rollback", "commit", "pending",
                          "approve", "policy"}) {
    const RunResult help = graftctl(run_dir_, {cmd, "--help"});
    EXPECT_EQ(help.code, 0) << cmd;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << cmd;
  }
  const RunResult top = graftctl(run_dir_, {"top", "--iterations", "2", "--interval", "50"});
  EXPECT_EQ(top.code, 0) << describe(top);
  EXPECT_NE(top.out.find("alpha"), std::string::npos) << top.out;
  const json frame =
      json::parse(graftctl(run_dir_, {"top", "--json", "--iterations", "1"}).out, nullptr, false);
  ASSERT_EQ(frame["hosts"].size(), 1u);
  EXPECT_EQ(frame["hosts"][0]["name"], "alpha");
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(HostControl, KilledHostDisappearsAndLeavesNothingInTheWay) {
  TestHost a(dir_.path(), run_dir_, host("doomed"));
  const pid_t pid = a.start();
  const fs::path socket = a.socket();
  const std::string board = a.board();
  ASSERT_TRUE(fs::exists(socket));
  ASSERT_TRUE(fs::exists("/dev/shm/" + board));

  // Killed but not yet reaped (a zombie): already gone for graftctl.
  a.process().kill_hard();
  ASSERT_TRUE(eventually([&] { return !process_alive(pid); }));
  const RunResult hosts = graftctl(run_dir_, {"hosts", "--json"});
  EXPECT_EQ(hosts.code, 0);
  EXPECT_EQ(json::parse(hosts.out)["hosts"].size(), 0u) << hosts.out;
  EXPECT_NE(hosts.err.find("dead host pid " + std::to_string(pid)), std::string::npos) << hosts.err;
  EXPECT_FALSE(fs::exists(socket));
  EXPECT_FALSE(fs::exists("/dev/shm/" + board));
  a.process().reap();

  // Killed again, and this time a new host cleans up as it starts.
  TestHost b(dir_.path(), run_dir_, host("second"));
  b.start();
  const fs::path b_socket = b.socket();
  b.process().kill_hard();
  b.process().reap();
  TestHost c(dir_.path(), run_dir_, host("third"));
  c.start();
  EXPECT_FALSE(fs::exists(b_socket));
  const json list = json::parse(graftctl(run_dir_, {"hosts", "--json"}).out);
  ASSERT_EQ(list["hosts"].size(), 1u) << list.dump(2);
  EXPECT_EQ(list["hosts"][0]["name"], "third");
  EXPECT_EQ(c.stop()["failures"], 0);
}

TEST_F(HostControl, BoardReadersKilledAtRandomNeverBlockTheHost) {
  TestHost a(dir_.path(), run_dir_, host("watched"));
  a.start();
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 25; ++i) {
    ChildProcess top;
    std::vector<std::string> args = {GRAFTCTL_PATH, "top",       "--json",         "--interval",
                                     "10",          "--run-dir", run_dir_.string()};
    top.start(args, (dir_ / "top.log").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    top.stop(SIGKILL);
  }
  // The host still refreshes its board and answers.
  const auto first = read_status_board(a.board());
  ASSERT_TRUE(first);
  EXPECT_TRUE(eventually([&] {
    const auto now = read_status_board(a.board());
    return now && now->refreshes > first->refreshes + 2;
  }));
  EXPECT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  EXPECT_TRUE(eventually([&] { return a.board_version() == "1.1.0"; }));
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(HostControl, SocketAndBoardAreOwnerOnlyAndOtherUsersAreRefused) {
  TestHost a(dir_.path(), run_dir_, host("private"));
  a.start();
  struct stat st {};
  ASSERT_EQ(::stat(a.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(("/dev/shm/" + a.board()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(run_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  if (::geteuid() != 0) {
    a.stop();
    GTEST_SKIP() << "needs root to run a client as another user (nobody); running as uid "
                 << ::geteuid();
  }
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  // The files alone keep another user out...
  const RunResult blocked = run_program({GRAFTCTL_PATH, "rollback", "greeter", "--host",
                                         std::to_string(a.pid()), "--run-dir", run_dir_.string()},
                                        {}, nobody->pw_uid);
  EXPECT_NE(blocked.code, 0) << describe(blocked);
  // ...and with them opened up, the host refuses the peer by its credentials.
  fs::permissions(dir_.path(), fs::perms::others_exec, fs::perm_options::add);
  fs::permissions(run_dir_, fs::perms::others_exec | fs::perms::others_read, fs::perm_options::add);
  fs::permissions(a.socket(), fs::perms::all, fs::perm_options::add);
  const RunResult denied = run_program({GRAFTCTL_PATH, "rollback", "greeter", "--host",
                                        std::to_string(a.pid()), "--run-dir", run_dir_.string()},
                                       {}, nobody->pw_uid);
  EXPECT_EQ(denied.code, 1) << describe(denied);
  EXPECT_NE(denied.out.find("only the host's own user or root"), std::string::npos)
      << describe(denied);
  EXPECT_TRUE(
      eventually([&] { return a.log().find("refused a request from uid") != std::string::npos; }));
  EXPECT_EQ(a.stop()["failures"], 0);
}

}  // namespace
}  // namespace graft::testing
