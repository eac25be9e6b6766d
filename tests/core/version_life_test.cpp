// A version's life against a strange host: listeners that throw anything,
// calls from signal handlers, fork, a runtime destroyed with a call inside,
// threads that exit mid-call or call from thread_local destructors, and
// rollbacks that cannot carry state back.
#include "blocker.h"
#include "counter.h"
#include "greeter.h"
#include "test_support.hpp"
#include "thread_registry.hpp"

#include <graft/artifact_store.hpp>
#include <graft/call_gate.hpp>
#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace graft::testing {
namespace {

struct Events {
  std::mutex mu;
  std::vector<SlotEvent> list;
  void add(const SlotEvent& e) {
    std::lock_guard lock(mu);
    list.push_back(e);
  }
  bool has(SlotEventKind kind, const std::string& version = "") {
    std::lock_guard lock(mu);
    for (const auto& e : list) {
      if (e.kind == kind && (version.empty() || e.version == version)) return true;
    }
    return false;
  }
  SlotEvent last(SlotEventKind kind) {
    std::lock_guard lock(mu);
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      if (it->kind == kind) return *it;
    }
    return {};
  }
};

// A thread parked inside blocker.hold until release() (or the destructor).
struct HeldCall {
  int32_t entered = 0;
  int32_t release_flag = 0;
  int32_t generation = 0;
  graft_status status = GRAFT_E_FAILED;
  std::thread thread;

  explicit HeldCall(Slot<blocker_v1>& slot) {
    thread = std::thread([this, &slot] {
      status = slot.call(&blocker_v1::hold, &entered, &release_flag, &generation);
    });
    while (__atomic_load_n(&entered, __ATOMIC_SEQ_CST) == 0)
      std::this_thread::yield();
  }
  void release() {
    __atomic_store_n(&release_flag, 1, __ATOMIC_SEQ_CST);
    if (thread.joinable()) thread.join();
  }
  ~HeldCall() { release(); }
};

RuntimeOptions options_for(const TempDir& dir, LogCapture& log) {
  auto o = test_options(dir.path(), log.logger);
  o.drain_deadline = std::chrono::milliseconds(100);
  return o;
}

// 1. A listener that throws an int while a call is inside the old version.
TEST(VersionLifeTest, ListenerThrowingAnIntNeverUnmapsAVersionWithACallInside) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(options_for(dir, log));
  rt->on_event([](const SlotEvent& e) {
    if (e.kind == SlotEventKind::swapped) throw 42;
  });
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  HeldCall held(slot);
  const Status s = slot.swap(component_file("blocker-2.0.0.so"));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(log.contains("event listener threw something that is not a std::exception"));
  // The old version is still mapped and still serving the held call.
  EXPECT_EQ(slot.status().state, SlotState::draining);
  held.release();
  EXPECT_EQ(held.status, GRAFT_OK);
  EXPECT_EQ(held.generation, 1);
  EXPECT_TRUE(eventually([&] { return slot.status().state == SlotState::serving; }));
  int32_t gen = 0;
  EXPECT_EQ(slot.call(&blocker_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 2);
}

// 2. Calls made from a signal handler never strip the call they interrupted.
Slot<blocker_v1>* g_signal_slot = nullptr;
std::atomic<std::uint64_t> g_handler_calls{0};
std::atomic<std::uint64_t> g_handler_failures{0};

