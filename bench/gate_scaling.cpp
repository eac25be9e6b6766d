// Where a call gate can fall behind, measured beside liburcu (memb flavour):
//  - drain latency: publish a new version, wait until no call is inside the
//    old one, with 2 and 8 callers calling all the time (urcu: assign the
//    pointer, synchronize_rcu);
//  - many slots: 128 slots called round-robin against 128 plain tables;
//  - thread storms: 10,000 threads whose first call registers them, then
//    status() with all of them alive, then memory once they are gone.
#include "greeter.h"

#include <graft/call_gate.hpp>
#include <graft/runtime.hpp>

#include "thread_registry.hpp"

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <pthread.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using graft::detail::CallGate;
using graft::detail::VersionCell;
using Clock = std::chrono::steady_clock;

// The greeter, dlopened once; `instances` made on demand.
struct Greeter {
  const graft_component_descriptor* d = nullptr;
  const greeter_v1* table = nullptr;
  graft_host_services services{sizeof(graft_host_services), GRAFT_ABI_VERSION, nullptr,
                               [](void*, graft_log_level, const char*) {}};
  Greeter() {
    const fs::path file = fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.0.0.so";
    void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) std::abort();
    auto entry = reinterpret_cast<graft_entry_fn>(::dlsym(handle, GRAFT_ENTRY_SYMBOL));
    d = entry(GRAFT_ABI_VERSION);
    table = static_cast<const greeter_v1*>(d->table);
  }
  void* make() {
    void* instance = nullptr;
    if (d->create(&services, &instance, nullptr) != GRAFT_OK) std::abort();
    return instance;
  }
};

Greeter& greeter() {
  static Greeter g;
  return g;
}

graft_status call_tag(const VersionCell& v, int64_t i, int64_t* out) {
  return static_cast<const greeter_v1*>(v.table)->tag(v.instance, i, out);
}

// --- drain latency -------------------------------------------------------

void BM_DrainLatencyGraft(benchmark::State& state) {
  const int callers = static_cast<int>(state.range(0));
  auto gate = std::make_unique<CallGate>(graft::detail::kMaxSlots - 1);
  VersionCell cells[2];
  for (auto& c : cells) {
    c.table = greeter().table;
    c.instance = greeter().make();
    c.gate = gate.get();
    c.slot_index = gate->index();
  }
  gate->publish(&cells[0]);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // Timing starts once every caller has made a call (is registered).
  std::latch calling(callers);
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&] {
      int64_t i = 0, out = 0;
      benchmark::DoNotOptimize(
          gate->call([&](const VersionCell& v) { return call_tag(v, i++, &out); }));
      calling.count_down();
      while (!stop.load(std::memory_order_relaxed)) {
        benchmark::DoNotOptimize(
            gate->call([&](const VersionCell& v) { return call_tag(v, i++, &out); }));
      }
    });
  }
  calling.wait();
  int cur = 0;
  std::uint64_t timeouts = 0;
  for (auto _ : state) {
    gate->publish(&cells[1 - cur]);
    if (!gate->wait_drained(&cells[cur], Clock::now() + std::chrono::seconds(1))) ++timeouts;
    cur = 1 - cur;
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  gate->publish(nullptr);
  state.counters["timeouts"] = static_cast<double>(timeouts);
}

struct UrcuHeld {
  const greeter_v1* table;
  void* instance;
};

void BM_DrainLatencyUrcuMemb(benchmark::State& state) {
  const int callers = static_cast<int>(state.range(0));
  UrcuHeld held[2] = {{greeter().table, greeter().make()}, {greeter().table, greeter().make()}};
  UrcuHeld* current = &held[0];
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // Timing starts once every reader is registered: registration takes the
  // lock synchronize_rcu holds, so readers that register during the timed
  // loop may never get in, and the grace periods would wait for fewer.
  std::latch registered(callers);
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&] {
      urcu_memb_register_thread();
      registered.count_down();
      int64_t i = 0, out = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        urcu_memb_read_lock();
        UrcuHeld* h = rcu_dereference(current);
        benchmark::DoNotOptimize(h->table->tag(h->instance, i++, &out));
        urcu_memb_read_unlock();
      }
      urcu_memb_unregister_thread();
    });
  }
  registered.wait();
  int cur = 0;
  for (auto _ : state) {
    rcu_assign_pointer(current, &held[1 - cur]);
    urcu_memb_synchronize_rcu();
    cur = 1 - cur;
  }
  stop = true;
  for (auto& t : threads)
    t.join();
}

