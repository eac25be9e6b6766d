// The etcd client against a real etcd (started here on free loopback
// ports): key-value, transactions, leases, watch (and resuming after
// compaction), the election API and failover between members.
#include "etcd_client.hpp"
#include "child_process.hpp"
#include "server_fixtures.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace graft::testing {
namespace {

using fleet::EtcdClient;
using fleet::EtcdOptions;
using fleet::EtcdStatus;

RunResult run_compact(const std::string& endpoints, std::int64_t revision) {
  return run_program(
      {"/usr/bin/etcdctl", "--endpoints", endpoints, "compact", std::to_string(revision)},
      {"ETCDCTL_API=3"});
}

EtcdOptions options_for(const EtcdCluster& etcd) {
  EtcdOptions o;
  o.endpoints = etcd.endpoints();
  o.request_timeout = std::chrono::milliseconds(3000);
  return o;
}

TEST(EtcdClient, PutRangeDeleteAndBinaryValues) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient c(options_for(etcd));
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(c.put("/t/a", "one").ok());
  ASSERT_TRUE(c.put("/t/b", binary).ok());
  ASSERT_TRUE(c.put("/u/c", "other").ok());
  std::vector<fleet::KeyValue> kvs;
  std::int64_t rev = 0;
  auto st = c.range("/t/", fleet::prefix_end("/t/"), &kvs, &rev);
  ASSERT_TRUE(st.ok()) << st.message;
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].key, "/t/a");
  EXPECT_EQ(kvs[0].value, "one");
  EXPECT_EQ(kvs[1].value, binary);
  EXPECT_GE(rev, 3);
  ASSERT_TRUE(c.delete_range("/t/", fleet::prefix_end("/t/")).ok());
  std::optional<fleet::KeyValue> kv;
  ASSERT_TRUE(c.get("/t/a", &kv).ok());
  EXPECT_FALSE(kv.has_value());
  ASSERT_TRUE(c.get("/u/c", &kv).ok());
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "other");
}

TEST(EtcdClient, PutIfUnchangedIsACompareAndSwap) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient c(options_for(etcd));
  bool done = false;
  ASSERT_TRUE(c.put_if_unchanged("/cas", 0, "first", &done).ok());
  EXPECT_TRUE(done);
  ASSERT_TRUE(c.put_if_unchanged("/cas", 0, "second", &done).ok());
  EXPECT_FALSE(done) << "the key exists: a create must fail";
  std::optional<fleet::KeyValue> kv;
  ASSERT_TRUE(c.get("/cas", &kv).ok());
  ASSERT_TRUE(kv);
  ASSERT_TRUE(c.put_if_unchanged("/cas", kv->mod_revision, "third", &done).ok());
  EXPECT_TRUE(done);
  ASSERT_TRUE(c.get("/cas", &kv).ok());
  EXPECT_EQ(kv->value, "third");
}

TEST(EtcdClient, KeysUnderARevokedLeaseDisappear) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient c(options_for(etcd));
  std::int64_t lease = 0;
  ASSERT_TRUE(c.lease_grant(std::chrono::seconds(30), &lease).ok());
  ASSERT_TRUE(c.put("/leased", "x", lease).ok());
  std::int64_t ttl = 0;
  auto st = c.lease_keepalive(lease, &ttl);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_GT(ttl, 0);
  std::optional<fleet::KeyValue> kv;
  ASSERT_TRUE(c.get("/leased", &kv).ok());
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->lease, lease);
  ASSERT_TRUE(c.lease_revoke(lease).ok());
  ASSERT_TRUE(c.get("/leased", &kv).ok());
  EXPECT_FALSE(kv.has_value());
  ASSERT_TRUE(c.lease_keepalive(lease, &ttl).ok());
  EXPECT_EQ(ttl, 0) << "a revoked lease has no time left";
}

