// Hostile things dropped into a running host's inbox (no signature needed
// for any of them): FIFOs and /dev/zero in place of a bundle's files, a
// symlink planted in refused/, a manifest nested 30,000 levels deep, a
// folder name with a newline in it; and graftctl install of a FIFO bundle.
// Each is refused with what it is, the host keeps answering its control
// plane (a status and a rollback right after succeed), and a good bundle
// after it still installs.
#include "control_fixture.hpp"
#include "hostile_support.hpp"

namespace graft::testing {
namespace {

using nlohmann::json;

class HostileInbox : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(run_dir_);
    fs::create_directories(dir_ / "keys");
    fs::create_directories(dir_ / "staging");
    keys_ = make_keys(dir_ / "keys");
  }

  HostOptions options() {
    HostOptions o;
    o.name = "hostile";
    o.inbox = inbox_;
    o.keys = {keys_.public_key};
    o.auto_install = true;
    return o;
  }

  fs::path staged(const std::string& name) {
    return make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "staging" / name);
  }

  // Waits for refused/NAME.reason and returns its text.
  std::string refusal_of(TestHost& host, const std::string& name) {
    const fs::path reason = inbox_ / "refused" / (name + ".reason");
    EXPECT_TRUE(eventually([&] { return fs::exists(reason); }, std::chrono::seconds(20)))
        << "no refusal record for " << name << "\n"
        << host.log();
    return fs::exists(reason) ? read_file(reason) : "";
  }

  // The host still answers and still installs: a status request, then a
  // good bundle through the inbox, then a rollback of it.
  void expect_still_serving(TestHost& host) {
    const RunResult status = graftctl(run_dir_, {"status", "--json"});
    EXPECT_EQ(status.code, 0) << describe(status);
    fs::rename(staged("good"), inbox_ / "good");
    EXPECT_TRUE(
        eventually([&] { return host.board_version() == "1.1.0"; }, std::chrono::seconds(20)))
        << host.log();
    const RunResult back = graftctl(run_dir_, {"rollback", "greeter"});
    EXPECT_EQ(back.code, 0) << describe(back);
    EXPECT_TRUE(eventually([&] { return host.board_version() == "1.0.0"; })) << host.log();
    EXPECT_EQ(host.stop()["failures"], 0);
  }

  TempDir dir_;
  fs::path run_dir_ = dir_ / "run";
  fs::path inbox_ = dir_ / "inbox";
  fs::path state_ = dir_ / "hostile-state";
  KeyPair keys_;
};

TEST_F(HostileInbox, FifoAsManifestIsRefusedAndTheHostKeepsServing) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("fifo-manifest");
  make_fifo(b / "manifest.json");
  fs::rename(b, inbox_ / "fifo-manifest");
  {
    const std::string reason = refusal_of(host, "fifo-manifest");
    EXPECT_NE(reason.find("is a FIFO"), std::string::npos) << reason;
  }
  expect_still_serving(host);
}

TEST_F(HostileInbox, FifoAsSharedObjectIsRefusedAndTheHostKeepsServing) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("fifo-object");
  make_fifo(bundle_object(b));
  fs::rename(b, inbox_ / "fifo-object");
  {
    const std::string reason = refusal_of(host, "fifo-object");
    EXPECT_NE(reason.find("is a FIFO"), std::string::npos) << reason;
  }
  expect_still_serving(host);
}

TEST_F(HostileInbox, DevZeroAsSharedObjectIsRefusedAndTheHostKeepsServing) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("zero-object");
  const fs::path object = bundle_object(b);
  std::string expected = "is a character device";
  if (!make_zero_device(object)) {
    make_symlink(object, "/dev/zero");
    expected = "is a symlink";
  }
  fs::rename(b, inbox_ / "zero-object");
  {
    const std::string reason = refusal_of(host, "zero-object");
    EXPECT_NE(reason.find(expected), std::string::npos) << reason;
  }
  expect_still_serving(host);
}

