// Walking the caller threads' records (the reloader's and the status side).
#pragma once

#include <graft/call_gate.hpp>

namespace graft::detail {

// The newest record; follow `next`. Records are never freed.
ThreadRecord* first_thread_record() noexcept;
// Gives the calling thread a record (its first call). Null when out of memory.
ThreadRecord* register_thread() noexcept;
// False until the calling thread's first call, and again once it exits.
bool thread_is_registered() noexcept;

template <class Visit>
void for_each_thread_record(Visit&& visit) {
  for (ThreadRecord* r = first_thread_record(); r != nullptr; r = r->next)
    visit(*r);
}

}  // namespace graft::detail
