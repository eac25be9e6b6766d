// The call gate under concurrency: swaps under load, the drain deadline,
// quiesce, nested calls. Run again under ThreadSanitizer in CI.
#include "blocker.h"
#include "counter.h"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/call_gate.hpp>
#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace graft::testing {
namespace {

TEST(SwapUnderLoadTest, FourCallersThousandSwapsEveryCallInExactlyOneVersion) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  const int mapped_before = mapped_object_count();

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0}, failed{0}, invalid{0}, by_v1{0}, by_v2{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      int64_t i = t * 1'000'000'000LL;
      std::uint64_t local_v1 = 0, local_v2 = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        int64_t out = 0;
        const graft_status s = slot.call(&greeter_v1::tag, i, &out);
        calls.fetch_add(1, std::memory_order_relaxed);
        if (s != GRAFT_OK) {
          failed.fetch_add(1, std::memory_order_relaxed);
        } else if (out == i + 1000) {
          ++local_v1;
        } else if (out == i + 2000) {
          ++local_v2;
        } else {
          invalid.fetch_add(1, std::memory_order_relaxed);
        }
        ++i;
      }
      by_v1 += local_v1;
      by_v2 += local_v2;
    });
  }
  SwapOptions any;
  any.allow_older = true;
  int swaps_ok = 0;
  for (int i = 0; i < 1000; ++i) {
    const char* next = i % 2 == 0 ? "greeter-1.1.0.so" : "greeter-1.0.0.so";
    const Status s = slot.swap(component_file(next), any);
    EXPECT_TRUE(s.ok()) << s.message();
    swaps_ok += s.ok();
  }
  stop = true;
  for (auto& t : callers)
    t.join();

  EXPECT_EQ(swaps_ok, 1000);
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_EQ(invalid.load(), 0u);
  EXPECT_GT(by_v1.load(), 0u);
  EXPECT_GT(by_v2.load(), 0u);
  EXPECT_EQ(by_v1 + by_v2, calls.load());
  ASSERT_TRUE(eventually([&] { return slot.status().versions.size() == 1; }));
  EXPECT_EQ(mapped_object_count(), mapped_before);
  const SlotStatus st = slot.status();
  EXPECT_EQ(st.calls, calls.load());
  EXPECT_EQ(st.errors, 0u);
  EXPECT_EQ(st.in_flight, 0u);
  EXPECT_TRUE(st.stayed_mapped.empty());
}

