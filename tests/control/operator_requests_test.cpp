// Operator commands that mean what they say, through the real graftctl and
// real hosts: a rollback only ever moves back to the recorded previous
// version; a request is applied at most once; an install of the build that
// already serves is a no-op.
#include "control_fixture.hpp"

#include <graft/signing_key.hpp>

#include <pwd.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <functional>
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
  // The board shows the change as soon as the request returns, with the
  // version a rollback would go back to.
  const auto board = read_status_board(a.board());
  ASSERT_TRUE(board);
  ASSERT_EQ(board->components.size(), 1u);
  EXPECT_EQ(board->components[0].version, "1.1.0");
  EXPECT_EQ(board->components[0].previous_version, "1.0.0");
  const RunResult first = graftctl(run_dir, {"rollback", "greeter"});
  ASSERT_EQ(first.code, 0) << describe(first);
  EXPECT_NE(first.out.find("rolled back greeter 1.0.0 (was 1.1.0"), std::string::npos) << first.out;
  const auto after = read_status_board(a.board());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->components[0].version, "1.0.0");
  EXPECT_EQ(after->components[0].previous_version, "");  // nothing to go back to
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
  // kill() only queues the stop: wait until the kernel reports it stopped.
  const auto stopped = [&] {
    const std::string stat = read_file("/proc/" + std::to_string(a.pid()) + "/stat");
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
  };
  ASSERT_TRUE(eventually(stopped));
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

// --- every refusal on record ---------------------------------------------------

// One bundle for each refusal code, and the paths it can take into a host:
// graftctl install, the inbox with auto-install on (installed at once) and
// off (verified and held). Each refusal leaves exactly one journal line with
// its code and one log line naming the bundle. (The in-process Installer
// API: tests/trust/install_refusal_test.cpp.)
class RefusalMatrix : public OperatorRequests {
 protected:
  struct Case {
    std::string code;
    std::function<fs::path(const fs::path& where)> make;
    bool after_upgrade = false;  // needs the host on 1.1.0 first
  };

  fs::path fresh(const fs::path& where) {
    return make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "1.0.0", where);
  }

  static void edit_manifest(const fs::path& bundle, const std::function<void(json&)>& edit) {
    json m = json::parse(read_file(bundle / "manifest.json"));
    edit(m);
    std::ofstream(bundle / "manifest.json", std::ios::trunc) << m.dump(2);
  }

  std::vector<Case> cases() {
    return {
        {"unknown_key",
         [this](const fs::path& w) {
           fs::create_directories(dir_ / "stranger");
           static KeyPair stranger;
           if (stranger.secret_key.empty()) stranger = make_keys(dir_ / "stranger");
           return make_bundle(stranger, "greeter-1.1.0.so", "1.1.0", "1.0.0", w);
         }},
        {"bad_signature",
         [this](const fs::path& w) {
           fresh(w);
           edit_manifest(w, [](json& m) { m["created"] = "2026-01-01T00:00:00Z"; });
           return w;
         }},
        {"bundle_invalid",
         [this](const fs::path& w) {
           // Signed, but not a valid manifest: the signature is checked
           // first, so only a signed manifest gets as far as the parser.
           fresh(w);
           edit_manifest(w, [](json& m) { m.erase("component"); });
           graft::SecretKey key;
           EXPECT_TRUE(graft::read_secret_key(keys_.secret_key, &key).ok());
           write_file(w / "manifest.sig",
                      graft::sign_detached(key, read_file(w / "manifest.json")) + "\n");
           return w;
         }},
        {"size_mismatch",
         [this](const fs::path& w) {
           fresh(w);
           std::ofstream(bundle_object(w), std::ios::app) << "extra bytes";
           return w;
         }},
        {"hash_mismatch",
         [this](const fs::path& w) {
           fresh(w);
           std::fstream f(bundle_object(w), std::ios::in | std::ios::out | std::ios::binary);
           f.seekp(100);
           f.put('\x5a');
           return w;
         }},
        {"expired",
         [this](const fs::path& w) {
           const RunResult r =
               run_program({GRAFTCTL_PATH, "bundle", "--key", keys_.secret_key.string(), "--so",
                            component_file("greeter-1.1.0.so").string(), "--version", "1.1.0",
                            "--applies-to", "1.0.0", "--expires", "1s", "--out", w.string()});
           EXPECT_EQ(r.code, 0) << describe(r);
           // Valid for one second: wait until a verifier sees it expired.
           EXPECT_TRUE(eventually([&] {
             const RunResult v = run_program(
                 {GRAFTCTL_PATH, "verify", w.string(), "--trust", keys_.public_key.string()});
             return v.code != 0 && (v.out + v.err).find("expired") != std::string::npos;
           }));
           return w;
         }},
        {"wrong_base",
         [this](const fs::path& w) {
           return make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "0.9.0", w);
         }},
        {"downgrade",
         [this](const fs::path& w) {
           return make_bundle(keys_, "greeter-1.0.0.so", "1.0.0", "1.0.0", w);
         },
         true},
    };
  }

  static std::size_t refused_lines(const TestHost& h, const std::string& code) {
    std::size_t n = 0;
    for (const auto& line : h.journal()) {
      if (line.is_object() && line.value("event", "") == "refused" &&
          line.value("code", "") == code) {
        ++n;
      }
    }
    return n;
  }

  static std::size_t log_lines(const TestHost& h, const std::string& text) {
    std::size_t n = 0;
    std::istringstream in(h.log());
    for (std::string line; std::getline(in, line);) {
      if (line.find(text) != std::string::npos) ++n;
    }
    return n;
  }
};