TEST(EtcdClient, WatchDeliversPutsAndDeletesAndResumesFromARevision) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient c(options_for(etcd));
  std::int64_t start = 0;
  std::vector<fleet::KeyValue> none;
  ASSERT_TRUE(c.range("/w/", fleet::prefix_end("/w/"), &none, &start).ok());
  ASSERT_TRUE(c.put("/w/a", "1").ok());
  ASSERT_TRUE(c.put("/w/b", "2").ok());
  ASSERT_TRUE(c.delete_range("/w/a").ok());
  ASSERT_TRUE(c.put("/x/ignored", "3").ok());
  std::atomic<bool> stop{false};
  std::vector<fleet::WatchEvent> seen;
  const auto end = c.watch(
      "/w/", fleet::prefix_end("/w/"), start + 1,
      [&](const fleet::WatchBatch& b) {
        seen.insert(seen.end(), b.events.begin(), b.events.end());
        return seen.size() < 3;
      },
      stop);
  EXPECT_TRUE(end.status.ok()) << end.status.message;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].kv.key, "/w/a");
  EXPECT_EQ(seen[0].kv.value, "1");
  EXPECT_EQ(seen[1].kv.key, "/w/b");
  EXPECT_EQ(seen[2].type, fleet::WatchEvent::Type::del);
  EXPECT_EQ(seen[2].kv.key, "/w/a");

  // A live watch sees a put made while it waits, and stops when asked.
  std::atomic<int> live{0};
  std::thread watcher([&] {
    c.watch(
        "/w/", fleet::prefix_end("/w/"), 0,
        [&](const fleet::WatchBatch& b) {
          live += static_cast<int>(b.events.size());
          return true;
        },
        stop);
  });
  EtcdClient writer(options_for(etcd));
  // The watch may start after a put: keep putting until one is seen.
  ASSERT_TRUE(wait_until(
      [&] {
        EXPECT_TRUE(writer.put("/w/live", "x").ok());
        return live.load() > 0;
      },
      std::chrono::seconds(20)));
  stop = true;
  watcher.join();
}

TEST(EtcdClient, WatchFromACompactedRevisionSaysSo) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient c(options_for(etcd));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(c.put("/k", std::to_string(i)).ok());
  std::optional<fleet::KeyValue> kv;
  std::int64_t rev = 0;
  ASSERT_TRUE(c.get("/k", &kv, &rev).ok());
  // Compaction through the gateway, as an operator's etcdctl would do it.
  const RunResult r = run_compact(etcd.endpoints_csv(), rev);
  ASSERT_EQ(r.code, 0) << r.err;
  std::atomic<bool> stop{false};
  const auto end = c.watch(
      "/k", {}, 2, [](const fleet::WatchBatch&) { return true; }, stop);
  EXPECT_EQ(end.compact_revision, rev);
}

TEST(EtcdClient, ElectionHasOneLeaderAndTheNextTakesOverOnResign) {
  TempDir work;
  EtcdCluster etcd(work.path(), 1);
  EtcdClient a(options_for(etcd)), b(options_for(etcd));
  std::int64_t la = 0, lb = 0;
  ASSERT_TRUE(a.lease_grant(std::chrono::seconds(10), &la).ok());
  ASSERT_TRUE(b.lease_grant(std::chrono::seconds(10), &lb).ok());
  std::atomic<bool> stop{false};
  fleet::LeaderKey ka, kb;
  auto st = a.campaign("/elect", la, "a", std::chrono::seconds(5), stop, &ka);
  ASSERT_TRUE(st.ok()) << st.message;
  // b waits: its campaign times out while a leads.
  st = b.campaign("/elect", lb, "b", std::chrono::milliseconds(700), stop, &kb);
  EXPECT_FALSE(st.ok());
  std::optional<fleet::KeyValue> leader;
  ASSERT_TRUE(a.leader("/elect", &leader).ok());
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->value, "a");
  std::thread candidate(
      [&] { st = b.campaign("/elect", lb, "b", std::chrono::seconds(20), stop, &kb); });
  ASSERT_TRUE(a.resign(ka).ok());
  candidate.join();
  ASSERT_TRUE(st.ok()) << st.message;
  ASSERT_TRUE(a.leader("/elect", &leader).ok());
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->value, "b");
}

TEST(EtcdClient, FailsOverToAnotherMemberWhenOneIsDown) {
  TempDir work;
  EtcdCluster etcd(work.path(), 3);
  EtcdClient c(options_for(etcd));
  ASSERT_TRUE(c.put("/f", "before").ok());
  etcd.kill(0);
  auto st = c.put("/f", "after");
  ASSERT_TRUE(st.ok()) << st.message;
  std::optional<fleet::KeyValue> kv;
  ASSERT_TRUE(c.get("/f", &kv).ok());
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, "after");
  etcd.kill_all();
  st = c.put("/f", "nobody");
  EXPECT_EQ(st.kind, EtcdStatus::Kind::unavailable);
  EXPECT_NE(st.message.find("unavailable"), std::string::npos) << st.message;
}

}  // namespace
}  // namespace graft::testing
