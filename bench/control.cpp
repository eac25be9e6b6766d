// The control plane's figures: the round trip of `graftctl status` (a whole
// graftctl process reading a host's board), a whole `graftctl install` as an
// operator runs it from the shell (process start included), on a host whose
// store holds that build already and on a fresh host (the first install,
// every file written and fsynced), beside a bare graftctl process start,
// and the time from a bundle landing in the inbox to the new version
// serving.
#include "greeter.h"

#include <graft/control_plane.hpp>
#include <graft/installer.hpp>
#include <graft/runtime.hpp>

#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path component(const std::string& name) {
  return fs::path(GRAFT_COMPONENT_DIR) / name;
}

// Runs graftctl with `args`, output discarded; returns its exit code.
int graftctl(std::vector<std::string> args, const fs::path& run_dir) {
  args.insert(args.begin(), GRAFTCTL_PATH);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string env = "GRAFT_RUN_DIR=" + run_dir.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::putenv(const_cast<char*>(env.c_str()));
    if (std::freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("graft-bench-control-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(std::random_device{}()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A key pair and a greeter 1.1.0 bundle (applies to 1.0.0) signed with it,
// made by graftctl in `s`; false (and the benchmark skipped) if either fails.
bool make_greeter_bundle(const Scratch& s, benchmark::State& state, fs::path* public_key,
                         fs::path* bundle) {
  const fs::path keys = s.dir / "keys";
  fs::create_directories(keys);
  if (graftctl({"keygen", "--out", keys.string()}, s.dir) != 0) {
    state.SkipWithError("graftctl keygen failed");
    return false;
  }
  fs::path secret_key;
  for (const auto& e : fs::directory_iterator(keys)) {
    (e.path().filename().string().find("pub") != std::string::npos ? *public_key : secret_key) =
        e.path();
  }
  *bundle = s.dir / "greeter-1.1.0";
  if (graftctl(
          {"bundle", "--key", secret_key.string(), "--so", component("greeter-1.1.0.so").string(),
           "--version", "1.1.0", "--applies-to", "1.0.0", "--out", bundle->string()},
          s.dir) != 0) {
    state.SkipWithError("graftctl bundle failed");
    return false;
  }
  return true;
}

void BM_GraftctlStatusRoundTrip(benchmark::State& state) {
  Scratch s;
  graft::RuntimeOptions ro;
  ro.state_dir = s.dir / "state";
  ro.logger = quiet();
  auto runtime = graft::Runtime::open(ro);
  auto& greeter = runtime->slot<greeter_v1>("greeter");
  if (!greeter.load(component("greeter-1.0.0.so")).ok()) {
    state.SkipWithError("cannot load greeter");
    return;
  }
  graft::Installer installer(*runtime, {});
  graft::ControlOptions co;
  co.host_name = "bench";
  co.run_dir = s.dir / "run";
  graft::ControlPlane plane(*runtime, installer, co);
  for (auto _ : state) {
    if (graftctl({"status", "--host", "bench"}, co.run_dir) != 0) {
      state.SkipWithError("graftctl status failed");
      break;
    }
  }
}
BENCHMARK(BM_GraftctlStatusRoundTrip)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(50)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// A bare graftctl process (start, dynamic linking, --version): the part of
// every command that is not the request.
void BM_GraftctlProcessStart(benchmark::State& state) {
  Scratch s;
  for (auto _ : state) {
    if (graftctl({"--version"}, s.dir) != 0) {
      state.SkipWithError("graftctl --version failed");
      break;
    }
  }
}
BENCHMARK(BM_GraftctlProcessStart)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(50)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// `graftctl install BUNDLE` on an idle host, end to end from the shell: the
// process, the request, verification, the store copy, dlopen, the swap and
// the board. A rollback between iterations (not timed) brings 1.0.0 back.
void BM_GraftctlInstallEndToEnd(benchmark::State& state) {
  Scratch s;
  fs::path public_key, bundle;
  if (!make_greeter_bundle(s, state, &public_key, &bundle)) return;
  graft::RuntimeOptions ro;
  ro.state_dir = s.dir / "state";
  ro.logger = quiet();
  ro.probation = std::chrono::milliseconds(0);
  auto runtime = graft::Runtime::open(ro);
  auto& greeter = runtime->slot<greeter_v1>("greeter");
  if (!greeter.load(component("greeter-1.0.0.so")).ok()) {
    state.SkipWithError("cannot load greeter");
    return;
  }
  graft::Installer installer(*runtime, graft::InstallerOptions{{public_key}});
  graft::ControlOptions co;
  co.host_name = "bench";
  co.run_dir = s.dir / "run";
  graft::ControlPlane plane(*runtime, installer, co);
  for (auto _ : state) {
    const auto start = Clock::now();
    if (graftctl({"install", bundle.string()}, co.run_dir) != 0) {
      state.SkipWithError("graftctl install failed");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (graftctl({"rollback", "greeter"}, co.run_dir) != 0) {
      state.SkipWithError("graftctl rollback failed");
      break;
    }
  }
}
BENCHMARK(BM_GraftctlInstallEndToEnd)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(30)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// The same on a fresh host each time (setup not timed): the store holds
// nothing of 1.1.0 yet, so the copy, its manifest and signature are
// written and fsynced, where BM_GraftctlInstallEndToEnd's later
// iterations find them stored already (the rollback in between keeps them).
void BM_GraftctlInstallEndToEndFirstTime(benchmark::State& state) {
  Scratch s;
  fs::path public_key, bundle;
  if (!make_greeter_bundle(s, state, &public_key, &bundle)) return;
  int round = 0;
  for (auto _ : state) {
    const fs::path host_dir = s.dir / ("host-" + std::to_string(round++));
    graft::RuntimeOptions ro;
    ro.state_dir = host_dir / "state";
    ro.logger = quiet();
    ro.probation = std::chrono::milliseconds(0);
    auto runtime = graft::Runtime::open(ro);
    auto& greeter = runtime->slot<greeter_v1>("greeter");
    if (!greeter.load(component("greeter-1.0.0.so")).ok()) {
      state.SkipWithError("cannot load greeter");
      return;
    }
    graft::Installer installer(*runtime, graft::InstallerOptions{{public_key}});
    graft::ControlOptions co;
    co.host_name = "bench";
    co.run_dir = host_dir / "run";
    graft::ControlPlane plane(*runtime, installer, co);
    const auto start = Clock::now();
    if (graftctl({"install", bundle.string()}, co.run_dir) != 0) {
      state.SkipWithError("graftctl install failed");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
}
BENCHMARK(BM_GraftctlInstallEndToEndFirstTime)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

void BM_InboxToServing(benchmark::State& state) {
  Scratch s;
  fs::path public_key, bundle;
  if (!make_greeter_bundle(s, state, &public_key, &bundle)) return;
  int round = 0;
  for (auto _ : state) {
    // A fresh host on 1.0.0 each time: 1.1.0 installs only once per state.
    const fs::path host_dir = s.dir / ("host-" + std::to_string(round++));
    graft::RuntimeOptions ro;
    ro.state_dir = host_dir / "state";
    ro.logger = quiet();
    ro.probation = std::chrono::milliseconds(0);
    auto runtime = graft::Runtime::open(ro);
    auto& greeter = runtime->slot<greeter_v1>("greeter");
    (void)greeter.load(component("greeter-1.0.0.so"));
    graft::Installer installer(*runtime, graft::InstallerOptions{{public_key}});
    graft::ControlOptions co;
    co.host_name = "bench";
    co.run_dir = host_dir / "run";
    co.inbox_dir = host_dir / "inbox";
    co.auto_install = true;
    graft::ControlPlane plane(*runtime, installer, co);
    const fs::path staged = host_dir / "staged";
    fs::copy(bundle, staged);

    const auto landed = Clock::now();
    fs::rename(staged, co.inbox_dir / "patch");
    const graft::Version target(1, 1, 0);
    while (greeter.serving_version() != target) {
      if (Clock::now() - landed > std::chrono::seconds(10)) {
        state.SkipWithError("the bundle was not installed within 10 s");
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - landed).count());
  }
}
BENCHMARK(BM_InboxToServing)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
