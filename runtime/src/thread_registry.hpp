// The caller threads' records: who holds which version, and their counters.
// The reloader's scans and the status side walk them under the registry
// lock; the call path never takes it.
#pragma once

#include <graft/call_gate.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

// Exported for graft's own trust and control libraries and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

// Gives the calling thread a record (its first call). Null when out of memory.
ThreadRecord* register_thread() noexcept;
// False until the calling thread's first call, and again once it exits.
bool thread_is_registered() noexcept;

// Visits every live record under the registry lock. `visit` must not call
// into a slot or register a thread.
void for_each_record_locked(void (*visit)(const ThreadRecord&, pid_t tid, void*), void* context);
template <class Visit>
void for_each_thread_record(Visit&& visit) {
  for_each_record_locked(
      [](const ThreadRecord& r, pid_t, void* c) { (*static_cast<Visit*>(c))(r); }, &visit);
}

// Calls inside `cell` right now, over every live thread (one scan).
std::uint64_t count_inside(const VersionCell* cell) noexcept;
// One scan for status: calls and errors for slot `index` (live threads plus
// those that exited) and the calls inside each of `cells` (into `inside`).
void census(std::uint32_t index, const VersionCell* const* cells, std::size_t n,
            std::uint64_t* inside, std::uint64_t* calls, std::uint64_t* errors) noexcept;

// The threads inside `cell` right now: "tid 1234 (worker-3)".
std::vector<std::string> threads_inside(const VersionCell* cell);

// Records listed: threads that have made a call and not exited.
GRAFT_API std::size_t registered_threads() noexcept;

// fork(): the registry lock is held over the fork; the child keeps only the
// forking thread's record.
void registry_before_fork() noexcept;
void registry_after_fork_parent() noexcept;
void registry_after_fork_child() noexcept;

}  // namespace graft::detail

#pragma GCC visibility pop
