// A host that starts again on its state folder comes back on the versions it
// had, each verified again from the store; a corrupt or missing artifact
// falls back to the newest good version and says so.
#include "bundle_factory.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace graft::testing {
namespace {

using RestoreTest = TrustTest;

// The store copy a recorded version was loaded from.
fs::path stored_artifact(TestHost& host, const std::string& version) {
  const ComponentRecord r = host.installer->state().components.at("greeter");
  return host.runtime->store().dir() / (r.hashes.at(version) + ".so");
}

TEST_F(RestoreTest, RestartedHostComesBackOnTheInstalledVersion) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  }
  // No version loaded by the host itself: everything comes from the state.
  auto host = start_host();
  const Status s = host->installer->restore();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (b)");
  EXPECT_EQ(host->tag(), kTagB);
  EXPECT_TRUE(host->log.contains("back on 1.0.0 (b)"));
}

TEST_F(RestoreTest, HostThatLoadsItsBaseFirstIsMovedBackOntoTheInstalledResponse) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  auto host = base_host();  // the host's own start-up load of 1.0.0
  const Status s = host->installer->restore();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
}

TEST_F(RestoreTest, BaseLoadedAtStartUpDoesNotReplaceTheRecordedVersion) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  // A host killed between its start-up load and restore() must still come
  // back on the response: the state on disk keeps naming it.
  auto host = base_host();
  InstalledState on_disk;
  ASSERT_TRUE(InstalledState::load(state_dir() / "installed.json", &on_disk).ok());
  const ComponentRecord& r = on_disk.components.at("greeter");
  ASSERT_TRUE(r.serving.has_value());
  EXPECT_EQ(r.serving->to_string(), "1.0.0 (a)");
  EXPECT_EQ(host->serving(), "1.0.0");
  host.reset();
  auto again = start_host();
  ASSERT_TRUE(again->installer->restore().ok());
  EXPECT_EQ(again->serving(), "1.0.0 (a)");
}

TEST_F(RestoreTest, RestoreKeepsARollbackThatWasInForce) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    ASSERT_TRUE(host->installer->install(bundle_b()).ok());
    ASSERT_TRUE(host->installer->rollback("greeter").ok());
  }
  auto host = start_host();
  ASSERT_TRUE(host->installer->restore().ok());
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
}

TEST_F(RestoreTest, CorruptServingArtifactFallsBackToTheNewestGoodVersion) {
  fs::path corrupt;
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    ASSERT_TRUE(host->installer->install(bundle_b()).ok());
    corrupt = stored_artifact(*host, "1.0.0 (b)");
  }
  ASSERT_TRUE(fs::exists(corrupt)) << corrupt;
  std::string bytes = read_file(corrupt);
  bytes[bytes.size() / 3] ^= 0x01;
  write_file(corrupt, bytes);

  auto host = start_host();
  const Status s = host->installer->restore();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_EQ(host->tag(), kTagA);
  EXPECT_TRUE(host->log.contains("fell back to 1.0.0 (a)"));
  EXPECT_TRUE(journal_has(state_dir(), "restore_fallback", [](const json& j) {
    return j.value("component", "") == "greeter" && j.value("version", "") == "1.0.0 (a)" &&
           j.value("from", "") == "1.0.0 (b)" &&
           j.value("reason", "").find("1.0.0 (b)") != std::string::npos;
  }));
}

TEST_F(RestoreTest, FallbackNeverReinstatesAVersionTheOperatorRolledBack) {
  fs::path corrupt;
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    ASSERT_TRUE(host->installer->install(bundle_b()).ok());
    ASSERT_TRUE(host->installer->rollback("greeter").ok());  // (b) removed on purpose
    corrupt = stored_artifact(*host, "1.0.0 (a)");
  }
  std::string bytes = read_file(corrupt);
  bytes[bytes.size() / 3] ^= 0x01;
  write_file(corrupt, bytes);

  auto host = start_host();
  EXPECT_TRUE(host->installer->restore().ok());
  EXPECT_EQ(host->serving(), "1.0.0");  // older than (a), not the newer (b)
  EXPECT_EQ(host->tag(), kTagBase);
}

TEST_F(RestoreTest, MissingServingArtifactFallsBackToTheNewestGoodVersion) {
  std::vector<fs::path> missing;
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    ASSERT_TRUE(host->installer->install(bundle_b()).ok());
    missing = {stored_artifact(*host, "1.0.0 (b)"), stored_artifact(*host, "1.0.0 (a)")};
  }
  for (const auto& file : missing)
    ASSERT_TRUE(fs::remove(file)) << file;
  auto host = start_host();
  const Status s = host->installer->restore();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
  EXPECT_TRUE(journal_has(state_dir(), "restore_fallback", [](const json& j) {
    return j.value("version", "") == "1.0.0" && j.value("from", "") == "1.0.0 (b)";
  }));
}

