// A bundle whose files are not what they claim, offered to a host's
// Installer and to graftctl verify: FIFOs, device nodes, symlinks to
// /dev/zero, 100 MB manifests and signatures, and manifests that break the
// format's rules. Each is refused at once with what the thing is, the host
// keeps serving (a rollback right after succeeds), and nothing on disk
// changes except the journal's refusal line.
#include "bundle_factory.hpp"
#include "child_process.hpp"
#include "hostile_support.hpp"

#include <graft/bundle_verifier.hpp>

namespace graft::testing {
namespace {

constexpr auto kLimit = std::chrono::seconds(10);

class HostileBundle : public TrustTest {
 protected:
  // A host serving (a) over the base, so that a rollback has somewhere to go.
  void SetUp() override {
    host_ = base_host();
    const Status s = host_->installer->install(bundle_a());
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(host_->tag(), kTagA);
  }

  fs::path hostile_b() { return bundle_b(); }

  // Installs `bundle` within kLimit (FIFOs in `fifos` are unblocked if it
  // hangs) and checks what every refusal must leave: `code`, a message
  // naming `words`, (a) still answering, the state folder unchanged but for
  // the journal, and a rollback that works right after.
  void expect_refused(const fs::path& bundle, ErrorCode code, const std::vector<std::string>& words,
                      const std::vector<fs::path>& fifos = {}) {
    const auto before = folder_snapshot(state_dir(), {"journal.jsonl"});
    const auto s = within<Status>(
        kLimit, [&] { return host_->installer->install(bundle); }, fifos);
    ASSERT_TRUE(s.has_value()) << "install blocked on a hostile file";
    EXPECT_EQ(s->code(), code) << to_string(s->code()) << ": " << s->message();
    for (const auto& w : words) {
      EXPECT_NE(s->message().find(w), std::string::npos)
          << "message does not say '" << w << "': " << s->message();
    }
    EXPECT_EQ(host_->tag(), kTagA);
    EXPECT_EQ(folder_snapshot(state_dir(), {"journal.jsonl"}), before)
        << "a refusal changed the state folder";
    EXPECT_TRUE(journal_has(state_dir(), "refused",
                            [&](const json& j) { return j.value("code", "") == to_string(code); }));
    const Status back = host_->installer->rollback("greeter");
    EXPECT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(host_->tag(), kTagBase);
  }

  // graftctl verify of `bundle`, within kLimit.
  RunResult graftctl_verify(const fs::path& bundle) {
    return run_program(
        {GRAFTCTL_PATH, "verify", bundle.string(), "--trust", key_.public_file.string()}, {},
        std::nullopt, kLimit);
  }

