// Store copies in use are not removed: a version the Installer records is
// not removed by a slot's refused load of the same file, and a copy a slot
// is loading is not removed by a prune that runs meanwhile (the soak once
// met a rollback whose store copy was gone).
#include "store_hold.hpp"
#include "bundle_factory.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace graft::testing {
namespace {

using StoreHoldTest = TrustTest;

TEST_F(StoreHoldTest, RemoveLeavesAHeldCopyUntilItsLastHoldGoes) {
  ArtifactStore store(dir_ / "store");
  Artifact a;
  ASSERT_TRUE(store.put(greeter_base_so(), &a).ok());
  std::optional<detail::StoreHold> first(std::in_place, store, a.sha256);
  std::optional<detail::StoreHold> second(*first);  // a copy is a hold of its own
  EXPECT_FALSE(store.remove(a.sha256));
  first.reset();
  EXPECT_FALSE(store.remove(a.sha256));
  EXPECT_TRUE(fs::exists(a.path));
  // Holds are per store folder: another store's hold on the same hash is not this one's.
  ArtifactStore other(dir_ / "other-store");
  const detail::StoreHold elsewhere(other, a.sha256);
  second.reset();
  EXPECT_TRUE(store.remove(a.sha256));
  EXPECT_FALSE(fs::exists(a.path));
}

// 1.0.0 is recorded (below the serving version, restore's fallback) but not
// loaded. A host swap to its file is refused as not newer: the refusal used
// to remove the store copy the Installer still records.
TEST_F(StoreHoldTest, ARefusedLoadLeavesTheCopyOfARecordedVersion) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  const std::string base_sha = sha256_file(greeter_base_so());
  ASSERT_EQ(host->installer->state().components.at("greeter").hashes.at("1.0.0"), base_sha);

  const Status s = host->greeter->swap(greeter_base_so());
  EXPECT_EQ(s.code(), ErrorCode::not_newer) << s.message();
  EXPECT_TRUE(fs::exists(state_dir() / "store" / (base_sha + ".so")))
      << "a recorded version without its store copy";
}

// Thread A's swap to (b) makes the Installer drop 1.0.0 (kept_versions 1);
// a slow listener ahead of the Installer holds that event until thread B has
// swapped back to the 1.0.0 file. The prune then runs while B's copy is
// loaded and about to be recorded: it must leave the file.
TEST_F(StoreHoldTest, APruneLeavesACopyASlotIsLoading) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  InstallerOptions keep_one{{key_.public_file}};
  keep_one.kept_versions = 1;
  swap_back_while_heard_late(*host, "1.0.0 (b)", keep_one, [&] {
    const Status s = host->greeter->swap(trust_so("greeter-1.0.0-b.so"));
    EXPECT_TRUE(s.ok()) << s.message();
  });
  const std::string base_sha = sha256_file(greeter_base_so());
  const ComponentRecord r = host->installer->state().components.at("greeter");
  ASSERT_TRUE(r.serving);
  EXPECT_EQ(r.serving->to_string(), "1.0.0");
  ASSERT_EQ(r.hashes.count("1.0.0"), 1u);
  EXPECT_EQ(r.hashes.at("1.0.0"), base_sha);
  EXPECT_TRUE(fs::exists(state_dir() / "store" / (base_sha + ".so")))
      << "a recorded version without its store copy";
}

}  // namespace
}  // namespace graft::testing
