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
  // Chunks are this size and aligned to it: a block finds its chunk by its
  // address, so handing out a fresh block writes nothing into it.
  static constexpr std::size_t kChunkBytes = std::size_t{512} * 1024;

  // Blocks of `block_size` bytes, 64-byte aligned.
  explicit RecordPool(std::size_t block_size) noexcept;
  RecordPool(const RecordPool&) = delete;
  RecordPool& operator=(const RecordPool&) = delete;

  // Not thread-safe: the caller serialises (the registry lock). Neither
  // touches the block's own pages (a fresh block is zero, from mmap; its
  // first write, by the caller after unlocking, faults it in).
  // A block; null when out of memory. Maps a chunk when none has room.
  void* take() noexcept;
  void give_back(void* block) noexcept;

  std::size_t per_chunk() const noexcept { return per_chunk_; }
  // Chunks mapped now (one empty chunk is kept for the next threads).
  std::size_t chunks() const noexcept { return chunks_; }

 private:
  struct Chunk;
  Chunk* map_chunk() noexcept;
  void unmap_chunk(Chunk* c) noexcept;
  void make_available(Chunk* c) noexcept;
  void make_unavailable(Chunk* c) noexcept;

  std::size_t stride_;
  std::size_t per_chunk_;
  Chunk* available_ = nullptr;  // chunks with room, doubly linked
  Chunk* empty_kept_ = nullptr;
  std::size_t chunks_ = 0;
};

}  // namespace graft::detail