  std::unique_ptr<TestHost> host_;
};

TEST_F(HostileBundle, FifoAsSharedObjectIsRefusedAtOnce) {
  const fs::path b = hostile_b();
  make_fifo(b / "greeter-1.0.0-b.so");
  expect_refused(b, ErrorCode::bundle_invalid, {"greeter-1.0.0-b.so", "is a FIFO"},
                 {b / "greeter-1.0.0-b.so"});
}

TEST_F(HostileBundle, FifoAsManifestIsRefusedAtOnce) {
  const fs::path b = hostile_b();
  make_fifo(b / "manifest.json");
  expect_refused(b, ErrorCode::bundle_invalid, {"manifest.json", "is a FIFO"},
                 {b / "manifest.json"});
}

TEST_F(HostileBundle, FifoAsSignatureIsRefusedAtOnce) {
  const fs::path b = hostile_b();
  make_fifo(b / "manifest.sig");
  expect_refused(b, ErrorCode::bad_signature, {"manifest.sig", "is a FIFO"}, {b / "manifest.sig"});
}

TEST_F(HostileBundle, SymlinkToDevZeroAsManifestIsRefused) {
  const fs::path b = hostile_b();
  make_symlink(b / "manifest.json", "/dev/zero");
  expect_refused(b, ErrorCode::bundle_invalid, {"manifest.json", "is a symlink"});
}

TEST_F(HostileBundle, SymlinkToDevZeroAsSharedObjectIsRefused) {
  const fs::path b = hostile_b();
  make_symlink(b / "greeter-1.0.0-b.so", "/dev/zero");
  expect_refused(b, ErrorCode::bundle_invalid, {"greeter-1.0.0-b.so", "is a symlink"});
}

TEST_F(HostileBundle, CharacterDeviceAsSharedObjectIsRefused) {
  const fs::path b = hostile_b();
  if (!make_zero_device(b / "greeter-1.0.0-b.so")) GTEST_SKIP() << "mknod needs root";
  expect_refused(b, ErrorCode::bundle_invalid, {"greeter-1.0.0-b.so", "is a character device"});
}

TEST_F(HostileBundle, CharacterDeviceAsManifestIsRefused) {
  const fs::path b = hostile_b();
  if (!make_zero_device(b / "manifest.json")) GTEST_SKIP() << "mknod needs root";
  expect_refused(b, ErrorCode::bundle_invalid, {"manifest.json", "is a character device"});
}

TEST_F(HostileBundle, FolderAsSharedObjectIsNamedNotReportedMissing) {
  const fs::path b = hostile_b();
  fs::remove(b / "greeter-1.0.0-b.so");
  fs::create_directory(b / "greeter-1.0.0-b.so");
  expect_refused(b, ErrorCode::bundle_invalid, {"greeter-1.0.0-b.so", "is a folder"});
}

TEST_F(HostileBundle, HundredMegabyteManifestIsRefusedUnread) {
  const fs::path b = hostile_b();
  make_sparse(b / "manifest.json", 100 << 20);
  expect_refused(b, ErrorCode::bundle_invalid, {"manifest.json", "is larger than 65536 bytes"});
}

TEST_F(HostileBundle, HundredMegabyteSignatureIsRefusedUnread) {
  const fs::path b = hostile_b();
  make_sparse(b / "manifest.sig", 100 << 20);
  expect_refused(b, ErrorCode::bad_signature, {"manifest.sig", "is larger than 1024 bytes"});
}

TEST_F(HostileBundle, UnsignedDeeplyNestedManifestIsRefusedWithoutRecursion) {
  const fs::path b = hostile_b();
  // 30,000 levels inside the 64 KiB cap.
  write_file(b / "manifest.json",
             "{\"size\": " + std::string(30000, '[') + std::string(30000, ']') + "}");
  expect_refused(b, ErrorCode::bundle_invalid, {"nested deeper than 8 levels"});
}

TEST_F(HostileBundle, SignedManifestWithADuplicateKeyIsRefused) {
  const fs::path b = hostile_b();
  std::string text = read_file(b / "manifest.json");
  // The first "version" wins in some readers, the last in others.
  text.insert(text.find('{') + 1, "\n  \"version\": \"9.9.9\",");
  write_file(b / "manifest.json", text);
  write_file(b / "manifest.sig", sign_detached(key_.secret, text));
  expect_refused(b, ErrorCode::bundle_invalid, {"duplicate key 'version'"});
}

TEST_F(HostileBundle, SignedManifestWithAnUnknownFieldIsRefused) {
  const fs::path b = hostile_b();
  std::string text = read_file(b / "manifest.json");
  text.insert(text.find('{') + 1, "\n  \"run_as\": \"root\",");
  write_file(b / "manifest.json", text);
  write_file(b / "manifest.sig", sign_detached(key_.secret, text));
  expect_refused(b, ErrorCode::bundle_invalid, {"unknown field 'run_as'"});
}

TEST_F(HostileBundle, UpperCaseSignatureIsRefused) {
  const fs::path b = hostile_b();
  std::string sig = sign_detached(key_.secret, read_file(b / "manifest.json"));
  for (char& c : sig)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  write_file(b / "manifest.sig", sig);
  expect_refused(b, ErrorCode::bad_signature, {"bad signature"});
}

TEST_F(HostileBundle, BundleCreatedInTheFutureIsRefused) {
  const std::time_t now = std::time(nullptr);
  const fs::path b = bundle("future", {.so = trust_so("greeter-1.0.0-b.so"),
                                       .version = V("1.0.0 (b)"),
                                       .created = now + 86400,
                                       .expires = now + 2 * 86400});
  expect_refused(b, ErrorCode::bundle_invalid, {"in the future"});
}

TEST_F(HostileBundle, GraftctlVerifyOfAFifoManifestExitsAtOnce) {
  const fs::path b = hostile_b();
  make_fifo(b / "manifest.json");
  const RunResult r = graftctl_verify(b);
  EXPECT_EQ(r.code, 1) << "graftctl verify hung or failed otherwise: " << r.code << r.err;
  EXPECT_NE(r.out.find("is a FIFO"), std::string::npos) << r.out;
}

TEST_F(HostileBundle, GraftctlVerifyOfAFifoSharedObjectExitsAtOnce) {
  const fs::path b = hostile_b();
  make_fifo(b / "greeter-1.0.0-b.so");
  const RunResult r = graftctl_verify(b);
  EXPECT_EQ(r.code, 1) << "graftctl verify hung or failed otherwise: " << r.code << r.err;
  EXPECT_NE(r.out.find("is a FIFO"), std::string::npos) << r.out;
}

TEST_F(HostileBundle, GraftctlVerifyOfADeviceManifestExitsAtOnce) {
  const fs::path b = hostile_b();
  if (!make_zero_device(b / "manifest.json")) GTEST_SKIP() << "mknod needs root";
  const RunResult r = graftctl_verify(b);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("is a character device"), std::string::npos) << r.out;
}

TEST_F(HostileBundle, GraftctlVerifyEscapesControlCharactersFromAnUnsignedManifest) {
  const fs::path b = hostile_b();
  std::string text = read_file(b / "manifest.json");
  const std::string marker = "\"component\": \"greeter\"";
  ASSERT_NE(text.find(marker), std::string::npos) << text;
  // An escape sequence that would clear the operator's screen; the key is
  // untrusted, so the message names the component the manifest claims.
  text.replace(text.find(marker), marker.size(), "\"component\": \"\\u001b[2Jgreeter\"");
  write_file(b / "manifest.json", text);
  const RunResult r = graftctl_verify(b);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "raw ESC on the terminal";
  EXPECT_NE(r.out.find("\\x1b[2Jgreeter"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace graft::testing

namespace graft::testing {
namespace {

// graftctl bundle loads the object to read its descriptor: in a child
// process with a deadline, so that constructors that hang, crash or exit
// cannot take the signing tool with them.
class HostileObjectToSign : public TrustTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(HostileObjectToSign, GraftctlBundleSurvivesItsConstructor) {
  const fs::path out = dir_ / "out";
  const RunResult r =
      run_program({GRAFTCTL_PATH, "bundle", "--key", key_.secret_file.string(), "--so",
                   fixture_file("hostile", "hostile_constructor.so").string(), "--version", "1.0.0",
                   "--applies-to", "1.0.0", "--out", out.string()},
                  {std::string("GRAFT_HOSTILE_CONSTRUCTOR=") + GetParam()}, std::nullopt,
                  std::chrono::seconds(30));
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const std::string expected = std::string(GetParam()) == "hang"    ? "did not finish within"
                               : std::string(GetParam()) == "crash" ? "crashed the process"
                                                                    : "gave no answer";
  // Under AddressSanitizer the crash is caught by its handler, which ends
  // the child with exit status 1 instead of the signal.
  const bool said =
      r.err.find(expected) != std::string::npos ||
      (std::string(GetParam()) == "crash" && r.err.find("gave no answer") != std::string::npos);
  EXPECT_TRUE(said) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

INSTANTIATE_TEST_SUITE_P(Constructors, HostileObjectToSign,
                         ::testing::Values("hang", "crash", "exit"));

}  // namespace
}  // namespace graft::testing
