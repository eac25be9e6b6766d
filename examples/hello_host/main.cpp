// hello_host: the smallest useful graft host. It loads the greeter, calls it
// from two threads, swaps to a second version after a few seconds (or on
// SIGUSR1), and shows that every call was answered: calls per version, and
// failed calls (0).
#include "greeter.h"

#include <graft/runtime.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
std::atomic<bool> g_swap_requested{false};

extern "C" void on_sigusr1(int) {
  g_swap_requested.store(true);
}

struct Counts {
  std::atomic<std::uint64_t> v1{0}, v2{0}, failed{0};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hello_host - calls a component from two threads and swaps it live"};
  fs::path from = fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.0.0.so";
  fs::path to = fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.1.0.so";
  fs::path state_dir = fs::temp_directory_path() / ("hello_host-" + std::to_string(::getpid()));
  double seconds = 4.0;
  double swap_after = 2.0;
  bool verbose = false;
  app.add_option("--from", from, "component file to start on")->check(CLI::ExistingFile);
  app.add_option("--to", to, "component file to swap to")->check(CLI::ExistingFile);
  app.add_option("--state-dir", state_dir, "runtime state directory (store of loaded copies)");
  app.add_option("--seconds", seconds, "how long to run")->check(CLI::PositiveNumber);
  app.add_option("--swap-after", swap_after, "swap after this many seconds (0: only on SIGUSR1)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-v,--verbose", verbose, "show the runtime's log");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("hello_host");
  logger->set_level(verbose ? spdlog::level::info : spdlog::level::warn);
  graft::RuntimeOptions options;
  options.state_dir = state_dir;
  options.logger = logger;
  options.probation = std::chrono::milliseconds(0);
  std::unique_ptr<graft::Runtime> runtime;
  try {
    runtime = graft::Runtime::open(options);
  } catch (const graft::Error& e) {
    std::fprintf(stderr, "hello_host: %s\n", e.what());
    return 1;
  }
  auto& greeter = runtime->slot<greeter_v1>("greeter");
  if (graft::Status s = greeter.load(from); !s) {
    std::fprintf(stderr, "hello_host: %s\n", s.message().c_str());
    return 1;
  }
  std::signal(SIGUSR1, on_sigusr1);

  std::printf("hello_host pid %d: %s serving, 2 caller threads, swap to %s %s\n", ::getpid(),
              greeter.status().version.c_str(), to.filename().c_str(),
              swap_after > 0 ? ("after " + std::to_string(swap_after).substr(0, 3) + " s").c_str()
                             : "on SIGUSR1");
  Counts counts;
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&] {
      char buf[128];
      int64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        int64_t tag = 0;
        if (greeter.call(&greeter_v1::greet, "graft", buf, sizeof buf) != GRAFT_OK ||
            greeter.call(&greeter_v1::tag, i, &tag) != GRAFT_OK) {
          counts.failed.fetch_add(1, std::memory_order_relaxed);
        } else if (tag - i == 1000) {
          counts.v1.fetch_add(1, std::memory_order_relaxed);
        } else {
          counts.v2.fetch_add(1, std::memory_order_relaxed);
        }
        ++i;
      }
    });
  }

  const auto start = std::chrono::steady_clock::now();
  bool swapped = false;
  std::printf("\n%6s  %-10s %14s %14s %8s\n", "time", "serving", "calls v1", "calls v2", "failed");
  auto next_print = start;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const double t = std::chrono::duration<double>(now - start).count();
    if (t >= seconds) break;
    if (!swapped && ((swap_after > 0 && t >= swap_after) || g_swap_requested.load())) {
      swapped = true;
      const auto t0 = std::chrono::steady_clock::now();
      const graft::Status s = greeter.swap(to);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (s) {
        std::printf("  -- swapped to %s in %.2f ms while both threads kept calling\n",
                    greeter.status().version.c_str(), ms);
      } else {
        std::printf("  -- swap refused: %s\n", s.message().c_str());
      }
    }
    if (now >= next_print) {
      std::printf("%5.1fs  %-10s %14llu %14llu %8llu\n", t, greeter.status().version.c_str(),
                  static_cast<unsigned long long>(counts.v1.load()),
                  static_cast<unsigned long long>(counts.v2.load()),
                  static_cast<unsigned long long>(counts.failed.load()));
      next_print += std::chrono::milliseconds(500);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& c : callers)
    c.join();

  const graft::SlotStatus st = greeter.status();
  std::printf(
      "\nsummary: %llu calls answered by 1.0.0, %llu by %s, %llu failed; pid %d throughout\n",
      static_cast<unsigned long long>(counts.v1.load()),
      static_cast<unsigned long long>(counts.v2.load()), st.version.c_str(),
      static_cast<unsigned long long>(counts.failed.load()), ::getpid());
  runtime.reset();
  std::error_code ec;
  fs::remove_all(state_dir, ec);
  return counts.failed.load() == 0 ? 0 : 1;
}
