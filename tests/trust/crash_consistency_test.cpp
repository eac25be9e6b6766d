// A child host installs and rolls back bundles in a loop; the parent kills it
// with SIGKILL at random moments, at least 200 times. After each kill a fresh
// host (another child, so that the parent stays free of threads and loaded
// objects between forks) must restore a valid state: installed.json parses,
// names a version that was installed, and that version answers.
#include "bundle_factory.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

namespace graft::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
// The same paths, fewer times: the sanitizer looks for memory errors, and the
// normal build's 400 kills (~9 s there, ~80 s at -O0 with ASan) prove the
// crash consistency.
constexpr int kKills = 100;
#else
constexpr int kKills = 400;
#endif
// A guard against a hang, not a target; ctest stops the test at 300 s anyway.
constexpr auto kTimeBudget = std::chrono::seconds(240);

// Counters the children bump in memory shared with the parent.
struct SharedCounters {
  std::atomic<long> operations{0};  // installs and rollbacks that succeeded
};

struct Fixture {
  fs::path state_dir;
  std::vector<fs::path> keys;
  fs::path bundle_a, bundle_b;
};

std::unique_ptr<Runtime> open_quiet(const fs::path& state_dir) {
  RuntimeOptions o;
  o.state_dir = state_dir;
  o.logger =
      std::make_shared<spdlog::logger>("crash", std::make_shared<spdlog::sinks::null_sink_mt>());
  o.probation = std::chrono::milliseconds(0);
  o.drain_deadline = std::chrono::milliseconds(2000);
  o.housekeeping_interval = std::chrono::milliseconds(5);
  return Runtime::open(o);
}

// The child host: back on what the state says (or the base on a first
// start), then forward and back for ever: (a) -> (b) -> operator rollback or
// explicit rollback bundle -> (b) again ... until it is killed.
[[noreturn]] void run_host_until_killed(const Fixture& f, SharedCounters* counters, unsigned seed) {
  auto rt = open_quiet(f.state_dir);
  auto& greeter = rt->slot<greeter_v1>("greeter");
  Installer installer(*rt, InstallerOptions{f.keys});
  (void)installer.restore();
  if (!greeter.serving_version()) (void)greeter.load(greeter_base_so());
  std::mt19937 random(seed);
  SwapOptions older;
  older.allow_older = true;
  for (;;) {
    const std::string serving =
        greeter.serving_version() ? greeter.serving_version()->to_string() : "";
    Status s;
    if (serving == "1.0.0") {
      s = installer.install(f.bundle_a);
      if (!s) s = installer.install(f.bundle_b);  // (a) is below the floor once (b) was in
    } else if (serving == "1.0.0 (a)") {
      s = installer.install(f.bundle_b);  // first install or re-apply
    } else if (random() % 2 == 0) {
      s = installer.rollback("greeter");
      if (!s) s = installer.install(f.bundle_a, older);  // nothing loaded to go back to
    } else {
      s = installer.install(f.bundle_a, older);
      if (!s) s = installer.rollback("greeter");
    }
    if (s) counters->operations.fetch_add(1);
  }
}

// The fresh host after a kill. Exit 0 when it came back on the recorded
// version and that version answers; otherwise writes why to `report`.
[[noreturn]] void restore_and_check(const Fixture& f, const fs::path& report) {
  auto fail = [&](const std::string& why) {
    write_file(report, why);
    ::_exit(1);
  };
  InstalledState recorded;
  if (Status s = InstalledState::load(f.state_dir / "installed.json", &recorded); !s) {
    fail("installed.json does not load: " + s.message());
  }
  auto rt = open_quiet(f.state_dir);
  auto& greeter = rt->slot<greeter_v1>("greeter");
  Installer installer(*rt, InstallerOptions{f.keys});
  if (Status s = installer.restore(); !s) fail("restore failed: " + s.message());
  auto it = recorded.components.find("greeter");
  if (it == recorded.components.end() || !it->second.serving) {
    if (greeter.serving_version()) fail("restored a version the state does not record");
    ::_exit(0);
  }
  const std::string want = it->second.serving->to_string();
  const std::string got = greeter.serving_version() ? greeter.serving_version()->to_string() : "";
  if (got != want) fail("recorded " + want + " but restored '" + got + "'");
  const std::map<std::string, int64_t> tags = {
      {"1.0.0", kTagBase}, {"1.0.0 (a)", kTagA}, {"1.0.0 (b)", kTagB}};
  int64_t tag = -1;
  if (greeter.call(&greeter_v1::tag, int64_t{0}, &tag) != GRAFT_OK || tag != tags.at(want)) {
    fail("restored " + want + " but it answered tag " + std::to_string(tag));
  }
  ::_exit(0);
}

