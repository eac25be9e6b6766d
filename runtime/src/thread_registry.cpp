// The list of caller threads' records. A record is created on a thread's
// first call and handed back by a pthread key destructor when the thread
// exits; those run after every C++ thread_local destructor (and again if a
// later destructor calls in), so a host thread_local whose destructor makes a
// call cannot strand a record. Records go back to their pool under
// the registry lock that every scan holds, so no scan touches freed memory;
// an exiting thread's counters are folded into per-slot totals first.
#include "thread_registry.hpp"

#include "record_pool.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <mutex>
#include <new>

namespace graft::detail {

namespace {

// Where t_record points before a thread's first call and after it exits.
// Never in the list, never written: its depth keeps the fast path out.
constinit ThreadRecord g_unregistered{kMaxNesting};

struct Entry {
  ThreadRecord record;  // first member: a record's address is its entry's
  pid_t tid = 0;
  std::size_t pos = 0;  // index in g_live
};

Entry* entry_of(ThreadRecord* r) {
  return reinterpret_cast<Entry*>(r);
}

constinit std::mutex g_mu;
// Live records, dense: a scan walks an array (and prefetches ahead) instead
// of chasing a list, so status with 10,000 threads costs a line or two each.
std::vector<Entry*> g_live;
// Records live in pages of their own (record_pool.hpp), ~200 to a 512 KiB
// chunk: memory returns to one empty chunk once a storm of threads exits.
RecordPool g_pool(sizeof(Entry));
std::uint64_t g_retired_calls[kMaxSlots] = {};
std::uint64_t g_retired_errors[kMaxSlots] = {};

// Visits every live record, the one `ahead` places on already on its way
// from memory (its first line, and `extra` bytes into it when asked).
template <class Visit>
void scan_locked(std::size_t extra, Visit&& visit) {
  constexpr std::size_t kAhead = 8;
  Entry* const* list = g_live.data();
  const std::size_t n = g_live.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const char* next = reinterpret_cast<const char*>(list[i + kAhead]);
      __builtin_prefetch(next);
      if (extra != 0) __builtin_prefetch(next + extra);
    }
    visit(*list[i]);
  }
}

// The hazards a record has in use: only those below its depth ([R4]).
template <class Visit>
void hazards_in_use(const ThreadRecord& r, Visit&& visit) {
  // [R4] partner: [G5]. Acquire: a depth of d means the call that used
  // hazard[d] is over, its last use of the version included.
  const unsigned depth = std::min(r.depth.load(std::memory_order_acquire), kMaxNesting);
  for (unsigned i = 0; i < depth; ++i) {
    const VersionCell* v = r.hazard[i].load(std::memory_order_acquire);  // [R3] partner: [G4]
    if (v != nullptr) visit(v);
  }
}

// Room for one more live record (doubling: rare, and the lock is held).
bool room_for_one_locked() noexcept {
  if (g_live.size() < g_live.capacity()) return true;
  try {
    g_live.reserve(std::max<std::size_t>(64, g_live.capacity() * 2));
    return true;
  } catch (...) {
    return false;
  }
}

void link_locked(Entry* e) noexcept {
  e->pos = g_live.size();
  g_live.push_back(e);  // room_for_one_locked() came first: cannot throw
}

void fold_and_unlink_locked(Entry* e) {
  for (unsigned i = 0; i < kMaxSlots; ++i) {
    g_retired_calls[i] += e->record.calls[i].load(std::memory_order_relaxed);
    g_retired_errors[i] += e->record.errors[i].load(std::memory_order_relaxed);
  }
  Entry* last = g_live.back();
  g_live[e->pos] = last;
  last->pos = e->pos;
  g_live.pop_back();
}

void recycle_locked(Entry* e) {
  e->~Entry();
  g_pool.give_back(e);
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
  const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const bool fence = barrier_mode() == BarrierMode::fence;
  // No malloc (the record comes from graft's own pages) and two short holds
  // of the lock, which a storm of first calls queues on: the record's pages
  // are faulted in and zeroed between them, not while others wait.
  void* block = nullptr;
  {
    std::lock_guard lock(g_mu);
    block = g_pool.take();
  }
  if (block == nullptr) return nullptr;
  Entry* e = new (block) Entry();
  e->tid = tid;
  e->record.fence = fence;
  {
    std::lock_guard lock(g_mu);
    if (!room_for_one_locked()) {
      recycle_locked(e);
      return nullptr;
    }
    link_locked(e);
  }
  if (pthread_setspecific(key, e) != 0) {
    std::lock_guard lock(g_mu);
    fold_and_unlink_locked(e);
    recycle_locked(e);
    return nullptr;
  }
  t_record = &e->record;
  return &e->record;
}

void for_each_record_locked(void (*visit)(const ThreadRecord&, pid_t, void*), void* context) {
  std::lock_guard lock(g_mu);
  scan_locked(0, [&](const Entry& e) { visit(e.record, e.tid, context); });
}

std::uint64_t count_inside(const VersionCell* cell) noexcept {
  std::uint64_t n = 0;
  std::lock_guard lock(g_mu);
  scan_locked(0, [&](const Entry& e) {
    hazards_in_use(e.record, [&](const VersionCell* v) { n += (v == cell); });
  });
  return n;
}

void census(std::uint32_t index, const VersionCell* const* cells, std::size_t n,
            std::uint64_t* inside, std::uint64_t* calls, std::uint64_t* errors) noexcept {
  for (std::size_t k = 0; k < n; ++k)
    inside[k] = 0;
  std::lock_guard lock(g_mu);
  std::uint64_t c = g_retired_calls[index];
  std::uint64_t x = g_retired_errors[index];
  scan_locked(offsetof(ThreadRecord, calls) + index * sizeof(std::uint64_t), [&](const Entry& e) {
    c += e.record.calls[index].load(std::memory_order_relaxed);
    x += e.record.errors[index].load(std::memory_order_relaxed);
    hazards_in_use(e.record, [&](const VersionCell* v) {
      for (std::size_t k = 0; k < n; ++k)
        inside[k] += (v == cells[k]);
    });
  });
  *calls = c;
  *errors = x;
}

std::vector<std::string> threads_inside(const VersionCell* cell) {
  std::vector<pid_t> tids;
  {
    std::lock_guard lock(g_mu);
    scan_locked(0, [&](const Entry& e) {
      bool inside = false;
      hazards_in_use(e.record, [&](const VersionCell* v) { inside = inside || v == cell; });
      if (inside) tids.push_back(e.tid);
    });
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
  return RegistryCounts{g_live.size(), g_pool.chunks()};
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
  // Backwards: unlinking moves the last entry (already kept) into the hole.
  for (std::size_t i = g_live.size(); i-- > 0;) {
    Entry* e = g_live[i];
    if (e == mine) continue;
    fold_and_unlink_locked(e);
    recycle_locked(e);
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
