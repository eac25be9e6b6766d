// The list of caller threads' records. Each thread's record is its own
// (a thread_local, in the thread's static TLS): a first call lists it with
// two atomic instructions, taking no lock and allocating nothing. With 10,000
// threads starting at once on 2 CPUs, any lock or shared allocator on that
// path made first calls wait for a holder the scheduler had preempted
// (first call p99 from 5 µs to 188 ms from run to run).
//
// A thread unlists its record through a pthread key destructor when it
// exits; those run after every C++ thread_local destructor (and again if a
// later destructor calls in), so a host thread_local whose destructor makes
// a call cannot strand a record; the thread's TLS is freed after them. Scans
// and unlisting hold the registry lock, so no scan reads a record whose
// thread has gone; an exiting thread's counters are folded into per-slot
// totals first.
#include "thread_registry.hpp"

#include "ticket_ring.hpp"

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

// The list's fields, written by scans under the lock, have a line of their
// own, apart from the record's lines that its thread writes on every call.
struct Entry {
  // The owning thread's id, read by scans under the lock.
  std::atomic<pid_t> tid{0};
  std::size_t pos = 0;    // index in g_live, or kUnlisted
  Entry* next = nullptr;  // in g_overflow, then in g_unlisted
  ThreadRecord record;
};
constexpr std::size_t kUnlisted = ~std::size_t{0};

// Every thread's record: ~2.3 KB of each thread's TLS, freed with it.
constinit thread_local Entry t_entry;
// Set once graft's key destructor has unlisted t_entry. A call after that
// comes from another library's key destructor, perhaps in glibc's last
// round, after which nothing would unlist a record before the TLS goes: it
// gets a record from the heap instead, freed by the next round if there is
// one and otherwise left listed (a leak, never a dangling record).
constinit thread_local bool t_exiting = false;

Entry* entry_of(ThreadRecord* r) {
  return reinterpret_cast<Entry*>(reinterpret_cast<char*>(r) - offsetof(Entry, record));
}

constinit std::mutex g_mu;
// Records listed by first calls since the last scan (ticket_ring.hpp); when
// a ring cell is still full, on the overflow list instead, linked through
// `next`. A scan takes both under the lock. A ring, not only a list: the
// first status after 10,000 threads' first calls took 3.4 ms chasing a list
// through their stacks, 0.5-1.1 ms reading the ring.
constinit TicketRing<Entry, 16384> g_ring;
constinit std::atomic<Entry*> g_overflow{nullptr};
// Listed records, dense: a scan walks an array (and prefetches ahead)
// instead of chasing a list, so status with 10,000 threads costs a line or
// two each.
std::vector<Entry*> g_live;
// Records g_live had no room for (out of memory), linked through `next`:
// scans walk them too.
Entry* g_unlisted = nullptr;
std::uint64_t g_retired_calls[kMaxSlots] = {};
std::uint64_t g_retired_errors[kMaxSlots] = {};

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

// Appends a record to g_live (its `pos` is set by the caller), or keeps it
// unlisted when g_live has no room.
void append_locked(Entry* e) noexcept {
  if (room_for_one_locked()) {
    g_live.push_back(e);  // cannot throw: room was made
  } else {
    e->pos = kUnlisted;
    e->next = g_unlisted;
    g_unlisted = e;
  }
}

// Tells the records appended to g_live from `first` on their places, a few
// records ahead on their way from memory: after a storm of first calls
// they are 10,000 lines in as many threads' stacks.
void place_locked(std::size_t first) noexcept {
  constexpr std::size_t kAhead = 16;
  Entry* const* list = g_live.data();
  const std::size_t n = g_live.size();
  for (std::size_t i = first; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(list[i + kAhead], 1);
    list[i]->pos = i;
  }
}

// Appends the records listed since the last call to g_live; returns where
// they start. Their `pos` is not set yet: place_locked() or a scan does it.
std::size_t take_incoming_locked() noexcept {
  if (const std::size_t needed = g_live.size() + g_ring.pending(); needed > g_live.capacity()) {
    try {
      g_live.reserve(std::max(needed, 2 * g_live.capacity()));  // once for a storm's records
    } catch (...) {
      // append_locked() makes room one at a time, or keeps them unlisted.
    }
  }
  const std::size_t first = g_live.size();
  // Partner of [L1]: a record's cell and its bit (or the overflow list)
  // were written before that thread's first hazard.
  g_ring.drain(append_locked);
  Entry* e = g_overflow.exchange(nullptr, std::memory_order_seq_cst);
  while (e != nullptr) {
    Entry* const next = e->next;
    append_locked(e);
    e = next;
  }
  return first;
}

void take_and_place_incoming_locked() noexcept {
  place_locked(take_incoming_locked());
}

