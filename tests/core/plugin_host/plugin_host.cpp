// A host that is itself a plugin: a shared library embedding graft, which a
// program loads with dlopen (tests/core/plugin_host_test.cpp). Built twice:
// with the default initial-exec TLS access and with GRAFT_TLS_DYNAMIC.
#include "greeter.h"

#include <graft/runtime.hpp>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <thread>

extern "C" __attribute__((visibility("default"))) int plugin_host_run(const char* component,
                                                                      const char* state_dir) {
  try {
    graft::RuntimeOptions o;
    o.state_dir = state_dir;
    o.logger =
        std::make_shared<spdlog::logger>("plugin", std::make_shared<spdlog::sinks::null_sink_mt>());
    auto rt = graft::Runtime::open(o);
    auto& slot = rt->slot<greeter_v1>("greeter");
    if (!slot.load(component).ok()) return -1;
    int64_t sum = 0;
    // From this thread and from a new one (each registers on its first call).
    int64_t out = 0;
    if (slot.call(&greeter_v1::tag, int64_t{1}, &out) != GRAFT_OK) return -2;
    sum += out;
    std::thread t([&] {
      int64_t o2 = 0;
      if (slot.call(&greeter_v1::tag, int64_t{2}, &o2) == GRAFT_OK) sum += o2;
    });
    t.join();
    return static_cast<int>(sum);
  } catch (...) {
    return -3;
  }
}
