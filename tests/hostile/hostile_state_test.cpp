// What a restart trusts: installed.json is not signed, so a record and a
// store object planted beside the real ones must not reach dlopen, and a
// planted highest-version floor must not silently block or allow patches.
// restore() loads only objects whose signed manifest (kept in the store
// beside them) verifies with a trusted key, or that this host vouched for.
#include "bundle_factory.hpp"
#include "file_faults.hpp"
#include "hostile_support.hpp"

#include <graft/installed_state.hpp>

#include <set>

namespace graft::testing {
namespace {

class HostileState : public TrustTest {
 protected:
  // A state folder that served (a) over the base, its host gone.
  void install_a_and_stop() {
    auto host = base_host();
    const Status s = host->installer->install(bundle_a());
    ASSERT_TRUE(s.ok()) << s.message();
    store_ = host->runtime->store().dir();
  }

  // Records `version` as serving and highest, with `sha` as its object.
  void plant_record(const std::string& version, const std::string& sha) {
    InstalledState st;
    ASSERT_TRUE(InstalledState::load(state_dir() / "installed.json", &st).ok());
    ComponentRecord& r = st.components.at("greeter");
    r.previous = r.serving;
    r.serving = V(version);
    r.highest = V(version);
    r.hashes[version] = sha;
    ASSERT_TRUE(st.save(state_dir() / "installed.json").ok());
  }

  // Copies `so` into the store under its hash, as someone who could write
  // there would; returns the hash.
  std::string plant_object(const fs::path& so) {
    std::uint64_t size = 0;
    const std::string sha = sha256_file(so, &size);
    fs::copy_file(so, store_ / (sha + ".so"), fs::copy_options::overwrite_existing);
    return sha;
  }

  static bool mapped(const std::string& sha) {
    return read_file("/proc/self/maps").find(sha + ".so") != std::string::npos;
  }

  fs::path store_;
};

TEST_F(HostileState, PlantedStoreObjectAndRecordAreNotLoadedOnRestart) {
  install_a_and_stop();
  // The (b) build stands for any code: it was never installed from a bundle.
  const std::string planted = plant_object(trust_so("greeter-1.0.0-b.so"));
  plant_record("1.0.0 (b)", planted);

  auto host = base_host();
  const Status s = host->installer->restore();
  EXPECT_TRUE(s.ok()) << s.message();  // fell back to a signed version
  EXPECT_FALSE(mapped(planted)) << "the planted object reached dlopen";
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
  EXPECT_TRUE(journal_has(state_dir(), "restore_fallback", [&](const json& j) {
    return j.value("reason", "").find("no signed manifest") != std::string::npos;
  }));
  // The host keeps serving and answering: a rollback right after works.
  const Status back = host->installer->rollback("greeter");
  EXPECT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(host->tag(), kTagBase);
}

TEST_F(HostileState, PlantedObjectWithAManifestSignedByAnUntrustedKeyIsNotLoaded) {
  install_a_and_stop();
  const std::string planted = plant_object(trust_so("greeter-1.0.0-b.so"));
  // A real bundle of it, signed by a key the host does not trust; its
  // manifest and signature planted where the store keeps them.
  const TestKey other = make_key(dir_ / "other-keys");
  const fs::path b = dir_ / "bundles" / "untrusted";
  write_test_bundle(b, {.so = trust_so("greeter-1.0.0-b.so"), .version = V("1.0.0 (b)")}, other);
  fs::copy_file(b / "manifest.json", store_ / (planted + ".manifest.json"));
  fs::copy_file(b / "manifest.sig", store_ / (planted + ".manifest.sig"));
  plant_record("1.0.0 (b)", planted);

  auto host = base_host();
  EXPECT_TRUE(host->installer->restore().ok());
  EXPECT_FALSE(mapped(planted));
  EXPECT_EQ(host->tag(), kTagA);
  EXPECT_TRUE(journal_has(state_dir(), "restore_fallback", [&](const json& j) {
    return j.value("reason", "").find("does not trust") != std::string::npos;
  }));
}

TEST_F(HostileState, PlantedFloorIsNotTrustedAndBlocksInstallsWithAReason) {
  install_a_and_stop();
  // A floor far above anything installed, its "object" any file.
  const std::string planted = plant_object(trust_so("greeter-1.0.0-b.so"));
  InstalledState st;
  ASSERT_TRUE(InstalledState::load(state_dir() / "installed.json", &st).ok());
  st.components.at("greeter").highest = V("99.0.0");
  st.components.at("greeter").hashes["99.0.0"] = planted;
  ASSERT_TRUE(st.save(state_dir() / "installed.json").ok());

  auto host = base_host();
  EXPECT_TRUE(host->installer->restore().ok());
  EXPECT_EQ(host->tag(), kTagA);
  const Status s = host->installer->install(bundle_b());
  EXPECT_EQ(s.code(), ErrorCode::state_corrupt) << s.message();
  EXPECT_NE(s.message().find("floor 99.0.0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cannot be checked against signed data"), std::string::npos);
  EXPECT_EQ(host->tag(), kTagA);
  EXPECT_TRUE(host->installer->rollback("greeter").ok());
}

TEST_F(HostileState, TheHostsOwnBaseIsRestoredThroughItsTag) {
  install_a_and_stop();
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->restore().ok());
    ASSERT_TRUE(host->installer->rollback("greeter").ok());  // back on the base
  }
  // Restarted without loading its base: restore() loads it from the store,
  // vouched for by the host's own tag.
  auto host = start_host();
  EXPECT_TRUE(host->installer->restore().ok());
  EXPECT_EQ(host->tag(), kTagBase);
  // A tag is only good for the object and version it was made for.
  const std::string base_sha = sha256_file(greeter_base_so());
  const fs::path tag = store_ / (base_sha + ".own");
  ASSERT_TRUE(fs::exists(tag));
  const std::string b_sha = plant_object(trust_so("greeter-1.0.0-b.so"));
  fs::copy_file(tag, store_ / (b_sha + ".own"));
  host.reset();
  plant_record("1.0.0 (b)", b_sha);
  auto again = start_host();
  EXPECT_TRUE(again->installer->restore().ok());
  EXPECT_FALSE(mapped(b_sha));
  EXPECT_EQ(again->tag(), kTagA);  // the newest recorded version that is vouched for
}

}  // namespace
}  // namespace graft::testing

