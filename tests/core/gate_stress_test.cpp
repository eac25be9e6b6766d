// The call gate's own protocol at a high rate, with the production fences
// (the asymmetric membarrier pairing in the normal build, the symmetric one
// under ThreadSanitizer, the readers' fence under GRAFT_BARRIER=fence).
#include <graft/call_gate.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace graft::detail {
namespace {

using Clock = std::chrono::steady_clock;

// What a "version" holds: alive until the reloader has drained and "unmapped" it.
struct Payload {
  std::atomic<int> alive{0};
};

// An index no slot of this process uses (the test makes no Runtime).
constexpr std::uint32_t kIndex = kMaxSlots - 1;

TEST(GateStressTest, BarrierModeFollowsTheEnvironment) {
  const char* forced = std::getenv("GRAFT_BARRIER");
  ASSERT_TRUE(prepare_this_thread());
  if (GRAFT_GATE_SYMMETRIC) {
    // ThreadSanitizer build: sequentially consistent on both sides, whatever is asked.
    EXPECT_EQ(barrier_mode(), BarrierMode::symmetric);
  } else if (forced != nullptr && std::strcmp(forced, "fence") == 0) {
    EXPECT_EQ(barrier_mode(), BarrierMode::fence);
    EXPECT_STREQ(barrier_mode_reason(), "GRAFT_BARRIER=fence is set");
    EXPECT_TRUE(t_record->fence);
  } else {
    EXPECT_NE(barrier_mode(), BarrierMode::fence) << barrier_mode_reason();
    EXPECT_FALSE(t_record->fence);
  }
  EXPECT_TRUE(heavy_barrier());
}

TEST(GateStressTest, NoCallEverRunsInAVersionTheReloaderHasDrained) {
  CallGate gate(kIndex);
  constexpr int kCells = 8;
  std::vector<Payload> payloads(kCells);
  std::vector<VersionCell> cells(kCells);
  for (int i = 0; i < kCells; ++i) {
    cells[i].table = &payloads[i];
    cells[i].gate = &gate;
    cells[i].slot_index = gate.index();
  }
  payloads[0].alive = 1;
  gate.publish(&cells[0]);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0}, dead{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&] {
      std::uint64_t local = 0, local_dead = 0, local_failed = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const graft_status s = gate.call([&](const VersionCell& v) {
          const auto* p = static_cast<const Payload*>(v.table);
          if (p->alive.load(std::memory_order_relaxed) == 0) ++local_dead;
          return GRAFT_OK;
        });
        if (s != GRAFT_OK) ++local_failed;
        ++local;
      }
      calls += local;
      dead += local_dead;
      failed += local_failed;
    });
  }
  std::uint64_t swaps = 0, not_drained = 0;
  int cur = 0;
  const auto until = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < until) {
    const int next = (cur + 1) % kCells;
    payloads[next].alive.store(1, std::memory_order_relaxed);
    gate.publish(&cells[next]);
    if (gate.wait_drained(&cells[cur], Clock::now() + std::chrono::seconds(1))) {
      payloads[cur].alive.store(0, std::memory_order_relaxed);  // "unmapped"
    } else {
      ++not_drained;
    }
    cur = next;
    ++swaps;
  }
  stop = true;
  for (auto& t : callers)
    t.join();
  gate.publish(nullptr);
  EXPECT_GT(swaps, 1000u);
  EXPECT_GT(calls.load(), 10000u);
  EXPECT_EQ(dead.load(), 0u) << "calls that ran in a drained version";
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_EQ(not_drained, 0u);
}

TEST(GateStressTest, RapidPublishesNeverFailACall) {
  CallGate gate(kIndex);
  Payload a, b;
  VersionCell ca, cb;
  ca.table = &a;
  cb.table = &b;
  gate.publish(&ca);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&] {
      std::uint64_t local = 0, local_failed = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (gate.call([](const VersionCell&) { return GRAFT_OK; }) != GRAFT_OK) ++local_failed;
        ++local;
      }
      calls += local;
      failed += local_failed;
    });
  }
  std::uint64_t publishes = 0;
  const auto until = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < until) {
    for (int i = 0; i < 1000; ++i)
      gate.publish(++publishes % 2 ? &cb : &ca);
  }
  stop = true;
  for (auto& t : callers)
    t.join();
  gate.publish(nullptr);
  EXPECT_GT(calls.load(), 10000u);
  EXPECT_EQ(failed.load(), 0u) << "calls refused (GRAFT_E_UNAVAILABLE) by rapid publishes";
}

}  // namespace
}  // namespace graft::detail