// Waits for `pid`, killing it if it takes longer than `limit`.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(CrashConsistencyTest, HostKilledAtRandomMomentsAlwaysRestoresAnInstalledVersion) {
  TempDir dir;
  const TestKey key = make_key(dir / "keys");
  Fixture f;
  f.state_dir = dir / "state";
  f.keys = {key.public_file};
  f.bundle_a = dir / "greeter-1.0.0-a";
  f.bundle_b = dir / "greeter-1.0.0-b";
  write_test_bundle(f.bundle_a, {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)")},
                    key);
  write_test_bundle(f.bundle_b, {.so = trust_so("greeter-1.0.0-b.so"), .version = V("1.0.0 (b)")},
                    key);
  const std::map<std::string, std::string> known_hashes = {
      {"1.0.0", sha256_file(greeter_base_so())},
      {"1.0.0 (a)", sha256_file(trust_so("greeter-1.0.0-a.so"))},
      {"1.0.0 (b)", sha256_file(trust_so("greeter-1.0.0-b.so"))}};

  void* shared = ::mmap(nullptr, sizeof(SharedCounters), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  auto* counters = new (shared) SharedCounters();

  std::mt19937 random(std::random_device{}());
  const fs::path report = dir / "check-report.txt";
  int kills = 0, failures = 0, kills_mid_run = 0, leftover_temp_files = 0, torn_journal_tails = 0;
  std::map<std::string, int> restored_on;
  std::vector<std::string> failure_notes;
  const auto started = std::chrono::steady_clock::now();
  while (kills < kKills && std::chrono::steady_clock::now() - started < kTimeBudget) {
    const long operations_before = counters->operations.load();
    const pid_t host = ::fork();
    ASSERT_GE(host, 0);
    if (host == 0) run_host_until_killed(f, counters, static_cast<unsigned>(random()));
    // Kill after a random number of completed operations (0: during
    // start-up and restore), then a random moment into the next one; waiting
    // on progress rather than on the clock keeps the spread the same on a
    // loaded machine.
    const long wait_for_operations = static_cast<long>(random() % 4);
    const auto progress_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool stalled = false;
    while (counters->operations.load() < operations_before + wait_for_operations) {
      if (std::chrono::steady_clock::now() > progress_deadline) {
        stalled = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 8000));
    ::kill(host, SIGKILL);
    int status = 0;
    ::waitpid(host, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      ++failures;
      failure_notes.push_back("host exited by itself, status " + std::to_string(status));
      continue;
    }
    ++kills;
    if (counters->operations.load() > operations_before) ++kills_mid_run;
    if (stalled) {
      ++failures;
      failure_notes.push_back("kill " + std::to_string(kills) +
                              ": the host made no progress for 10 s before it");
    }

    // The state on disk, as the parent sees it.
    InstalledState recorded;
    const Status loaded = InstalledState::load(f.state_dir / "installed.json", &recorded);
    std::string problem;
    if (!loaded) {
      problem = "installed.json: " + loaded.message();
    } else if (auto it = recorded.components.find("greeter"); it != recorded.components.end()) {
      const ComponentRecord& r = it->second;
      if (!r.serving || !known_hashes.count(r.serving->to_string())) {
        problem = "serving version is not one that was installed";
      }
      for (const auto& [version, sha] : r.hashes) {
        auto known = known_hashes.find(version);
        if (known == known_hashes.end() || known->second != sha) {
          problem = "hash recorded for " + version + " is not that version's";
        }
      }
    }
    // Every whole line is a journal entry; the kill may have cut the last.
    const std::string journal = read_file(f.state_dir / "journal.jsonl");
    const bool torn = !journal.empty() && journal.back() != '\n';
    if (torn) ++torn_journal_tails;
    for (std::size_t at = 0, nl; (nl = journal.find('\n', at)) != std::string::npos; at = nl + 1) {
      const json line = json::parse(journal.substr(at, nl - at), nullptr, false);
      if (line.is_discarded() || !line.contains("event")) {
        problem = "journal line that is not an entry: " + journal.substr(at, nl - at);
      }
    }
    // A fresh host on the same folder.
    if (problem.empty()) {
      fs::remove(report);
      const pid_t checker = ::fork();
      ASSERT_GE(checker, 0);
      if (checker == 0) restore_and_check(f, report);
      const int st = wait_for(checker, std::chrono::seconds(20));
      if (st == -1) {
        problem = "the restarted host did not finish restoring within 20 s";
      } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        problem = fs::exists(report) ? read_file(report)
                                     : "the restarted host died, status " + std::to_string(st);
      }
    }
    if (!problem.empty()) {
      ++failures;
      if (failure_notes.size() < 10) {
        failure_notes.push_back("kill " + std::to_string(kills) + ": " + problem);
      }
      continue;
    }
    // The restarted host dropped a torn line: the journal is whole again.
    const std::string repaired = read_file(f.state_dir / "journal.jsonl");
    if (!repaired.empty() && repaired.back() != '\n') {
      ++failures;
      failure_notes.push_back("kill " + std::to_string(kills) +
                              ": the restarted host left the journal's torn line");
      continue;
    }
    InstalledState after;
    if (InstalledState::load(f.state_dir / "installed.json", &after).ok() &&
        after.components.count("greeter") && after.components["greeter"].serving) {
      ++restored_on[after.components["greeter"].serving->to_string()];
    }
  }
  for (const auto& e : fs::directory_iterator(f.state_dir)) {
    if (e.path().filename().string().rfind(".installed.json.", 0) == 0) ++leftover_temp_files;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "crash consistency: %d kills (%d after at least one install or rollback), %d failures, "
      "%ld installs/rollbacks done, %d temp files left by killed writes, %d journal lines torn "
      "by a kill (each dropped by the next host), %.1f s\n",
      kills, kills_mid_run, failures, counters->operations.load(), leftover_temp_files,
      torn_journal_tails, seconds);
  for (const auto& [version, n] : restored_on)
    std::printf("  restored on %s: %d times\n", version.c_str(), n);
  for (const auto& note : failure_notes)
    std::printf("  failure: %s\n", note.c_str());
  EXPECT_GE(kills, kKills) << "ran out of time after " << kills << " kills";
  EXPECT_EQ(failures, 0);
  EXPECT_GE(restored_on.size(), 2u) << "the kills never caught the host on different versions";
  counters->~SharedCounters();
  ::munmap(shared, sizeof(SharedCounters));
}

}  // namespace
}  // namespace graft::testing