void call_from_handler(int) {
  int32_t gen = 0;
  if (g_signal_slot->call(&blocker_v1::generation, &gen) == GRAFT_OK) {
    g_handler_calls.fetch_add(1, std::memory_order_relaxed);
  } else {
    g_handler_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

struct OuterProbe {
  std::uint64_t unprotected = 0;
  std::uint64_t checked = 0;
};

graft_status check_outer_hazard(void* context) {
  auto* probe = static_cast<OuterProbe*>(context);
  // Inside the outer call: its hazard (level 0) must still hold the version.
  const auto* h = detail::t_record->hazard[0].load(std::memory_order_relaxed);
  ++probe->checked;
  if (h == nullptr) ++probe->unprotected;
  return GRAFT_OK;
}

TEST(VersionLifeTest, SignalHandlerCallsForFiveSecondsLeaveNoOuterCallUnprotected) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(options_for(dir, log));
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  ASSERT_TRUE(prepare_this_thread());
  g_signal_slot = &slot;
  struct sigaction sa {};
  sa.sa_handler = &call_from_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);

  OuterProbe probe;
  std::atomic<bool> stop{false};
  const pthread_t target = pthread_self();
  std::thread signaller([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      pthread_kill(target, SIGUSR1);
      for (int i = 0; i < 200; ++i)
        asm volatile("" ::: "memory");
    }
  });
  // Five seconds, and at least 2,000 handler calls (a loaded machine runs
  // the signaller rarely), within a bound.
  const auto start = std::chrono::steady_clock::now();
  auto enough = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (now - start > std::chrono::seconds(120)) return true;
    return now - start >= std::chrono::seconds(5) && g_handler_calls.load() >= 2000;
  };
  std::uint64_t outer_failures = 0;
  while (!enough()) {
    for (int i = 0; i < 1000; ++i) {
      if (slot.call(&blocker_v1::call_back, &check_outer_hazard, static_cast<void*>(&probe)) !=
          GRAFT_OK) {
        ++outer_failures;
      }
    }
  }
  stop = true;
  signaller.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_GT(g_handler_calls.load(), 1000u);
  EXPECT_EQ(g_handler_failures.load(), 0u);
  EXPECT_EQ(outer_failures, 0u);
  EXPECT_GT(probe.checked, 100000u);
  EXPECT_EQ(probe.unprotected, 0u) << "outer calls that ran with no hazard published";
}

// 3. A refused rollback keeps previous and probation; an automatic rollback
// after a schema-raising quiesce patch falls back to immediate mode.
TEST(VersionLifeTest, RefusedQuiesceRollbackKeepsPreviousAndProbation) {
  TempDir dir;
  LogCapture log;
  Events events;  // outlives the runtime (its housekeeper emits events)
  auto o = options_for(dir, log);
  o.probation = std::chrono::seconds(60);
  auto rt = Runtime::open(o);
  rt->on_event([&](const SlotEvent& e) { events.add(e); });
  auto& slot = rt->slot<counter_v1>("counter");
  ASSERT_TRUE(slot.load(component_file("counter-1.0.0.so")).ok());
  int64_t total = 0;
  ASSERT_EQ(slot.call(&counter_v1::add, int64_t{5}, &total), GRAFT_OK);
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  ASSERT_TRUE(slot.swap(component_file("counter-2.0.0.so"), quiesce).ok());
  ASSERT_EQ(slot.call(&counter_v1::get, &total), GRAFT_OK);
  EXPECT_EQ(total, 5);  // carried forward

  // Explicitly asked to carry state back: 1.0.0 cannot read schema 2.
  const Status refused = slot.rollback("operator", SwapMode::quiesce);
  EXPECT_EQ(refused.code(), ErrorCode::state_import_failed) << refused.message();
  auto st = slot.status();
  EXPECT_EQ(st.version, "2.0.0");
  EXPECT_EQ(st.previous_version, "1.0.0");
  EXPECT_EQ(st.state, SlotState::probation);

  // Automatic: goes back anyway, and says the state stayed behind.
  const Status back = slot.rollback("operator");
  ASSERT_TRUE(back.ok()) << back.message();
  st = slot.status();
  EXPECT_EQ(st.version, "1.0.0");
  const SlotEvent e = events.last(SlotEventKind::rolled_back);
  EXPECT_EQ(e.mode, "immediate");
  EXPECT_NE(e.note.find("state not carried back"), std::string::npos) << e.note;
  // A rollback only moves to the recorded previous: there is none now.
  EXPECT_EQ(slot.rollback("operator").code(), ErrorCode::no_previous);
  EXPECT_EQ(slot.status().version, "1.0.0");
}

