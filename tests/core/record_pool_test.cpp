// The thread records' pool: blocks are aligned and distinct, and a chunk
// goes back to the kernel once its last block does (one empty chunk kept).
#include "record_pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace {

using graft::detail::RecordPool;

constexpr std::size_t kBlock = 2400;

TEST(RecordPoolTest, BlocksAreAlignedDistinctZeroAndWritable) {
  RecordPool pool(kBlock);
  ASSERT_GT(pool.per_chunk(), 100u);
  const std::size_t n = 2 * pool.per_chunk() + 3;
  std::vector<void*> blocks;
  std::set<std::uintptr_t> seen;
  for (std::size_t i = 0; i < n; ++i) {
    void* b = pool.take();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % 64, 0u);
    const auto* bytes = static_cast<const unsigned char*>(b);
    for (std::size_t k = 0; k < kBlock; ++k)
      ASSERT_EQ(bytes[k], 0) << "block " << i << " byte " << k;
    // Each is writable over its whole size without touching its neighbours.
    std::memset(b, 0xAB, kBlock);
    EXPECT_TRUE(seen.insert(reinterpret_cast<std::uintptr_t>(b)).second);
    blocks.push_back(b);
  }
  EXPECT_EQ(pool.chunks(), 3u);
  for (void* b : blocks) {
    const auto* bytes = static_cast<const unsigned char*>(b);
    for (std::size_t k = 0; k < kBlock; ++k)
      ASSERT_EQ(bytes[k], 0xAB);
  }
  for (void* b : blocks)
    pool.give_back(b);
}

TEST(RecordPoolTest, EmptyChunksGoBackToTheKernelButOne) {
  RecordPool pool(kBlock);
  const std::size_t n = 4 * pool.per_chunk();
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < n; ++i)
    blocks.push_back(pool.take());
  EXPECT_EQ(pool.chunks(), 4u);
  // Every other block back first: no chunk is empty yet.
  for (std::size_t i = 0; i < n; i += 2)
    pool.give_back(blocks[i]);
  EXPECT_EQ(pool.chunks(), 4u);
  for (std::size_t i = 1; i < n; i += 2)
    pool.give_back(blocks[i]);
  EXPECT_EQ(pool.chunks(), 1u) << "one empty chunk is kept for the next threads";
  // The kept chunk serves the next ones without mapping another, and a
  // block handed back is zero at its head again when handed out.
  std::vector<void*> again;
  for (std::size_t i = 0; i < pool.per_chunk(); ++i) {
    void* b = pool.take();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(*static_cast<void**>(b), nullptr);
    again.push_back(b);
  }
  EXPECT_EQ(pool.chunks(), 1u);
  for (void* b : again)
    pool.give_back(b);
  EXPECT_EQ(pool.chunks(), 1u);
}

}  // namespace