// --- 128 slots -----------------------------------------------------------

constexpr int kSlots = 128;

struct PlainSlot {
  const greeter_v1* table;
  void* instance;
};

// Both loops make 128 calls, one per slot, per batch of benchmark
// iterations: with one call per iteration, the gate's extra live values made
// the compiler keep benchmark's own iteration counter on the stack (a memory
// read-modify-write each call, which the plain loop did not pay), and that,
// not the gate, was a third of the difference (+1.1 ns against +0.7).
void BM_Slots128PlainIndirectCall(benchmark::State& state) {
  // Separate allocations, as a host's own wrappers would be.
  std::vector<std::unique_ptr<PlainSlot>> slots;
  for (int i = 0; i < kSlots; ++i)
    slots.push_back(std::make_unique<PlainSlot>(PlainSlot{greeter().table, greeter().make()}));
  int64_t i = 0, out = 0;
  while (state.KeepRunningBatch(kSlots)) {
    for (int k = 0; k < kSlots; ++k) {
      const PlainSlot& s = *slots[static_cast<std::size_t>(k)];
      benchmark::DoNotOptimize(s.table->tag(s.instance, i++, &out));
    }
  }
}

void BM_Slots128GraftGate(benchmark::State& state) {
  // A gate per slot and a cell per loaded version, allocated as the runtime does.
  std::vector<std::unique_ptr<CallGate>> gates;
  std::vector<std::unique_ptr<VersionCell>> cells;
  for (int i = 0; i < kSlots; ++i) {
    gates.push_back(std::make_unique<CallGate>(static_cast<std::uint32_t>(i)));
    auto c = std::make_unique<VersionCell>();
    c->table = greeter().table;
    c->instance = greeter().make();
    c->gate = gates.back().get();
    c->slot_index = gates.back()->index();
    gates.back()->publish(c.get());
    cells.push_back(std::move(c));
  }
  int64_t i = 0, out = 0;
  while (state.KeepRunningBatch(kSlots)) {
    for (int k = 0; k < kSlots; ++k) {
      benchmark::DoNotOptimize(gates[static_cast<std::size_t>(k)]->call(
          [&](const VersionCell& v) { return call_tag(v, i++, &out); }));
    }
  }
  for (auto& g : gates)
    g->publish(nullptr);
}

// --- thread storm --------------------------------------------------------

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// Threads wait on latches (futexes), not by spinning: 10,000 spinning
// threads on 2 cores would starve the thread that measures.
struct Storm {
  explicit Storm(int n) : ready(n), called(n), first_call_ns(static_cast<std::size_t>(n), 0) {}
  graft::Slot<greeter_v1>* slot = nullptr;  // null: the plain call, the baseline
  const greeter_v1* table = nullptr;
  void* instance = nullptr;
  std::latch ready;
  std::latch called;
  std::latch go{1};
  std::latch leave{1};
  std::vector<double> first_call_ns;
};

struct StormThread {
  Storm* storm;
  int index;
};

void* storm_main(void* arg) {
  auto* t = static_cast<StormThread*>(arg);
  Storm& s = *t->storm;
  s.ready.count_down();
  s.go.wait();
  int64_t out = 0;
  const auto t0 = Clock::now();
  if (s.slot != nullptr) {
    (void)s.slot->call(&greeter_v1::tag, int64_t{1}, &out);
  } else {
    benchmark::DoNotOptimize(s.table->tag(s.instance, 1, &out));
  }
  s.first_call_ns[static_cast<std::size_t>(t->index)] =
      std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  s.called.count_down();
  s.leave.wait();
  return nullptr;
}

