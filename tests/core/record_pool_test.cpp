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

void* take_mapping_as_needed(RecordPool& pool) {
  void* b = pool.take();
  if (b == nullptr) {
    void* chunk = pool.map_chunk();
    if (chunk == nullptr) return nullptr;
    pool.adopt(chunk);
    b = pool.take();
  }
  return b;
}

TEST(RecordPoolTest, BlocksAreAlignedDistinctAndWritable) {
  RecordPool pool(2400, 4);
  EXPECT_EQ(pool.take(), nullptr) << "no chunk mapped yet";
  std::vector<void*> blocks;
  std::set<std::uintptr_t> seen;
  for (int i = 0; i < 10; ++i) {
    void* b = take_mapping_as_needed(pool);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % 64, 0u);
    // Fresh blocks are zero; each is writable over its whole size without
    // touching its neighbours.
    const auto* bytes = static_cast<const unsigned char*>(b);
    for (int k = 0; k < 2400; ++k)
      ASSERT_EQ(bytes[k], 0) << "block " << i << " byte " << k;
    std::memset(b, 0xAB, 2400);
    EXPECT_TRUE(seen.insert(reinterpret_cast<std::uintptr_t>(b)).second);
    blocks.push_back(b);
  }
  EXPECT_EQ(pool.chunks(), 3u);  // 4 + 4 + 2
  for (void* b : blocks) {
    const auto* bytes = static_cast<const unsigned char*>(b);
    for (int k = 0; k < 2400; ++k)
      ASSERT_EQ(bytes[k], 0xAB);
  }
  for (void* b : blocks)
    pool.give_back(b);
}

TEST(RecordPoolTest, EmptyChunksGoBackToTheKernelButOne) {
  RecordPool pool(2400, 4);
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i)
    blocks.push_back(take_mapping_as_needed(pool));
  EXPECT_EQ(pool.chunks(), 10u);
  // Hand back every other block first: no chunk is empty yet.
  for (std::size_t i = 0; i < blocks.size(); i += 2)
    pool.give_back(blocks[i]);
  EXPECT_EQ(pool.chunks(), 10u);
  for (std::size_t i = 1; i < blocks.size(); i += 2)
    pool.give_back(blocks[i]);
  EXPECT_EQ(pool.chunks(), 1u) << "one empty chunk is kept for the next threads";
  // Reuse: the kept chunk serves the next four without mapping another.
  std::vector<void*> again;
  for (int i = 0; i < 4; ++i) {
    void* b = pool.take();
    ASSERT_NE(b, nullptr);
    again.push_back(b);
  }
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.chunks(), 1u);
  for (void* b : again)
    pool.give_back(b);
  EXPECT_EQ(pool.chunks(), 1u);
}

}  // namespace
