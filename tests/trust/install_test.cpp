// Bundles that install: responses over their base, a response over an
// earlier one, the next base release, re-apply after rollback, an explicit
// operator rollback, commit after probation, and the state file they leave.
#include "bundle_factory.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <set>

namespace graft::testing {
namespace {

using InstallTest = TrustTest;

std::string sha_of(const fs::path& file) {
  return sha256_file(file);
}

TEST_F(InstallTest, ResponseInstallsOverItsBaseAndIsJournaled) {
  auto host = base_host();
  const fs::path b = bundle_a();
  const Status s = host->installer->install(b);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
  EXPECT_TRUE(journal_has(state_dir(), "installed", [&](const json& j) {
    return j.value("component", "") == "greeter" && j.value("version", "") == "1.0.0 (a)" &&
           j.value("bundle", "") == b.string();
  }));
  EXPECT_TRUE(journal_has(state_dir(), "swapped", [](const json& j) {
    return j.value("version", "") == "1.0.0 (a)" && j.value("from", "") == "1.0.0";
  }));
}

TEST_F(InstallTest, LaterResponseReplacesAnEarlierOne) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  const Status s = host->installer->install(bundle_b());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (b)");
  EXPECT_EQ(host->tag(), kTagB);
}

TEST_F(InstallTest, ResponseSkippingAnEarlierLetterInstallsOverTheBase) {
  auto host = base_host();
  const Status s = host->installer->install(bundle_b());  // cumulative: (b) holds (a)
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->tag(), kTagB);
}

TEST_F(InstallTest, NextBaseReleaseInstallsOverTheResponsesOfItsBase) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  const Status s = host->installer->install(bundle_next_base());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.1");
  EXPECT_EQ(host->tag(), kTagNextBase);
}

TEST_F(InstallTest, FirstVersionIntoAnEmptySlotComesFromABundle) {
  auto host = start_host();
  const fs::path b = bundle("base", {.so = greeter_base_so(), .version = V("1.0.0")});
  const Status s = host->installer->install(b);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
}

TEST_F(InstallTest, RemovedResponseCanBeReappliedFromTheSameBundle) {
  auto host = base_host();
  const fs::path b = bundle_a();
  ASSERT_TRUE(host->installer->install(b).ok());
  const Status back = host->installer->rollback("greeter");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
  EXPECT_TRUE(journal_has(state_dir(), "rolled_back", [](const json& j) {
    return j.value("version", "") == "1.0.0" && j.value("from", "") == "1.0.0 (a)" &&
           j.value("by", "") == "operator";
  }));
  // Same version as the highest ever installed, same bytes: a re-apply.
  const Status again = host->installer->install(b);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
}

TEST_F(InstallTest, OperatorRollsBackToThePreviousVersionWithAllowOlder) {
  auto host = base_host();
  const fs::path a = bundle_a();
  const fs::path b = bundle_b();
  ASSERT_TRUE(host->installer->install(a).ok());
  ASSERT_TRUE(host->installer->install(b).ok());
  SwapOptions older;
  older.allow_older = true;
  const Status s = host->installer->install(a, older);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
  const ComponentRecord r = host->installer->state().components.at("greeter");
  EXPECT_EQ(r.highest, V("1.0.0 (b)"));  // the floor stays where it was
  EXPECT_EQ(r.previous, V("1.0.0 (b)"));
  // And forward again.
  const Status forward = host->installer->install(b);
  ASSERT_TRUE(forward.ok()) << forward.message();
  EXPECT_EQ(host->tag(), kTagB);
}

TEST_F(InstallTest, RollbackAndCommitDuringProbationGoThroughTheInstaller) {
  auto host = base_host(std::chrono::seconds(60));
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  EXPECT_EQ(host->greeter->status().state, SlotState::probation);
  const Status committed = host->installer->commit("greeter");
  ASSERT_TRUE(committed.ok()) << committed.message();
  EXPECT_EQ(host->greeter->status().state, SlotState::serving);
  EXPECT_TRUE(journal_has(state_dir(), "committed", [](const json& j) {
    return j.value("component", "") == "greeter" && j.value("by", "") == "operator";
  }));

  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  ASSERT_EQ(host->greeter->status().state, SlotState::probation);
  const Status back = host->installer->rollback("greeter", "operator");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
  const ComponentRecord r = host->installer->state().components.at("greeter");
  EXPECT_EQ(r.serving, V("1.0.0 (a)"));
  // Going back leaves nothing to go back to: a second rollback is refused
  // instead of re-applying (b).
  EXPECT_EQ(r.previous, std::nullopt);
  EXPECT_EQ(r.highest, V("1.0.0 (b)"));
  EXPECT_EQ(host->installer->rollback("greeter", "operator").code(), ErrorCode::no_previous);
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_TRUE(journal_has(state_dir(), "refused",
                          [](const json& j) { return j.value("code", "") == "no_previous"; }));
}

