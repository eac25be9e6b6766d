// graftctl keygen, bundle and verify, run as the real binary: the files they
// write, what they print, and their exit codes.
#include "bundle_factory.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace graft::testing {
namespace {

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Runs graftctl with `args`; stdout and stderr go through files in `scratch`.
CommandResult graftctl(const fs::path& scratch, std::vector<std::string> args) {
  args.insert(args.begin(), GRAFTCTL_PATH);
  const fs::path out_file = scratch / "graftctl.out";
  const fs::path err_file = scratch / "graftctl.err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CommandResult r;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  }
  r.out = read_file(out_file);
  r.err = read_file(err_file);
  return r;
}

class GraftctlTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CommandResult r = graftctl(dir_.path(), {"keygen", "--out", (dir_ / "keys").string()});
    ASSERT_EQ(r.code, 0) << describe(r);
    keygen_output_ = r.out;
    for (const auto& e : fs::directory_iterator(dir_ / "keys")) {
      (e.path().extension() == ".pub" ? public_key_ : secret_key_) = e.path();
    }
    ASSERT_FALSE(public_key_.empty());
    ASSERT_FALSE(secret_key_.empty());
  }

  CommandResult bundle(const fs::path& so, const std::string& version, const fs::path& out,
                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"bundle", "--key",        secret_key_.string(),
                                     "--so",   so.string(),    "--version",
                                     version,  "--applies-to", "1.0.0",
                                     "--out",  out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return graftctl(dir_.path(), args);
  }
  CommandResult verify(const fs::path& bundle_dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"verify", bundle_dir.string(), "--trust",
                                     public_key_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return graftctl(dir_.path(), args);
  }

  TempDir dir_;
  fs::path public_key_, secret_key_;
  std::string keygen_output_;
};

