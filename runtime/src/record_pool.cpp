#include "record_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

namespace graft::detail {

// At the head of each chunk. Its blocks follow, each behind a header that
// names the chunk and, while free, links the next free block.
struct RecordPool::Chunk {
  Chunk* prev = nullptr;  // in available_
  Chunk* next = nullptr;
  bool listed = false;
  std::size_t used = 0;    // blocks handed out
  std::size_t fresh = 0;   // blocks never handed out start here
  Header* free = nullptr;  // blocks handed back
};

struct alignas(64) RecordPool::Header {
  Chunk* chunk;
  Header* next_free;
};

namespace {
constexpr std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}
constexpr std::size_t kFirstBlock = 128;  // the chunk head, rounded
}  // namespace

RecordPool::RecordPool(std::size_t block_size, std::size_t per_chunk) noexcept
    : stride_(sizeof(Header) + round_up(block_size, 64)),
      per_chunk_(per_chunk),
      chunk_bytes_(round_up(kFirstBlock + stride_ * per_chunk,
                            static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)))) {
  static_assert(sizeof(Chunk) <= kFirstBlock);
}

void* RecordPool::map_chunk() const noexcept {
  // Populated now, by the thread that maps it, so the threads that take its
  // blocks later take no page fault.
  void* p = ::mmap(nullptr, chunk_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void RecordPool::adopt(void* chunk) noexcept {
  ++chunks_;
  make_available(new (chunk) Chunk());
}

void RecordPool::unmap_chunk(Chunk* c) noexcept {
  make_unavailable(c);
  ::munmap(c, chunk_bytes_);
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
  if (c == nullptr) return nullptr;
  Header* h = nullptr;
  if (c->free != nullptr) {
    h = c->free;
    c->free = h->next_free;
  } else {
    // A block never used (zero, from mmap).
    h = reinterpret_cast<Header*>(reinterpret_cast<char*>(c) + kFirstBlock + stride_ * c->fresh);
    ++c->fresh;
    h->chunk = c;
  }
  h->next_free = nullptr;
  if (++c->used == per_chunk_) make_unavailable(c);
  if (c == empty_kept_) empty_kept_ = nullptr;
  return h + 1;
}

void RecordPool::give_back(void* block) noexcept {
  Header* h = static_cast<Header*>(block) - 1;
  Chunk* c = h->chunk;
  h->next_free = c->free;
  c->free = h;
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