TEST_F(InstallTest, ProbationRollbackOfAFaultyPatchIsJournaledAndRecorded) {
  auto host = base_host(std::chrono::seconds(60));
  // A signed, intact patch whose every call fails.
  const fs::path faulty =
      bundle("faulty", {.so = fixture_file("faulty", "greeter-1.2.0.so"), .version = V("1.2.0")});
  ASSERT_TRUE(host->installer->install(faulty).ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(host->tag(), -1);
  ASSERT_TRUE(eventually([&] { return host->serving() == "1.0.0"; }));
  EXPECT_EQ(host->tag(), kTagBase);
  // The journal and the record are written by the installer's listener,
  // after the slot has switched back: wait for them too.
  EXPECT_TRUE(eventually([&] {
    return journal_has(state_dir(), "rolled_back", [](const json& j) {
      return j.value("by", "") == "probation" && j.value("version", "") == "1.0.0" &&
             j.value("from", "") == "1.2.0";
    });
  }));
  EXPECT_TRUE(eventually(
      [&] { return host->installer->state().components.at("greeter").serving == V("1.0.0"); }));
  const ComponentRecord r = host->installer->state().components.at("greeter");
  EXPECT_EQ(r.serving, V("1.0.0"));
  EXPECT_EQ(r.previous, std::nullopt);  // the faulty patch is not a rollback target
  EXPECT_EQ(r.highest, V("1.2.0"));
}

// The installed state follows the slot even when the Installer hears an
// earlier swap late: here a slow listener ahead of it holds the install's
// event until the host has swapped back to the base on another thread.
// Heard out of order, the state said "(a) serves, previous 1.0.0" while the
// slot served 1.0.0: a restart would have brought (a) back.
TEST_F(InstallTest, StateFollowsTheSlotWhenAnEarlierSwapIsHeardLate) {
  auto host = base_host();
  const fs::path a = bundle_a();
  swap_back_while_heard_late(*host, "1.0.0 (a)", InstallerOptions{{key_.public_file}}, [&] {
    const Status s = host->installer->install(a);
    EXPECT_TRUE(s.ok()) << s.message();
  });
  EXPECT_EQ(host->serving(), "1.0.0");
  const ComponentRecord r = host->installer->state().components.at("greeter");
  ASSERT_TRUE(r.serving && r.previous);
  EXPECT_EQ(r.serving->to_string(), "1.0.0");
  EXPECT_EQ(r.previous->to_string(), "1.0.0 (a)");
}

TEST_F(InstallTest, OldVersionIsUnloadedAndJournaledAfterTheSwap) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  EXPECT_TRUE(eventually([&] {
    return journal_has(state_dir(), "unloaded",
                       [](const json& j) { return j.value("version", "") == "1.0.0"; });
  })) << read_file(state_dir() / "journal.jsonl");
}

TEST_F(InstallTest, OperatorRollbackAfterARestartReturnsToTheRecordedPrevious) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  auto host = start_host();
  ASSERT_TRUE(host->installer->restore().ok());
  ASSERT_EQ(host->serving(), "1.0.0 (a)");
  // installed.json says 1.0.0 served before (a); removing the response must
  // still work after a restart.
  const Status s = host->installer->rollback("greeter");
  EXPECT_TRUE(s.ok()) << to_string(s.code()) << ": " << s.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
  // Journaled as a rollback (it reloaded the store copy), never as a swap.
  EXPECT_TRUE(journal_has(state_dir(), "rolled_back", [](const json& j) {
    return j.value("version", "") == "1.0.0" && j.value("from", "") == "1.0.0 (a)";
  }));
  EXPECT_EQ(host->installer->rollback("greeter").code(), ErrorCode::no_previous);
  EXPECT_EQ(host->serving(), "1.0.0");
}

// A host that loads its base before it makes the Installer (the base's hash
// is not recorded): a rollback still goes back to it, once.
TEST_F(InstallTest, RollbackToABaseLoadedBeforeTheInstallerListened) {
  auto host = start_host();
  host->installer.reset();
  ASSERT_TRUE(host->greeter->load(greeter_base_so()).ok());
  host->installer =
      std::make_unique<Installer>(*host->runtime, InstallerOptions{{key_.public_file}});
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  const Status back = host->installer->rollback("greeter");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->installer->rollback("greeter").code(), ErrorCode::no_previous);
  EXPECT_EQ(host->serving(), "1.0.0");
}

TEST_F(InstallTest, RollbackAndCommitOfAnUndeclaredComponentAreRefused) {
  auto host = base_host();
  EXPECT_EQ(host->installer->rollback("counter").code(), ErrorCode::unknown_component);
  EXPECT_EQ(host->installer->commit("counter").code(), ErrorCode::unknown_component);
  EXPECT_EQ(host->tag(), kTagBase);
}

