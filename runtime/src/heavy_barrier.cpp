// The reloader's half of the asymmetric fence. Readers only keep the
// compiler from reordering their hazard store and re-check; this makes every
// running thread of the process execute a real barrier.
#include <graft/call_gate.hpp>

#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace graft::detail {
namespace {

enum class Method { membarrier, mprotect, fence };

Method choose() noexcept {
#if GRAFT_GATE_SYMMETRIC
  return Method::fence;
#else
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
    return Method::membarrier;
  }
  return Method::mprotect;
#endif
}

Method method() noexcept {
  static const Method m = choose();
  return m;
}

// Without membarrier: changing a dirty page's protection makes the kernel
// shoot down the TLB on every CPU running this process, an IPI that
// serialises each of them (the technique folly's asymmetric barrier uses).
[[maybe_unused]] void mprotect_barrier() noexcept {
  static std::mutex mu;
  static void* page = nullptr;
  std::lock_guard lock(mu);
  // Without the page there is no safe barrier: wait for memory rather than
  // risk unloading a version a reader still uses.
  while (page == nullptr) {
    page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
      page = nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  mprotect(page, 4096, PROT_READ | PROT_WRITE);
  static_cast<volatile char*>(page)[0] = 1;
  mprotect(page, 4096, PROT_READ);
}

}  // namespace

void heavy_barrier() noexcept {
#if GRAFT_GATE_SYMMETRIC
  // Both sides use sequentially consistent operations on the hazards and the
  // current pointer; nothing to add (and TSan does not model fences).
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
  switch (method()) {
    case Method::membarrier:
      if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) break;
      mprotect_barrier();
      break;
    case Method::mprotect:
      mprotect_barrier();
      break;
    case Method::fence:
      break;
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Registering is slow (it waits for a grace period), so do it once, early.
[[maybe_unused]] const bool g_registered = (method(), true);

}  // namespace graft::detail