TEST_F(RefusalMatrix, EveryRefusalCodeOnEveryPathIsJournaledAndLoggedOnce) {
  std::string table;
  for (const std::string path : {"graftctl", "inbox auto-install", "inbox held"}) {
    SCOPED_TRACE(path);
    const bool inbox = path != "graftctl";
    const fs::path inbox_dir = dir_ / ("inbox-" + std::to_string(table.size()));
    HostOptions o = host("matrix-" + std::to_string(table.size()));
    if (inbox) {
      fs::create_directories(inbox_dir);
      o.inbox = inbox_dir;
      o.auto_install = path == "inbox auto-install";
    }
    TestHost h(dir_.path(), run_dir_, o);
    h.start();
    bool upgraded = false;
    for (const Case& c : cases()) {
      SCOPED_TRACE(c.code);
      if (c.after_upgrade && !upgraded) {
        ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
        upgraded = true;
      }
      const std::string name = c.code + "-" + std::to_string(table.size());
      const fs::path staged = c.make(dir_ / "staged" / name);
      const std::size_t journal_before = refused_lines(h, c.code);
      if (inbox) {
        fs::rename(staged, inbox_dir / name);
        ASSERT_TRUE(
            eventually([&] { return fs::exists(inbox_dir / "refused" / (name + ".reason")); },
                       std::chrono::seconds(15)))
            << h.log();
      } else {
        const RunResult r = graftctl(run_dir_, {"install", staged.string(), "--json"});
        EXPECT_EQ(r.code, 1) << describe(r);
        const json answer = json::parse(r.out, nullptr, false);
        EXPECT_EQ(answer["results"][0]["error"]["code"], c.code) << r.out;
      }
      EXPECT_TRUE(eventually([&] { return refused_lines(h, c.code) == journal_before + 1; }))
          << read_file(h.state_dir() / "journal.jsonl");
      EXPECT_TRUE(eventually([&] { return log_lines(h, "refused bundle " + name + ":") == 1; }))
          << h.log();
      table += path + " x " + c.code + ": journal +" +
               std::to_string(refused_lines(h, c.code) - journal_before) + ", log " +
               std::to_string(log_lines(h, "refused bundle " + name + ":")) + "\n";
    }
    EXPECT_EQ(h.board_version(), upgraded ? "1.1.0" : "1.0.0");
    EXPECT_EQ(h.stop()["failures"], 0);
  }
  std::printf("%s", table.c_str());
}