TEST(VersionLifeTest, ProbationRollsBackASchemaRaisingQuiescePatch) {
  TempDir dir;
  LogCapture log;
  Events events;  // outlives the runtime (its housekeeper emits events)
  auto o = options_for(dir, log);
  o.probation = std::chrono::seconds(60);
  o.probation_error_limit = 3;
  auto rt = Runtime::open(o);
  rt->on_event([&](const SlotEvent& e) { events.add(e); });
  auto& slot = rt->slot<counter_v1>("counter");
  ASSERT_TRUE(slot.load(component_file("counter-1.0.0.so")).ok());
  int64_t total = 0;
  ASSERT_EQ(slot.call(&counter_v1::add, int64_t{7}, &total), GRAFT_OK);
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  ASSERT_TRUE(slot.swap(fixture_file("counter_faulty", "counter-2.0.0.so"), quiesce).ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(slot.call(&counter_v1::add, int64_t{1}, &total), GRAFT_OK);
  ASSERT_TRUE(eventually([&] { return events.has(SlotEventKind::rolled_back, "1.0.0"); }))
      << "probation did not roll back";
  EXPECT_EQ(slot.status().version, "1.0.0");
  ASSERT_EQ(slot.call(&counter_v1::get, &total), GRAFT_OK);
  EXPECT_EQ(total, 7);  // the retained 1.0.0 kept its own state
  EXPECT_FALSE(log.contains("automatic rollback failed"));
}

// A load that goes back (a rollback reloaded from the store, a revocation)
// keeps nothing for probation and leaves nothing to roll back to: a slot
// rollback afterwards cannot move forward again.
TEST(VersionLifeTest, ALoadMarkedAsRollbackRetainsNothingAndLeavesNoPrevious) {
  TempDir dir;
  LogCapture log;
  Events events;  // outlives the runtime (its housekeeper emits events)
  auto o = options_for(dir, log);
  o.probation = std::chrono::seconds(60);
  auto rt = Runtime::open(o);
  rt->on_event([&](const SlotEvent& e) { events.add(e); });
  auto& slot = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
  ASSERT_TRUE(slot.swap(component_file("greeter-1.1.0.so")).ok());
  ASSERT_TRUE(slot.commit().ok());
  Artifact older;
  ASSERT_TRUE(rt->store().put(component_file("greeter-1.0.0.so"), &older).ok());
  SwapOptions back;
  back.allow_older = true;
  back.as_rollback = true;
  back.expect_version = Version::parse("1.0.0");
  ASSERT_TRUE(slot.install(older, back).ok());
  const auto st = slot.status();
  EXPECT_EQ(st.version, "1.0.0");
  EXPECT_EQ(st.state, SlotState::serving);  // nothing in probation
  EXPECT_EQ(st.previous_version, "");
  EXPECT_EQ(events.last(SlotEventKind::rolled_back).version, "1.0.0");
  EXPECT_EQ(slot.rollback().code(), ErrorCode::no_previous);
  EXPECT_EQ(slot.status().version, "1.0.0");
}

// 4. fork() with a parent thread inside a call: the child swaps and destroys.
TEST(VersionLifeTest, ForkedChildSwapsAndDestroysItsRuntimeWhileAParentThreadIsInside) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(options_for(dir, log));
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  HeldCall held(slot);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);  // a hang is a failure, not a stuck suite
    int code = 0;
    const Status s = slot.swap(component_file("blocker-2.0.0.so"));
    if (!s) code = 10;
    if (code == 0 && slot.status().state != SlotState::serving) code = 11;  // no phantom caller
    int32_t gen = 0;
    if (code == 0 && (slot.call(&blocker_v1::generation, &gen) != GRAFT_OK || gen != 2)) code = 12;
    rt.reset();  // must not hang
    _exit(code);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child killed by signal " << WTERMSIG(wstatus);
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  // The parent is untouched: its held call still pins 1.0.0.
  EXPECT_EQ(slot.status().version, "1.0.0");
  held.release();
  EXPECT_EQ(held.generation, 1);
}

