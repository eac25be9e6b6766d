// The list of caller threads' records. A record is created on a thread's
// first call and handed back by a pthread key destructor when the thread
// exits; those run after every C++ thread_local destructor (and again if a
// later destructor calls in), so a host thread_local whose destructor makes a
// call cannot strand a record. Records are freed (or kept as spares) under
// the registry lock that every scan holds, so no scan touches freed memory;
// an exiting thread's counters are folded into per-slot totals first.
#include "thread_registry.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
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

struct Entry {
  ThreadRecord record;  // first member: a record's address is its entry's
  pid_t tid = 0;
  Entry* prev = nullptr;
  Entry* next = nullptr;
};

Entry* entry_of(ThreadRecord* r) {
  return reinterpret_cast<Entry*>(r);
}

// Spare records kept for the next threads: a storm of short threads reuses
// them, and memory returns to this bound once the threads are gone.
constexpr std::size_t kMaxSpare = 64;

constinit std::mutex g_mu;
Entry* g_head = nullptr;  // live records
std::size_t g_live = 0;
Entry* g_spare = nullptr;  // singly linked through `next`
std::size_t g_spare_count = 0;
std::uint64_t g_retired_calls[kMaxSlots] = {};
std::uint64_t g_retired_errors[kMaxSlots] = {};

void fold_and_unlink_locked(Entry* e) {
  for (unsigned i = 0; i < kMaxSlots; ++i) {
    g_retired_calls[i] += e->record.calls[i].load(std::memory_order_relaxed);
    g_retired_errors[i] += e->record.errors[i].load(std::memory_order_relaxed);
  }
  if (e->prev != nullptr) e->prev->next = e->next;
  if (e->next != nullptr) e->next->prev = e->prev;
  if (g_head == e) g_head = e->next;
  e->prev = e->next = nullptr;
  --g_live;
}

void recycle_locked(Entry* e) {
  if (g_spare_count < kMaxSpare) {
    e->~Entry();
    new (e) Entry();
    e->next = g_spare;
    g_spare = e;
    ++g_spare_count;
  } else {
    delete e;
  }
}

void release_record(void* p) {
  auto* e = static_cast<Entry*>(p);
  t_record = &g_unregistered;
  std::lock_guard lock(g_mu);
  fold_and_unlink_locked(e);
  recycle_locked(e);
}

pthread_key_t exit_key() {
  static const pthread_key_t key = [] {
    pthread_key_t k{};
    if (pthread_key_create(&k, &release_record) != 0) std::terminate();
    return k;
  }();
  return key;
}

}  // namespace

__thread ThreadRecord* t_record __attribute__((tls_model(GRAFT_TLS_MODEL))) = &g_unregistered;

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
  const pthread_key_t key = exit_key();
  Entry* e = nullptr;
  {
    std::lock_guard lock(g_mu);
    if (g_spare != nullptr) {
      e = g_spare;
      g_spare = e->next;
      e->next = nullptr;
      --g_spare_count;
    }
  }
  if (e == nullptr) {
    e = new (std::nothrow) Entry();
    if (e == nullptr) return nullptr;
  }
  e->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  e->record.fence = barrier_mode() == BarrierMode::fence;
  if (pthread_setspecific(key, e) != 0) {
    std::lock_guard lock(g_mu);
    recycle_locked(e);
    return nullptr;
  }
  {
    std::lock_guard lock(g_mu);
    e->next = g_head;
    if (g_head != nullptr) g_head->prev = e;
    g_head = e;
    ++g_live;
  }
  t_record = &e->record;
  return &e->record;
}

void for_each_record_locked(void (*visit)(const ThreadRecord&, pid_t, void*), void* context) {
  std::lock_guard lock(g_mu);
  for (Entry* e = g_head; e != nullptr; e = e->next)
    visit(e->record, e->tid, context);
}

void thread_totals(std::uint32_t index, std::uint64_t* calls, std::uint64_t* errors) noexcept {
  std::lock_guard lock(g_mu);
  std::uint64_t c = g_retired_calls[index];
  std::uint64_t n = g_retired_errors[index];
  for (Entry* e = g_head; e != nullptr; e = e->next) {
    c += e->record.calls[index].load(std::memory_order_relaxed);
    n += e->record.errors[index].load(std::memory_order_relaxed);
  }
  *calls = c;
  *errors = n;
}

std::vector<std::string> threads_inside(const VersionCell* cell) {
  std::vector<pid_t> tids;
  {
    std::lock_guard lock(g_mu);
    for (Entry* e = g_head; e != nullptr; e = e->next) {
      for (const auto& h : e->record.hazard) {
        if (h.load(std::memory_order_acquire) == cell) {
          tids.push_back(e->tid);
          break;
        }
      }
    }
  }
  std::vector<std::string> out;
  for (pid_t tid : tids) {
    // The kernel's name for the thread (pthread_setname_np), 15 bytes at most.
    std::string name;
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    if (comm) std::getline(comm, name);
    out.push_back("tid " + std::to_string(tid) + (name.empty() ? "" : " (" + name + ")"));
  }
  return out;
}

RegistryCounts registry_counts() noexcept {
  std::lock_guard lock(g_mu);
  return RegistryCounts{g_live, g_spare_count};
}

void registry_before_fork() noexcept {
  g_mu.lock();
}

void registry_after_fork_parent() noexcept {
  g_mu.unlock();
}

void registry_after_fork_child() noexcept {
  // Only the forking thread exists in the child: every other record belongs
  // to a thread that is not there, and its hazards would hold versions
  // forever. Its counters are kept.
  Entry* mine = thread_is_registered() ? entry_of(t_record) : nullptr;
  for (Entry* e = g_head; e != nullptr;) {
    Entry* next = e->next;
    if (e != mine) {
      fold_and_unlink_locked(e);
      recycle_locked(e);
    }
    e = next;
  }
  if (mine != nullptr) mine->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  g_mu.unlock();
}

}  // namespace graft::detail

namespace graft {

bool prepare_this_thread() noexcept {
  return detail::thread_is_registered() || detail::register_thread() != nullptr;
}

}  // namespace graft
