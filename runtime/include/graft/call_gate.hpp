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
// Memory-ordering pairs (each line in the code names its partner):
//
//   caller (this header)                     reloader (call_gate.cpp, heavy_barrier.cpp)
//   [G1] depth = d + 1, then signal fence    (same thread: a signal handler that
//        before [G2]                          calls in here uses hazard[d + 1])
//   [G2] hazard[d] = v                  <->  [R2] heavy barrier, then scan hazards
//   [G3] re-load current == v           <->  [R1] current = next (seq_cst)
//   [G4] hazard[d] = null (release),    <->  [R3] scan sees null (acquire), then unmap
//        after the last use of v
//   [G5] depth = d (release), after [G4] <->  [R4] scan reads depth (acquire), then
//                                              only hazard[0, depth); also mirrors [G1]
//
// [G2]/[G3] against [R1]/[R2]: either the caller's re-load sees `next` (it
// retries and never uses the old version), or the barrier orders its hazard
// store before the reloader's scan (the scan sees it and waits). Readers pay
// only a compiler fence; the barrier makes it a real one. Where membarrier is
// unavailable the readers pay a real fence instead (chosen once, at start).
//
// [R4] lets a scan read one line of an idle thread's record: a caller that
// pinned `v` at hazard[d] raised its depth above d ([G1]) before [G2], so
// whatever makes [G2] visible to the scan makes [G1] visible too, and the
// depth stays above d until [G5], which comes after the last use of `v`.
//
// What is ABI: this header is compiled into hosts. The layout of ThreadRecord
// and VersionCell, kMaxNesting, kMaxSlots and the symbols t_record,
// admit_slow and CallGate's out-of-line members are part of libgraft's ABI;
// changing any of them changes the SONAME (libgraft.so.N).
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

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

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

// A host that is itself a dlopened plugin may define GRAFT_TLS_DYNAMIC before
// including graft headers: its calls then reach the thread's record through
// the general-dynamic TLS model (about 2 ns more per call) instead of
// initial-exec, which needs static TLS space at dlopen time.
#if defined(GRAFT_TLS_DYNAMIC)
#define GRAFT_TLS_MODEL "global-dynamic"
#else
#define GRAFT_TLS_MODEL "initial-exec"
#endif

#define GRAFT_API __attribute__((visibility("default")))