// Visits every live record, the one `ahead` places on already on its way
// from memory (its first line, and `extra` bytes into it when asked). The
// records just taken in learn their places on the way: one trip to each
// (after a storm of 10,000 first calls they are in as many pages; the first
// status took 0.5-0.9 ms so, 0.8-1.2 ms placing them in a pass of its own,
// in runs side by side).
template <class Visit>
void scan_locked(std::size_t extra, Visit&& visit) {
  const std::size_t first = take_incoming_locked();
  constexpr std::size_t kAhead = 8;
  Entry* const* list = g_live.data();
  const std::size_t n = g_live.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      Entry* ahead = list[i + kAhead];
      const char* record = reinterpret_cast<const char*>(&ahead->record);
      __builtin_prefetch(record);
      if (extra != 0) __builtin_prefetch(record + extra);
      if (i + kAhead >= first) __builtin_prefetch(ahead, 1);
    }
    if (i >= first) list[i]->pos = i;
    try {
      visit(*list[i]);
    } catch (...) {
      // threads_inside() allocates: no record may stay unplaced, or
      // unlisting it would move the wrong entry.
      place_locked(std::max(i, first));
      throw;
    }
  }
  for (const Entry* e = g_unlisted; e != nullptr; e = e->next)
    visit(*e);
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

// Takes a record out of the lists, its counters folded into the totals.
void fold_and_unlist_locked(Entry* e) noexcept {
  take_and_place_incoming_locked();
  for (unsigned i = 0; i < kMaxSlots; ++i) {
    g_retired_calls[i] += e->record.calls[i].load(std::memory_order_relaxed);
    g_retired_errors[i] += e->record.errors[i].load(std::memory_order_relaxed);
  }
  if (e->pos == kUnlisted) {
    Entry** at = &g_unlisted;
    while (*at != e)
      at = &(*at)->next;
    *at = e->next;
    return;
  }
  Entry* last = g_live.back();
  g_live[e->pos] = last;
  last->pos = e->pos;
  g_live.pop_back();
}

void release_record(void* p) {
  auto* e = static_cast<Entry*>(p);
  t_record = &g_unregistered;
  t_exiting = true;
  {
    std::lock_guard lock(g_mu);
    fold_and_unlist_locked(e);
  }
  if (e != &t_entry) delete e;
}

pthread_key_t exit_key() {
  static const pthread_key_t key = [] {
    pthread_key_t k{};
    if (pthread_key_create(&k, &release_record) != 0) std::terminate();
    return k;
  }();
  return key;
}

// Made while the library loads, before any thread can make a call.
[[maybe_unused]] const pthread_key_t g_key_made = exit_key();

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
  Entry* e = t_exiting ? new (std::nothrow) Entry() : &t_entry;
  if (e == nullptr) return nullptr;
  e->tid.store(static_cast<pid_t>(::syscall(SYS_gettid)), std::memory_order_relaxed);
  e->record.fence = barrier_mode() == BarrierMode::fence;
  // Before listing, so that a failure leaves nothing to undo. The key was
  // made while the library loaded: no first-use guard to queue on.
  if (pthread_setspecific(exit_key(), e) != 0) {
    if (e != &t_entry) delete e;
    return nullptr;
  }
  // [L1] Listed before the first hazard store ([G2], program order): a scan
  // after the reloader's barrier that must see that hazard sees the record
  // (its cell and bit, or the overflow list). Partner: take_incoming_locked.
  if (!g_ring.put(e)) {
    Entry* head = g_overflow.load(std::memory_order_relaxed);
    do {
      e->next = head;
    } while (!g_overflow.compare_exchange_weak(head, e, std::memory_order_seq_cst,
                                               std::memory_order_relaxed));
  }
  t_record = &e->record;
  return &e->record;
}

void for_each_record_locked(void (*visit)(const ThreadRecord&, pid_t, void*), void* context) {
  std::lock_guard lock(g_mu);
  scan_locked(
      0, [&](const Entry& e) { visit(e.record, e.tid.load(std::memory_order_relaxed), context); });
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
      if (inside) tids.push_back(e.tid.load(std::memory_order_relaxed));
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

std::size_t registered_threads() noexcept {
  std::lock_guard lock(g_mu);
  std::size_t live = 0;
  scan_locked(0, [&](const Entry&) { ++live; });
  return live;
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
  const std::size_t first = take_incoming_locked();
  // A parent thread may have filled its cell and not yet marked it.
  g_ring.drain_all_cells(append_locked);
  place_locked(first);
  Entry* mine = thread_is_registered() ? entry_of(t_record) : nullptr;
  // Backwards: unlisting moves the last entry (already kept) into the hole.
  for (std::size_t i = g_live.size(); i-- > 0;)
    if (g_live[i] != mine) fold_and_unlist_locked(g_live[i]);
  Entry* kept = nullptr;
  while (g_unlisted != nullptr) {
    Entry* e = g_unlisted;
    if (e == mine) {
      g_unlisted = e->next;
      kept = e;
    } else {
      fold_and_unlist_locked(e);
    }
  }
  if (kept != nullptr) {
    kept->next = nullptr;
    g_unlisted = kept;
  }
  if (mine != nullptr) mine->tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
  g_mu.unlock();
}

}  // namespace graft::detail

namespace graft {

bool prepare_this_thread() noexcept {
  return detail::thread_is_registered() || detail::register_thread() != nullptr;
}

}  // namespace graft
