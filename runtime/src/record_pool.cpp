#include "record_pool.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace graft::detail {

// At the head of each chunk; its blocks follow.
struct RecordPool::Chunk {
  Chunk* prev = nullptr;  // in available_
  Chunk* next = nullptr;
  bool listed = false;
  std::size_t used = 0;   // blocks handed out
  std::size_t fresh = 0;  // blocks never handed out start here
  void* free = nullptr;   // blocks handed back, linked through their first word
};

namespace {
constexpr std::size_t kFirstBlock = 128;  // the chunk head, rounded to lines

constexpr std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}
}  // namespace

RecordPool::RecordPool(std::size_t block_size) noexcept
    : stride_(round_up(block_size, 64)), per_chunk_((kChunkBytes - kFirstBlock) / stride_) {
  static_assert(sizeof(Chunk) <= kFirstBlock);
}

RecordPool::Chunk* RecordPool::map_chunk() noexcept {
  // Twice the size, then the unaligned ends go back.
  const std::size_t len = 2 * kChunkBytes;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = round_up(start, kChunkBytes);
  if (aligned > start) ::munmap(p, aligned - start);
  const std::uintptr_t end = aligned + kChunkBytes;
  if (start + len > end) ::munmap(reinterpret_cast<void*>(end), start + len - end);
  ++chunks_;
  return new (reinterpret_cast<void*>(aligned)) Chunk();
}

void RecordPool::unmap_chunk(Chunk* c) noexcept {
  make_unavailable(c);
  ::munmap(c, kChunkBytes);
  --chunks_;
}

void RecordPool::make_available(Chunk* c) noexcept {
  if (c->listed) return;
  c->prev = nullptr;
  c->next = available_;
  if (available_ != nullptr) available_->prev = c;
  available_ = c;
  c->listed = true;
}

void RecordPool::make_unavailable(Chunk* c) noexcept {
  if (!c->listed) return;
  if (c->prev != nullptr) c->prev->next = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  if (available_ == c) available_ = c->next;
  c->prev = c->next = nullptr;
  c->listed = false;
}

void* RecordPool::take() noexcept {
  Chunk* c = available_;
  if (c == nullptr) {
    c = map_chunk();
    if (c == nullptr) return nullptr;
    make_available(c);
  }
  void* block = nullptr;
  if (c->free != nullptr) {
    block = c->free;
    c->free = *static_cast<void**>(block);
    *static_cast<void**>(block) = nullptr;  // handed out as it came: zero
  } else {
    block = reinterpret_cast<char*>(c) + kFirstBlock + stride_ * c->fresh++;
  }
  if (++c->used == per_chunk_) make_unavailable(c);
  if (c == empty_kept_) empty_kept_ = nullptr;
  return block;
}

void RecordPool::give_back(void* block) noexcept {
  auto* c = reinterpret_cast<Chunk*>(reinterpret_cast<std::uintptr_t>(block) & ~(kChunkBytes - 1));
  *static_cast<void**>(block) = c->free;
  c->free = block;
  --c->used;
  make_available(c);
  if (c->used != 0) return;
  // Keep one empty chunk for the next threads; give the rest back.
  if (empty_kept_ == nullptr) {
    empty_kept_ = c;
  } else {
    unmap_chunk(c);
  }
}

}  // namespace graft::detail
