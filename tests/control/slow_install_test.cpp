// A rollback or commit is not stuck behind a slow install, through the real
// graftctl against an in-process host: of another component, and of the
// same component. The install is held in its slow half (the store copy's
// fsync, through the file seam in runtime/src/file_io.hpp) until the test
// lets it go; the order of events is asserted, never a duration.
#include "child_process.hpp"
#include "file_io.hpp"
#include "test_support.hpp"

#include "counter.h"
#include "greeter.h"

#include <graft/control_plane.hpp>
#include <graft/installer.hpp>
#include <graft/runtime.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace graft::testing {
namespace {

using nlohmann::json;

// The fsync of a store copy being written (<store>/.incoming.XXXXXX) waits
// until released while armed; every other file operation is the real one.
struct StoreCopyGate {
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;
  bool entered = false;
  bool released = false;
};
StoreCopyGate g_gate;

bool is_store_copy(int fd) {
  char link[4096];
  const ssize_t n =
      ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
  if (n <= 0) return false;
  return std::string(link, static_cast<std::size_t>(n)).find("/store/.incoming.") !=
         std::string::npos;
}

int held_fsync(int fd) {
  if (is_store_copy(fd)) {
    std::unique_lock lock(g_gate.mu);
    if (g_gate.armed) {
      g_gate.entered = true;
      g_gate.cv.notify_all();
      // Bounded: a test that fails never leaves the host's thread parked.
      g_gate.cv.wait_for(lock, std::chrono::seconds(120), [] { return g_gate.released; });
    }
  }
  return ::fsync(fd);
}

const detail::FileOps kHeldOps = {
    [](int fd, void* buf, std::size_t n) { return ::read(fd, buf, n); },
    [](int fd, const void* buf, std::size_t n) { return ::write(fd, buf, n); },
    held_fsync,
    [](const char* from, const char* to) { return std::rename(from, to); },
};

RunResult graftctl(const fs::path& run_dir, std::vector<std::string> args) {
  args.insert(args.begin(), GRAFTCTL_PATH);
  return run_program(std::move(args), {"GRAFT_RUN_DIR=" + run_dir.string()});
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

class SlowInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "keys");
    const RunResult keygen =
        run_program({GRAFTCTL_PATH, "keygen", "--out", (dir_ / "keys").string()});
    ASSERT_EQ(keygen.code, 0) << describe(keygen);
    for (const auto& e : fs::directory_iterator(dir_ / "keys")) {
      (e.path().filename().string().find("pub") != std::string::npos ? public_key_ : secret_key_) =
          e.path();
    }
    RuntimeOptions o = test_options(dir_ / "state", log_.logger);
    // Long enough that every install below stays in probation: a rollback
    // goes back to the version kept loaded.
    o.probation = std::chrono::minutes(10);
    runtime_ = Runtime::open(o);
    ASSERT_TRUE(
        runtime_->slot<greeter_v1>("greeter").load(component_file("greeter-1.0.0.so")).ok());
    ASSERT_TRUE(
        runtime_->slot<counter_v1>("counter").load(component_file("counter-1.0.0.so")).ok());
    installer_ = std::make_unique<Installer>(*runtime_, InstallerOptions{{public_key_}});
    ControlOptions co;
    co.host_name = "slow";
    co.run_dir = run_dir_;
    plane_ = std::make_unique<ControlPlane>(*runtime_, *installer_, co);
    // Both components in probation on a patch, their previous version kept.
    install_now(bundle("greeter-1.1.0.so", "1.1.0", "1.0.0"));
    install_now(bundle("counter-1.0.1.so", "1.0.1", "1.0.0"));
  }

  void TearDown() override {
    release();
    if (install_thread_.joinable()) install_thread_.join();
    detail::set_file_ops_for_testing(nullptr);
    plane_.reset();
    installer_.reset();
    runtime_.reset();
  }

  fs::path bundle(const std::string& so, const std::string& version,
                  const std::string& applies_to) {
    const fs::path out = dir_ / (so + "-bundle");
    const RunResult r = run_program({GRAFTCTL_PATH, "bundle", "--key", secret_key_.string(), "--so",
                                     component_file(so).string(), "--version", version,
                                     "--applies-to", applies_to, "--out", out.string()});
    EXPECT_EQ(r.code, 0) << describe(r);
    return out;
  }

  void install_now(const fs::path& b) {
    const RunResult r = graftctl(run_dir_, {"install", b.string()});
    ASSERT_EQ(r.code, 0) << describe(r);
  }

  // `graftctl install` of counter 2.0.0 on its own thread, held in the
  // host's store copy until release(); returns once the host is there.
  void start_held_install() {
    const fs::path b = bundle("counter-2.0.0.so", "2.0.0", "1.0.1");
    {
      std::lock_guard lock(g_gate.mu);
      g_gate.armed = true;
      g_gate.entered = false;
      g_gate.released = false;
    }
    detail::set_file_ops_for_testing(&kHeldOps);
    install_thread_ = std::thread([this, b] {
      RunResult r = graftctl(run_dir_, {"install", b.string(), "--json"});
      std::lock_guard lock(mu_);
      install_result_ = std::move(r);
      install_done_ = true;
    });
    std::unique_lock lock(g_gate.mu);
    ASSERT_TRUE(g_gate.cv.wait_for(lock, std::chrono::seconds(60), [] { return g_gate.entered; }))
        << "the install never reached the store copy";
  }

  bool install_done() {
    std::lock_guard lock(mu_);
    return install_done_;
  }

  void release() {
    {
      std::lock_guard lock(g_gate.mu);
      g_gate.released = true;
      g_gate.armed = false;
    }
    g_gate.cv.notify_all();
  }

  RunResult finish_install() {
    release();
    if (install_thread_.joinable()) install_thread_.join();
    std::lock_guard lock(mu_);
    return install_result_;
  }

  std::string serving(const std::string& component) {
    const auto v = runtime_->find(component)->serving_version();
    return v ? v->to_string() : "";
  }

  TempDir dir_;
  fs::path run_dir_ = dir_ / "run";
  fs::path public_key_, secret_key_;
  LogCapture log_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Installer> installer_;
  std::unique_ptr<ControlPlane> plane_;
  std::thread install_thread_;
  std::mutex mu_;
  bool install_done_ = false;
  RunResult install_result_;
};