TEST(DrainTest, BlockedCallKeepsOldVersionDrainingUntilReleased) {
  TempDir dir;
  LogCapture log;
  RuntimeOptions o = test_options(dir.path(), log.logger);
  o.drain_deadline = std::chrono::milliseconds(100);
  auto rt = Runtime::open(o);
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(
      slot.load(fs::path(GRAFT_FIXTURE_DIR).parent_path() / "component-files" / "blocker-1.0.0.so")
          .ok());
  int32_t entered = 0, release = 0, held_generation = 0;
  graft_status held_status = -1;
  std::thread holder(
      [&] { held_status = slot.call(&blocker_v1::hold, &entered, &release, &held_generation); });
  while (__atomic_load_n(&entered, __ATOMIC_SEQ_CST) == 0)
    std::this_thread::yield();

  const auto t0 = std::chrono::steady_clock::now();
  const Status s =
      slot.swap(fs::path(GRAFT_FIXTURE_DIR).parent_path() / "component-files" / "blocker-2.0.0.so");
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_LT(waited, std::chrono::seconds(2));  // returned at the deadline, not at the release

  SlotStatus st = slot.status();
  EXPECT_EQ(st.version, "2.0.0");
  EXPECT_EQ(st.state, SlotState::draining);
  ASSERT_EQ(st.versions.size(), 2u);
  EXPECT_EQ(st.versions[1].version, "1.0.0");
  EXPECT_EQ(st.versions[1].state, VersionState::draining);
  EXPECT_EQ(st.versions[1].in_flight, 1u);
  EXPECT_TRUE(log.contains("kept loaded and retried"));
  // New calls already go to 2.0.0 while 1.0.0 drains.
  int32_t gen = 0;
  ASSERT_EQ(slot.call(&blocker_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 2);
  const std::string old_copy = st.versions[1].artifact;
  EXPECT_TRUE(fs::exists(old_copy));

  __atomic_store_n(&release, 1, __ATOMIC_SEQ_CST);
  holder.join();
  EXPECT_EQ(held_status, GRAFT_OK);
  EXPECT_EQ(held_generation, 1);  // the blocked call finished in the version it started in
  ASSERT_TRUE(eventually([&] { return slot.status().versions.size() == 1; }));
  EXPECT_EQ(slot.status().state, SlotState::serving);
  // The housekeeper unloads it just after dropping it from the status.
  EXPECT_TRUE(eventually([&] {
    void* h = dlopen(old_copy.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (h != nullptr) dlclose(h);
    return h == nullptr;
  })) << old_copy
      << " is still mapped";
}

TEST(QuiesceTest, CounterLosesNoIncrementAcrossTheSwap) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = rt->slot<counter_v1>("counter");
  ASSERT_TRUE(slot.load(component_file("counter-1.0.0.so")).ok());
  // Callers keep adding until the swap is over and then some, so that their
  // calls overlap the closed gate (CallsThatMeetTheClosedGate... proves the
  // waiting itself deterministically).
  constexpr int kAfter = 2000;
  std::atomic<int> failed{0};
  std::atomic<int> started{0};
  std::atomic<bool> swapped{false};
  std::atomic<std::int64_t> added{0};
  auto work = [&] {
    started.fetch_add(1);
    std::int64_t mine = 0;
    int after = 0;
    while (after < kAfter) {
      if (slot.call(&counter_v1::add, int64_t{1}, nullptr) != GRAFT_OK) {
        failed.fetch_add(1);
      } else {
        ++mine;
      }
      if (swapped.load(std::memory_order_relaxed)) ++after;
    }
    added += mine;
  };
  std::thread a(work), b(work);
  while (started.load() < 2)
    std::this_thread::yield();
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  const Status s = slot.swap(component_file("counter-2.0.0.so"), quiesce);
  swapped = true;
  a.join();
  b.join();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(failed.load(), 0);
  int64_t total = 0;
  ASSERT_EQ(slot.call(&counter_v1::get, &total), GRAFT_OK);
  EXPECT_EQ(total, added.load());
  int32_t gen = 0;
  ASSERT_EQ(slot.call(&counter_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 2);
}

TEST(QuiesceTest, DrainTimeoutReopensTheGateOnTheOldVersion) {
  TempDir dir;
  LogCapture log;
  RuntimeOptions o = test_options(dir.path(), log.logger);
  o.drain_deadline = std::chrono::milliseconds(50);
  o.quiesce_wait = std::chrono::seconds(5);
  auto rt = Runtime::open(o);
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(fixture_file("stateful_blocker", "blocker-1.0.0.so")).ok());
  int32_t entered = 0, release = 0, gen = 0;
  std::thread holder([&] { (void)slot.call(&blocker_v1::hold, &entered, &release, &gen); });
  while (__atomic_load_n(&entered, __ATOMIC_SEQ_CST) == 0)
    std::this_thread::yield();
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  // The held call keeps the closed gate's drain waiting past its deadline.
  const Status s = slot.swap(fixture_file("stateful_blocker", "blocker-2.0.0.so"), quiesce);
  EXPECT_EQ(s.code(), ErrorCode::drain_timeout) << s.message();
  EXPECT_NE(s.message().find("gate reopened"), std::string::npos) << s.message();
  // Reopened on the old version: a new call enters it at once.
  int32_t g = 0;
  ASSERT_EQ(slot.call(&blocker_v1::generation, &g), GRAFT_OK);
  EXPECT_EQ(g, 1);
  EXPECT_EQ(slot.status().version, "1.0.0");
  __atomic_store_n(&release, 1, __ATOMIC_SEQ_CST);
  holder.join();
  EXPECT_EQ(gen, 1);
}

TEST(QuiesceTest, CallsThatMeetTheClosedGateWaitAndEnterTheNewVersion) {
  TempDir dir;
  LogCapture log;
  RuntimeOptions o = test_options(dir.path(), log.logger);
  o.drain_deadline = std::chrono::seconds(10);
  o.quiesce_wait = std::chrono::seconds(10);
  auto rt = Runtime::open(o);
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(fixture_file("stateful_blocker", "blocker-1.0.0.so")).ok());
  int32_t entered = 0, release = 0, gen = 0;
  std::thread holder([&] { (void)slot.call(&blocker_v1::hold, &entered, &release, &gen); });
  while (__atomic_load_n(&entered, __ATOMIC_SEQ_CST) == 0)
    std::this_thread::yield();
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  Status swapped;
  std::thread swapper(
      [&] { swapped = slot.swap(fixture_file("stateful_blocker", "blocker-2.0.0.so"), quiesce); });
  // Once the gate is closed (the held call is draining) a new call waits
  // there; until then the late caller's calls still enter 1.0.0.
  std::atomic<int32_t> late_gen{0};
  std::thread late([&] {
    for (;;) {
      int32_t g = 0;
      if (slot.call(&blocker_v1::generation, &g) != GRAFT_OK) return;
      if (g == 2) break;
    }
    late_gen = 2;
  });
  EXPECT_TRUE(eventually([&] { return slot.callers_waiting() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(late_gen.load(), 0);  // still waiting
  __atomic_store_n(&release, 1, __ATOMIC_SEQ_CST);
  holder.join();
  swapper.join();
  late.join();
  ASSERT_TRUE(swapped.ok()) << swapped.message();
  EXPECT_EQ(gen, 1);       // the held call finished in the old version
  EXPECT_EQ(late_gen, 2);  // the waiting one entered the new version
}

// Gate-level tests with hand-made versions: nesting and the closed gate.
using detail::CallGate;
using detail::VersionCell;

TEST(CallGateTest, NestedCallsPinEachLevelAndDrainTogether) {
  CallGate outer(detail::kMaxSlots - 1), inner(detail::kMaxSlots - 2);
  VersionCell a, b;
  a.gate = &outer;
  a.slot_index = outer.index();
  b.gate = &inner;
  b.slot_index = inner.index();
  outer.publish(&a);
  inner.publish(&b);
  const graft_status s = outer.call([&](const VersionCell&) {
    EXPECT_EQ(CallGate::in_flight(&a), 1u);
    EXPECT_TRUE(outer.held_by_this_thread());
    EXPECT_FALSE(inner.held_by_this_thread());
    return inner.call([&](const VersionCell&) {
      EXPECT_EQ(CallGate::in_flight(&b), 1u);
      // Re-entering the same gate pins a second level.
      return outer.call([&](const VersionCell&) {
        EXPECT_EQ(CallGate::in_flight(&a), 2u);
        return GRAFT_OK;
      });
    });
  });
  EXPECT_EQ(s, GRAFT_OK);
  EXPECT_EQ(CallGate::in_flight(&a), 0u);
  EXPECT_EQ(CallGate::in_flight(&b), 0u);
  outer.publish(nullptr);
  inner.publish(nullptr);
}

TEST(CallGateTest, NestingDeeperThanTheLimitIsRefused) {
  CallGate gate(detail::kMaxSlots - 1);
  VersionCell a;
  a.gate = &gate;
  a.slot_index = gate.index();
  gate.publish(&a);
  int deepest = 0;
  std::function<graft_status(int)> recurse = [&](int depth) -> graft_status {
    return gate.call([&](const VersionCell&) {
      deepest = std::max(deepest, depth);
      return recurse(depth + 1);
    });
  };
  EXPECT_EQ(recurse(1), GRAFT_E_NESTING);
  EXPECT_EQ(deepest, static_cast<int>(detail::kMaxNesting));
  EXPECT_EQ(CallGate::in_flight(&a), 0u);
  gate.publish(nullptr);
}

TEST(CallGateTest, ClosedGateHoldsNewCallsButLetsNestedCallsReachTheClosingVersion) {
  CallGate gate(detail::kMaxSlots - 1);
  VersionCell a, b;
  a.gate = &gate;
  a.slot_index = gate.index();
  b.gate = &gate;
  b.slot_index = gate.index();
  gate.publish(&a);
  std::atomic<bool> inside{false}, closed{false};
  std::atomic<const VersionCell*> nested_saw{nullptr};
  std::thread t([&] {
    (void)gate.call([&](const VersionCell&) {
      inside = true;
      while (!closed)
        std::this_thread::yield();
      return gate.call([&](const VersionCell& v) {
        nested_saw = &v;
        return GRAFT_OK;
      });
    });
  });
  while (!inside)
    std::this_thread::yield();
  gate.close(&a, std::chrono::milliseconds(30));
  closed = true;
  // A new call waits at the gate, then gives up.
  EXPECT_EQ(gate.call([](const VersionCell&) { return GRAFT_OK; }), GRAFT_E_UNAVAILABLE);
  EXPECT_TRUE(gate.wait_drained(&a, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  t.join();
  EXPECT_EQ(nested_saw.load(), &a);
  // A caller waiting at the gate enters the new version when it opens.
  gate.close(&a, std::chrono::seconds(5));
  std::atomic<const VersionCell*> waiter_saw{nullptr};
  std::thread waiter([&] {
    (void)gate.call([&](const VersionCell& v) {
      waiter_saw = &v;
      return GRAFT_OK;
    });
  });
  while (gate.waiting() == 0)
    std::this_thread::yield();
  gate.open(&b);
  waiter.join();
  EXPECT_EQ(waiter_saw.load(), &b);
  gate.publish(nullptr);
}

}  // namespace
}  // namespace graft::testing
