// Every reason the Installer refuses a bundle, each with a bundle signed at
// test time: the code, a message that names the component and the cause, the
// serving version still answering, and a "refused" line in the journal.
#include "bundle_factory.hpp"
#include "file_io.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <climits>

namespace graft::testing {
namespace {

class InstallRefusalTest : public TrustTest {
 protected:
  void SetUp() override { host_ = base_host(); }

  // What every refusal must leave behind. `serving`/`tag` are what answered
  // before the attempt.
  void expect_refused(const Status& s, ErrorCode code, const std::vector<std::string>& names,
                      const std::string& serving = "1.0.0", int64_t tag = kTagBase) {
    EXPECT_EQ(s.code(), code) << "got " << to_string(s.code()) << ": " << s.message();
    for (const auto& text : names) {
      EXPECT_NE(s.message().find(text), std::string::npos)
          << "message does not name '" << text << "': " << s.message();
    }
    EXPECT_EQ(host_->serving(), serving);
    EXPECT_EQ(host_->tag(), tag);
    EXPECT_TRUE(journal_has(state_dir(), "refused",
                            [&](const json& j) { return j.value("code", "") == to_string(code); }))
        << "no 'refused' journal line with code " << to_string(code);
    // One log line per refusal, with its code (the in-process path of the
    // refusal matrix; graftctl and the inbox: operator_requests_test.cpp).
    std::size_t lines = 0;
    for (const auto& line : host_->log.sink->last_formatted()) {
      if (line.find("refused") != std::string::npos &&
          line.find(s.message()) != std::string::npos) {
        ++lines;
      }
    }
    EXPECT_EQ(lines, 1u) << "log lines naming the refusal " << to_string(code);
  }

