// The call gate: every call pins the version that is current when it starts
// and holds it until it returns.
//
// Each caller thread owns a ThreadRecord: a small stack of hazard pointers
// (one per nesting level) and per-slot call/error counters. Pinning stores
// the version into the thread's own hazard, then re-checks that it is still
// current; nothing is written that another caller writes, nothing waits.
// The reloader publishes a new version, runs one process-wide heavy barrier
// (membarrier), and from then on can see every hazard that still holds the
// old version: when none does, the old version has drained.
//
// ThreadSanitizer does not model membarrier, so a TSan build makes both
// sides sequentially consistent instead (see GRAFT_GATE_SYMMETRIC).
#pragma once

#include <graft/abi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#if defined(__SANITIZE_THREAD__)
#define GRAFT_GATE_SYMMETRIC 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GRAFT_GATE_SYMMETRIC 1
#endif
#endif
#ifndef GRAFT_GATE_SYMMETRIC
#define GRAFT_GATE_SYMMETRIC 0
#endif

namespace graft::detail {

// Calls may nest (a component calling a slot, or its own) this deep.
inline constexpr unsigned kMaxNesting = 16;
// Slots a process can have at once (each thread keeps counters for each).
inline constexpr unsigned kMaxSlots = 128;

// What a caller needs of a loaded version.
struct VersionCell {
  const void* table = nullptr;
  void* instance = nullptr;
  const void* gate = nullptr;  // the CallGate this version belongs to
  // Errors returned by this version's calls. Written on the error path only.
  std::atomic<std::uint64_t> errors{0};
};

struct alignas(64) ThreadRecord {
  std::atomic<const VersionCell*> hazard[kMaxNesting] = {};
  unsigned depth = 0;  // read and written by the owning thread only
  // Written by the owning thread only; summed by the host for status.
  std::atomic<std::uint64_t> calls[kMaxSlots] = {};
  std::atomic<std::uint64_t> errors[kMaxSlots] = {};
  // Registry linkage; never touched on the call path.
  std::atomic<bool> in_use{false};
  ThreadRecord* next = nullptr;
};

// The calling thread's record, created on its first call (no registration is
// asked of host threads). initial-exec: libgraft is linked, never dlopened.
// Until then it points at a shared record whose depth is at the nesting
// limit, so the fast path's one depth check also catches a first call.
extern __thread ThreadRecord* t_record __attribute__((tls_model("initial-exec")));
// The slow way in: registers a thread on its first call; otherwise the call
// is nested too deep. Null (and *status set) when the call cannot enter.
ThreadRecord* admit_slow(graft_status* status) noexcept;

inline void bump(std::atomic<std::uint64_t>& counter) noexcept {
  // Single writer: a plain load and store, no locked instruction.
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

class CallGate {
 public:
  explicit CallGate(std::uint32_t slot_index) noexcept : index_(slot_index) {}
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // The hot path: pin the current version, run `invoke(cell)`, unpin.
  template <class Invoke>
  [[gnu::always_inline]] inline graft_status call(Invoke&& invoke) noexcept {
    ThreadRecord* r = t_record;
    unsigned d = r->depth;
    if (__builtin_expect(d >= kMaxNesting, 0)) {
      graft_status s = GRAFT_OK;
      r = admit_slow(&s);
      if (r == nullptr) return s;
      d = r->depth;
    }
    VersionCell* v = current_.load(kLoadOrder);
    for (;;) {
      if (__builtin_expect(v == nullptr, 0)) {
        graft_status s = GRAFT_OK;
        v = pin_slow(*r, d, &s);
        if (v == nullptr) return s;
        break;
      }
      set_hazard(r->hazard[d], v);
      VersionCell* again = current_.load(kLoadOrder);
      if (__builtin_expect(again == v, 1)) break;
      v = again;
    }
    r->depth = d + 1;
    const graft_status s = invoke(*static_cast<const VersionCell*>(v));
    r->depth = d;
    bump(r->calls[index_]);
    if (__builtin_expect(s != GRAFT_OK, 0)) {
      bump(r->errors[index_]);
      v->errors.fetch_add(1, std::memory_order_relaxed);
    }
    r->hazard[d].store(nullptr, std::memory_order_release);
    return s;
  }

  // --- the reloader's side (serialised by the slot) ---

  VersionCell* current() const noexcept { return current_.load(std::memory_order_acquire); }
  // Makes `next` current. Callers that start after this never pin the old one.
  void publish(VersionCell* next) noexcept;
  // Quiesce: new calls wait (up to `wait`) instead of entering. Calls nested
  // inside a call already in `closing` still reach `closing`, so that a
  // component calling its own slot cannot deadlock the drain.
  void close(VersionCell* closing, std::chrono::nanoseconds wait) noexcept;
  // Opens a closed gate on `next` and wakes the waiting callers.
  void open(VersionCell* next) noexcept;
  // Waits until no call is inside `cell`, up to `deadline`. Runs the heavy
  // barrier first, so `cell` must no longer be current.
  bool wait_drained(const VersionCell* cell, std::chrono::steady_clock::time_point deadline);
  // Calls inside `cell` right now (valid after a wait_drained barrier).
  static std::uint64_t in_flight(const VersionCell* cell) noexcept;
  // True when the calling thread is inside a call into this gate.
  bool held_by_this_thread() const noexcept;
  // Calls and errors through this gate, summed over all threads.
  void totals(std::uint64_t* calls, std::uint64_t* errors) const noexcept;
  std::uint32_t index() const noexcept { return index_; }

 private:
#if GRAFT_GATE_SYMMETRIC
  static constexpr std::memory_order kLoadOrder = std::memory_order_seq_cst;
  static void set_hazard(std::atomic<const VersionCell*>& h, const VersionCell* v) noexcept {
    h.store(v, std::memory_order_seq_cst);
  }
#else
  static constexpr std::memory_order kLoadOrder = std::memory_order_acquire;
  static void set_hazard(std::atomic<const VersionCell*>& h, const VersionCell* v) noexcept {
    h.store(v, std::memory_order_relaxed);
    // The reloader's membarrier orders this store before our re-check.
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
#endif
  VersionCell* pin_slow(ThreadRecord& r, unsigned depth, graft_status* status) noexcept;
  VersionCell* pin_slow_retry(ThreadRecord& r, unsigned depth, graft_status* status) noexcept;

  std::atomic<VersionCell*> current_{nullptr};
  const std::uint32_t index_;

  // Quiesce state: only the slow path and the reloader touch it.
  std::mutex mu_;
  std::condition_variable opened_;
  bool closed_ = false;
  VersionCell* closing_ = nullptr;
  std::chrono::nanoseconds wait_{0};
};

// Makes every other thread of the process pass a full memory barrier
// (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), or an mprotect IPI where that
// is unavailable). Cost ~1 µs, paid by the reloader only.
void heavy_barrier() noexcept;

}  // namespace graft::detail