TEST_F(InstallTest, StateFileRecordsServingPreviousHighestAndHashes) {
  auto host = base_host();
  const fs::path a = bundle_a();
  const fs::path b = bundle_b();
  ASSERT_TRUE(host->installer->install(a).ok());
  ASSERT_TRUE(host->installer->install(b).ok());

  const fs::path file = state_dir() / "installed.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const json j = json::parse(read_file(file));
  EXPECT_EQ(j.value("format", ""), "graft-installed/1");
  const json& g = j.at("components").at("greeter");
  EXPECT_EQ(g.at("serving"), "1.0.0 (b)");
  EXPECT_EQ(g.at("previous"), "1.0.0 (a)");
  EXPECT_EQ(g.at("highest"), "1.0.0 (b)");
  EXPECT_EQ(g.at("hashes").at("1.0.0"), sha_of(greeter_base_so()));
  EXPECT_EQ(g.at("hashes").at("1.0.0 (a)"), sha_of(trust_so("greeter-1.0.0-a.so")));
  EXPECT_EQ(g.at("hashes").at("1.0.0 (b)"), sha_of(trust_so("greeter-1.0.0-b.so")));

  // The file and the in-memory state agree.
  InstalledState loaded;
  ASSERT_TRUE(InstalledState::load(file, &loaded).ok());
  EXPECT_EQ(loaded.to_json(), host->installer->state().to_json());
  // No temporary file is left beside it.
  for (const auto& e : fs::directory_iterator(state_dir())) {
    EXPECT_NE(e.path().filename().string().rfind(".installed.json.", 0), 0u) << e.path();
  }
}

TEST_F(InstallTest, StoreKeepsTheVersionsTheStateNeedsAndDropsOlderOnes) {
  auto host = base_host();
  // Three kept versions: serving, previous and one fallback below them.
  host->installer.reset();
  host->installer =
      std::make_unique<Installer>(*host->runtime, InstallerOptions{{key_.public_file}, 3});
  const std::string base_sha = sha_of(greeter_base_so());
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  EXPECT_TRUE(fs::exists(host->runtime->store().dir() / (base_sha + ".so")));
  ASSERT_TRUE(host->installer->install(bundle_next_base()).ok());

  const ComponentRecord r = host->installer->state().components.at("greeter");
  std::set<std::string> recorded;
  for (const auto& [version, sha] : r.hashes)
    recorded.insert(version);
  EXPECT_EQ(recorded, (std::set<std::string>{"1.0.0 (a)", "1.0.0 (b)", "1.0.1"}));
  std::set<std::string> stored;
  // Each object's signed manifest (or the host's tag) is kept beside it, and
  // goes with it.
  for (const auto& e : fs::directory_iterator(host->runtime->store().dir()))
    stored.insert(e.path().filename().string().substr(0, 64));
  std::set<std::string> expected;
  for (const auto& [version, sha] : r.hashes)
    expected.insert(sha);
  EXPECT_EQ(stored, expected);  // the base's copy left the store with its record
  EXPECT_TRUE(journal_has(state_dir(), "installed",
                          [](const json& j) { return j.value("version", "") == "1.0.1"; }));

  // What is kept still works: rollback to the previous, and a restart.
  ASSERT_TRUE(host->installer->rollback("greeter").ok());
  EXPECT_EQ(host->serving(), "1.0.0 (b)");
  host.reset();
  auto again = start_host();
  ASSERT_TRUE(again->installer->restore().ok());
  EXPECT_EQ(again->serving(), "1.0.0 (b)");
  EXPECT_EQ(again->tag(), kTagB);
}

TEST_F(InstallTest, VerifyChecksEverythingAndInstallsNothing) {
  auto host = base_host();
  VerifiedBundle verified;
  const Status s = host->installer->verify(bundle_a(), &verified);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(verified.manifest.component, "greeter");
  EXPECT_EQ(verified.manifest.version, V("1.0.0 (a)"));
  std::vector<std::string> names;
  for (const auto& c : verified.checks) {
    EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
    names.push_back(c.name);
  }
  for (const char* expected :
       {"manifest", "trusted key", "signature", "expiry", "size", "sha256", "policy"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_FALSE(journal_has(state_dir(), "installed"));
}

TEST_F(InstallTest, InstallerRefusesToStartWithAnUnreadableTrustedKey) {
  LogCapture log;
  auto rt = Runtime::open(test_options(state_dir(), log.logger));
  EXPECT_THROW({ Installer installer(*rt, InstallerOptions{{dir_ / "no-such-key.pub"}}); }, Error);
}

}  // namespace
}  // namespace graft::testing
