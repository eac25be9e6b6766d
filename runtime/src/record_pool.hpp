// Memory for the callers' thread records, in chunks of whole pages from
// mmap rather than malloc: a thread's first call then attaches no glibc
// arena to the thread, and a chunk goes back to the kernel as soon as its
// last record does, so a storm of threads leaves no memory behind once it
// has exited (malloc would keep the freed records' pages resident).
#pragma once

#include <cstddef>

namespace graft::detail {

class RecordPool {
 public:
  // Blocks of `block_size` bytes, 64-byte aligned, `per_chunk` to a chunk.
  RecordPool(std::size_t block_size, std::size_t per_chunk) noexcept;
  RecordPool(const RecordPool&) = delete;
  RecordPool& operator=(const RecordPool&) = delete;

  // A chunk's memory, mapped and populated: the slow part, thread-safe, for
  // the caller to run outside its lock and hand to adopt(). Null when out of memory.
  void* map_chunk() const noexcept;

  // Not thread-safe: the caller serialises (the registry lock).
  void adopt(void* chunk) noexcept;
  // A block (zero when fresh); null when no chunk has room: map one, adopt it.
  void* take() noexcept;
  void give_back(void* block) noexcept;
  // Chunks mapped now (one empty chunk is kept for the next threads).
  std::size_t chunks() const noexcept { return chunks_; }

 private:
  struct Chunk;
  struct Header;
  void unmap_chunk(Chunk* c) noexcept;
  void make_available(Chunk* c) noexcept;
  void make_unavailable(Chunk* c) noexcept;

  std::size_t stride_;  // header + block, rounded to 64
  std::size_t per_chunk_;
  std::size_t chunk_bytes_;
  Chunk* available_ = nullptr;  // chunks with room, doubly linked
  Chunk* empty_kept_ = nullptr;
  std::size_t chunks_ = 0;
};

}  // namespace graft::detail
