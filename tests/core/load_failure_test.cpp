// Every step before the publish can fail; none of them disturbs the version
// that is serving, and each error names the component, the file and the cause.
#include "counter.h"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <elf.h>

#include <cstring>

namespace graft::testing {
namespace {

class LoadFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = Runtime::open(test_options(dir_.path(), log_.logger));
    slot_ = &runtime_->slot<greeter_v1>("greeter");
    ASSERT_TRUE(slot_->load(component_file("greeter-1.0.0.so")).ok());
  }

  // The serving version still answers as 1.0.0 does.
  void expect_v1_serving() {
    int64_t out = 0;
    ASSERT_EQ(slot_->call(&greeter_v1::tag, int64_t{7}, &out), GRAFT_OK);
    EXPECT_EQ(out, 1007);
    char buf[64];
    ASSERT_EQ(slot_->call(&greeter_v1::greet, "ops", buf, sizeof buf), GRAFT_OK);
    EXPECT_STREQ(buf, "Hello, ops.");
    const SlotStatus st = slot_->status();
    EXPECT_EQ(st.version, "1.0.0");
    EXPECT_EQ(st.state, SlotState::serving);
    EXPECT_EQ(st.versions.size(), 1u);
  }

  void expect_refused(const fs::path& file, ErrorCode code, const std::string& cause) {
    const Status s = slot_->swap(file);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find("greeter"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(file.string()), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(cause), std::string::npos) << s.message();
    expect_v1_serving();
  }

  TempDir dir_;
  LogCapture log_;
  std::unique_ptr<Runtime> runtime_;
  Slot<greeter_v1>* slot_ = nullptr;
};

TEST_F(LoadFailureTest, MissingFile) {
  expect_refused(dir_ / "nowhere.so", ErrorCode::file_missing, "No such file");
}

TEST_F(LoadFailureTest, NotAnElfFile) {
  const fs::path p = dir_ / "notes.so";
  write_file(p, "#!/bin/sh\necho this is not a shared object\n");
  expect_refused(p, ErrorCode::not_elf, "not an ELF");
}

TEST_F(LoadFailureTest, TruncatedSharedObject) {
  const std::string whole = read_file(component_file("greeter-1.1.0.so"));
  const fs::path p = dir_ / "half.so";
  write_file(p, whole.substr(0, whole.size() / 2));
  expect_refused(p, ErrorCode::truncated, "truncated");
}

TEST_F(LoadFailureTest, WrongArchitecture) {
  std::string bytes = read_file(component_file("greeter-1.1.0.so"));
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  eh.e_machine = EM_AARCH64;
  std::memcpy(bytes.data(), &eh, sizeof eh);
  const fs::path p = dir_ / "arm64.so";
  write_file(p, bytes);
  expect_refused(p, ErrorCode::wrong_architecture, "AArch64");
}

TEST_F(LoadFailureTest, EntrySymbolMissing) {
  expect_refused(fixture_file("no_entry", "greeter-1.1.0.so"), ErrorCode::entry_missing,
                 "graft_component_entry_v1");
}

TEST_F(LoadFailureTest, WrongAbiVersion) {
  expect_refused(fixture_file("wrong_abi", "greeter-1.1.0.so"), ErrorCode::abi_mismatch, "ABI 99");
}

TEST_F(LoadFailureTest, WrongInterfaceId) {
  expect_refused(fixture_file("wrong_interface", "greeter-1.1.0.so"), ErrorCode::interface_mismatch,
                 "graft.example.not_a_greeter");
}

TEST_F(LoadFailureTest, InterfaceMajorChangeCannotBePatchedLive) {
  expect_refused(fixture_file("wrong_major", "greeter-1.1.0.so"), ErrorCode::interface_mismatch,
                 "cannot be patched live");
}

TEST_F(LoadFailureTest, FunctionTableSmallerThanTheInterface) {
  expect_refused(fixture_file("small_table", "greeter-1.1.0.so"), ErrorCode::table_too_small,
                 "function table is 8 bytes");
}

TEST_F(LoadFailureTest, UnparsableVersion) {
  expect_refused(fixture_file("bad_version", "greeter-1.1.0.so"), ErrorCode::bad_version,
                 "one point two");
}

TEST_F(LoadFailureTest, ComponentNameMismatch) {
  expect_refused(fixture_file("impostor", "impostor-1.1.0.so"), ErrorCode::component_mismatch,
                 "is component 'impostor'");
}

TEST_F(LoadFailureTest, CreateFails) {
  expect_refused(fixture_file("create_fails", "greeter-1.1.0.so"), ErrorCode::create_failed,
                 "out of licences");
}

TEST_F(LoadFailureTest, CreateThrows) {
  expect_refused(fixture_file("create_throws", "greeter-1.1.0.so"), ErrorCode::create_failed,
                 "constructor of the broken build throws");
}

TEST_F(LoadFailureTest, CreateReturnsNullInstance) {
  expect_refused(fixture_file("null_instance", "greeter-1.1.0.so"), ErrorCode::create_failed,
                 "no instance");
}

