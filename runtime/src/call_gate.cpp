#include <graft/call_gate.hpp>

#include "thread_registry.hpp"

#include <algorithm>
#include <thread>

namespace graft::detail {

VersionCell* CallGate::pin_slow(ThreadRecord& r, unsigned depth, graft_status* status) noexcept {
  // The fast path may have published a hazard for a version that was then
  // unpublished; holding it while we wait would stall that version's drain.
  r.hazard[depth].store(nullptr, std::memory_order_release);
  std::unique_lock lock(mu_);
  if (!closed_) {
    // Opened (or published) between the fast path's load and here: retry
    // the normal protocol under the lock-free rules.
    VersionCell* v = current_.load(kLoadOrder);
    if (v == nullptr) {
      *status = GRAFT_E_UNAVAILABLE;  // nothing loaded in this slot
      return nullptr;
    }
    set_hazard(r.hazard[depth], v);
    if (current_.load(kLoadOrder) == v) return v;
    r.hazard[depth].store(nullptr, std::memory_order_relaxed);
    lock.unlock();
    return pin_slow_retry(r, depth, status);
  }
  // A call nested inside a call already pinned to the closing version goes
  // to that version: it is alive (we hold it), and the drain is waiting for
  // the outer call anyway.
  for (unsigned i = 0; i < depth; ++i) {
    if (r.hazard[i].load(std::memory_order_relaxed) == closing_) {
      set_hazard(r.hazard[depth], closing_);
      return closing_;
    }
  }
  const auto until = std::chrono::steady_clock::now() + wait_;
  if (!opened_.wait_until(lock, until, [this] { return !closed_; })) {
    *status = GRAFT_E_UNAVAILABLE;
    return nullptr;
  }
  lock.unlock();
  return pin_slow_retry(r, depth, status);
}

VersionCell* CallGate::pin_slow_retry(ThreadRecord& r, unsigned depth,
                                      graft_status* status) noexcept {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    VersionCell* v = current_.load(kLoadOrder);
    if (v == nullptr) return pin_slow(r, depth, status);
    set_hazard(r.hazard[depth], v);
    if (current_.load(kLoadOrder) == v) return v;
  }
  r.hazard[depth].store(nullptr, std::memory_order_relaxed);
  *status = GRAFT_E_UNAVAILABLE;
  return nullptr;
}

void CallGate::publish(VersionCell* next) noexcept {
  current_.store(next, std::memory_order_seq_cst);
}

void CallGate::close(VersionCell* closing, std::chrono::nanoseconds wait) noexcept {
  std::lock_guard lock(mu_);
  closed_ = true;
  closing_ = closing;
  wait_ = wait;
  current_.store(nullptr, std::memory_order_seq_cst);
}

void CallGate::open(VersionCell* next) noexcept {
  {
    std::lock_guard lock(mu_);
    current_.store(next, std::memory_order_seq_cst);
    closed_ = false;
    closing_ = nullptr;
  }
  opened_.notify_all();
}

std::uint64_t CallGate::in_flight(const VersionCell* cell) noexcept {
  std::uint64_t n = 0;
  for_each_thread_record([&](const ThreadRecord& r) {
    for (const auto& h : r.hazard) {
      if (h.load(std::memory_order_acquire) == cell) ++n;
    }
  });
  return n;
}

bool CallGate::wait_drained(const VersionCell* cell,
                            std::chrono::steady_clock::time_point deadline) {
  heavy_barrier();
  // Most calls are short: give the CPU to the callers a few times before
  // sleeping (on a busy machine a sleep costs a whole scheduler slice).
  for (int i = 0; i < 64; ++i) {
    if (in_flight(cell) == 0) return true;
    std::this_thread::yield();
  }
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    if (in_flight(cell) == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

bool CallGate::held_by_this_thread() const noexcept {
  if (!thread_is_registered()) return false;
  const ThreadRecord* r = t_record;
  for (unsigned i = 0; i < r->depth; ++i) {
    const VersionCell* v = r->hazard[i].load(std::memory_order_relaxed);
    if (v != nullptr && v->gate == this) return true;
  }
  return false;
}

void CallGate::totals(std::uint64_t* calls, std::uint64_t* errors) const noexcept {
  std::uint64_t c = 0;
  std::uint64_t e = 0;
  for_each_thread_record([&](const ThreadRecord& r) {
    c += r.calls[index_].load(std::memory_order_relaxed);
    e += r.errors[index_].load(std::memory_order_relaxed);
  });
  *calls = c;
  *errors = e;
}

}  // namespace graft::detail
