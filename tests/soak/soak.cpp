// The soak: 4 caller threads against 3 slots while a driver does random
// installs, rollbacks, commits, quiesce swaps, refused bundles, faulty patches
// and control requests. It checks invariants throughout and at the end, and
// prints its counts. Not in the default test run; CI runs it for ~90 s.
//
//   graft_soak [--seconds N] [--seed S]
#include "blocker.h"
#include "bundle_maker.hpp"
#include "counter.h"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/control_client.hpp>
#include <graft/control_plane.hpp>
#include <graft/installer.hpp>
#include <graft/runtime.hpp>

#include <spdlog/sinks/null_sink.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace graft;
using graft::testing::component_file;
using graft::testing::fixture_file;

long resident_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Counts {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> faulty_errors{0};  // GRAFT_E_FAILED from the faulty greeter 1.2.0
  std::atomic<std::uint64_t> violations{0};
  std::atomic<std::uint64_t> adds_ok{0};
  std::map<std::string, std::atomic<std::uint64_t>> actions_ok, actions_refused;
};

void violation(Counts& c, const std::string& what) {
  if (c.violations.fetch_add(1) < 20) std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

// A client that sends garbage and hangs up, then a real status request.
void poke_control(const fs::path& socket, std::mt19937& rng, Counts& c) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char junk[64];
    for (auto& b : junk)
      b = static_cast<char>(rng());
    (void)!::write(fd, junk, rng() % sizeof junk);
  }
  if (fd >= 0) ::close(fd);
  control::Request r;
  r.command = control::Command::status;
  const auto res = control::call_host(socket, r, std::chrono::milliseconds(3000));
  if (res.failure != control::CallFailure::none || !res.reply || !res.reply->ok) {
    violation(c, "status request over the control socket failed: " + res.detail);
  } else {
    ++c.actions_ok["control status"];
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 90;
  unsigned seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<unsigned>(std::atol(argv[i + 1]));
  }
  std::printf("soak: %.0f s, seed %u\n", seconds, seed);
  graft::testing::TempDir dir;
  fs::create_directories(dir / "run");
  const auto key = graft::testing::make_key(dir / "keys");

  RuntimeOptions options;
  options.state_dir = dir / "state";
  options.logger =
      std::make_shared<spdlog::logger>("soak", std::make_shared<spdlog::sinks::null_sink_mt>());
  options.drain_deadline = std::chrono::milliseconds(500);
  options.probation = std::chrono::milliseconds(150);
  options.probation_error_limit = 3;
  options.housekeeping_interval = std::chrono::milliseconds(5);
  auto rt = Runtime::open(options);
  auto& greeter = rt->slot<greeter_v1>("greeter");
  auto& counter = rt->slot<counter_v1>("counter");
  auto& blocker = rt->slot<blocker_v1>("blocker");
  Installer installer(*rt, InstallerOptions{{key.public_file}});
  ControlOptions copts;
  copts.host_name = "soak";
  copts.run_dir = dir / "run";
  ControlPlane plane(*rt, installer, copts);

  if (!greeter.load(component_file("greeter-1.0.0.so")) ||
      !counter.load(component_file("counter-1.0.0.so")) ||
      !blocker.load(component_file("blocker-1.0.0.so"))) {
    std::fprintf(stderr, "soak: initial load failed\n");
    return 1;
  }
  using graft::testing::BundleSpec;
  const fs::path good = dir / "bundles/greeter-1.1.0";
  const fs::path forged = dir / "bundles/forged";
  graft::testing::write_test_bundle(
      good, BundleSpec{.so = component_file("greeter-1.1.0.so"), .version = Version(1, 1, 0)}, key);
  graft::testing::write_test_bundle(
      forged, BundleSpec{.so = component_file("greeter-1.1.0.so"), .version = Version(1, 1, 0)},
      key);
  {
    // Tamper after signing: the manifest now claims another size, so its
    // signature no longer verifies.
    std::string m = graft::testing::read_file(forged / "manifest.json");
    m.replace(m.find("\"size\": "), 8, "\"size\": 1");
    graft::testing::write_file(forged / "manifest.json", m);
  }

  Counts c;
  std::atomic<bool> stop{false};
  const int mapped_at_start = graft::testing::mapped_object_count();
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      std::mt19937 rng(seed + t);
      int64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        ++i;
        c.calls.fetch_add(1, std::memory_order_relaxed);
        switch (rng() % 3) {
          case 0: {
            int64_t out = 0;
            const graft_status s = greeter.call(&greeter_v1::tag, i, &out);
            if (s == GRAFT_E_FAILED) {
              c.faulty_errors.fetch_add(1, std::memory_order_relaxed);
            } else if (s != GRAFT_OK) {
              violation(c, "greeter call returned " + std::to_string(s));
            } else if (out - i != 1000 && out - i != 2000) {
              violation(c,
                        "greeter answered " + std::to_string(out - i) + ", not a served version");
            }
            break;
          }
          case 1: {
            const graft_status s = counter.call(&counter_v1::add, int64_t{1}, nullptr);
            if (s == GRAFT_OK) {
              c.adds_ok.fetch_add(1, std::memory_order_relaxed);
            } else {
              violation(c, "counter add returned " + std::to_string(s));
            }
            break;
          }
          default: {
            int32_t gen = 0;
            const graft_status s = blocker.call(&blocker_v1::generation, &gen);
            if (s != GRAFT_OK || (gen != 1 && gen != 2)) {
              violation(c, "blocker answered status " + std::to_string(s) + " generation " +
                               std::to_string(gen));
            }
          }
        }
      }
    });
  }

  long rss_warm = -1;
  std::mt19937 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  auto note = [&](const char* action, const Status& s, bool refusal_expected = false) {
    if (s) {
      ++c.actions_ok[action];
    } else {
      ++c.actions_refused[action];
      // no_previous is checked where rollbacks are made; a state import
      // never fails here (counter 2.0.0 reads every schema it meets).
      if (!refusal_expected && s.code() != ErrorCode::not_newer &&
          s.code() != ErrorCode::wrong_base && s.code() != ErrorCode::downgrade) {
        violation(c, std::string(action) + ": unexpected refusal: " + s.message());
      }
    }
  };
  for (;;) {
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (t >= seconds) break;
    if (rss_warm < 0 && t >= seconds * 0.2) rss_warm = resident_kib();
    SwapOptions any;
    any.allow_older = true;
    SwapOptions quiesce = any;
    quiesce.mode = SwapMode::quiesce;
    switch (rng() % 10) {
      case 0:
        note("install greeter bundle", installer.install(good));
        break;
      case 1: {
        const Status s = installer.rollback("greeter");
        // Refused for want of a previous version only when there is none.
        const bool none =
            s.code() == ErrorCode::no_previous && greeter.status().previous_version.empty();
        note("rollback greeter", s, none);
        break;
      }
      case 2:
        note("commit greeter", installer.commit("greeter"));
        break;
      case 3: {
        const Status s = installer.install(forged);
        note("forged bundle refused", Status(), true);
        if (s || s.code() != ErrorCode::bad_signature)
          violation(c, "forged bundle: " + s.message());
        break;
      }
      case 4:
        note("quiesce swap counter", counter.swap(component_file("counter-2.0.0.so"), quiesce));
        break;
      case 5:
        note(
            "swap blocker",
            blocker.swap(component_file(rng() % 2 ? "blocker-1.0.0.so" : "blocker-2.0.0.so"), any));
        break;
      case 6:
        // Only in the second half: afterwards 1.2.0 is the highest version
        // ever installed and the 1.1.0 bundle is refused as a downgrade.
        if (t < seconds / 2) break;
        note("faulty greeter patch", greeter.swap(fixture_file("faulty", "greeter-1.2.0.so"), any));
        break;
      case 7:
        poke_control(plane.socket_path(), rng, c);
        break;
      case 8:
        note(
            "swap greeter",
            greeter.swap(component_file(rng() % 2 ? "greeter-1.0.0.so" : "greeter-1.1.0.so"), any));
        break;
      default:
        note("commit counter", counter.commit());
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + rng() % 10));
  }
  stop = true;
  for (auto& th : callers)
    th.join();

  // Let probation end and drains finish, then check what is left.
  for (SlotCore* s : {static_cast<SlotCore*>(&greeter), static_cast<SlotCore*>(&counter),
                      static_cast<SlotCore*>(&blocker)}) {
    (void)s->commit("soak");
  }
  graft::testing::eventually([&] {
    for (const auto& st : rt->status()) {
      if (st.versions.size() != 1) return false;
    }
    return true;
  });
  int64_t total = 0;
  if (counter.call(&counter_v1::get, &total) != GRAFT_OK) violation(c, "final counter read failed");
  if (total != static_cast<int64_t>(c.adds_ok.load())) {
    violation(c, "counter lost increments: total " + std::to_string(total) + ", successful adds " +
                     std::to_string(c.adds_ok.load()));
  }
  for (const auto& st : rt->status()) {
    if (st.versions.size() != 1 || st.in_flight != 0 || !st.stayed_mapped.empty()) {
      violation(c, st.component + " did not settle: " + std::to_string(st.versions.size()) +
                       " versions loaded, " + std::to_string(st.in_flight) + " in flight");
    }
  }
  const int mapped_at_end = graft::testing::mapped_object_count();
  if (mapped_at_end != mapped_at_start) {
    violation(c, "mapped objects " + std::to_string(mapped_at_start) + " at start, " +
                     std::to_string(mapped_at_end) + " at end");
  }
  // The store holds exactly the versions the installed state keeps.
  std::set<std::string> known;
  for (const auto& [name, rec] : installer.state().components) {
    for (const auto& [v, sha] : rec.hashes)
      known.insert(sha);
  }
  int stored = 0;
  for (const auto& e : fs::directory_iterator(dir / "state/store")) {
    ++stored;
    if (!known.count(e.path().stem().string()))
      violation(c, "stray store file " + e.path().string());
  }
  for (const std::string& sha : known) {
    if (!fs::exists(dir / "state/store" / (sha + ".so")))
      violation(c, "recorded version without its store file " + sha);
  }
  const long rss_end = resident_kib();

  std::printf("calls: %llu (faulty-patch errors %llu), counter adds %llu = total %lld\n",
              static_cast<unsigned long long>(c.calls.load()),
              static_cast<unsigned long long>(c.faulty_errors.load()),
              static_cast<unsigned long long>(c.adds_ok.load()), static_cast<long long>(total));
  std::printf("%-26s %8s %8s\n", "action", "ok", "refused");
  std::set<std::string> names;
  for (const auto& [k, v] : c.actions_ok)
    names.insert(k);
  for (const auto& [k, v] : c.actions_refused)
    names.insert(k);
  for (const auto& n : names) {
    std::printf("%-26s %8llu %8llu\n", n.c_str(),
                static_cast<unsigned long long>(c.actions_ok[n].load()),
                static_cast<unsigned long long>(c.actions_refused[n].load()));
  }
  std::printf(
      "mapped objects: %d at start, %d at end; store files: %d (exactly the recorded versions)\n",
      mapped_at_start, mapped_at_end, stored);
  std::printf("resident memory: %ld KiB after warm-up, %ld KiB at end\n", rss_warm, rss_end);
  if (rss_warm > 0 && rss_end - rss_warm > 16 * 1024) {
    violation(c, "resident memory grew by " + std::to_string(rss_end - rss_warm) + " KiB");
  }
  std::printf("violations: %llu\n", static_cast<unsigned long long>(c.violations.load()));
  return c.violations.load() == 0 ? 0 : 1;
}
