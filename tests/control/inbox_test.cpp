// The inbox of a real host: auto-install on and off, approval, the policy
// across a restart, a half-copied bundle, a forged bundle.
#include "control_fixture.hpp"

namespace graft::testing {
namespace {

using nlohmann::json;

class Inbox : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(run_dir_);
    fs::create_directories(inbox_);
    fs::create_directories(dir_ / "keys");
    fs::create_directories(dir_ / "staging");
    keys_ = make_keys(dir_ / "keys");
  }

  HostOptions options(bool auto_install) {
    HostOptions o;
    o.name = "inboxed";
    o.inbox = inbox_;
    o.keys = {keys_.public_key};
    o.auto_install = auto_install;
    return o;
  }

  // A bundle made outside the inbox (same file system), ready to move in.
  fs::path staged(const std::string& name) {
    return make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "staging" / name);
  }

  TempDir dir_;
  fs::path run_dir_ = dir_ / "run";
  fs::path inbox_ = dir_ / "inbox";
  KeyPair keys_;
};

TEST_F(Inbox, AutoInstallOnInstallsABundleMovedIn) {
  TestHost host(dir_.path(), run_dir_, options(true));
  host.start();
  fs::rename(staged("patch-a"), inbox_ / "patch-a");
  EXPECT_TRUE(eventually([&] { return host.board_version() == "1.1.0"; }, std::chrono::seconds(10)))
      << host.log();
  EXPECT_TRUE(eventually([&] { return fs::exists(inbox_ / "installed" / "patch-a"); }));
  EXPECT_FALSE(fs::exists(inbox_ / "patch-a"));
  const json report = host.stop();
  EXPECT_EQ(report["failures"], 0);
  EXPECT_EQ(report["version"], "1.1.0");
}

TEST_F(Inbox, AutoInstallOffHoldsTheBundleUntilApproved) {
  TestHost host(dir_.path(), run_dir_, options(false));
  host.start();
  fs::rename(staged("patch-b"), inbox_ / "patch-b");
  json pending;
  ASSERT_TRUE(eventually(
      [&] {
        pending = json::parse(graftctl(run_dir_, {"pending", "--json"}).out, nullptr, false);
        return pending["pending"].size() == 1;
      },
      std::chrono::seconds(10)))
      << pending.dump(2) << host.log();
  EXPECT_EQ(pending["pending"][0]["bundle"], "patch-b");
  EXPECT_EQ(pending["pending"][0]["version"], "1.1.0");
  const RunResult status = graftctl(run_dir_, {"status"});
  EXPECT_NE(status.out.find("patch-b"), std::string::npos) << status.out;
  // Held, never silently installed.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(host.board_version(), "1.0.0");

  const RunResult approve = graftctl(run_dir_, {"approve", "patch-b"});
  EXPECT_EQ(approve.code, 0) << describe(approve);
  EXPECT_NE(approve.out.find("installed greeter 1.1.0"), std::string::npos) << approve.out;
  EXPECT_TRUE(eventually([&] { return host.board_version() == "1.1.0"; }));
  EXPECT_TRUE(eventually([&] {
    return json::parse(graftctl(run_dir_, {"pending", "--json"}).out)["pending"].empty();
  }));
  EXPECT_TRUE(fs::exists(inbox_ / "installed" / "patch-b"));
  EXPECT_EQ(graftctl(run_dir_, {"approve", "patch-b"}).code, 3);
  EXPECT_EQ(host.stop()["failures"], 0);
}

TEST_F(Inbox, PolicyPersistsAcrossARestart) {
  TestHost host(dir_.path(), run_dir_, options(false));
  host.start();
  const RunResult set = graftctl(run_dir_, {"policy", "auto-install", "on"});
  EXPECT_EQ(set.code, 0) << describe(set);
  EXPECT_NE(set.out.find("auto-install on"), std::string::npos) << set.out;
  host.stop();
  host.start();  // started without --auto-install: the recorded choice wins
  const json shown =
      json::parse(graftctl(run_dir_, {"policy", "auto-install", "--json"}).out, nullptr, false);
  ASSERT_EQ(shown["hosts"].size(), 1u) << shown.dump(2);
  EXPECT_TRUE(shown["hosts"][0]["auto_install"].get<bool>());
  fs::rename(staged("patch-c"), inbox_ / "patch-c");
  EXPECT_TRUE(
      eventually([&] { return host.board_version() == "1.1.0"; }, std::chrono::seconds(10)));
  EXPECT_EQ(host.stop()["failures"], 0);
}

TEST_F(Inbox, AHalfCopiedBundleWaitsUntilComplete) {
  TestHost host(dir_.path(), run_dir_, options(true));
  host.start();
  const fs::path source = staged("patch-d");
  const fs::path object = bundle_object(source);
  ASSERT_FALSE(object.empty());
  const std::string bytes = read_file(object);
  // Copied in place, file by file, the shared object only half written.
  const fs::path target = inbox_ / "patch-d";
  fs::create_directories(target);
  for (const auto& e : fs::directory_iterator(source)) {
    if (e.path() != object) fs::copy_file(e.path(), target / e.path().filename());
  }
  write_file(target / object.filename(), bytes.substr(0, bytes.size() / 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(host.board_version(), "1.0.0");
  EXPECT_TRUE(fs::exists(target)) << "a half-copied bundle was moved away";
  EXPECT_FALSE(fs::exists(inbox_ / "refused" / "patch-d"));
  {
    std::ofstream rest(target / object.filename(), std::ios::binary | std::ios::app);
    rest << bytes.substr(bytes.size() / 2);
  }
  EXPECT_TRUE(eventually([&] { return host.board_version() == "1.1.0"; }, std::chrono::seconds(10)))
      << host.log();
  EXPECT_EQ(host.stop()["failures"], 0);
}

TEST_F(Inbox, AForgedBundleIsRefusedMovedAsideAndLogged) {
  TestHost host(dir_.path(), run_dir_, options(true));
  host.start();
  // Signed by a key the host does not trust.
  fs::create_directories(dir_ / "other-keys");
  const KeyPair stranger = make_keys(dir_ / "other-keys");
  make_bundle(stranger, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / "staging" / "forged");
  fs::rename(dir_ / "staging" / "forged", inbox_ / "forged");
  const fs::path reason = inbox_ / "refused" / "forged.reason";
  ASSERT_TRUE(eventually([&] { return fs::exists(reason); }, std::chrono::seconds(10)))
      << host.log();
  EXPECT_TRUE(fs::exists(inbox_ / "refused" / "forged"));
  EXPECT_FALSE(fs::exists(inbox_ / "forged"));
  EXPECT_FALSE(read_file(reason).empty());
  EXPECT_TRUE(
      eventually([&] { return host.log().find("refused bundle forged") != std::string::npos; }));
  // A tampered manifest (the signature no longer matches).
  const fs::path tampered = staged("tampered");
  std::string manifest = read_file(tampered / "manifest.json");
  const auto at = manifest.find("1.1.0");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 5, "1.1.9");
  write_file(tampered / "manifest.json", manifest);
  fs::rename(tampered, inbox_ / "tampered");
  EXPECT_TRUE(eventually([&] { return fs::exists(inbox_ / "refused" / "tampered.reason"); },
                         std::chrono::seconds(10)));
  EXPECT_EQ(host.board_version(), "1.0.0");
  EXPECT_EQ(host.stop()["failures"], 0);
}

}  // namespace
}  // namespace graft::testing