  std::unique_ptr<TestHost> host_;
};

std::string reserialize(const fs::path& manifest, const std::function<void(json&)>& edit) {
  json j = json::parse(read_file(manifest));
  edit(j);
  return j.dump(2) + "\n";
}

TEST_F(InstallRefusalTest, ManifestMissingAFieldIsRefusedAsBundleInvalid) {
  const fs::path b = bundle_a();
  // Re-signed, so that the missing field is the only fault.
  const std::string text = reserialize(b / "manifest.json", [](json& j) { j.erase("expires"); });
  write_file(b / "manifest.json", text);
  write_file(b / "manifest.sig", sign_detached(key_.secret, text));
  expect_refused(host_->installer->install(b), ErrorCode::bundle_invalid,
                 {b.string(), "missing field 'expires'"});
}

TEST_F(InstallRefusalTest, ManifestThatIsNotJsonIsRefusedAsBundleInvalid) {
  const fs::path b = bundle_a();
  write_file(b / "manifest.json", "{\"component\": \"greeter\", ");
  expect_refused(host_->installer->install(b), ErrorCode::bundle_invalid,
                 {b.string(), "not valid JSON"});
}

TEST_F(InstallRefusalTest, MissingSignatureIsRefusedAsBadSignature) {
  const fs::path b = bundle_a();
  fs::remove(b / "manifest.sig");
  expect_refused(host_->installer->install(b), ErrorCode::bad_signature,
                 {"greeter 1.0.0 (a)", "no signature"});
}

TEST_F(InstallRefusalTest, GarbledSignatureIsRefusedAsBadSignature) {
  const fs::path b = bundle_a();
  write_file(b / "manifest.sig", "this is not 128 hex digits\n");
  expect_refused(host_->installer->install(b), ErrorCode::bad_signature,
                 {"greeter 1.0.0 (a)", "bad signature"});
}

TEST_F(InstallRefusalTest, ManifestEditedAfterSigningIsRefusedAsBadSignature) {
  const fs::path b = bundle_a();
  // Still a valid manifest, one day longer: not the bytes that were signed.
  write_file(b / "manifest.json", reserialize(b / "manifest.json", [](json& j) {
               std::time_t t = 0;
               ASSERT_TRUE(parse_utc(j["expires"].get<std::string>(), &t));
               j["expires"] = format_utc(t + 86400);
             }));
  expect_refused(host_->installer->install(b), ErrorCode::bad_signature,
                 {"greeter 1.0.0 (a)", "bad signature"});
}

TEST_F(InstallRefusalTest, SignatureMadeWithAnotherKeyIsRefusedAsBadSignature) {
  const fs::path b = bundle_a();
  // The manifest names the trusted key; the signature is someone else's.
  const TestKey other = make_key(dir_ / "other-keys");
  write_file(b / "manifest.sig", sign_detached(other.secret, read_file(b / "manifest.json")));
  expect_refused(host_->installer->install(b), ErrorCode::bad_signature,
                 {"greeter 1.0.0 (a)", "bad signature", key_.public_key.key_id()});
}

TEST_F(InstallRefusalTest, BundleSignedByAnUntrustedKeyIsRefusedAsUnknownKey) {
  const TestKey other = make_key(dir_ / "other-keys");
  const fs::path b = dir_ / "bundles" / "untrusted";
  write_test_bundle(b, {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)")}, other);
  expect_refused(host_->installer->install(b), ErrorCode::unknown_key,
                 {"greeter 1.0.0 (a)", other.public_key.key_id(), "does not trust"});
}

TEST_F(InstallRefusalTest, ExpiredManifestIsRefused) {
  const std::time_t now = std::time(nullptr);
  const fs::path b = bundle("expired", {.so = trust_so("greeter-1.0.0-a.so"),
                                        .version = V("1.0.0 (a)"),
                                        .created = now - 7200,
                                        .expires = now - 3600});
  expect_refused(host_->installer->install(b), ErrorCode::expired,
                 {"greeter 1.0.0 (a)", "expired at " + format_utc(now - 3600)});
}

TEST_F(InstallRefusalTest, SharedObjectOfAnotherSizeIsRefusedAsSizeMismatch) {
  const fs::path b = bundle_a();
  std::ofstream(b / "greeter-1.0.0-a.so", std::ios::binary | std::ios::app) << "trailing bytes";
  expect_refused(host_->installer->install(b), ErrorCode::size_mismatch,
                 {"greeter 1.0.0 (a)", "greeter-1.0.0-a.so", "the signed manifest says"});
}

TEST_F(InstallRefusalTest, SharedObjectWithOtherContentIsRefusedAsHashMismatch) {
  const fs::path b = bundle_a();
  std::string bytes = read_file(b / "greeter-1.0.0-a.so");
  bytes[bytes.size() / 2] ^= 0x5a;  // same size, other content
  write_file(b / "greeter-1.0.0-a.so", bytes);
  expect_refused(host_->installer->install(b), ErrorCode::hash_mismatch,
                 {"greeter 1.0.0 (a)", "SHA-256", "differs from the signed manifest's"});
}

// The shared object changes between the check of the bundle and its copy
// into the store (another process rewriting the inbox): the copy, the only
// file ever loaded, is checked against the signed manifest again.
std::string g_watched_file;
bool g_verified_once = false;

ssize_t read_changing_after_first_pass(int fd, void* buf, std::size_t n) {
  const ssize_t got = ::read(fd, buf, n);
  char link[PATH_MAX];
  const ssize_t len =
      ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
  if (got >= 0 && len > 0 && std::string(link, static_cast<std::size_t>(len)) == g_watched_file) {
    if (got == 0) {
      g_verified_once = true;  // the verifier has read it all
    } else if (g_verified_once) {
      static_cast<unsigned char*>(buf)[got - 1] ^= 0xff;
    }
  }
  return got;
}

const detail::FileOps kChangingOps = {
    read_changing_after_first_pass,
    [](int fd, const void* buf, std::size_t n) { return ::write(fd, buf, n); },
    [](int fd) { return ::fsync(fd); },
    [](const char* from, const char* to) { return std::rename(from, to); },
};

TEST_F(InstallRefusalTest, SharedObjectChangedAfterVerificationIsCaughtOnTheStoreCopy) {
  const fs::path b = bundle_a();
  g_watched_file = fs::canonical(b / "greeter-1.0.0-a.so").string();
  g_verified_once = false;
  detail::set_file_ops_for_testing(&kChangingOps);
  const Status s = host_->installer->install(b);
  detail::set_file_ops_for_testing(nullptr);
  EXPECT_TRUE(g_verified_once) << "the bundle's shared object was never read to the end";
  expect_refused(s, ErrorCode::hash_mismatch,
                 {"greeter 1.0.0 (a)", "store copy", "differs from the signed manifest's"});
}

TEST_F(InstallRefusalTest, BundleForAComponentWithoutASlotIsRefused) {
  const fs::path b = bundle(
      "counter",
      {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)"), .component = "counter"});
  expect_refused(host_->installer->install(b), ErrorCode::unknown_component,
                 {"counter", "no slot for component 'counter'"});
}

TEST_F(InstallRefusalTest, OtherAbiVersionIsRefusedAsAbiMismatch) {
  const fs::path b = bundle("abi2", {.so = trust_so("greeter-1.0.0-a.so"),
                                     .version = V("1.0.0 (a)"),
                                     .abi_version = GRAFT_ABI_VERSION + 1});
  expect_refused(host_->installer->install(b), ErrorCode::abi_mismatch,
                 {"greeter 1.0.0 (a)", "graft ABI " + std::to_string(GRAFT_ABI_VERSION + 1)});
}

TEST_F(InstallRefusalTest, OtherInterfaceIdIsRefusedAsInterfaceMismatch) {
  const fs::path b = bundle("other-interface", {.so = trust_so("greeter-1.0.0-a.so"),
                                                .version = V("1.0.0 (a)"),
                                                .interface_id = "graft.example.other"});
  expect_refused(host_->installer->install(b), ErrorCode::interface_mismatch,
                 {"greeter 1.0.0 (a)", "graft.example.other", GREETER_INTERFACE_ID});
}

TEST_F(InstallRefusalTest, OtherInterfaceMajorIsRefusedAsInterfaceMismatch) {
  const fs::path b = bundle("interface-v2", {.so = trust_so("greeter-1.0.0-a.so"),
                                             .version = V("1.0.0 (a)"),
                                             .interface_major = GREETER_INTERFACE_MAJOR + 1});
  expect_refused(host_->installer->install(b), ErrorCode::interface_mismatch,
                 {"greeter 1.0.0 (a)", "v" + std::to_string(GREETER_INTERFACE_MAJOR + 1)});
}

TEST_F(InstallRefusalTest, VersionBelowTheHighestEverInstalledIsRefusedAsDowngrade) {
  ASSERT_TRUE(host_->installer->install(bundle_b()).ok());
  expect_refused(host_->installer->install(bundle_a()), ErrorCode::downgrade,
                 {"greeter 1.0.0 (a)", "1.0.0 (b)", "highest version ever installed"}, "1.0.0 (b)",
                 kTagB);
}

TEST_F(InstallRefusalTest, DowngradeFloorSurvivesARestart) {
  ASSERT_TRUE(host_->installer->install(bundle_b()).ok());
  host_.reset();
  host_ = start_host();
  ASSERT_TRUE(host_->installer->restore().ok());
  ASSERT_EQ(host_->serving(), "1.0.0 (b)");
  expect_refused(host_->installer->install(bundle_a()), ErrorCode::downgrade,
                 {"greeter 1.0.0 (a)", "highest version ever installed"}, "1.0.0 (b)", kTagB);
}

TEST_F(InstallRefusalTest, AnotherBuildOfTheHighestVersionIsRefusedAsDowngrade) {
  ASSERT_TRUE(host_->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host_->installer->rollback("greeter").ok());
  ASSERT_EQ(host_->serving(), "1.0.0");
  // Same version, other bytes (still a loadable object): not a re-apply.
  const fs::path rebuilt = dir_ / "greeter-1.0.0-a.so";
  fs::copy_file(trust_so("greeter-1.0.0-a.so"), rebuilt);
  std::ofstream(rebuilt, std::ios::binary | std::ios::app) << "rebuilt";
  const fs::path b = bundle("rebuilt", {.so = rebuilt, .version = V("1.0.0 (a)")});
  expect_refused(host_->installer->install(b), ErrorCode::downgrade,
                 {"greeter 1.0.0 (a)", "a different build of 1.0.0 (a)"});
}

// The exact build that serves is not installed again, and not refused:
// re-running an install is safe.
TEST_F(InstallRefusalTest, ReapplyingTheServingBuildIsAlreadyServing) {
  const fs::path b = bundle_a();
  ASSERT_TRUE(host_->installer->install(b).ok());
  InstallOutcome outcome;
  const Status again = host_->installer->install(b, {}, &outcome);
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_TRUE(outcome.already_serving);
  EXPECT_EQ(outcome.version, "1.0.0 (a)");
  EXPECT_EQ(host_->serving(), "1.0.0 (a)");
  EXPECT_EQ(host_->tag(), kTagA);
  EXPECT_FALSE(journal_has(state_dir(), "refused", [](const json&) { return true; }));
}

TEST_F(InstallRefusalTest, AllowOlderToAVersionThatWasNotServingJustBeforeIsRefusedAsDowngrade) {
  ASSERT_TRUE(host_->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host_->installer->install(bundle_b()).ok());  // previous: 1.0.0 (a)
  const fs::path base = bundle("base", {.so = greeter_base_so(), .version = V("1.0.0")});
  SwapOptions older;
  older.allow_older = true;
  expect_refused(host_->installer->install(base, older), ErrorCode::downgrade,
                 {"greeter 1.0.0", "highest version ever installed"}, "1.0.0 (b)", kTagB);
}

TEST_F(InstallRefusalTest, ResponseToAnotherBaseIsRefusedAsWrongBase) {
  const fs::path b = bundle(
      "other-base",
      {.so = trust_so("greeter-1.0.1-a.so"), .version = V("1.0.1 (a)"), .applies_to = V("1.0.1")});
  expect_refused(host_->installer->install(b), ErrorCode::wrong_base,
                 {"greeter 1.0.1 (a)", "applies to 1.0.1", "serves 1.0.0"});
}

TEST_F(InstallRefusalTest, ResponseClaimingAnotherBaseThanItsOwnIsRefusedAsWrongBase) {
  const fs::path b = bundle(
      "claims-other-base",
      {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)"), .applies_to = V("1.0.1")});
  expect_refused(host_->installer->install(b), ErrorCode::wrong_base,
                 {"greeter 1.0.0 (a)", "cannot apply to 1.0.1"});
}

TEST_F(InstallRefusalTest, BaseReleaseBuiltForAnotherBaseIsRefusedAsWrongBase) {
  const fs::path b =
      bundle("next-base-for-0.9",
             {.so = trust_so("greeter-1.0.1.so"), .version = V("1.0.1"), .applies_to = V("0.9.0")});
  expect_refused(host_->installer->install(b), ErrorCode::wrong_base,
                 {"greeter 1.0.1", "applies to 0.9.0", "serves 1.0.0"});
}

TEST_F(InstallRefusalTest, DescriptorNamingAnotherComponentIsRefusedAsComponentMismatch) {
  // Signed and intact, but the code inside says it is "greeting".
  const fs::path b =
      bundle("greeting", {.so = trust_so("greeting-1.0.1.so"), .version = V("1.0.1")});
  expect_refused(host_->installer->install(b), ErrorCode::component_mismatch,
                 {"'greeting'", "'greeter'"});
}

TEST_F(InstallRefusalTest, DescriptorReportingAnotherVersionIsRefusedAsComponentMismatch) {
  const fs::path b =
      bundle("says-b-is-a", {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (b)")});
  expect_refused(host_->installer->install(b), ErrorCode::component_mismatch,
                 {"greeter", "reports version 1.0.0 (a)", "its bundle says 1.0.0 (b)"});
}

TEST_F(InstallRefusalTest, RefusalJournalLineNamesComponentAndVersionOnceTheManifestParsed) {
  // The manifest parses; the key is what fails. The journal is read by
  // people and tools that should not have to parse the reason text.
  const TestKey other = make_key(dir_ / "other-keys");
  const fs::path b = dir_ / "bundles" / "untrusted";
  write_test_bundle(b, {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)")}, other);
  ASSERT_EQ(host_->installer->install(b).code(), ErrorCode::unknown_key);
  EXPECT_TRUE(journal_has(state_dir(), "refused", [&](const json& j) {
    return j.value("code", "") == "unknown_key" && j.value("component", "") == "greeter" &&
           j.value("version", "") == "1.0.0 (a)" && j.value("bundle", "") == b.string();
  })) << read_file(state_dir() / "journal.jsonl");
}

TEST_F(InstallRefusalTest, VerifyReportsTheRefusalWithoutInstallingOrJournaling) {
  const fs::path b = bundle("abi2", {.so = trust_so("greeter-1.0.0-a.so"),
                                     .version = V("1.0.0 (a)"),
                                     .abi_version = GRAFT_ABI_VERSION + 1});
  VerifiedBundle verified;
  const Status s = host_->installer->verify(b, &verified);
  EXPECT_EQ(s.code(), ErrorCode::abi_mismatch) << s.message();
  ASSERT_FALSE(verified.checks.empty());
  EXPECT_FALSE(verified.checks.back().passed);
  EXPECT_EQ(verified.checks.back().name, "abi");
  EXPECT_EQ(host_->serving(), "1.0.0");
  EXPECT_FALSE(journal_has(state_dir(), "refused"));
}

}  // namespace
}  // namespace graft::testing
