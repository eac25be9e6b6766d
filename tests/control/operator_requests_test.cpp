// Operator commands that mean what they say, through the real graftctl and
// real hosts: a rollback only ever moves back to the recorded previous
// version; a request is applied at most once; an install of the build that
// already serves is a no-op.
#include "control_fixture.hpp"

#include <signal.h>

#include <atomic>
#include <thread>

namespace graft::testing {
namespace {

using nlohmann::json;

class OperatorRequests : public ::testing::Test {
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

  static json installed(const TestHost& h) {
    return json::parse(read_file(h.state_dir() / "installed.json"), nullptr, false);
  }

  static std::size_t count_events(const TestHost& h, const std::string& event) {
    std::size_t n = 0;
    for (const auto& line : h.journal()) {
      if (line.is_object() && line.value("event", "") == event) ++n;
    }
    return n;
  }

  TempDir dir_;
  fs::path run_dir_ = dir_ / "run";
  KeyPair keys_;
  fs::path bundle_;
};

// The second rollback has nowhere to go: it is refused (no_previous, exit 1)
// and the host keeps serving the version the first one went back to, with
// nothing journaled as a swap. Also after a commit.
void expect_rollback_does_not_toggle(TestHost& a, const fs::path& run_dir, const fs::path& bundle) {
  const RunResult install = graftctl(run_dir, {"install", bundle.string()});
  ASSERT_EQ(install.code, 0) << describe(install);
  const RunResult first = graftctl(run_dir, {"rollback", "greeter"});
  ASSERT_EQ(first.code, 0) << describe(first);
  EXPECT_NE(first.out.find("rolled back greeter 1.0.0 (was 1.1.0"), std::string::npos) << first.out;
  const RunResult second = graftctl(run_dir, {"rollback", "greeter", "--json"});
  EXPECT_EQ(second.code, 1) << describe(second);
  const json answer = json::parse(second.out, nullptr, false);
  EXPECT_EQ(answer["results"][0]["error"]["code"], "no_previous") << second.out;
  EXPECT_TRUE(eventually([&] { return a.board_version() == "1.0.0"; })) << a.board_version();
  const RunResult third = graftctl(run_dir, {"rollback", "greeter"});
  EXPECT_EQ(third.code, 1) << describe(third);
  EXPECT_EQ(a.board_version(), "1.0.0");
}

TEST_F(OperatorRequests, SecondRollbackIsRefusedAndNeverMovesForward) {
  TestHost a(dir_.path(), run_dir_, host("toggle"));
  a.start();
  expect_rollback_does_not_toggle(a, run_dir_, bundle_);
  const json state = installed(a);
  EXPECT_EQ(state["components"]["greeter"]["serving"], "1.0.0") << state.dump(2);
  EXPECT_TRUE(state["components"]["greeter"].value("previous", json()).is_null()) << state.dump(2);
  // One install swapped; nothing else did.
  EXPECT_EQ(count_events(a, "swapped"), 1u);
  EXPECT_EQ(count_events(a, "rolled_back"), 1u);
  // The refused rollbacks are on record.
  std::size_t refused_rollbacks = 0;
  for (const auto& line : a.journal()) {
    if (line.is_object() && line.value("event", "") == "refused" &&
        line.value("code", "") == "no_previous") {
      ++refused_rollbacks;
    }
  }
  EXPECT_EQ(refused_rollbacks, 2u);
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(OperatorRequests, RollbackAfterCommitGoesBackOnceThenRefuses) {
  HostOptions o = host("committed");
  o.probation_ms = 600000;
  TestHost a(dir_.path(), run_dir_, o);
  a.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  const RunResult commit = graftctl(run_dir_, {"commit", "greeter"});
  ASSERT_EQ(commit.code, 0) << describe(commit);
  const RunResult back = graftctl(run_dir_, {"rollback", "greeter"});
  ASSERT_EQ(back.code, 0) << describe(back);
  EXPECT_NE(back.out.find("rolled back greeter 1.0.0 (was 1.1.0"), std::string::npos) << back.out;
  const RunResult again = graftctl(run_dir_, {"rollback", "greeter"});
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_EQ(a.board_version(), "1.0.0");
  EXPECT_EQ(count_events(a, "swapped"), 1u);
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(OperatorRequests, RollbackAfterRestartGoesToTheRecordedPreviousOnly) {
  TestHost a(dir_.path(), run_dir_, host("restarted"));
  a.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  a.stop();
  a.start();
  EXPECT_TRUE(eventually([&] { return a.board_version() == "1.1.0"; })) << a.board_version();
  const RunResult back = graftctl(run_dir_, {"rollback", "greeter"});
  ASSERT_EQ(back.code, 0) << describe(back);
  EXPECT_NE(back.out.find("rolled back greeter 1.0.0 (was 1.1.0"), std::string::npos) << back.out;
  const RunResult again = graftctl(run_dir_, {"rollback", "greeter"});
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_EQ(a.board_version(), "1.0.0");
  EXPECT_EQ(a.stop()["failures"], 0);
}

// An install loop races a rollback loop: every rollback that succeeds went
// from 1.1.0 back to 1.0.0, never forward; the host serves only versions
// somebody asked for.
TEST_F(OperatorRequests, InstallLoopRacingRollbackLoopNeverMovesForward) {
  TestHost a(dir_.path(), run_dir_, host("race"));
  a.start();
  constexpr int kRounds = 25;
  std::vector<json> rollbacks;
  std::thread installer([&] {
    for (int i = 0; i < kRounds; ++i)
      graftctl(run_dir_, {"install", bundle_.string()});
  });
  for (int i = 0; i < kRounds; ++i) {
    const RunResult r = graftctl(run_dir_, {"rollback", "greeter", "--json"});
    rollbacks.push_back(json::parse(r.out, nullptr, false));
    EXPECT_TRUE(r.code == 0 || r.code == 1) << describe(r);
  }
  installer.join();
  int went_back = 0;
  for (const auto& r : rollbacks) {
    ASSERT_TRUE(r.contains("results")) << r.dump();
    const json& one = r["results"][0];
    if (!one["ok"].get<bool>()) {
      EXPECT_EQ(one["error"]["code"], "no_previous") << one.dump();
      continue;
    }
    ++went_back;
    EXPECT_EQ(one["result"]["from"], "1.1.0") << one.dump();
    EXPECT_EQ(one["result"]["version"], "1.0.0") << one.dump();
  }
  for (const auto& line : a.journal()) {
    if (!line.is_object() || line.value("event", "") != "rolled_back") continue;
    EXPECT_EQ(line.value("version", ""), "1.0.0") << line.dump();
    EXPECT_EQ(line.value("from", ""), "1.1.0") << line.dump();
  }
  for (const auto& line : a.journal()) {
    if (!line.is_object() || line.value("event", "") != "swapped") continue;
    EXPECT_EQ(line.value("version", ""), "1.1.0") << line.dump();
  }
  RecordProperty("rollbacks_that_went_back", went_back);
  EXPECT_EQ(a.stop()["failures"], 0);
}

// --- at most once ------------------------------------------------------------

// A request sent to a stopped host times out: graftctl cannot know whether
// it ran and says so. When the host resumes, the deadline has passed: the
// request is not started, and the refusal is on record.
TEST_F(OperatorRequests, RequestToStoppedHostIsNotAppliedAfterItsDeadline) {
  TestHost a(dir_.path(), run_dir_, host("stopped"));
  a.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  ASSERT_EQ(::kill(a.pid(), SIGSTOP), 0);
  const RunResult late = graftctl(run_dir_, {"rollback", "greeter", "--timeout", "300"});
  ASSERT_EQ(::kill(a.pid(), SIGCONT), 0);
  EXPECT_EQ(late.code, 4) << describe(late);
  EXPECT_NE(late.out.find("outcome unknown, check status"), std::string::npos) << describe(late);
  const auto expired = [&] {
    for (const auto& line : a.journal()) {
      if (line.is_object() && line.value("code", "") == "request_expired") return true;
    }
    return false;
  };
  EXPECT_TRUE(eventually(expired)) << a.log();
  EXPECT_NE(a.log().find("expired before the host could start it; not applied"), std::string::npos)
      << a.log();
  EXPECT_EQ(a.board_version(), "1.1.0");
  EXPECT_EQ(count_events(a, "rolled_back"), 0u);
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(OperatorRequests, RetriedRequestIdActsOnceAndAnswersTheFirstOutcome) {
  TestHost a(dir_.path(), run_dir_, host("retry"));
  a.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  const RunResult first = graftctl(run_dir_, {"rollback", "greeter", "--request-id", "4242"});
  ASSERT_EQ(first.code, 0) << describe(first);
  // Meanwhile the operator installs again: a retry of the rollback must not
  // roll this back.
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  const RunResult retry = graftctl(run_dir_, {"rollback", "greeter", "--request-id", "4242"});
  EXPECT_EQ(retry.code, 0) << describe(retry);
  EXPECT_EQ(retry.out, first.out);
  EXPECT_EQ(a.board_version(), "1.1.0");
  EXPECT_EQ(count_events(a, "rolled_back"), 1u);
  EXPECT_NE(a.log().find("request 4242 (rollback) seen before"), std::string::npos) << a.log();
  // The same id for another request is refused, not applied.
  const RunResult other = graftctl(run_dir_, {"commit", "greeter", "--request-id", "4242"});
  EXPECT_NE(other.code, 0) << describe(other);
  EXPECT_NE(other.out.find("was used before for a different request"), std::string::npos)
      << describe(other);
  EXPECT_EQ(a.stop()["failures"], 0);
}

// --- idempotent installs -------------------------------------------------------

TEST_F(OperatorRequests, InstallingTheBuildThatServesIsAlreadyServing) {
  TestHost a(dir_.path(), run_dir_, host("alpha"));
  TestHost b(dir_.path(), run_dir_, host("beta"));
  a.start();
  b.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string(), "--host", "alpha"}).code, 0);
  const RunResult again = graftctl(run_dir_, {"install", bundle_.string(), "--host", "alpha"});
  EXPECT_EQ(again.code, 0) << describe(again);
  EXPECT_NE(again.out.find("already serving greeter 1.1.0"), std::string::npos) << again.out;
  for (int round = 0; round < 2; ++round) {
    const RunResult all = graftctl(run_dir_, {"install", bundle_.string(), "--all"});
    EXPECT_EQ(all.code, 0) << describe(all);
  }
  EXPECT_EQ(a.board_version(), "1.1.0");
  EXPECT_EQ(b.board_version(), "1.1.0");
  EXPECT_EQ(count_events(a, "swapped"), 1u);
  EXPECT_EQ(count_events(b, "swapped"), 1u);
  EXPECT_EQ(a.stop()["failures"], 0);
  EXPECT_EQ(b.stop()["failures"], 0);
}

// --- state on every path -------------------------------------------------------

class StateCarried : public OperatorRequests {
 protected:
  HostOptions counter_host(const std::string& name) {
    HostOptions o = host(name);
    o.counter_so = "counter-1.0.0.so";
    return o;
  }
  fs::path counter_bundle() {
    return make_bundle(keys_, "counter-1.0.1.so", "1.0.1", "1.0.0", dir_ / "counter-1.0.1");
  }
  static std::string mode_of(const TestHost& h, const std::string& event) {
    std::string mode;
    for (const auto& line : h.journal()) {
      if (line.is_object() && line.value("event", "") == event &&
          line.value("component", "") == "counter") {
        mode = line.value("mode", "");
      }
    }
    return mode;
  }
};

TEST_F(StateCarried, CountersSurviveInstallAndRollbackThroughGraftctl) {
  TestHost a(dir_.path(), run_dir_, counter_host("stateful"));
  a.start();
  const RunResult install = graftctl(run_dir_, {"install", counter_bundle().string()});
  ASSERT_EQ(install.code, 0) << describe(install);
  EXPECT_NE(install.out.find("installed counter 1.0.1 (was 1.0.0; state carried)"),
            std::string::npos)
      << install.out;
  EXPECT_EQ(mode_of(a, "swapped"), "quiesce");
  const RunResult back = graftctl(run_dir_, {"rollback", "counter"});
  ASSERT_EQ(back.code, 0) << describe(back);
  EXPECT_NE(back.out.find("rolled back counter 1.0.0 (was 1.0.1; state carried)"),
            std::string::npos)
      << back.out;
  EXPECT_EQ(mode_of(a, "rolled_back"), "quiesce");
  const json report = a.stop();
  EXPECT_EQ(report["counter_resets"], 0) << report.dump();
  EXPECT_GT(report["counter_total"].get<std::int64_t>(), 0) << report.dump();
}

TEST_F(StateCarried, ModeImmediateOverridesAndTheCounterStartsOver) {
  TestHost a(dir_.path(), run_dir_, counter_host("forgetful"));
  a.start();
  const RunResult install =
      graftctl(run_dir_, {"install", counter_bundle().string(), "--mode", "immediate"});
  ASSERT_EQ(install.code, 0) << describe(install);
  EXPECT_NE(install.out.find("state not carried"), std::string::npos) << install.out;
  EXPECT_EQ(mode_of(a, "swapped"), "immediate");
  const json report = a.stop();
  EXPECT_GT(report["counter_resets"].get<std::uint64_t>(), 0u) << report.dump();
}

TEST_F(StateCarried, InboxAutoInstallAndApproveCarryState) {
  for (const bool auto_install : {true, false}) {
    SCOPED_TRACE(auto_install ? "auto-install" : "approve");
    const fs::path inbox = dir_ / (auto_install ? "inbox-auto" : "inbox-held");
    fs::create_directories(inbox);
    HostOptions o = counter_host(auto_install ? "auto" : "held");
    o.inbox = inbox;
    o.auto_install = auto_install;
    TestHost a(dir_.path(), run_dir_, o);
    a.start();
    const fs::path staged = dir_ / (auto_install ? "staged-auto" : "staged-held");
    make_bundle(keys_, "counter-1.0.1.so", "1.0.1", "1.0.0", staged);
    fs::rename(staged, inbox / "counter-1.0.1");
    if (!auto_install) {
      ASSERT_TRUE(eventually([&] {
        const auto s = read_status_board(a.board());
        return s && !s->pending.empty();
      }));
      const RunResult approve = graftctl(run_dir_, {"approve", "counter-1.0.1"});
      ASSERT_EQ(approve.code, 0) << describe(approve);
      EXPECT_NE(approve.out.find("state carried"), std::string::npos) << approve.out;
    }
    EXPECT_TRUE(eventually([&] { return a.board_version("counter") == "1.0.1"; })) << a.log();
    EXPECT_EQ(mode_of(a, "swapped"), "quiesce") << a.log();
    const json report = a.stop();
    EXPECT_EQ(report["counter_resets"], 0) << report.dump();
  }
}

}  // namespace
}  // namespace graft::testing