TEST_F(RestoreTest, NoGoodArtifactAtAllIsReportedAsStateCorrupt) {
  fs::path store;
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
    store = host->runtime->store().dir();
  }
  // Only once that host is gone: rewriting a mapped object would crash it.
  for (const auto& e : fs::directory_iterator(store)) {
    if (e.path().extension() == ".so") write_file(e.path(), "not a shared object any more");
  }
  auto host = start_host();
  const Status s = host->installer->restore();
  EXPECT_EQ(s.code(), ErrorCode::state_corrupt) << s.message();
  EXPECT_NE(s.message().find("greeter"), std::string::npos) << s.message();
  EXPECT_EQ(host->serving(), "");
  EXPECT_TRUE(journal_has(state_dir(), "restore_failed"));
}

TEST_F(RestoreTest, UnparsableStateFileStopsTheInstallerFromStarting) {
  // Saves are atomic, so this is damage from outside; starting empty would
  // drop the floor against rollback attacks.
  fs::create_directories(state_dir());
  const std::string damaged = "{\"format\": \"graft-installed/1\", \"compo";
  write_file(state_dir() / "installed.json", damaged);
  LogCapture log;
  auto rt = Runtime::open(test_options(state_dir(), log.logger));
  try {
    Installer installer(*rt, InstallerOptions{{key_.public_file}});
    ADD_FAILURE() << "the installer started on a damaged installed.json";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code(), ErrorCode::state_corrupt) << e.what();
    EXPECT_NE(std::string(e.what()).find("installed.json"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(state_dir() / "installed.json"), damaged);  // left for the operator
}

TEST_F(RestoreTest, RestoreOfAComponentTheHostNoLongerDeclaresIsSkipped) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  LogCapture log;
  auto rt = Runtime::open(test_options(state_dir(), log.logger));
  Installer installer(*rt, InstallerOptions{{key_.public_file}});
  EXPECT_TRUE(installer.restore().ok());
  EXPECT_TRUE(log.contains("declared no slot"));
}

// A crash in the middle of a journal append leaves the last line cut short;
// the next host drops it, says so, and every line after is whole JSON.
TEST_F(RestoreTest, JournalLineTornByACrashIsDroppedWhenTheNextHostStarts) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  const fs::path journal = state_dir() / "journal.jsonl";
  const auto whole_lines = journal_lines(state_dir()).size();
  const std::string torn = R"({"bundle":"/x/greeter-1.0.0-b","by":"operator","componen)";
  {
    std::ofstream out(journal, std::ios::app | std::ios::binary);
    out << torn;
  }
  auto host = start_host();
  ASSERT_TRUE(host->installer->restore().ok());
  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  const auto lines = journal_lines(state_dir());  // fails the test on a line that is not JSON
  EXPECT_GT(lines.size(), whole_lines);
  EXPECT_TRUE(journal_has(state_dir(), "journal_repaired", [&](const json& j) {
    return j.value("reason", "").find(std::to_string(torn.size()) + " bytes") != std::string::npos;
  }));
  EXPECT_TRUE(journal_has(state_dir(), "installed",
                          [](const json& j) { return j.value("version", "") == "1.0.0 (b)"; }));
  EXPECT_TRUE(host->log.contains("that a crash cut short"));
}

// A journal whose only line was cut short is emptied, not left half-written.
TEST_F(RestoreTest, JournalWithOnlyATornLineStartsAfresh) {
  fs::create_directories(state_dir());
  {
    std::ofstream out(state_dir() / "journal.jsonl", std::ios::binary);
    out << R"({"time":"2026-11-28T01:32:35Z","ev)";
  }
  auto host = start_host();
  const auto lines = journal_lines(state_dir());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value("event", ""), "journal_repaired");
}

// A journal that cannot be read is reported, and the host still starts.
TEST_F(RestoreTest, JournalThatCannotBeCheckedIsReportedAndTheHostStarts) {
  fs::create_directories(state_dir() / "journal.jsonl");  // a folder where the file should be
  auto host = start_host();
  EXPECT_TRUE(host->log.contains("journal.jsonl: cannot check its last line"));
  EXPECT_TRUE(host->greeter->load(greeter_base_so()).ok());
  EXPECT_EQ(host->tag(), kTagBase);
}

// A journal that ends cleanly is left exactly as it was.
TEST_F(RestoreTest, WholeJournalIsLeftAsItIs) {
  {
    auto host = base_host();
    ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  }
  const std::string before = read_file(state_dir() / "journal.jsonl");
  auto host = start_host();
  EXPECT_EQ(read_file(state_dir() / "journal.jsonl"), before);
  EXPECT_FALSE(host->log.contains("cut short"));
}

}  // namespace
}  // namespace graft::testing