namespace graft::testing {
namespace {

// An install whose state save fails is undone; the store must not keep a
// copy that installed.json (on disk) does not record, or it stays forever.
TEST_F(HostileState, FailedStateSaveLeavesNoUnrecordedStoreFile) {
  const fs::path a = bundle_a();
  int failed = 0;
  for (int k = 1; k < 40; ++k) {
    fs::remove_all(state_dir());
    auto host = base_host();
    Status s;
    {
      FileFaultScope fault(FileFault{FileOp::rename, EIO}, k);
      s = host->installer->install(a);
    }
    if (s) continue;
    ++failed;
    InstalledState on_disk;
    ASSERT_TRUE(InstalledState::load(state_dir() / "installed.json", &on_disk).ok());
    std::set<std::string> recorded;
    for (const auto& [name, rec] : on_disk.components)
      for (const auto& [version, sha] : rec.hashes)
        recorded.insert(sha);
    for (const auto& e : fs::directory_iterator(host->runtime->store().dir())) {
      if (e.path().extension() != ".so") continue;
      EXPECT_EQ(recorded.count(e.path().stem().string()), 1u)
          << "k=" << k << ": " << e.path().filename() << " is in the store but not recorded ("
          << s.message() << ")";
    }
    EXPECT_EQ(host->tag(), kTagBase);
  }
  EXPECT_GT(failed, 0);
}

}  // namespace
}  // namespace graft::testing

namespace graft::testing {
namespace {

// installed.json replaced by a FIFO: the host refuses to start at once,
// naming it, instead of waiting for a writer that never comes.
TEST_F(HostileState, FifoAsInstalledStateIsRefusedAtOnce) {
  install_a_and_stop();
  make_fifo(state_dir() / "installed.json");
  const auto error = within<std::string>(std::chrono::seconds(10),
                                         [&]() -> std::string {
                                           try {
                                             start_host();
                                           } catch (const Error& e) {
                                             return e.what();
                                           }
                                           return "";
                                         },
                                         {state_dir() / "installed.json"});
  ASSERT_TRUE(error.has_value()) << "the host blocked on its state file";
  EXPECT_NE(error->find("is a FIFO"), std::string::npos) << *error;
}

}  // namespace
}  // namespace graft::testing