TEST_F(HostileInbox, DevZeroAsManifestIsRefusedAndTheHostKeepsServing) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("zero-manifest");
  make_symlink(b / "manifest.json", "/dev/zero");
  fs::rename(b, inbox_ / "zero-manifest");
  {
    const std::string reason = refusal_of(host, "zero-manifest");
    EXPECT_NE(reason.find("is a symlink"), std::string::npos) << reason;
  }
  expect_still_serving(host);
}

TEST_F(HostileInbox, SymlinkPlantedInRefusedIsNeverWrittenThrough) {
  // The victim: a file only the host's user may write.
  const fs::path victim = dir_ / "victim";
  write_file(victim, "untouched\n");
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_directories(inbox_ / "refused");
  fs::create_symlink(victim, inbox_ / "refused" / "forged.reason");
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  // A forged bundle (another key) whose manifest carries a line of its own.
  fs::create_directories(dir_ / "other-keys");
  const KeyPair stranger = make_keys(dir_ / "other-keys");
  make_bundle(stranger, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "staging" / "forged");
  fs::rename(dir_ / "staging" / "forged", inbox_ / "forged");
  const std::string reason = refusal_of(host, "forged.1");
  EXPECT_NE(reason.find("unknown_key"), std::string::npos) << reason;
  EXPECT_EQ(read_file(victim), "untouched\n");
  EXPECT_TRUE(fs::is_symlink(inbox_ / "refused" / "forged.reason"));
  EXPECT_TRUE(fs::exists(inbox_ / "refused" / "forged.1"));
  expect_still_serving(host);
}

TEST_F(HostileInbox, DeeplyNestedManifestNeitherCrashesTheHostNorItsRestart) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("nested");
  // Unsigned, 60,000 levels deep (the old probe recursed once per level).
  std::string text = "{\"a\": ";
  for (int i = 0; i < 60000; ++i)
    text += "{\"a\": ";
  text += "1" + std::string(60001, '}');
  write_file(b / "manifest.json", text);
  fs::rename(b, inbox_ / "nested");
  const std::string reason = refusal_of(host, "nested");
  EXPECT_NE(reason.find("bundle_invalid"), std::string::npos) << reason;
  EXPECT_EQ(graftctl(run_dir_, {"status"}).code, 0);
  host.stop();
  // Again, left in the inbox across a restart (as after the old crash).
  fs::rename(inbox_ / "refused" / "nested", inbox_ / "nested-again");
  host.start();
  EXPECT_FALSE(refusal_of(host, "nested-again").empty());
  expect_still_serving(host);
}

TEST_F(HostileInbox, NewlineInAFolderNameCannotForgeALogLine) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const std::string forged_line = "[info] control: installed greeter 9.9.9";
  const std::string name = "evil\n" + forged_line;
  fs::create_directories(dir_ / "other-keys");
  const KeyPair stranger = make_keys(dir_ / "other-keys");
  make_bundle(stranger, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "staging" / "evil");
  fs::rename(dir_ / "staging" / "evil", inbox_ / name);
  const std::string reason = refusal_of(host, name);
  EXPECT_EQ(reason.find('\n'), reason.size() - 1) << "the record is one line: " << reason;
  EXPECT_TRUE(eventually([&] { return host.log().find("evil\\n") != std::string::npos; }))
      << host.log();
  const std::string log = host.log();
  EXPECT_EQ(log.find("\n" + forged_line), std::string::npos) << "a forged line in the log:\n"
                                                             << log;
  expect_still_serving(host);
}