// 6. Threads whose thread_local destructor calls a slot leave no record.
// The slot that exiting threads' destructors call: they cannot capture it.
Slot<greeter_v1>* g_exit_slot = nullptr;
void call_exit_slot() {
  int64_t out = 0;
  (void)g_exit_slot->call(&greeter_v1::tag, int64_t{1}, &out);
}

// A runtime serving greeter 1.0.0 in g_exit_slot.
struct ExitSlotRuntime {
  TempDir dir;
  LogCapture log;
  std::unique_ptr<Runtime> rt = Runtime::open(options_for(dir, log));
  Slot<greeter_v1>& slot = rt->slot<greeter_v1>("greeter");
  ExitSlotRuntime() {
    EXPECT_TRUE(slot.load(component_file("greeter-1.0.0.so")).ok());
    g_exit_slot = &slot;
  }
};

struct CallsOnExit {
  ~CallsOnExit() { call_exit_slot(); }
};

TEST(VersionLifeTest, ThousandThreadsCallingFromThreadLocalDestructorsLeaveAtMostTwoRecords) {
  ExitSlotRuntime runtime;
  auto& slot = runtime.slot;
  const auto before = slot.status().calls;
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 100; ++i) {
      threads.emplace_back([] {
        // Constructed before the thread's first call, so destroyed after
        // whatever graft itself keeps per thread: its call comes last.
        thread_local CallsOnExit on_exit;
        (void)&on_exit;
        call_exit_slot();
      });
    }
    for (auto& t : threads)
      t.join();
  }
  EXPECT_EQ(slot.status().calls - before, 2000u);  // counted, then folded on exit
  std::size_t records = 0;
  detail::for_each_thread_record([&](const detail::ThreadRecord&) { ++records; });
  EXPECT_LE(records, 2u) << "records still in the registry after the threads exited";
  EXPECT_EQ(detail::registered_threads(), records);
}

// A call from another library's pthread key destructor after graft's own
// has run, in glibc's last round of them: nothing unlists the record after
// that, and the thread's TLS goes (to glibc's stack cache, then to the next
// thread). That record must not be the thread's TLS record.
pthread_key_t g_late_key;
thread_local int t_late_rounds = 0;
void call_in_the_last_round(void*) {
  if (++t_late_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    (void)pthread_setspecific(g_late_key, &t_late_rounds);  // another round, please
    return;
  }
  call_exit_slot();
}

TEST(VersionLifeTest, ACallInTheLastKeyDestructorRoundLeavesNoRecordInTheThreadsTls) {
  ExitSlotRuntime runtime;
  auto& slot = runtime.slot;
  // Made after graft's key (made while libgraft loaded): its destructor runs
  // after graft's in each round.
  ASSERT_EQ(pthread_key_create(&g_late_key, &call_in_the_last_round), 0);
  const auto before = slot.status().calls;
  std::thread([] {
    call_exit_slot();
    (void)pthread_setspecific(g_late_key, &t_late_rounds);
  }).join();
  EXPECT_EQ(slot.status().calls - before, 2u);
  // The next thread gets the cached stack, and its TLS where the last one's
  // was: a record left listed there would be counted twice.
  std::mutex mu;
  std::condition_variable cv;
  bool called = false, leave = false;
  std::thread next([&] {
    for (int i = 0; i < 10; ++i)
      call_exit_slot();
    std::unique_lock lock(mu);
    called = true;
    cv.notify_all();
    cv.wait(lock, [&] { return leave; });
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return called; });
    EXPECT_EQ(slot.status().calls - before, 12u) << "a call counted twice";
    leave = true;
    cv.notify_all();
  }
  next.join();
  EXPECT_EQ(slot.status().calls - before, 12u);
  pthread_key_delete(g_late_key);
}

