// A stateful counter. Generation 1 exports state schema 1 (the total as
// decimal text); generation 2 exports schema 2 (total and the number of adds,
// as "total adds") and still reads schema 1. COUNTER_REFUSE_IMPORT builds a
// version whose import always fails, COUNTER_FAULTY one whose add always
// fails (for the failure tests).
#include "counter.h"

#include <graft/component.hpp>

#include <atomic>
#include <charconv>
#include <string>

#ifndef COUNTER_GENERATION
#define COUNTER_GENERATION 1
#endif

namespace {

class Counter {
 public:
  static constexpr std::uint32_t state_schema = COUNTER_GENERATION;

  explicit Counter(graft::Host&) {}

  graft_status add(int64_t delta, int64_t* total) {
#ifdef COUNTER_FAULTY
    (void)delta, (void)total;
    return GRAFT_E_FAILED;  // a bad patch (probation tests)
#endif
    const int64_t now = total_.fetch_add(delta, std::memory_order_relaxed) + delta;
    adds_.fetch_add(1, std::memory_order_relaxed);
    if (total != nullptr) *total = now;
    return GRAFT_OK;
  }

  graft_status get(int64_t* total) const {
    if (total == nullptr) return GRAFT_E_INVALID_ARGUMENT;
    *total = total_.load(std::memory_order_relaxed);
    return GRAFT_OK;
  }

  graft_status generation(int32_t* out) const {
    if (out == nullptr) return GRAFT_E_INVALID_ARGUMENT;
    *out = COUNTER_GENERATION;
    return GRAFT_OK;
  }

  void export_state(graft::StateWriter& out) {
    std::string s = std::to_string(total_.load());
    if (COUNTER_GENERATION >= 2) {
      // append, not operator+: g++ 12 -O3 reports a false -Wrestrict on the latter
      s.append(" ").append(std::to_string(adds_.load()));
    }
    out.write(s);
  }

  void import_state(std::uint32_t schema, std::string_view bytes) {
#ifdef COUNTER_REFUSE_IMPORT
    (void)schema, (void)bytes;
    throw graft::ComponentError(GRAFT_E_FAILED, "this build refuses every import");
#else
    if (schema < 1 || schema > COUNTER_GENERATION) {
      throw graft::StateSchemaError("counter generation " + std::to_string(COUNTER_GENERATION) +
                                    " reads state schema 1.." + std::to_string(COUNTER_GENERATION) +
                                    ", got " + std::to_string(schema));
    }
    int64_t total = 0;
    const char* end = bytes.data() + bytes.size();
    auto [p, ec] = std::from_chars(bytes.data(), end, total);
    if (ec != std::errc()) throw std::runtime_error("counter state is not a number");
    total_.store(total);
    if (schema >= 2 && p != end && *p == ' ') {
      int64_t adds = 0;
      std::from_chars(p + 1, end, adds);
      adds_.store(adds);
    }
#endif
  }

 private:
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> adds_{0};
};

const counter_v1 kTable = {
    .add = graft::method<&Counter::add>,
    .get = graft::method<&Counter::get>,
    .generation = graft::method<&Counter::generation>,
};

}  // namespace

GRAFT_COMPONENT(Counter, counter_v1, kTable)
