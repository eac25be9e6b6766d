// Components that break the rules get a defined outcome: an error, a
// refusal, or a reported state; never a crash or a deadlock of the host.
#include "blocker.h"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

namespace graft::testing {
namespace {

fs::path blocker_file(int generation) {
  return component_file("blocker-" + std::to_string(generation) + ".0.0.so");
}

struct Reentry {
  Slot<blocker_v1>* slot;
  Status result;
  enum class What { swap, rollback } what = What::swap;
};

TEST(MisbehavingComponentTest, SwapOfItsOwnSlotFromInsideACallIsRefused) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(blocker_file(1)).ok());
  Reentry r{&slot, Status(), Reentry::What::swap};
  const graft_status s = slot.call(
      &blocker_v1::call_back,
      [](void* ctx) -> graft_status {
        auto* re = static_cast<Reentry*>(ctx);
        re->result = re->what == Reentry::What::swap ? re->slot->swap(blocker_file(2))
                                                     : re->slot->rollback();
        return re->result ? GRAFT_OK : GRAFT_E_FAILED;
      },
      static_cast<void*>(&r));
  EXPECT_EQ(s, GRAFT_E_FAILED);
  EXPECT_EQ(r.result.code(), ErrorCode::reentrant_swap) << r.result.message();
  EXPECT_NE(r.result.message().find("from inside a call"), std::string::npos);
  // Nothing changed, and the same swap from outside works.
  int32_t gen = 0;
  ASSERT_EQ(slot.call(&blocker_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 1);
  ASSERT_TRUE(slot.swap(blocker_file(2)).ok());
  r.what = Reentry::What::rollback;
  (void)slot.call(
      &blocker_v1::call_back,
      [](void* ctx) -> graft_status {
        auto* re = static_cast<Reentry*>(ctx);
        re->result = re->slot->rollback();
        return GRAFT_OK;
      },
      static_cast<void*>(&r));
  EXPECT_EQ(r.result.code(), ErrorCode::reentrant_swap);
  ASSERT_EQ(slot.call(&blocker_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 2);
}

struct OtherSlotCall {
  Slot<greeter_v1>* greeter;
  int64_t tag = 0;
};

TEST(MisbehavingComponentTest, AComponentMayCallAnotherSlotFromInsideACall) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& blocker = rt->slot<blocker_v1>("blocker");
  auto& greeter = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(blocker.load(blocker_file(1)).ok());
  ASSERT_TRUE(greeter.load(component_file("greeter-1.0.0.so")).ok());
  OtherSlotCall c{&greeter};
  const graft_status s = blocker.call(
      &blocker_v1::call_back,
      [](void* ctx) -> graft_status {
        auto* o = static_cast<OtherSlotCall*>(ctx);
        return o->greeter->call(&greeter_v1::tag, int64_t{5}, &o->tag);
      },
      static_cast<void*>(&c));
  EXPECT_EQ(s, GRAFT_OK);
  EXPECT_EQ(c.tag, 1005);
}

}  // namespace
}  // namespace graft::testing
