// A host for the control tests: a greeter slot under call load from a few
// threads, the control plane on, and a report of the load's calls and
// failures written when it is stopped (SIGTERM).
//
//   graft_control_test_host --name N --state-dir D --run-dir R --component F
//       [--inbox I] [--trusted-key K]... [--auto-install] [--threads T]
//       [--probation-ms P] [--probation-errors E] [--deadline-ms D] [--counter F]
//       --report FILE
//
// --counter F also declares a counter slot (a stateful component), loads F
// and adds 1 to it from one thread: a total that ever goes down means a
// swap lost the counter's state (reported as counter_resets).
#include "counter.h"
#include "greeter.h"

#include <graft/control_plane.hpp>
#include <graft/installer.hpp>
#include <graft/runtime.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Args {
  std::string name = "test-host";
  std::string state_dir, run_dir, component, inbox, report, counter;
  std::vector<std::filesystem::path> keys;
  bool auto_install = false;
  int threads = 2;
  long probation_ms = 0;
  long probation_errors = -1;  // -1: the runtime's default limit
  long deadline_ms = 5000;
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (flag == "--name")
      a->name = value();
    else if (flag == "--state-dir")
      a->state_dir = value();
    else if (flag == "--run-dir")
      a->run_dir = value();
    else if (flag == "--component")
      a->component = value();
    else if (flag == "--inbox")
      a->inbox = value();
    else if (flag == "--report")
      a->report = value();
    else if (flag == "--trusted-key")
      a->keys.emplace_back(value());
    else if (flag == "--auto-install")
      a->auto_install = true;
    else if (flag == "--threads")
      a->threads = std::stoi(value());
    else if (flag == "--probation-ms")
      a->probation_ms = std::stol(value());
    else if (flag == "--probation-errors")
      a->probation_errors = std::stol(value());
    else if (flag == "--deadline-ms")
      a->deadline_ms = std::stol(value());
    else if (flag == "--counter")
      a->counter = value();
    else
      return false;
  }
  return !a->state_dir.empty() && !a->component.empty() && !a->report.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, &args)) {
    std::fprintf(stderr, "usage: see the comment at the top of test_host.cpp\n");
    return 2;
  }
  // Signals are taken by sigwait on the main thread; every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto logger = std::make_shared<spdlog::logger>(args.name,
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(spdlog::level::info);
  graft::RuntimeOptions ro;
  ro.state_dir = args.state_dir;
  ro.logger = logger;
  ro.probation = std::chrono::milliseconds(args.probation_ms);
  if (args.probation_errors >= 0) {
    ro.probation_error_limit = static_cast<std::uint64_t>(args.probation_errors);
  }
  auto runtime = graft::Runtime::open(ro);
  auto& greeter = runtime->slot<greeter_v1>("greeter");
  graft::Slot<counter_v1>* counter = nullptr;
  if (!args.counter.empty()) counter = &runtime->slot<counter_v1>("counter");
  graft::Installer installer(*runtime, graft::InstallerOptions{args.keys});
  if (auto st = installer.restore(); !st.ok()) {
    logger->error("restore: {}", st.message());
  }
  if (!greeter.serving_version()) {
    if (auto st = greeter.load(args.component); !st.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", args.component.c_str(), st.message().c_str());
      return 1;
    }
  }

  if (counter != nullptr && !counter->serving_version()) {
    if (auto st = counter->load(args.counter); !st.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", args.counter.c_str(), st.message().c_str());
      return 1;
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> counter_total{0};
  std::atomic<std::uint64_t> counter_resets{0};
  std::vector<std::atomic<std::uint64_t>> calls(static_cast<std::size_t>(args.threads));
  std::vector<std::atomic<std::uint64_t>> failures(static_cast<std::size_t>(args.threads));
  std::vector<std::thread> load;
  for (int t = 0; t < args.threads; ++t) {
    load.emplace_back([&, t] {
      char buf[128];
      std::int64_t out = 0;
      for (std::int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const graft_status a = greeter.call(&greeter_v1::tag, i, &out);
        const graft_status b = greeter.call(&greeter_v1::greet, "load", buf, sizeof buf);
        calls[t].fetch_add(2, std::memory_order_relaxed);
        // A tag answers in + 1000 * generation: anything else is a failure too.
        if (a != GRAFT_OK || b != GRAFT_OK || out % 1000 != i % 1000) {
          failures[t].fetch_add(1, std::memory_order_relaxed);
        }
        if (i % 256 == 0) std::this_thread::yield();
      }
    });
  }

  if (counter != nullptr) {
    load.emplace_back([&] {
      std::int64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        std::int64_t total = 0;
        if (counter->call(&counter_v1::add, std::int64_t{1}, &total) == GRAFT_OK) {
          if (total <= last) counter_resets.fetch_add(1, std::memory_order_relaxed);
          last = total;
          counter_total.store(total, std::memory_order_relaxed);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }

  int code = 0;
  {
    graft::ControlOptions co;
    co.host_name = args.name;
    co.run_dir = args.run_dir;
    co.inbox_dir = args.inbox;
    co.auto_install = args.auto_install;
    co.inbox_settle = std::chrono::milliseconds(300);
    co.inbox_incomplete_limit = std::chrono::milliseconds(20000);
    co.inbox_rescan = std::chrono::milliseconds(300);
    co.connection_deadline = std::chrono::milliseconds(args.deadline_ms);
    std::unique_ptr<graft::ControlPlane> plane;
    try {
      plane = std::make_unique<graft::ControlPlane>(*runtime, installer, co);
    } catch (const std::exception& e) {
      // A host that cannot start its control plane says why and exits as
      // an embedding host would: unwinding, so nothing of it (its board in
      // /dev/shm) is left behind.
      std::fprintf(stderr, "graft_control_test_host: control plane: %s\n", e.what());
      stop = true;
      for (auto& th : load)
        th.join();
      return 1;
    }
    std::printf("ready %d %s\n", ::getpid(), plane->socket_path().c_str());
    std::fflush(stdout);
    int signo = 0;
    sigwait(&stop_signals, &signo);
  }
  stop = true;
  for (auto& th : load)
    th.join();
  std::uint64_t total = 0, failed = 0;
  for (int t = 0; t < args.threads; ++t) {
    total += calls[t].load();
    failed += failures[t].load();
  }
  std::ofstream(args.report) << nlohmann::json{{"pid", ::getpid()},
                                               {"calls", total},
                                               {"failures", failed},
                                               {"version", greeter.serving_version()->to_string()},
                                               {"counter_total", counter_total.load()},
                                               {"counter_resets", counter_resets.load()}}
                                    .dump()
                             << "\n";
  return code;
}