// While counter 2.0.0 is being copied into the store: a rollback of the
// greeter and a commit of the counter itself are answered, and the install
// then completes on top of the committed version.
TEST_F(SlowInstall, RollbackOfAnotherComponentAndCommitOfTheSameAnswerWhileTheInstallIsHeld) {
  start_held_install();

  const RunResult rollback = graftctl(run_dir_, {"rollback", "greeter", "--timeout", "20000"});
  EXPECT_EQ(rollback.code, 0) << describe(rollback);
  EXPECT_FALSE(install_done()) << "the install finished before the rollback was answered";
  EXPECT_EQ(serving("greeter"), "1.0.0");

  const RunResult commit = graftctl(run_dir_, {"commit", "counter", "--timeout", "20000"});
  EXPECT_EQ(commit.code, 0) << describe(commit);
  EXPECT_FALSE(install_done()) << "the install finished before the commit was answered";
  EXPECT_EQ(serving("counter"), "1.0.1");

  const RunResult install = finish_install();
  EXPECT_EQ(install.code, 0) << describe(install);
  EXPECT_EQ(serving("counter"), "2.0.0");
  EXPECT_EQ(installer_->state().components.at("counter").previous->to_string(), "1.0.1");
}

// A rollback of the component being installed is answered at once and
// goes back from what serves (1.0.1 -> 1.0.0). The install's switch, after
// it, checks the version policy again: 2.0.0 applies to 1.0.1, which no
// longer serves, so it is refused (wrong_base, on record) instead of
// landing on a base it was not built for.
TEST_F(SlowInstall, RollbackOfTheSameComponentIsAnsweredAndTheInstallIsRecheckedAfterIt) {
  start_held_install();

  const RunResult rollback = graftctl(run_dir_, {"rollback", "counter", "--timeout", "20000"});
  EXPECT_EQ(rollback.code, 0) << describe(rollback);
  EXPECT_FALSE(install_done()) << "the install finished before the rollback was answered";
  EXPECT_EQ(serving("counter"), "1.0.0");

  const RunResult install = finish_install();
  EXPECT_EQ(install.code, 1) << describe(install);
  const json answer = json::parse(install.out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << install.out;
  ASSERT_TRUE(answer.contains("results") && answer["results"].is_array() &&
              !answer["results"].empty())
      << install.out;
  const json first = answer["results"][0];
  EXPECT_EQ(first.value("error", json::object()).value("code", ""), "wrong_base") << install.out;
  EXPECT_EQ(serving("counter"), "1.0.0");
  std::size_t refused = 0;
  std::istringstream journal(read_file(dir_ / "state" / "journal.jsonl"));
  for (std::string line; std::getline(journal, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "refused" && j.value("code", "") == "wrong_base" &&
        j.value("version", "") == "2.0.0") {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 1u);
}

}  // namespace
}  // namespace graft::testing
