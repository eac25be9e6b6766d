// ns per call through the graft call gate against the alternatives a host
// could use to keep a library alive during a call (design.md, "Consistency
// model"). All variants call the same function of the same loaded component.
// Read the CPU column: per call, per calling thread.
#include "greeter.h"

#include <graft/runtime.hpp>

#include <benchmark/benchmark.h>
#include <dlfcn.h>

// liburcu's read side, inlined (its fast path is what a host would use).
#define _LGPL_SOURCE
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <urcu/urcu-memb.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

namespace {

namespace fs = std::filesystem;

// One loaded greeter, reached three ways.
struct Fixture {
  fs::path state_dir;
  std::unique_ptr<graft::Runtime> runtime;
  graft::Slot<greeter_v1>* slot = nullptr;
  void* handle = nullptr;
  const greeter_v1* table = nullptr;
  void* instance = nullptr;

  Fixture() {
    char tmpl[] = "/tmp/graft-bench-XXXXXX";
    state_dir = ::mkdtemp(tmpl);
    graft::RuntimeOptions o;
    o.state_dir = state_dir;
    o.logger =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    runtime = graft::Runtime::open(o);
    slot = &runtime->slot<greeter_v1>("greeter");
    const fs::path file = fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.0.0.so";
    if (!slot->load(file).ok()) std::abort();
    // The plain path: dlopen the same file and call through its table.
    handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto entry = reinterpret_cast<graft_entry_fn>(::dlsym(handle, GRAFT_ENTRY_SYMBOL));
    const graft_component_descriptor* d = entry(GRAFT_ABI_VERSION);
    table = static_cast<const greeter_v1*>(d->table);
    graft_host_services services{sizeof(graft_host_services), GRAFT_ABI_VERSION, nullptr,
                                 [](void*, graft_log_level, const char*) {}};
    static graft_host_services keep = services;
    if (d->create(&keep, &instance, nullptr) != GRAFT_OK) std::abort();
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

struct Held {
  const greeter_v1* table;
  void* instance;
};

void BM_PlainIndirectCall(benchmark::State& state) {
  Fixture& f = fixture();
  const greeter_v1* table = f.table;
  void* instance = f.instance;
  benchmark::DoNotOptimize(table);
  int64_t i = 0, out = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table->tag(instance, i++, &out));
  }
  benchmark::DoNotOptimize(out);
}

void BM_GraftSlotCall(benchmark::State& state) {
  graft::Slot<greeter_v1>& slot = *fixture().slot;
  int64_t i = 0, out = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(slot.call(&greeter_v1::tag, i++, &out));
  }
  benchmark::DoNotOptimize(out);
}

// liburcu (memb flavour, Debian 12's 0.13): the peer the gate is held against.
void BM_UrcuMembReadSide(benchmark::State& state) {
  Fixture& f = fixture();
  const greeter_v1* table = f.table;
  void* instance = f.instance;
  urcu_memb_register_thread();
  int64_t i = 0, out = 0;
  for (auto _ : state) {
    urcu_memb_read_lock();
    benchmark::DoNotOptimize(table->tag(instance, i++, &out));
    urcu_memb_read_unlock();
  }
  urcu_memb_unregister_thread();
  benchmark::DoNotOptimize(out);
}

// How Boost.DLL's import keeps a library alive: a shared_ptr copy per call.
std::shared_ptr<Held> g_shared;

void BM_SharedPtrCopyPerCall(benchmark::State& state) {
  if (state.thread_index() == 0 && !g_shared) {
    g_shared = std::make_shared<Held>(Held{fixture().table, fixture().instance});
  }
  Fixture& f = fixture();
  (void)f;
  int64_t i = 0, out = 0;
  for (auto _ : state) {
    std::shared_ptr<Held> pin = g_shared;
    benchmark::DoNotOptimize(pin->table->tag(pin->instance, i++, &out));
  }
  benchmark::DoNotOptimize(out);
}

std::mutex g_mutex;

void BM_MutexPerCall(benchmark::State& state) {
  Fixture& f = fixture();
  const greeter_v1* table = f.table;
  void* instance = f.instance;
  int64_t i = 0, out = 0;
  for (auto _ : state) {
    std::lock_guard lock(g_mutex);
    benchmark::DoNotOptimize(table->tag(instance, i++, &out));
  }
  benchmark::DoNotOptimize(out);
}

}  // namespace

BENCHMARK(BM_PlainIndirectCall)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(32);
BENCHMARK(BM_GraftSlotCall)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(32);
BENCHMARK(BM_UrcuMembReadSide)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(32);
BENCHMARK(BM_SharedPtrCopyPerCall)->Threads(1)->Threads(2);
BENCHMARK(BM_MutexPerCall)->Threads(1)->Threads(2);

int main(int argc, char** argv) {
  fixture();  // load before timing, outside any benchmark's threads
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(fixture().state_dir, ec);
  return 0;
}