// --- clear words for each mistake ----------------------------------------------

TEST_F(OperatorRequests, MistakesGetTheirOwnWordsAndExitCodes) {
  const RunResult typo = graftctl(run_dir_, {"instal", bundle_.string()});
  EXPECT_EQ(typo.code, 2) << describe(typo);
  EXPECT_NE(typo.err.find("unknown command 'instal'; did you mean 'install'?"), std::string::npos)
      << describe(typo);
  const RunResult nonsense = graftctl(run_dir_, {"frobnicate"});
  EXPECT_EQ(nonsense.code, 2) << describe(nonsense);
  EXPECT_NE(nonsense.err.find("unknown command 'frobnicate'"), std::string::npos)
      << describe(nonsense);

  const RunResult pub =
      run_program({GRAFTCTL_PATH, "bundle", "--key", keys_.public_key.string(), "--so",
                   component_file("greeter-1.1.0.so").string(), "--version", "1.1.0",
                   "--applies-to", "1.0.0", "--out", (dir_ / "never").string()});
  EXPECT_EQ(pub.code, 2) << describe(pub);
  EXPECT_NE(pub.err.find("is a public key; --key wants the secret key file"), std::string::npos)
      << describe(pub);
  EXPECT_EQ(pub.err.find("chmod"), std::string::npos) << describe(pub);

  const RunResult none = graftctl(run_dir_, {"rollback", "greeter"});
  EXPECT_EQ(none.code, 3) << describe(none);
  EXPECT_NE(none.err.find("hosts of another user are not visible"), std::string::npos)
      << describe(none);

  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    ASSERT_NE(nobody, nullptr);
    // As a host leaves it: owner only.
    fs::permissions(run_dir_, fs::perms::owner_all, fs::perm_options::replace);
    const RunResult denied = run_program(
        {GRAFTCTL_PATH, "rollback", "greeter", "--run-dir", run_dir_.string()}, {}, nobody->pw_uid);
    EXPECT_EQ(denied.code, 3) << describe(denied);
    EXPECT_NE(denied.err.find("permission denied reading the run dir"), std::string::npos)
        << describe(denied);
  }
}

TEST_F(OperatorRequests, ApproveOfABundleSeveralHostsHoldNeedsHost) {
  std::vector<std::unique_ptr<TestHost>> hosts;
  for (const std::string name : {"east", "west"}) {
    const fs::path inbox = dir_ / ("inbox-" + name);
    fs::create_directories(inbox);
    HostOptions o = host(name);
    o.inbox = inbox;
    hosts.push_back(std::make_unique<TestHost>(dir_.path(), run_dir_, o));
    hosts.back()->start();
    make_bundle(keys_, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir_ / ("staged-" + name));
    fs::rename(dir_ / ("staged-" + name), inbox / "greeter-1.1.0");
  }
  for (auto& h : hosts) {
    ASSERT_TRUE(eventually([&] {
      const auto s = read_status_board(h->board());
      return s && !s->pending.empty();
    }));
  }
  const RunResult ambiguous = graftctl(run_dir_, {"approve", "greeter-1.1.0"});
  EXPECT_EQ(ambiguous.code, 2) << describe(ambiguous);
  EXPECT_NE(ambiguous.err.find("2 hosts hold a pending bundle 'greeter-1.1.0': "),
            std::string::npos)
      << describe(ambiguous);
  EXPECT_NE(ambiguous.err.find("east (pid"), std::string::npos) << ambiguous.err;
  EXPECT_NE(ambiguous.err.find("west (pid"), std::string::npos) << ambiguous.err;
  EXPECT_EQ(hosts[0]->board_version(), "1.0.0");
  EXPECT_EQ(hosts[1]->board_version(), "1.0.0");
  const RunResult one = graftctl(run_dir_, {"approve", "greeter-1.1.0", "--host", "west"});
  EXPECT_EQ(one.code, 0) << describe(one);
  EXPECT_EQ(hosts[0]->board_version(), "1.0.0");
  EXPECT_EQ(hosts[1]->board_version(), "1.1.0");
  for (auto& h : hosts)
    EXPECT_EQ(h->stop()["failures"], 0);
}