TEST_F(HostileInbox, GraftctlInstallOfAFifoBundleIsRefusedAndTheHostKeepsServing) {
  TestHost host(dir_.path(), run_dir_, options());
  host.start();
  const fs::path b = staged("fifo-install");
  make_fifo(b / "manifest.json");
  const auto r = within<RunResult>(std::chrono::seconds(30),
                                   [&] {
                                     return graftctl(run_dir_, {"install", b.string()});
                                   },
                                   {b / "manifest.json"});
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->code, 0) << describe(*r);
  EXPECT_NE((r->out + r->err).find("is a FIFO"), std::string::npos) << describe(*r);
  expect_still_serving(host);
}

TEST_F(HostileInbox, InboxWritableByOthersStopsTheHostFromStarting) {
  fs::create_directories(inbox_);
  fs::permissions(inbox_, fs::perms::others_write, fs::perm_options::add);
  ChildProcess child;
  const fs::path log = dir_ / "refusing.log";
  const std::string line = child.start(
      {GRAFT_TEST_HOST_PATH, "--name", "refusing", "--state-dir", state_.string(), "--run-dir",
       run_dir_.string(), "--component", component_file("greeter-1.0.0.so").string(), "--inbox",
       inbox_.string(), "--trusted-key", keys_.public_key.string(), "--report",
       (dir_ / "report.json").string()},
      log.string());
  EXPECT_EQ(line, "") << "a host started on an inbox others can write";
  const pid_t pid = child.pid();
  // It exits (code 1) rather than aborting, and leaves no board behind.
  EXPECT_EQ(child.stop(SIGKILL), 1);
  EXPECT_FALSE(fs::exists(fs::path("/dev/shm") / HostDirectory(run_dir_).board_name(pid)));
  const std::string text = read_file(log);
  EXPECT_NE(text.find("inbox '" + inbox_.string() + "' is writable by others"), std::string::npos)
      << text;
}

TEST_F(HostileInbox, InboxOwnedByAnotherUserStopsTheHostFromStarting) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  fs::create_directories(inbox_);
  ASSERT_EQ(::chown(inbox_.c_str(), 65534, 65534), 0);
  ChildProcess child;
  const fs::path log = dir_ / "refusing.log";
  const std::string line = child.start(
      {GRAFT_TEST_HOST_PATH, "--name", "refusing", "--state-dir", state_.string(), "--run-dir",
       run_dir_.string(), "--component", component_file("greeter-1.0.0.so").string(), "--inbox",
       inbox_.string(), "--trusted-key", keys_.public_key.string(), "--report",
       (dir_ / "report.json").string()},
      log.string());
  EXPECT_EQ(line, "");
  const pid_t pid = child.pid();
  // It exits (code 1) rather than aborting, and leaves no board behind.
  EXPECT_EQ(child.stop(SIGKILL), 1);
  EXPECT_FALSE(fs::exists(fs::path("/dev/shm") / HostDirectory(run_dir_).board_name(pid)));
  EXPECT_NE(read_file(log).find("belongs to uid 65534"), std::string::npos) << read_file(log);
}

}  // namespace
}  // namespace graft::testing

namespace graft::testing {
namespace {

// With auto-install off, the pending list holds only bundles that approving
// could install: one not newer than the serving version is refused at once.
TEST_F(HostileInbox, BundleNotNewerThanTheServingVersionIsNotHeldPending) {
  HostOptions o = options();
  o.auto_install = false;
  TestHost host(dir_.path(), run_dir_, o);
  host.start();
  const fs::path same = make_bundle(keys_, "greeter-1.0.0.so", "1.0.0", "1.0.0",
                                    dir_ / "staging" / "same-as-serving");
  fs::rename(same, inbox_ / "same-as-serving");
  const std::string reason = refusal_of(host, "same-as-serving");
  EXPECT_NE(reason.find("not_newer"), std::string::npos) << reason;
  const json pending = json::parse(graftctl(run_dir_, {"pending", "--json"}).out, nullptr, false);
  EXPECT_TRUE(pending["pending"].empty()) << pending.dump(2);
  EXPECT_EQ(host.stop()["failures"], 0);
}

}  // namespace
}  // namespace graft::testing
