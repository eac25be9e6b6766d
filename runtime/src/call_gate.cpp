#include <graft/call_gate.hpp>

#include "thread_registry.hpp"

#include <algorithm>
#include <new>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GRAFT_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define GRAFT_CPU_RELAX() asm volatile("yield" ::: "memory")
#else
#define GRAFT_CPU_RELAX() ((void)0)
#endif

namespace graft::detail {

VersionCell* CallGate::pin_slow(ThreadRecord& r, unsigned depth, graft_status* status) noexcept {
  // The fast path may have published a hazard for a version that was then
  // unpublished; holding it while we wait would stall that version's drain.
  r.hazard[depth].store(nullptr, std::memory_order_release);
  std::unique_lock lock(mu_);
  if (closed_) {
    // A call nested inside a call already pinned to the closing version goes
    // to that version: it is alive (we hold it), and the drain is waiting for
    // the outer call anyway.
    for (unsigned i = 0; i < depth; ++i) {
      if (r.hazard[i].load(std::memory_order_relaxed) == closing_) {
        set_hazard(r, r.hazard[depth], closing_);
        return closing_;
      }
    }
    const auto until = std::chrono::steady_clock::now() + wait_;
    ++waiting_;
    const bool opened = opened_.wait_until(lock, until, [this] { return !closed_; });
    --waiting_;
    if (!opened) {
      *status = GRAFT_E_UNAVAILABLE;
      return nullptr;
    }
  }
  // Publishes and opens take this lock too, so under it `current_` cannot
  // move between our hazard store and the re-check: rapid publishes can
  // delay a caller by one lock, never fail it.
  VersionCell* v = current_.load(kLoadOrder);
  if (v == nullptr) {
    *status = GRAFT_E_UNAVAILABLE;  // nothing loaded in this slot
    return nullptr;
  }
  set_hazard(r, r.hazard[depth], v);  // [G2] partner: [R2]
  return v;
}

void CallGate::publish(VersionCell* next) noexcept {
  std::lock_guard lock(mu_);
  current_.store(next, std::memory_order_seq_cst);  // [R1] partner: [G3]
}

void CallGate::close(VersionCell* closing, std::chrono::nanoseconds wait) noexcept {
  std::lock_guard lock(mu_);
  closed_ = true;
  closing_ = closing;
  wait_ = wait;
  current_.store(nullptr, std::memory_order_seq_cst);  // [R1] partner: [G3]
}

void CallGate::open(VersionCell* next) noexcept {
  {
    std::lock_guard lock(mu_);
    current_.store(next, std::memory_order_seq_cst);  // [R1] partner: [G3]
    closed_ = false;
    closing_ = nullptr;
  }
  opened_.notify_all();
}

std::uint64_t CallGate::in_flight(const VersionCell* cell) noexcept {
  return count_inside(cell);
}

void CallGate::census(const VersionCell* const* cells, std::size_t n, std::uint64_t* inside,
                      std::uint64_t* calls, std::uint64_t* errors) const noexcept {
  detail::census(index_, cells, n, inside, calls, errors);
}

bool CallGate::wait_drained(const VersionCell* cell,
                            std::chrono::steady_clock::time_point deadline) {
  if (!heavy_barrier()) return false;  // [R2] partner: [G2]
  // Most calls are short: spin briefly (a sleep, or a yield to a busy
  // caller, costs a whole scheduler slice), then back off.
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
  for (unsigned i = 0;; ++i) {
    if (in_flight(cell) == 0) return true;
    if (std::chrono::steady_clock::now() >= spin_until) break;
    for (int k = 0; k < 64; ++k)
      GRAFT_CPU_RELAX();
  }
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    if (in_flight(cell) == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

bool CallGate::held_by_this_thread() const noexcept {
  if (!thread_is_registered()) return false;
  const ThreadRecord* r = t_record;
  const unsigned depth = r->depth.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < depth && i < kMaxNesting; ++i) {
    const VersionCell* v = r->hazard[i].load(std::memory_order_relaxed);
    if (v != nullptr && v->gate == this) return true;
  }
  return false;
}

void CallGate::totals(std::uint64_t* calls, std::uint64_t* errors) const noexcept {
  detail::census(index_, nullptr, 0, nullptr, calls, errors);
}

std::size_t CallGate::waiting() const noexcept {
  std::lock_guard lock(mu_);
  return waiting_;
}

void CallGate::before_fork() noexcept {
  mu_.lock();
}

void CallGate::after_fork_parent() noexcept {
  mu_.unlock();
}

void CallGate::after_fork_child() noexcept {
  // Only this thread exists now: no caller waits on the condition, and the
  // lock we took before the fork is ours to drop. A fresh condition avoids
  // glibc's destroy waiting for waiters that are gone.
  new (&opened_) std::condition_variable();
  waiting_ = 0;
  mu_.unlock();
}

}  // namespace graft::detail