TEST_F(OperatorRequests, CommitSaysWhatItReleased) {
  HostOptions o = host("committing");
  o.probation_ms = 600000;
  TestHost a(dir_.path(), run_dir_, o);
  a.start();
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  const RunResult commit = graftctl(run_dir_, {"commit", "greeter"});
  EXPECT_EQ(commit.code, 0) << describe(commit);
  EXPECT_NE(commit.out.find("committed greeter 1.1.0 (previous version 1.0.0 released)"),
            std::string::npos)
      << commit.out;
  const RunResult again = graftctl(run_dir_, {"commit", "greeter"});
  EXPECT_EQ(again.code, 0) << describe(again);
  EXPECT_NE(again.out.find("committed greeter 1.1.0 (nothing was in probation)"), std::string::npos)
      << again.out;
  EXPECT_EQ(a.stop()["failures"], 0);
}

// The board is rewritten before a command's answer goes out: status read
// the moment graftctl returns shows the outcome, and PREVIOUS stays shown
// for as long as a rollback can go to it (after commit too).
TEST_F(OperatorRequests, StatusReadRightAfterEachCommandShowsItsOutcome) {
  HostOptions o = host("prompt");
  o.probation_ms = 600000;
  TestHost a(dir_.path(), run_dir_, o);
  a.start();
  auto greeter = [&] {
    const auto s = read_status_board(a.board());
    EXPECT_TRUE(s.has_value());
    for (const auto& c : s ? s->components : decltype(s->components){}) {
      if (c.name == "greeter") return std::pair(c.version, c.previous_version);
    }
    return std::pair(std::string(), std::string());
  };
  ASSERT_EQ(graftctl(run_dir_, {"install", bundle_.string()}).code, 0);
  EXPECT_EQ(greeter(), std::pair(std::string("1.1.0"), std::string("1.0.0")));
  ASSERT_EQ(graftctl(run_dir_, {"commit", "greeter"}).code, 0);
  EXPECT_EQ(greeter(), std::pair(std::string("1.1.0"), std::string("1.0.0")));
  const RunResult status = graftctl(run_dir_, {"status", "--json"});
  ASSERT_EQ(status.code, 0) << describe(status);
  const json j = json::parse(status.out, nullptr, false);
  EXPECT_EQ(j["hosts"][0]["components"][0]["previous_version"], "1.0.0") << status.out;
  ASSERT_EQ(graftctl(run_dir_, {"rollback", "greeter"}).code, 0);
  EXPECT_EQ(greeter(), std::pair(std::string("1.0.0"), std::string()));
  EXPECT_EQ(a.stop()["failures"], 0);
}

TEST_F(OperatorRequests, TopJsonHasCallsPerSecond) {
  TestHost a(dir_.path(), run_dir_, host("busy"));
  a.start();
  ASSERT_TRUE(eventually([&] {
    const auto s = read_status_board(a.board());
    return s && !s->components.empty() && s->components[0].calls > 0;
  }));
  const RunResult top =
      graftctl(run_dir_, {"top", "--json", "--iterations", "2", "--interval", "500"});
  ASSERT_EQ(top.code, 0) << describe(top);
  std::istringstream lines(top.out);
  std::vector<json> frames;
  for (std::string line; std::getline(lines, line);)
    frames.push_back(json::parse(line, nullptr, false));
  ASSERT_EQ(frames.size(), 2u) << top.out;
  // No rate on the first frame; the host is under load, so one on the second.
  EXPECT_TRUE(frames[0]["hosts"][0]["components"][0]["calls_per_second"].is_null()) << top.out;
  EXPECT_GT(frames[1]["hosts"][0]["components"][0]["calls_per_second"].get<double>(), 0.0)
      << top.out;
  EXPECT_EQ(a.stop()["failures"], 0);
}

}  // namespace
}  // namespace graft::testing