TEST_F(LoadFailureTest, SelfTestFails) {
  expect_refused(fixture_file("self_test_fails", "greeter-1.1.0.so"), ErrorCode::self_test_failed,
                 "fails on purpose");
}

TEST_F(LoadFailureTest, UndefinedSymbolFailsAtLoadNotAtCall) {
  expect_refused(fixture_file("undefined_symbol", "greeter-1.1.0.so"), ErrorCode::undefined_symbol,
                 "graft_fixture_function_that_does_not_exist");
}

TEST_F(LoadFailureTest, VersionNotNewer) {
  expect_refused(component_file("greeter-1.0.0.so"), ErrorCode::not_newer, "not newer");
  // An explicit downgrade is the operator's call.
  SwapOptions older;
  older.allow_older = true;
  EXPECT_TRUE(slot_->swap(component_file("greeter-1.1.0.so")).ok());
  EXPECT_TRUE(slot_->swap(component_file("greeter-1.0.0.so"), older).ok());
  expect_v1_serving();
}

TEST_F(LoadFailureTest, RefusedFilesDoNotStayInTheStore) {
  const fs::path p = dir_ / "notes.so";
  write_file(p, "garbage");
  ASSERT_FALSE(slot_->swap(p).ok());
  ASSERT_FALSE(slot_->swap(fixture_file("create_fails", "greeter-1.1.0.so")).ok());
  int stored = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "store")) {
    (void)e;
    ++stored;
  }
  EXPECT_EQ(stored, 1);  // only the serving 1.0.0
}

TEST_F(LoadFailureTest, LoadIntoServingSlotIsRefused) {
  const Status s = slot_->load(component_file("greeter-1.1.0.so"));
  EXPECT_EQ(s.code(), ErrorCode::already_loaded);
  expect_v1_serving();
}

TEST_F(LoadFailureTest, RefusalsAreLoggedWithTheCause) {
  ASSERT_FALSE(slot_->swap(fixture_file("self_test_fails", "greeter-1.1.0.so")).ok());
  EXPECT_TRUE(log_.contains("refused"));
  EXPECT_TRUE(log_.contains("fails on purpose"));
}

TEST(QuiesceFailureTest, StateImportFailureReopensTheGateOnTheOldVersion) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& counter = rt->slot<counter_v1>("counter");
  ASSERT_TRUE(counter.load(component_file("counter-1.0.0.so")).ok());
  int64_t total = 0;
  ASSERT_EQ(counter.call(&counter_v1::add, int64_t{41}, &total), GRAFT_OK);
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  const Status s = counter.swap(fixture_file("refuses_import", "counter-2.0.0.so"), quiesce);
  EXPECT_EQ(s.code(), ErrorCode::state_import_failed) << s.message();
  EXPECT_NE(s.message().find("refuses every import"), std::string::npos) << s.message();
  ASSERT_EQ(counter.call(&counter_v1::add, int64_t{1}, &total), GRAFT_OK);
  EXPECT_EQ(total, 42);
  int32_t gen = 0;
  ASSERT_EQ(counter.call(&counter_v1::generation, &gen), GRAFT_OK);
  EXPECT_EQ(gen, 1);
}

TEST(QuiesceFailureTest, QuiesceNeedsStateSupportOnBothSides) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& greeter = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(greeter.load(component_file("greeter-1.0.0.so")).ok());
  SwapOptions quiesce;
  quiesce.mode = SwapMode::quiesce;
  const Status s = greeter.swap(component_file("greeter-1.1.0.so"), quiesce);
  EXPECT_EQ(s.code(), ErrorCode::state_unsupported) << s.message();
  EXPECT_EQ(greeter.status().version, "1.0.0");
}

TEST(SlotDeclarationTest, SameComponentWithAnotherInterfaceIsRefused) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  rt->slot<greeter_v1>("shared-name");
  EXPECT_THROW(rt->slot<counter_v1>("shared-name"), Error);
  EXPECT_EQ(&rt->slot<greeter_v1>("shared-name"), rt->find("shared-name"));
}

TEST(SlotDeclarationTest, EmptySlotAnswersUnavailable) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& greeter = rt->slot<greeter_v1>("greeter");
  int64_t out = 0;
  EXPECT_EQ(greeter.call(&greeter_v1::tag, int64_t{1}, &out), GRAFT_E_UNAVAILABLE);
  EXPECT_EQ(greeter.status().state, SlotState::empty);
}

TEST(ComponentLoggingTest, ComponentLinesAreTaggedWithNameAndVersion) {
  TempDir dir;
  LogCapture log;
  auto rt = Runtime::open(test_options(dir.path(), log.logger));
  auto& greeter = rt->slot<greeter_v1>("greeter");
  ASSERT_TRUE(greeter.load(component_file("greeter-1.1.0.so")).ok());
  EXPECT_TRUE(log.contains("[greeter 1.1.0] greeter generation 2 created"));
}

}  // namespace
}  // namespace graft::testing
