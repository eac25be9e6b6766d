// The reloader's half of the asymmetric fence. Readers only keep the
// compiler from reordering their hazard store and re-check; this makes every
// running thread of the process execute a real barrier. Where membarrier is
// missing (old kernel, seccomp) the readers pay a real fence instead: that
// choice is made once, before any caller registers, because a reader that
// relies on the barrier must never meet a reloader that cannot run it. No
// mprotect/IPI trick: it is unsound where TLB shootdowns send no IPI (arm64).
#include <graft/call_gate.hpp>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace graft::detail {
namespace {

struct Choice {
  BarrierMode mode;
  std::string why;  // for the log line when it is not membarrier
};

Choice choose() noexcept {
#if GRAFT_GATE_SYMMETRIC
  return {BarrierMode::symmetric, "ThreadSanitizer build"};
#else
  if (const char* forced = std::getenv("GRAFT_BARRIER");
      forced != nullptr && std::strcmp(forced, "fence") == 0) {
    return {BarrierMode::fence, "GRAFT_BARRIER=fence is set"};
  }
  const long cmds = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0) {
    return {BarrierMode::fence, std::string("membarrier is unavailable: ") + std::strerror(errno)};
  }
  if ((cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return {BarrierMode::fence, "membarrier lacks MEMBARRIER_CMD_PRIVATE_EXPEDITED"};
  }
  // Registering is slow (it waits for a grace period), so it is done once, here.
  if (::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
    return {BarrierMode::fence,
            std::string("membarrier registration failed: ") + std::strerror(errno)};
  }
  return {BarrierMode::membarrier, ""};
#endif
}

const Choice& choice() noexcept {
  static const Choice c = choose();
  return c;
}

// Chosen while the library loads, before any thread can make a call.
[[maybe_unused]] const bool g_chosen = (choice(), true);

}  // namespace

BarrierMode barrier_mode() noexcept {
  return choice().mode;
}

const char* barrier_mode_reason() noexcept {
  return choice().why.c_str();
}

const char* to_string(BarrierMode mode) noexcept {
  switch (mode) {
    case BarrierMode::membarrier:
      return "membarrier";
    case BarrierMode::fence:
      return "fence";
    case BarrierMode::symmetric:
      return "symmetric";
  }
  return "unknown";
}

bool heavy_barrier() noexcept {
  switch (barrier_mode()) {
    case BarrierMode::membarrier:
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        // A seccomp filter added after start: the readers rely on this
        // barrier, so no drain can be trusted. Versions stay loaded.
        return false;
      }
      std::atomic_thread_fence(std::memory_order_seq_cst);
      return true;
    case BarrierMode::fence:
      // The readers' own fences pair with this one.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      return true;
    case BarrierMode::symmetric:
      // Both sides use sequentially consistent operations on the hazards and
      // the current pointer; nothing to add (and TSan does not model fences).
      return true;
  }
  return false;
}

}  // namespace graft::detail
