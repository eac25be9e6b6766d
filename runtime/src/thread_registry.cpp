// The list of caller threads' records. A record is created on a thread's
// first call, handed back when the thread exits, and reused by a later
// thread; it is never freed, so a reloader scanning the list never touches
// freed memory and counters are never lost.
#include "thread_registry.hpp"

#include <mutex>
#include <new>

namespace graft::detail {

namespace {

// Where t_record points before a thread's first call and after it exits.
// Never in the list, never written: its depth keeps the fast path out.
struct UnregisteredRecord : ThreadRecord {
  constexpr UnregisteredRecord() { depth = kMaxNesting; }
};
constinit UnregisteredRecord g_unregistered;

std::atomic<ThreadRecord*> g_head{nullptr};
std::mutex g_register_mu;

// Hands the record back when its thread exits.
struct ThreadExit {
  ThreadRecord* record = nullptr;
  ~ThreadExit() {
    if (record != nullptr) {
      t_record = &g_unregistered;
      record->depth = 0;
      record->in_use.store(false, std::memory_order_release);
    }
  }
};
thread_local ThreadExit t_exit;

}  // namespace

__thread ThreadRecord* t_record __attribute__((tls_model("initial-exec"))) = &g_unregistered;

bool thread_is_registered() noexcept {
  return t_record != &g_unregistered;
}

ThreadRecord* admit_slow(graft_status* status) noexcept {
  if (thread_is_registered()) {
    *status = GRAFT_E_NESTING;
    return nullptr;
  }
  ThreadRecord* r = register_thread();
  if (r == nullptr) *status = GRAFT_E_NO_MEMORY;
  return r;
}

ThreadRecord* register_thread() noexcept {
  ThreadRecord* found = nullptr;
  for (ThreadRecord* r = g_head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool expected = false;
    if (!r->in_use.load(std::memory_order_relaxed) &&
        r->in_use.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      found = r;
      break;
    }
  }
  if (found == nullptr) {
    found = new (std::nothrow) ThreadRecord();
    if (found == nullptr) return nullptr;
    found->in_use.store(true, std::memory_order_relaxed);
    std::lock_guard lock(g_register_mu);
    found->next = g_head.load(std::memory_order_relaxed);
    g_head.store(found, std::memory_order_release);
  }
  t_record = found;
  t_exit.record = found;
  return found;
}

ThreadRecord* first_thread_record() noexcept {
  return g_head.load(std::memory_order_acquire);
}

}  // namespace graft::detail
