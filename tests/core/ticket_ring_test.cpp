// The ring where first calls list their threads' records: every item put is
// drained exactly once, a full cell is refused rather than overwritten, and
// puts racing drains lose and duplicate nothing.
#include "ticket_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using graft::detail::TicketRing;

struct Item {
  int id = 0;
  int drained = 0;
};

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

template <class Ring>
std::vector<int> drain_ids(Ring& ring) {
  std::vector<int> ids;
  ring.drain([&](Item* i) {
    ++i->drained;
    ids.push_back(i->id);
  });
  return ids;
}

TEST(TicketRingTest, WhatIsPutIsDrainedOnce) {
  TicketRing<Item, 64> ring;
  Item items[5];
  for (int k = 0; k < 5; ++k) {
    items[k].id = k;
    ASSERT_TRUE(ring.put(&items[k]));
  }
  EXPECT_EQ(ring.pending(), 5u);
  EXPECT_EQ(sorted(drain_ids(ring)), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ring.pending(), 0u);
  EXPECT_TRUE(drain_ids(ring).empty());
  for (const Item& i : items)
    EXPECT_EQ(i.drained, 1);
}

TEST(TicketRingTest, AFullCellIsRefusedNotOverwritten) {
  TicketRing<Item, 64> ring;
  std::vector<Item> items(65);
  for (int k = 0; k < 64; ++k) {
    items[static_cast<std::size_t>(k)].id = k;
    ASSERT_TRUE(ring.put(&items[static_cast<std::size_t>(k)]));
  }
  // The 65th ticket names the first cell again, still full.
  items[64].id = 64;
  EXPECT_FALSE(ring.put(&items[64]));
  EXPECT_EQ(drain_ids(ring).size(), 64u);
  // Drained: the cells take items again.
  EXPECT_TRUE(ring.put(&items[64]));
  EXPECT_EQ(drain_ids(ring), (std::vector<int>{64}));
  for (const Item& i : items)
    EXPECT_EQ(i.drained, 1);
}

TEST(TicketRingTest, AfterForkEveryFullCellIsTakenAndTheRingStartsEmpty) {
  TicketRing<Item, 64> ring;
  Item items[3] = {{1, 0}, {2, 0}, {3, 0}};
  for (Item& i : items)
    ASSERT_TRUE(ring.put(&i));
  std::vector<int> ids;
  ring.drain_all_cells([&](Item* i) { ids.push_back(i->id); });
  EXPECT_EQ(sorted(ids), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ring.pending(), 0u);
  EXPECT_TRUE(drain_ids(ring).empty());
}

TEST(TicketRingTest, ConcurrentPutsAndDrainsLoseAndDuplicateNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  TicketRing<Item, 64> ring;
  std::vector<Item> items(kThreads * kPerThread);
  std::mutex mu;  // the registry lock: one drainer at a time
  std::atomic<int> refused{0};
  std::atomic<bool> done{false};
  std::vector<Item*> refused_items[kThreads];
  std::thread drainer([&] {
    while (!done.load()) {
      std::lock_guard lock(mu);
      ring.drain([](Item* i) { ++i->drained; });
    }
  });
  std::vector<std::thread> putters;
  for (int t = 0; t < kThreads; ++t) {
    putters.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        Item* i = &items[static_cast<std::size_t>(t * kPerThread + k)];
        if (!ring.put(i)) {
          refused.fetch_add(1);
          refused_items[t].push_back(i);  // the registry keeps these on its overflow list
        }
      }
    });
  }
  for (auto& p : putters)
    p.join();
  done = true;
  drainer.join();
  {
    std::lock_guard lock(mu);
    ring.drain([](Item* i) { ++i->drained; });
  }
  for (auto& list : refused_items)
    for (Item* i : list)
      ++i->drained;
  for (const Item& i : items)
    ASSERT_EQ(i.drained, 1);
  RecordProperty("refused", refused.load());
}

}  // namespace
