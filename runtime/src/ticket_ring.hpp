// A ring where any thread can put an item without a lock, and one thread at
// a time (holding the caller's lock) takes them all out. The thread
// registry lists a thread's record here on its first call, so that a scan
// reads a dense array instead of chasing a linked list through thousands of
// threads' stacks.
//
// put(): a ticket (one fetch-add) names a cell, filled with a compare-and-
// swap from null, then the cell's bit is set in a bitmap. A cell can still
// be full when its ticket comes round again (more than `Cells` items put
// between two drains): put() says so and the caller keeps the item some
// other way. drain() takes the cells whose bits are set: an item whose bit
// is not set yet is taken by a later drain.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace graft::detail {

template <class T, std::size_t Cells>
class TicketRing {
  static_assert(Cells % 64 == 0);

 public:
  constexpr TicketRing() = default;
  TicketRing(const TicketRing&) = delete;
  TicketRing& operator=(const TicketRing&) = delete;

  // Any thread. False when the ticket's cell still holds an item not yet
  // drained. Sequentially consistent throughout: the registry's ordering
  // argument ([L1] in thread_registry.cpp) needs the cell and its bit
  // written before the thread's first hazard.
  bool put(T* item) noexcept {
    const std::uint64_t cell = next_.fetch_add(1, std::memory_order_seq_cst) % Cells;
    T* empty = nullptr;
    if (!cells_[cell].compare_exchange_strong(empty, item, std::memory_order_seq_cst,
                                              std::memory_order_relaxed)) {
      return false;
    }
    filled_[cell / 64].fetch_or(std::uint64_t{1} << (cell % 64), std::memory_order_seq_cst);
    return true;
  }

  // Items a drain would take now (for sizing before it).
  std::size_t pending() const noexcept {
    std::size_t n = 0;
    for (const auto& word : filled_)
      n += static_cast<std::size_t>(__builtin_popcountll(word.load(std::memory_order_relaxed)));
    return n;
  }

  // One caller at a time. Hands `take` every item whose bit is set,
  // emptying its cell.
  template <class Take>
  void drain(Take&& take) noexcept {
    for (std::size_t w = 0; w < Cells / 64; ++w) {
      if (filled_[w].load(std::memory_order_relaxed) == 0) continue;
      // Partner: the fetch_or in put(). The bit was set after its cell was filled.
      std::uint64_t bits = filled_[w].exchange(0, std::memory_order_seq_cst);
      for (; bits != 0; bits &= bits - 1) {
        std::atomic<T*>& cell = cells_[w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))];
        T* item = cell.load(std::memory_order_seq_cst);
        // Only a drain empties a cell (put() only fills an empty one), and
        // only after clearing its bit: the item is still there.
        cell.store(nullptr, std::memory_order_relaxed);
        take(item);
      }
    }
  }

  // After fork(), in the child (one thread): takes every full cell, bit or
  // not. A thread of the parent may have filled a cell and not set its bit;
  // it is not in the child to set it.
  template <class Take>
  void drain_all_cells(Take&& take) noexcept {
    for (auto& word : filled_)
      word.store(0, std::memory_order_relaxed);
    for (auto& cell : cells_) {
      if (T* item = cell.exchange(nullptr, std::memory_order_relaxed)) take(item);
    }
  }

 private:
  std::atomic<T*> cells_[Cells] = {};
  std::atomic<std::uint64_t> filled_[Cells / 64] = {};
  std::atomic<std::uint64_t> next_{0};
};

}  // namespace graft::detail
