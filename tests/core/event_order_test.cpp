// The order in which listeners hear a slot's events: the order the slot did
// them in, whichever threads did them and however long a listener takes.
// (The Installer keeps its on-disk state from these events: out of order, it
// records a serving version the slot no longer serves and prunes the store
// copy the slot still holds.) Run again under ThreadSanitizer in CI.
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace graft::testing {
namespace {

struct Heard {
  SlotEventKind kind;
  std::string version;
};

class EventOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions o = test_options(dir_.path(), log_.logger);
    o.probation = std::chrono::milliseconds(0);
    rt_ = Runtime::open(o);
  }
  std::vector<Heard> heard() {
    std::lock_guard lock(mu_);
    return heard_;
  }
  void hear(const SlotEvent& e) {
    if (e.kind != SlotEventKind::swapped && e.kind != SlotEventKind::rolled_back) return;
    std::lock_guard lock(mu_);
    heard_.push_back({e.kind, e.version});
  }

  TempDir dir_;
  LogCapture log_;
  std::mutex mu_;  // declared before the runtime: its housekeeper emits events
  std::vector<Heard> heard_;
  std::unique_ptr<Runtime> rt_;
};

// Thread A swaps to 1.1.0; a slow first listener holds A's event until thread
// B has swapped back to 1.0.0 in the slot. The second listener must still hear
// A's swap first: it is what the slot did first.
TEST_F(EventOrderTest, ASlowListenerDoesNotLetALaterSwapOvertakeAnEarlierOne) {
  auto& slot = rt_->slot<greeter_v1>("greeter");
  std::atomic<bool> a_held{false};
  rt_->on_event([&](const SlotEvent& e) {
    if (e.kind != SlotEventKind::swapped || e.version != "1.1.0") return;
    a_held = true;
    // B's swap has happened in the slot once it serves 1.0.0 again.
    ASSERT_TRUE(eventually([&] { return slot.serving_version() == Version(1, 0, 0); }));
  });
  rt_->on_event([&](const SlotEvent& e) { hear(e); });
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());

  std::thread a([&] { EXPECT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok()); });
  ASSERT_TRUE(eventually([&] { return a_held.load(); }));
  std::thread b([&] {
    SwapOptions older;
    older.allow_older = true;
    EXPECT_TRUE(slot.swap(component_file("greeter-1.0.0.so"), older).ok());
  });
  a.join();
  b.join();
  const auto h = heard();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].version, "1.1.0");
  EXPECT_EQ(h[1].version, "1.0.0");
}

// A listener may itself swap the slot whose event it is hearing: it is not
// made to wait for its own turn, and every event is still heard once.
TEST_F(EventOrderTest, AListenerThatSwapsTheSameSlotIsNotMadeToWaitForItself) {
  auto& slot = rt_->slot<greeter_v1>("greeter");
  rt_->on_event([&](const SlotEvent& e) {
    if (e.kind == SlotEventKind::swapped && e.version == "1.1.0") {
      SwapOptions older;
      older.allow_older = true;
      EXPECT_TRUE(slot.swap(component_file("greeter-1.0.0.so"), older).ok());
    }
  });
  rt_->on_event([&](const SlotEvent& e) { hear(e); });
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  // Then a swap from another thread: the turn passed over the nested one.
  std::thread other([&] { EXPECT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok()); });
  other.join();
  EXPECT_EQ(slot.serving_version(), Version(1, 0, 0));
  const auto h = heard();
  ASSERT_EQ(h.size(), 4u);
  // The nested swap is heard inside the outer event's delivery: before the
  // second listener hears the outer one.
  EXPECT_EQ(h[0].version, "1.0.0");
  EXPECT_EQ(h[1].version, "1.1.0");
  EXPECT_EQ(h[2].version, "1.0.0");
  EXPECT_EQ(h[3].version, "1.1.0");
}

}  // namespace
}  // namespace graft::testing