namespace graft::detail {

// Calls may nest (a component calling a slot, or its own) this deep.
inline constexpr unsigned kMaxNesting = 16;
// Slots a process can have at once (each thread keeps counters for each);
// the status board holds as many.
inline constexpr unsigned kMaxSlots = 128;

// What a caller needs of a loaded version.
struct VersionCell {
  const void* table = nullptr;
  void* instance = nullptr;
  const void* gate = nullptr;    // the CallGate this version belongs to
  std::uint32_t slot_index = 0;  // that gate's index(): the error path reads it
  // Errors returned by this version's calls. Written on the error path only.
  mutable std::atomic<std::uint64_t> errors{0};
};

struct alignas(64) ThreadRecord {
  constexpr ThreadRecord() = default;
  constexpr explicit ThreadRecord(unsigned initial_depth) : depth(initial_depth) {}
  // Written by the owning thread only (and its signal handlers); scans read
  // it to look at the hazards in use alone.
  std::atomic<unsigned> depth{0};
  // True when membarrier is unavailable: the caller pays a real fence.
  bool fence = false;
  std::atomic<const VersionCell*> hazard[kMaxNesting] = {};
  // Written by the owning thread only; summed by the host for status.
  std::atomic<std::uint64_t> calls[kMaxSlots] = {};
  std::atomic<std::uint64_t> errors[kMaxSlots] = {};
};

// The calling thread's record, created on its first call (no registration is
// asked of host threads). Until then, and after the thread exits, it points
// at a shared record whose depth is at the nesting limit, so the fast path's
// one depth check also catches a first call.
GRAFT_API extern __thread ThreadRecord* t_record __attribute__((tls_model(GRAFT_TLS_MODEL)));
// The slow way in: registers a thread on its first call; otherwise the call
// is nested too deep. Null (and *status set) when the call cannot enter.
GRAFT_API ThreadRecord* admit_slow(graft_status* status) noexcept;

inline void bump(std::atomic<std::uint64_t>& counter) noexcept {
  // Single writer: a plain load and store, no locked instruction.
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

class GRAFT_API CallGate {
 public:
  explicit CallGate(std::uint32_t slot_index) noexcept : index_(slot_index) {}
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // The hot path: pin the current version, run `invoke(cell)`, unpin.
  // Not noexcept: a forced unwind (pthread_exit, cancellation) inside a
  // component passes through, unpinning on its way out.
  template <class Invoke>
  [[gnu::always_inline]] inline graft_status call(Invoke&& invoke) {
    ThreadRecord* r = t_record;
    unsigned d = r->depth.load(std::memory_order_relaxed);
    if (__builtin_expect(d >= kMaxNesting, 0)) {
      graft_status s = GRAFT_OK;
      r = admit_slow(&s);
      if (r == nullptr) return s;
      d = r->depth.load(std::memory_order_relaxed);
    }
    // [G1] Depth first: a signal handler calling in from here on takes
    // hazard[d + 1] and cannot clear ours. Partner: [G5].
    r->depth.store(d + 1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    Unpin unpin;
    VersionCell* v = current_.load(kLoadOrder);
    set_hazard(*r, r->hazard[d], v);  // [G2] partner: [R2]
    // [G3] partner: [R1]. A miss (nothing loaded, a closed gate, or a
    // publish between the two loads, a window of a few instructions) pins
    // under the gate's lock, which publishes also take: a publish can delay
    // a call, never fail it.
    if (__builtin_expect(v == nullptr || current_.load(kLoadOrder) != v, 0)) {
      graft_status s = GRAFT_OK;
      v = pin_slow(*r, d, &s);
      if (v == nullptr) return s;
    }
    // Counted on entry: nothing of the gate is read after the call, which
    // may outlive the slot (and nothing needs keeping across it).
    bump(r->calls[index_]);
    const graft_status s = invoke(*static_cast<const VersionCell*>(v));
    if (__builtin_expect(s != GRAFT_OK, 0)) count_error();
    return s;  // ~Unpin: [G4] then [G5]
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
  // barrier first, so `cell` must no longer be current. False past the
  // deadline, or when the barrier cannot run (then nothing may be unmapped).
  bool wait_drained(const VersionCell* cell, std::chrono::steady_clock::time_point deadline);
  // Calls inside `cell` right now (valid after a wait_drained barrier).
  static std::uint64_t in_flight(const VersionCell* cell) noexcept;
  // One pass over the threads for status: the calls inside each of `cells`
  // (into `inside`), and this gate's calls and errors summed over threads.
  void census(const VersionCell* const* cells, std::size_t n, std::uint64_t* inside,
              std::uint64_t* calls, std::uint64_t* errors) const noexcept;
  // True when the calling thread is inside a call into this gate.
  bool held_by_this_thread() const noexcept;
  // Calls and errors through this gate, summed over all threads.
  void totals(std::uint64_t* calls, std::uint64_t* errors) const noexcept;
  std::uint32_t index() const noexcept { return index_; }
  // Callers waiting at the closed gate right now.
  std::size_t waiting() const noexcept;

  // fork(): the parent's side holds the gate's lock over the fork; the
  // child gets a fresh lock and condition (no thread of the parent waits).
  void before_fork() noexcept;
  void after_fork_parent() noexcept;
  void after_fork_child() noexcept;

 private:
  // Counts a failed call against the version it ran in, found again from
  // the record like Unpin does: nothing of the call is held across it.
  // Before [G4]: the version may go once its hazard is cleared.
  static void count_error() noexcept {
    ThreadRecord* const r = t_record;
    const VersionCell* v =
        r->hazard[r->depth.load(std::memory_order_relaxed) - 1].load(std::memory_order_relaxed);
    bump(r->errors[v->slot_index]);  // v, unlike the gate, is held until [G4]
    v->errors.fetch_add(1, std::memory_order_relaxed);
  }
  // Clears the hazard, then restores the depth, on return and on a forced unwind.
  // It finds both again rather than keeping them across the call: the
  // thread's record does not change during a call, and its depth is back to
  // d + 1 whenever the call returns (nested calls and signal handlers
  // restore what they raised). Loads from lines in cache cost less than
  // values held across the call, which crowd the caller's registers and
  // push its loop state onto the stack (bench_gate_scaling, 128 slots).
  struct Unpin {
    ~Unpin() {
      ThreadRecord* const r = t_record;
      const unsigned d = r->depth.load(std::memory_order_relaxed) - 1;
      r->hazard[d].store(nullptr, std::memory_order_release);  // [G4] partner: [R3]
      std::atomic_signal_fence(std::memory_order_seq_cst);
      // [G5] partner: [G1] (this thread's handlers) and [R4] (a scan that
      // skips hazard[d] once it reads this depth; release keeps the last
      // use of v before it).
      r->depth.store(d, std::memory_order_release);
    }
  };
#if GRAFT_GATE_SYMMETRIC
  static constexpr std::memory_order kLoadOrder = std::memory_order_seq_cst;
  static void set_hazard(const ThreadRecord&, std::atomic<const VersionCell*>& h,
                         const VersionCell* v) noexcept {
    h.store(v, std::memory_order_seq_cst);
  }
#else
  static constexpr std::memory_order kLoadOrder = std::memory_order_acquire;
  static void set_hazard(const ThreadRecord& r, std::atomic<const VersionCell*>& h,
                         const VersionCell* v) noexcept {
    h.store(v, std::memory_order_relaxed);
    if (__builtin_expect(r.fence, 0)) {
      // No membarrier on this system: pay the fence here instead.
      std::atomic_thread_fence(std::memory_order_seq_cst);
    } else {
      // The reloader's membarrier orders this store before our re-check.
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
  }
#endif
  VersionCell* pin_slow(ThreadRecord& r, unsigned depth, graft_status* status) noexcept;

  std::atomic<VersionCell*> current_{nullptr};
  const std::uint32_t index_;

  // Quiesce state and the locked pin: only slow paths and the reloader.
  mutable std::mutex mu_;
  std::condition_variable opened_;
  bool closed_ = false;
  std::size_t waiting_ = 0;
  VersionCell* closing_ = nullptr;
  std::chrono::nanoseconds wait_{0};
};

// How the reloader's barrier reaches the callers, chosen once at start.
enum class BarrierMode {
  membarrier,  // callers pay a compiler fence; the reloader one membarrier
  fence,       // membarrier unavailable (or GRAFT_BARRIER=fence): callers pay a real fence
  symmetric,   // ThreadSanitizer build: sequentially consistent on both sides
};
GRAFT_API BarrierMode barrier_mode() noexcept;
// Why the mode is not membarrier ("" when it is).
GRAFT_API const char* barrier_mode_reason() noexcept;
GRAFT_API const char* to_string(BarrierMode mode) noexcept;

// Makes every other thread of the process pass a full memory barrier
// (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)). Cost ~1 µs, paid by the
// reloader only. False when it could not run (then no drain may be trusted).
GRAFT_API bool heavy_barrier() noexcept;

}  // namespace graft::detail

namespace graft {
// Registers the calling thread with the call gate now rather than on its
// first call: a thread whose first call may come from a signal handler must
// call this first (registration calls pthread_setspecific, and glibc may
// allocate the TLS of a dlopened libgraft; a call does neither).
GRAFT_API bool prepare_this_thread() noexcept;
}  // namespace graft

#pragma GCC visibility pop