TEST_F(GraftctlTrustTest, KeygenWritesAKeyPairNamedByItsKeyId) {
  PublicKey key;
  ASSERT_TRUE(read_public_key(public_key_, &key).ok());
  const std::string id = key.key_id();
  EXPECT_EQ(public_key_.filename(), id + ".pub");
  EXPECT_EQ(secret_key_.filename(), id + ".key");
  struct stat st {};
  ASSERT_EQ(::stat(secret_key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(keygen_output_.find(id), std::string::npos) << keygen_output_;
  EXPECT_NE(keygen_output_.find(public_key_.string()), std::string::npos) << keygen_output_;
  EXPECT_NE(keygen_output_.find(secret_key_.string()), std::string::npos) << keygen_output_;
  SecretKey secret;
  ASSERT_TRUE(read_secret_key(secret_key_, &secret).ok());
  EXPECT_EQ(secret.public_key().key_id(), id);
}

TEST_F(GraftctlTrustTest, BundleReadsTheDescriptorSignsAndVerifiesThenInstalls) {
  const fs::path out = dir_ / "greeter-1.0.0-a";
  const CommandResult made = bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0-a", out);
  ASSERT_EQ(made.code, 0) << describe(made);
  EXPECT_TRUE(fs::exists(out / "greeter-1.0.0-a.so"));
  EXPECT_EQ(sha256_file(out / "greeter-1.0.0-a.so"), sha256_file(trust_so("greeter-1.0.0-a.so")));
  Manifest m;
  const Status parsed = Manifest::parse(read_file(out / "manifest.json"), &m);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  // Identity from the shared object's own descriptor.
  EXPECT_EQ(m.component, "greeter");
  EXPECT_EQ(m.version, V("1.0.0 (a)"));
  EXPECT_EQ(m.applies_to, V("1.0.0"));
  EXPECT_EQ(m.abi_version, GRAFT_ABI_VERSION);
  EXPECT_EQ(m.interface_id, GREETER_INTERFACE_ID);
  EXPECT_EQ(m.interface_major, GREETER_INTERFACE_MAJOR);
  EXPECT_EQ(m.file, "greeter-1.0.0-a.so");
  EXPECT_EQ(m.expires - m.created, 30 * 86400);  // the default --expires
  const std::string sig = read_file(out / "manifest.sig");
  EXPECT_EQ(sig.find_first_not_of("0123456789abcdef"), 128u) << sig;
  // No staging folder is left beside the bundle.
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }

  const CommandResult checked = verify(out);
  EXPECT_EQ(checked.code, 0) << describe(checked);
  for (const char* check : {"manifest", "trusted key", "signature", "expiry", "size", "sha256"}) {
    EXPECT_NE(checked.out.find(check), std::string::npos) << check << "\n" << checked.out;
  }
  EXPECT_EQ(checked.out.find("FAILED"), std::string::npos) << checked.out;

  const CommandResult as_json = verify(out, {"--json"});
  ASSERT_EQ(as_json.code, 0) << describe(as_json);
  const json j = json::parse(as_json.out);
  EXPECT_TRUE(j.at("ok").get<bool>());
  EXPECT_EQ(j.at("manifest").at("version"), "1.0.0 (a)");
  EXPECT_EQ(j.at("checks").size(), 6u);
  for (const auto& c : j.at("checks"))
    EXPECT_TRUE(c.at("passed").get<bool>()) << c.dump();

  // What graftctl made, a host installs.
  TestHost host(dir_ / "state", {public_key_});
  ASSERT_TRUE(host.greeter->load(greeter_base_so()).ok());
  const Status installed = host.installer->install(out);
  ASSERT_TRUE(installed.ok()) << installed.message();
  EXPECT_EQ(host.tag(), kTagA);
}

TEST_F(GraftctlTrustTest, BundleExpiresAfterTheGivenDuration) {
  const fs::path out = dir_ / "short-lived";
  const CommandResult made =
      bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (a)", out, {"--expires", "90m"});
  ASSERT_EQ(made.code, 0) << describe(made);
  Manifest m;
  ASSERT_TRUE(Manifest::parse(read_file(out / "manifest.json"), &m).ok());
  EXPECT_EQ(m.expires - m.created, 90 * 60);
}

TEST_F(GraftctlTrustTest, VerifyFailsOnATamperedBundleAndSaysWhichCheck) {
  const fs::path out = dir_ / "tampered";
  ASSERT_EQ(bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (a)", out).code, 0);
  std::string bytes = read_file(out / "greeter-1.0.0-a.so");
  bytes[bytes.size() / 2] ^= 0x20;
  write_file(out / "greeter-1.0.0-a.so", bytes);
  const CommandResult r = verify(out);
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hash_mismatch"), std::string::npos) << r.out;
  const CommandResult as_json = verify(out, {"--json"});
  EXPECT_EQ(as_json.code, 1);
  const json j = json::parse(as_json.out);
  EXPECT_FALSE(j.at("ok").get<bool>());
  EXPECT_EQ(j.at("error").at("code"), "hash_mismatch");
  EXPECT_EQ(j.at("checks").back().at("check"), "sha256");
}

TEST_F(GraftctlTrustTest, VerifyRefusesABundleSignedByAnotherKey) {
  const fs::path out = dir_ / "b";
  ASSERT_EQ(bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (a)", out).code, 0);
  const CommandResult other = graftctl(dir_.path(), {"keygen", "--out", (dir_ / "other").string()});
  ASSERT_EQ(other.code, 0);
  fs::path other_public;
  for (const auto& e : fs::directory_iterator(dir_ / "other")) {
    if (e.path().extension() == ".pub") other_public = e.path();
  }
  const CommandResult r =
      graftctl(dir_.path(), {"verify", out.string(), "--trust", other_public.string()});
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.out.find("unknown_key"), std::string::npos) << r.out;
  // Trusting both keys is fine.
  const CommandResult both = graftctl(dir_.path(), {"verify", out.string(), "--trust",
                                                    other_public.string(), public_key_.string()});
  EXPECT_EQ(both.code, 0) << describe(both);
}

TEST_F(GraftctlTrustTest, VerifyOfAMissingFolderExitsNotFound) {
  const CommandResult r = verify(dir_ / "no-such-bundle");
  EXPECT_EQ(r.code, 3) << describe(r);
  EXPECT_NE(r.err.find("no-such-bundle"), std::string::npos) << r.err;
}

TEST_F(GraftctlTrustTest, VerifyWithoutTrustedKeysIsAUsageError) {
  const CommandResult r = graftctl(dir_.path(), {"verify", (dir_ / "x").string()});
  EXPECT_EQ(r.code, 2) << describe(r);
  const CommandResult missing_key = graftctl(
      dir_.path(), {"verify", (dir_ / "x").string(), "--trust", (dir_ / "nope.pub").string()});
  EXPECT_EQ(missing_key.code, 3) << describe(missing_key);
}

TEST_F(GraftctlTrustTest, BundleRefusesAVersionTheCodeDoesNotReport) {
  const fs::path out = dir_ / "mislabelled";
  const CommandResult r = bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (b)", out);
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("is greeter 1.0.0 (a), not 1.0.0 (b)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(GraftctlTrustTest, BundleRefusesAFileThatIsNotAComponent) {
  write_file(dir_ / "notes.so", "not an ELF file");
  const CommandResult r = bundle(dir_ / "notes.so", "1.0.0 (a)", dir_ / "out");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("notes.so"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  const CommandResult missing = bundle(dir_ / "missing.so", "1.0.0 (a)", dir_ / "out");
  EXPECT_EQ(missing.code, 3) << describe(missing);
}

TEST_F(GraftctlTrustTest, BundleRefusesASecretKeyOthersCanRead) {
  fs::permissions(secret_key_, fs::perms::owner_read | fs::perms::owner_write |
                                   fs::perms::group_read | fs::perms::others_read);
  const CommandResult r = bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (a)", dir_ / "out");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

TEST_F(GraftctlTrustTest, BundleRefusesToOverwriteAnotherBundle) {
  const fs::path out = dir_ / "b";
  ASSERT_EQ(bundle(trust_so("greeter-1.0.0-a.so"), "1.0.0 (a)", out).code, 0);
  const std::string manifest = read_file(out / "manifest.json");
  const CommandResult again = bundle(trust_so("greeter-1.0.0-b.so"), "1.0.0 (b)", out);
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_EQ(read_file(out / "manifest.json"), manifest);
}

TEST_F(GraftctlTrustTest, BundleFlagsAreCheckedBeforeAnythingIsWritten) {
  const fs::path so = trust_so("greeter-1.0.0-a.so");
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--expires", "30"},
                                                {"--expires", "0d"},
                                                {"--expires", "-5h"},
                                                {"--expires", "3y"}}) {
    const CommandResult r = bundle(so, "1.0.0 (a)", dir_ / "out", extra);
    EXPECT_EQ(r.code, 2) << extra[1] << "\n" << describe(r);
  }
  const CommandResult bad_version = bundle(so, "1.0", dir_ / "out");
  EXPECT_EQ(bad_version.code, 2) << describe(bad_version);
  EXPECT_NE(bad_version.err.find("'1.0'"), std::string::npos) << bad_version.err;
  const CommandResult response_base = graftctl(
      dir_.path(), {"bundle", "--key", secret_key_.string(), "--so", so.string(), "--version",
                    "1.0.0 (a)", "--applies-to", "1.0.0 (a)", "--out", (dir_ / "out").string()});
  EXPECT_EQ(response_base.code, 2) << describe(response_base);
  const CommandResult other_base = graftctl(
      dir_.path(), {"bundle", "--key", secret_key_.string(), "--so", so.string(), "--version",
                    "1.0.0 (a)", "--applies-to", "0.9.0", "--out", (dir_ / "out").string()});
  EXPECT_EQ(other_base.code, 1) << describe(other_base);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(GraftctlTrustTest, EachCommandHasHelp) {
  for (const char* command : {"keygen", "bundle", "verify"}) {
    const CommandResult r = graftctl(dir_.path(), {command, "--help"});
    EXPECT_EQ(r.code, 0) << command << "\n" << describe(r);
    EXPECT_NE(r.out.find("--"), std::string::npos) << r.out;
  }
  const CommandResult bundle_help = graftctl(dir_.path(), {"bundle", "--help"});
  EXPECT_NE(bundle_help.out.find("--applies-to"), std::string::npos);
  EXPECT_NE(bundle_help.out.find("--expires"), std::string::npos);
}

}  // namespace
}  // namespace graft::testing
