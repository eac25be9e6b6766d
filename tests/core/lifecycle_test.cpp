// Probation, commit, rollback, the store, and unloading.
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <mutex>

namespace graft::testing {
namespace {

int64_t tag_of(Slot<greeter_v1>& slot) {
  int64_t out = -1;
  EXPECT_EQ(slot.call(&greeter_v1::tag, int64_t{0}, &out), GRAFT_OK);
  return out;
}

class LifecycleTest : public ::testing::Test {
 protected:
  std::unique_ptr<Runtime> open(std::chrono::milliseconds probation, std::uint64_t limit = 5) {
    RuntimeOptions o = test_options(dir_.path(), log_.logger);
    o.probation = probation;
    o.probation_error_limit = limit;
    return Runtime::open(o);
  }
  TempDir dir_;
  LogCapture log_;
};

TEST_F(LifecycleTest, ProbationRollsBackByItselfWhenTheNewVersionReturnsErrors) {
  // Declared before the runtime so they outlive its housekeeping thread, which emits events.
  std::vector<SlotEvent> events;
  std::mutex mu;
  auto rt = open(std::chrono::seconds(30), 3);
  rt->on_event([&](const SlotEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.1.0.so")).ok());
  ASSERT_TRUE(slot.swap(fixture_file("faulty", "greeter-1.2.0.so")).ok());
  EXPECT_EQ(slot.status().state, SlotState::probation);
  EXPECT_EQ(slot.status().previous_version, "1.1.0");
  int64_t out = 0;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(slot.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_E_FAILED);
  // The slot serves 1.1.0 again a moment before the event is emitted, so wait for the event.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    for (const auto& e : events) {
      if (e.kind == SlotEventKind::rolled_back && e.by == "probation" && e.version == "1.1.0" &&
          e.from_version == "1.2.0") {
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(slot.status().version, "1.1.0");
  EXPECT_EQ(tag_of(slot), 2000);
  EXPECT_TRUE(log_.contains("error(s) during probation"));
}

TEST_F(LifecycleTest, CleanProbationWindowCommitsAndUnloadsThePrevious) {
  auto rt = open(std::chrono::milliseconds(100));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  EXPECT_EQ(slot.status().versions.size(), 2u);
  ASSERT_TRUE(eventually([&] {
    const auto st = slot.status();
    return st.state == SlotState::serving && st.versions.size() == 1;
  }));
  EXPECT_EQ(tag_of(slot), 2000);
}

TEST_F(LifecycleTest, OperatorCommitEndsProbationAtOnce) {
  auto rt = open(std::chrono::seconds(60));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  ASSERT_EQ(slot.status().state, SlotState::probation);
  ASSERT_TRUE(slot.commit().ok());
  const auto st = slot.status();
  EXPECT_EQ(st.state, SlotState::serving);
  EXPECT_EQ(st.versions.size(), 1u);
  // Unloaded, but still where a rollback goes (it reloads it from the store).
  EXPECT_EQ(st.previous_version, "1.0.0");
}

TEST_F(LifecycleTest, OperatorRollbackDuringProbationThenReapply) {
  auto rt = open(std::chrono::seconds(60));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  ASSERT_TRUE(slot.rollback().ok());
  EXPECT_EQ(slot.status().version, "1.0.0");
  EXPECT_EQ(tag_of(slot), 1000);
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  EXPECT_EQ(tag_of(slot), 2000);
}

TEST_F(LifecycleTest, RollbackAfterCommitReloadsThePreviousFromTheStore) {
  auto rt = open(std::chrono::milliseconds(0));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  EXPECT_EQ(slot.status().versions.size(), 1u);  // committed at once, 1.0.0 unloaded
  ASSERT_TRUE(slot.rollback().ok());
  EXPECT_EQ(tag_of(slot), 1000);
  // Nothing further back to go to.
  EXPECT_EQ(slot.rollback().code(), ErrorCode::no_previous);
  EXPECT_EQ(tag_of(slot), 1000);
}

TEST_F(LifecycleTest, OverwritingAndDeletingTheSourceFileNeverAffectsTheHost) {
  auto rt = open(std::chrono::milliseconds(0));
  auto& slot = rt->slot<greeter_v1>("greeter");
  const fs::path mine = dir_ / "greeter.so";
  fs::copy_file(component_file("greeter-1.0.0.so"), mine);
  ASSERT_TRUE(slot.load(mine).ok());
  EXPECT_EQ(tag_of(slot), 1000);
  // Overwrite in place (what crashes a host that dlopen'ed the original) ...
  write_file(mine, std::string(4096, 'x'));
  EXPECT_EQ(tag_of(slot), 1000);
  // ... then delete it.
  fs::remove(mine);
  EXPECT_EQ(tag_of(slot), 1000);
  char buf[64];
  EXPECT_EQ(slot.call(&greeter_v1::greet, "still here", buf, sizeof buf), GRAFT_OK);
  EXPECT_STREQ(buf, "Hello, still here.");
  // The same path can carry the next version: the store copy is loaded, not the path.
  fs::copy_file(component_file("greeter-1.1.0.so"), mine);
  ASSERT_TRUE(slot.swap(mine).ok());
  EXPECT_EQ(tag_of(slot), 2000);
}

TEST_F(LifecycleTest, ThousandLoadUnloadCyclesLeaveNoObjectMapped) {
  auto rt = open(std::chrono::milliseconds(0));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  const int start = mapped_object_count();
  SwapOptions any;
  any.allow_older = true;
  for (int i = 0; i < 1000; ++i) {
    const char* next = i % 2 == 0 ? "greeter-1.1.0.so" : "greeter-1.0.0.so";
    ASSERT_TRUE(slot.swap(component_file(next), any).ok()) << i;
  }
  EXPECT_EQ(mapped_object_count(), start);
  const auto st = slot.status();
  EXPECT_EQ(st.versions.size(), 1u);
  EXPECT_TRUE(st.stayed_mapped.empty());
  EXPECT_EQ(st.version, "1.0.0");
}

TEST_F(LifecycleTest, UnloadedVersionIsReallyUnmapped) {
  auto rt = open(std::chrono::milliseconds(0));
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  const std::string old_copy = slot.status().versions.at(0).artifact;
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  void* h = dlopen(old_copy.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  EXPECT_EQ(h, nullptr) << old_copy << " is still mapped";
  if (h != nullptr) dlclose(h);
}

}  // namespace
}  // namespace graft::testing

namespace graft::testing {
namespace {

TEST(UnloadCheckTest, ObjectThatStaysMappedIsReportedInStatusAndLog) {
  TempDir dir;
  LogCapture log;
  std::vector<SlotEvent> events;  // outlives the runtime's housekeeping thread
  std::mutex mu;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  rt->on_event([&](const SlotEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(fixture_file("sticky_tls", "greeter-1.1.0.so")).ok());
  // This thread now holds the component's thread_local (with a destructor).
  int64_t out = 0;
  ASSERT_EQ(slot.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_OK);
  EXPECT_EQ(out, 7001);
  SwapOptions older;
  older.allow_older = true;
  ASSERT_TRUE(slot.swap(component_file("greeter-1.0.0.so"), older).ok());
  const SlotStatus st = slot.status();
  ASSERT_EQ(st.stayed_mapped.size(), 1u);
  EXPECT_NE(st.stayed_mapped[0].find("1.1.0"), std::string::npos);
  EXPECT_TRUE(log.contains("still mapped after unload"));
  std::lock_guard lock(mu);
  bool reported = false;
  for (const auto& e : events)
    reported |= e.kind == SlotEventKind::stayed_mapped;
  EXPECT_TRUE(reported);
  // The host keeps serving on the new version.
  ASSERT_EQ(slot.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_OK);
  EXPECT_EQ(out, 1001);
}

}  // namespace
}  // namespace graft::testing
