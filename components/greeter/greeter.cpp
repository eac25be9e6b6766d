// A stateless component built in several versions from one source:
// GREETER_GENERATION picks the greeting and the tag offset, GREETER_FAULTY
// makes every call fail (a bad patch, for probation), GREETER_FLAKY makes
// every fifth greet fail (a patch that errs too often, yet too rarely for a
// lenient probation).
#include "greeter.h"

#include <graft/component.hpp>

#include <atomic>
#include <cstdio>

#ifndef GREETER_GENERATION
#define GREETER_GENERATION 1
#endif

namespace {

class Greeter {
 public:
  explicit Greeter(graft::Host& host) : host_(host) {
    host_.debug("greeter generation " + std::to_string(GREETER_GENERATION) + " created");
  }

  graft_status greet(const char* name, char* out, size_t out_size) {
#ifdef GREETER_FAULTY
    (void)name, (void)out, (void)out_size;
    return GRAFT_E_FAILED;
#else
#ifdef GREETER_FLAKY
    if (++greets_ % 5 == 0) return GRAFT_E_FAILED;
#endif
    if (name == nullptr || out == nullptr) return GRAFT_E_INVALID_ARGUMENT;
    const char* fmt = GREETER_GENERATION == 1 ? "Hello, %s." : "Hello, %s! (generation %d)";
    const int n = std::snprintf(out, out_size, fmt, name, GREETER_GENERATION);
    return n >= 0 && static_cast<size_t>(n) < out_size ? GRAFT_OK : GRAFT_E_BUFFER_TOO_SMALL;
#endif
  }

  graft_status tag(int64_t in, int64_t* out) const {
#ifdef GREETER_FAULTY
    (void)in, (void)out;
    return GRAFT_E_FAILED;
#else
    if (out == nullptr) return GRAFT_E_INVALID_ARGUMENT;
    *out = in + 1000 * GREETER_GENERATION;
    return GRAFT_OK;
#endif
  }

  void self_test() {
    char buf[64];
    if (greet("test", buf, sizeof buf) != GRAFT_OK) {
#ifndef GREETER_FAULTY
      throw std::runtime_error("greet failed in self-test");
#endif
    }
  }

 private:
  graft::Host& host_;
#ifdef GREETER_FLAKY
  std::atomic<unsigned long> greets_{0};
#endif
};

const greeter_v1 kTable = {
    .greet = graft::method<&Greeter::greet>,
    .tag = graft::method<&Greeter::tag>,
};

}  // namespace

GRAFT_COMPONENT(Greeter, greeter_v1, kTable)