// 7. pthread_exit inside a component call.
graft_status exit_thread(void*) {
  pthread_exit(nullptr);
}

TEST(VersionLifeTest, PthreadExitInsideACallUnpinsAndTheVersionDrains) {
  TempDir dir;
  LogCapture log;
  Events events;  // outlives the runtime (its housekeeper emits events)
  auto rt = Runtime::open(options_for(dir, log));
  rt->on_event([&](const SlotEvent& e) { events.add(e); });
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  std::thread t([&] { (void)slot.call(&blocker_v1::call_back, &exit_thread, nullptr); });
  t.join();
  ASSERT_TRUE(slot.swap(component_file("blocker-2.0.0.so")).ok());
  EXPECT_FALSE(events.has(SlotEventKind::draining));
  EXPECT_TRUE(eventually([&] { return events.has(SlotEventKind::unloaded, "1.0.0"); }));
}

// 8. Asking for more slots than a process can have.
TEST(VersionLifeTest, TwoHundredSlotsGetAClearErrorPastTheLimitAndTheRestServe) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(options_for(dir, log));
  int declared = 0;
  std::string error;
  for (int i = 0; i < 200; ++i) {
    try {
      (void)rt->slot<greeter_v1>(i == 0 ? std::string("greeter") : "greeter-" + std::to_string(i));
      ++declared;
    } catch (const Error& e) {
      EXPECT_EQ(e.status().code(), ErrorCode::too_many_slots);
      error = e.status().message();
    }
  }
  EXPECT_EQ(declared, static_cast<int>(kMaxSlots));
  EXPECT_NE(error.find("the most it can have is " + std::to_string(kMaxSlots)), std::string::npos)
      << error;
  auto& first = rt->slot<greeter_v1>("greeter");
  const Status loaded = first.load(component_file("greeter-1.0.0.so"));
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  int64_t out = 0;
  EXPECT_EQ(first.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_OK);
}

// A drain past its deadline names the threads that hold the old version.
TEST(VersionLifeTest, DrainPastItsDeadlineNamesTheThreadsInside) {
  TempDir dir;
  LogCapture log;
  Events events;  // outlives the runtime (its housekeeper emits events)
  auto rt = Runtime::open(options_for(dir, log));
  rt->on_event([&](const SlotEvent& e) { events.add(e); });
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  HeldCall held(slot);
  pthread_setname_np(held.thread.native_handle(), "held-caller");
  ASSERT_TRUE(slot.swap(component_file("blocker-2.0.0.so")).ok());
  const SlotEvent d = events.last(SlotEventKind::draining);
  EXPECT_NE(d.status.message().find("(held-caller)"), std::string::npos) << d.status.message();
  EXPECT_NE(d.status.message().find("tid "), std::string::npos);
}

// 5. The runtime destroyed while a component thread is inside a call. Last in
// this file: the slot index it leaves in use is never reused.
TEST(VersionLifeTest, RuntimeDestroyedWithACallInsideLeavesTheReturningCallSafe) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(options_for(dir, log));
  auto& slot = rt->slot<blocker_v1>("blocker");
  ASSERT_TRUE(slot.load(component_file("blocker-1.0.0.so")).ok());
  HeldCall held(slot);
  rt.reset();  // drain deadline passes; the version is left mapped
  EXPECT_TRUE(log.contains("still inside at shutdown"));
  held.release();  // returns through a gate whose slot is gone (ASan checks)
  EXPECT_EQ(held.status, GRAFT_OK);
  EXPECT_EQ(held.generation, 1);
}

}  // namespace
}  // namespace graft::testing