constexpr int kStormThreads = 10000;

// Starts the storm's threads, lets them make their first call, and leaves
// them alive (waiting on `leave`) for the caller to measure.
std::vector<pthread_t> start_storm(Storm& storm) {
  std::vector<pthread_t> threads(kStormThreads);
  static std::vector<StormThread> args;
  args.assign(kStormThreads, StormThread{});
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (int i = 0; i < kStormThreads; ++i) {
    args[i] = StormThread{&storm, i};
    if (pthread_create(&threads[i], &attr, &storm_main, &args[i]) != 0) std::abort();
  }
  pthread_attr_destroy(&attr);
  storm.ready.wait();
  storm.go.count_down();
  storm.called.wait();  // all called (each wrote its latency), all still alive
  return threads;
}

void end_storm(Storm& storm, std::vector<pthread_t>& threads, benchmark::State& state,
               long rss_before) {
  storm.leave.count_down();
  for (auto& t : threads)
    pthread_join(t, nullptr);
  auto v = storm.first_call_ns;
  std::sort(v.begin(), v.end());
  state.counters["first_call_p50_us"] = v[v.size() / 2] / 1e3;
  state.counters["first_call_p99_us"] = v[v.size() * 99 / 100] / 1e3;
  state.counters["first_call_max_us"] = v.back() / 1e3;
  state.counters["rss_growth_kib"] = static_cast<double>(rss_kib() - rss_before);
}

// The same storm making a plain indirect call: what 10,000 threads cost
// anyway (their stacks, glibc's caches), beside which graft's cost shows.
void BM_ThreadStorm10000Plain(benchmark::State& state) {
  void* instance = greeter().make();
  for (auto _ : state) {
    const long rss_before = rss_kib();
    Storm storm(kStormThreads);
    storm.table = greeter().table;
    storm.instance = instance;
    auto threads = start_storm(storm);
    end_storm(storm, threads, state, rss_before);
  }
}

void BM_ThreadStorm10000(benchmark::State& state) {
  char tmpl[] = "/tmp/graft-bench-storm-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  graft::RuntimeOptions o;
  o.state_dir = dir;
  o.probation = std::chrono::milliseconds(0);
  o.logger =
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto rt = graft::Runtime::open(o);
  auto& slot = rt->slot<greeter_v1>("greeter");
  if (!slot.load(fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.0.0.so").ok()) std::abort();
  for (auto _ : state) {
    const long rss_before = rss_kib();
    Storm storm(kStormThreads);
    storm.slot = &slot;
    auto threads = start_storm(storm);
    // The first status takes in the records the storm's first calls
    // listed (each in its own thread's stack); later ones only walk them.
    const auto f0 = Clock::now();
    (void)slot.status();
    const double first_status_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - f0).count();
    const auto s0 = Clock::now();
    const auto st = slot.status();
    const double status_ms = std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
    const auto w0 = Clock::now();
    if (!slot.swap(fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.1.0.so").ok()) std::abort();
    const double swap_ms = std::chrono::duration<double, std::milli>(Clock::now() - w0).count();
    end_storm(storm, threads, state, rss_before);
    const auto registered = graft::detail::registered_threads();
    state.counters["first_status_ms_10k_live"] = first_status_ms;
    state.counters["status_ms_10k_live"] = status_ms;
    state.counters["swap_ms_10k_live"] = swap_ms;
    state.counters["calls_counted"] = static_cast<double>(st.calls);
    state.counters["records_live_after"] = static_cast<double>(registered);
  }
  rt.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

BENCHMARK(BM_DrainLatencyGraft)->Arg(2)->Arg(8)->UseRealTime();
BENCHMARK(BM_DrainLatencyUrcuMemb)->Arg(2)->Arg(8)->UseRealTime();
BENCHMARK(BM_Slots128PlainIndirectCall);
BENCHMARK(BM_Slots128GraftGate);
BENCHMARK(BM_ThreadStorm10000Plain)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ThreadStorm10000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
