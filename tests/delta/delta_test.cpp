// Delta bundles: a bundle that carries a zstd delta against the exact base
// object instead of (or beside) the object. Round trips for every component
// version pair in the tree through the real graftctl and a host holding the
// base; every way a delta can be wrong is refused before the store takes
// anything, and the serving version keeps answering.
#include "bundle_factory.hpp"
#include "counter.h"
#include "origin_guard.h"
#include "trust/delta_object.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <set>

namespace graft::testing {
namespace {

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

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

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::set<std::string> store_files(const fs::path& state_dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(state_dir / "store"))
    names.insert(e.path().filename().string());
  return names;
}

// A host with a slot for each component in the tree and an Installer.
struct DeltaHost {
  LogCapture log;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Installer> installer;

  DeltaHost(const fs::path& state_dir, const fs::path& key) {
    runtime = Runtime::open(test_options(state_dir, log.logger));
    runtime->slot<greeter_v1>("greeter");
    runtime->slot<counter_v1>("counter");
    runtime->slot<navigation_policy_v1>("origin_guard");
    installer = std::make_unique<Installer>(*runtime, InstallerOptions{{key}});
  }
  ~DeltaHost() {
    installer.reset();
    runtime.reset();
  }
  DeltaHost(const DeltaHost&) = delete;
  DeltaHost& operator=(const DeltaHost&) = delete;

  Status load(const std::string& component, const fs::path& so) {
    if (component == "greeter") return runtime->slot<greeter_v1>("greeter").load(so);
    if (component == "counter") return runtime->slot<counter_v1>("counter").load(so);
    return runtime->slot<navigation_policy_v1>("origin_guard").load(so);
  }
  std::string serving(const std::string& component) {
    std::optional<Version> v;
    if (component == "greeter") v = runtime->slot<greeter_v1>("greeter").serving_version();
    if (component == "counter") v = runtime->slot<counter_v1>("counter").serving_version();
    if (component == "origin_guard")
      v = runtime->slot<navigation_policy_v1>("origin_guard").serving_version();
    return v ? v->to_string() : "";
  }
};

class DeltaTest : public ::testing::Test {
 protected:
  fs::path state_dir() const { return dir_ / "state"; }
  std::unique_ptr<DeltaHost> host() {
    return std::make_unique<DeltaHost>(state_dir(), key_.public_file);
  }

  // A greeter 1.0.0 (a) bundle that carries only `delta`, signed as
  // rebuilding an object of `object_size` bytes with `object_sha`.
  fs::path delta_only_bundle(const std::string& name, const std::string& base,
                             const std::string& delta, std::uint64_t object_size,
                             const std::string& object_sha) {
    const fs::path out = dir_ / "bundles" / name;
    fs::create_directories(out);
    Manifest m;
    m.component = "greeter";
    m.version = V("1.0.0 (a)");
    m.applies_to = V("1.0.0");
    m.abi_version = GRAFT_ABI_VERSION;
    m.interface_id = GREETER_INTERFACE_ID;
    m.interface_major = GREETER_INTERFACE_MAJOR;
    m.file = "greeter-1.0.0-a.so";
    m.sha256 = object_sha;
    m.size = object_size;
    m.created = std::time(nullptr) - 60;
    m.expires = std::time(nullptr) + 86400;
    m.key_id = key_.public_key.key_id();
    m.delta = ManifestDelta{sha256_hex(base.data(), base.size()), "greeter-1.0.0-a.so.zst-delta",
                            sha256_hex(delta.data(), delta.size()), delta.size()};
    write_file(out / m.delta->file, delta);
    const std::string text = m.to_json();
    write_file(out / "manifest.json", text);
    write_file(out / "manifest.sig", sign_detached(key_.secret, text) + "\n");
    return out;
  }

  std::string delta_of(const std::string& base, const std::string& target) {
    std::string delta;
    const Status s = detail::make_delta(base, target, &delta);
    EXPECT_TRUE(s.ok()) << s.message();
    return delta;
  }

  // The host serves greeter 1.0.0; a refused delta must leave it there with
  // the store as it was.
  void expect_refused_and_unchanged(const fs::path& bundle, ErrorCode code,
                                    const std::string& message_part) {
    auto h = host();
    ASSERT_TRUE(h->load("greeter", greeter_base_so()).ok());
    const auto before = store_files(state_dir());
    const Status s = h->installer->install(bundle);
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find(message_part), std::string::npos) << s.message();
    EXPECT_EQ(h->serving("greeter"), "1.0.0");
    EXPECT_EQ(store_files(state_dir()), before);
    EXPECT_TRUE(journal_has(state_dir(), "refused"));
  }

  std::string base_ = read_file(greeter_base_so());
  std::string target_ = read_file(trust_so("greeter-1.0.0-a.so"));
  std::string target_sha_ = sha256_hex(target_.data(), target_.size());
  TempDir dir_;
  TestKey key_ = make_key(dir_ / "keys");
};

struct PairCase {
  std::string component, base, target, version, applies_to;
};

class DeltaRoundTripTest : public DeltaTest, public ::testing::WithParamInterface<PairCase> {};

// graftctl bundle --delta-from BASE --delta-only, then a host that loaded
// BASE installs the bundle and serves the new version from the rebuilt copy.
TEST_P(DeltaRoundTripTest, DeltaOnlyBundleRebuildsAndServesTheNewVersion) {
  const PairCase& c = GetParam();
  const fs::path base = component_file(c.base);
  const fs::path target =
      c.target.find('/') == std::string::npos ? component_file(c.target) : fs::path(c.target);
  const fs::path bundle = dir_ / "delta-bundle";
  const CommandResult r =
      graftctl(dir_.path(), {"bundle", "--key", key_.secret_file.string(), "--so", target.string(),
                             "--version", c.version, "--applies-to", c.applies_to, "--delta-from",
                             base.string(), "--delta-only", "--out", bundle.string()});
  ASSERT_EQ(r.code, 0) << describe(r);
  Manifest m;
  ASSERT_TRUE(Manifest::parse(read_file(bundle / "manifest.json"), &m).ok());
  ASSERT_TRUE(m.delta.has_value());
  EXPECT_FALSE(fs::exists(bundle / m.file)) << "--delta-only leaves the object out";
  EXPECT_EQ(m.delta->base_sha256, sha256_file(base));
  EXPECT_EQ(fs::file_size(bundle / m.delta->file), m.delta->size);
  EXPECT_LT(m.delta->size, fs::file_size(target));

  auto h = host();
  ASSERT_TRUE(h->load(c.component, base).ok());
  const Status s = h->installer->install(bundle);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(h->serving(c.component), V(c.version).to_string());
  // The store copy is the object the manifest signs, byte for byte.
  EXPECT_EQ(read_file(state_dir() / "store" / (m.sha256 + ".so")), read_file(target));
  EXPECT_TRUE(journal_has(state_dir(), "installed"));
}

INSTANTIATE_TEST_SUITE_P(
    EveryPairInTheTree, DeltaRoundTripTest,
    ::testing::Values(PairCase{"origin_guard", "origin_guard-26.3.1.so", "origin_guard-26.3.1-a.so",
                               "26.3.1 (a)", "26.3.1"},
                      PairCase{"greeter", "greeter-1.0.0.so", "greeter-1.1.0.so", "1.1.0", "1.0.0"},
                      PairCase{"counter", "counter-1.0.0.so", "counter-2.0.0.so", "2.0.0", "1.0.0"},
                      PairCase{
                          "greeter", "greeter-1.0.0.so",
                          (fs::path(GRAFT_FIXTURE_DIR) / "trust" / "greeter-1.0.0-a.so").string(),
                          "1.0.0 (a)", "1.0.0"}),
    [](const ::testing::TestParamInfo<PairCase>& info) {
      return info.param.component + "_" + std::to_string(info.index);
    });

TEST_F(DeltaTest, BundleWithBothFormsServesAHostWithoutTheBase) {
  const fs::path bundle = dir_ / "both";
  const CommandResult r =
      graftctl(dir_.path(),
               {"bundle", "--key", key_.secret_file.string(), "--so",
                trust_so("greeter-1.0.0-a.so").string(), "--version", "1.0.0 (a)", "--applies-to",
                "1.0.0", "--delta-from", greeter_base_so().string(), "--out", bundle.string()});
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_TRUE(fs::exists(bundle / "greeter-1.0.0-a.so"));
  EXPECT_TRUE(fs::exists(bundle / "greeter-1.0.0-a.so.zst-delta"));
  // A first install, nothing in the store: the full object serves.
  auto h = host();
  const Status s = h->installer->install(bundle);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(h->serving("greeter"), "1.0.0 (a)");
}

TEST_F(DeltaTest, DeltaFromABaseBundleFolderUsesThatBundlesObject) {
  const fs::path base_bundle = dir_ / "base-bundle";
  write_test_bundle(base_bundle, {.so = greeter_base_so(), .version = V("1.0.0")}, key_);
  const fs::path bundle = dir_ / "from-bundle";
  const CommandResult r =
      graftctl(dir_.path(), {"bundle", "--key", key_.secret_file.string(), "--so",
                             trust_so("greeter-1.0.0-a.so").string(), "--version", "1.0.0 (a)",
                             "--applies-to", "1.0.0", "--delta-from", base_bundle.string(),
                             "--delta-only", "--out", bundle.string()});
  ASSERT_EQ(r.code, 0) << describe(r);
  Manifest m;
  ASSERT_TRUE(Manifest::parse(read_file(bundle / "manifest.json"), &m).ok());
  ASSERT_TRUE(m.delta.has_value());
  EXPECT_EQ(m.delta->base_sha256, sha256_file(greeter_base_so()));
  // verify (offline) accepts it and says the object is rebuilt by a host.
  const CommandResult v =
      graftctl(dir_.path(), {"verify", bundle.string(), "--trust", key_.public_file.string()});
  EXPECT_EQ(v.code, 0) << describe(v);
  EXPECT_NE(v.out.find("delta"), std::string::npos) << v.out;
}

TEST_F(DeltaTest, DeltaOnlyNeedsDeltaFrom) {
  const CommandResult r = graftctl(
      dir_.path(), {"bundle", "--key", key_.secret_file.string(), "--so",
                    trust_so("greeter-1.0.0-a.so").string(), "--version", "1.0.0 (a)",
                    "--applies-to", "1.0.0", "--delta-only", "--out", (dir_ / "x").string()});
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_NE(r.err.find("--delta-only needs --delta-from"), std::string::npos) << r.err;
}

TEST_F(DeltaTest, HostWithoutTheBaseRefusesAndAsksForTheFullBundle) {
  // A delta against 1.0.0 (b), which this host never held.
  const std::string other_base = read_file(trust_so("greeter-1.0.0-b.so"));
  const fs::path bundle = delta_only_bundle("no-base", other_base, delta_of(other_base, target_),
                                            target_.size(), target_sha_);
  expect_refused_and_unchanged(bundle, ErrorCode::base_missing,
                               "this host does not hold base sha256 " +
                                   sha256_hex(other_base.data(), other_base.size()) +
                                   "; send the full bundle");
}

TEST_F(DeltaTest, RebuiltObjectOneByteOffTheSignedHashIsRefused) {
  std::string altered = target_;
  altered[altered.size() / 2] ^= 0x01;
  const fs::path bundle =
      delta_only_bundle("one-byte", base_, delta_of(base_, altered), target_.size(), target_sha_);
  expect_refused_and_unchanged(bundle, ErrorCode::hash_mismatch, "the object rebuilt from delta");
}

TEST_F(DeltaTest, DeltaThatRebuildsMoreThanTheSignedSizeIsRefused) {
  const std::string longer = target_ + std::string(4096, 'x');
  const fs::path bundle =
      delta_only_bundle("too-long", base_, delta_of(base_, longer), target_.size(), target_sha_);
  expect_refused_and_unchanged(bundle, ErrorCode::bundle_invalid,
                               "the signed manifest says " + std::to_string(target_.size()));
}

TEST_F(DeltaTest, TruncatedDeltaIsRefused) {
  const std::string delta = delta_of(base_, target_);
  const std::string cut = delta.substr(0, delta.size() / 2);
  // Signed as it is: the file checks pass, the frame is cut short.
  const fs::path bundle = delta_only_bundle("cut", base_, cut, target_.size(), target_sha_);
  expect_refused_and_unchanged(bundle, ErrorCode::bundle_invalid, "delta: not a zstd frame");
}

TEST_F(DeltaTest, DeltaFileCutAfterSigningIsRefused) {
  const std::string delta = delta_of(base_, target_);
  const fs::path bundle = delta_only_bundle("cut-after", base_, delta, target_.size(), target_sha_);
  write_file(bundle / "greeter-1.0.0-a.so.zst-delta", delta.substr(0, delta.size() - 7));
  expect_refused_and_unchanged(bundle, ErrorCode::size_mismatch, "the signed manifest says");
}

TEST_F(DeltaTest, ACorruptBaseInTheStoreIsRefusedNamingIt) {
  const fs::path bundle = delta_only_bundle("corrupt-base", base_, delta_of(base_, target_),
                                            target_.size(), target_sha_);
  const std::string base_sha = sha256_hex(base_.data(), base_.size());
  {
    auto h = host();
    ASSERT_TRUE(h->load("greeter", greeter_base_so()).ok());
  }
  // The store's copy of the base, damaged behind the host's back.
  const fs::path stored = state_dir() / "store" / (base_sha + ".so");
  ASSERT_TRUE(fs::exists(stored));
  std::string damaged = base_;
  damaged[damaged.size() / 3] ^= 0x20;
  fs::permissions(stored, fs::perms::owner_write, fs::perm_options::add);
  write_file(stored, damaged);
  auto h = host();
  const Status s = h->installer->install(bundle);
  EXPECT_EQ(s.code(), ErrorCode::hash_mismatch) << s.message();
  EXPECT_NE(s.message().find("base sha256 " + base_sha), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is corrupt"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("send the full bundle"), std::string::npos) << s.message();
  EXPECT_NE(h->serving("greeter"), "1.0.0 (a)");
}

TEST_F(DeltaTest, ADeltaSpanningMoreThanAZstdWindowIsRefusedBeforeTheBaseIsRead) {
  // Signed as rebuilding 3 GiB: base and object cannot share one window.
  const std::uint64_t huge = std::uint64_t{3} << 30;
  const fs::path bundle =
      delta_only_bundle("huge", base_, delta_of(base_, target_), huge, target_sha_);
  expect_refused_and_unchanged(bundle, ErrorCode::bundle_invalid, "bytes a delta may span");
}

// The store's one-read lookup: the bytes returned are the bytes hashed.

TEST(StoreReadTest, ReturnsTheVerifiedBytesAndNamesEveryRefusal) {
  TempDir dir;
  ArtifactStore store(dir / "store");
  const std::string data(70000, 'q');
  const std::string sha = sha256_hex(data.data(), data.size());
  Artifact a;
  ASSERT_TRUE(store.put_bytes(data, dir / "src", &a).ok());
  std::string got;
  ASSERT_TRUE(store.read(sha, data.size(), &got).ok());
  EXPECT_EQ(got, data);

  std::string untouched = "untouched";
  Status s = store.read(sha, data.size() - 1, &untouched);
  EXPECT_EQ(s.code(), ErrorCode::size_mismatch) << s.message();
  EXPECT_EQ(untouched, "untouched");

  const std::string absent(64, 'a');
  s = store.read(absent, data.size(), &untouched);
  EXPECT_EQ(s.code(), ErrorCode::file_missing) << s.message();
  s = store.read("../../etc/passwd", data.size(), &untouched);
  EXPECT_EQ(s.code(), ErrorCode::invalid_argument) << s.message();

  // Another content under this name.
  fs::permissions(a.path, fs::perms::owner_write, fs::perm_options::add);
  write_file(a.path, std::string(70000, 'r'));
  s = store.read(sha, data.size(), &untouched);
  EXPECT_EQ(s.code(), ErrorCode::hash_mismatch) << s.message();
  EXPECT_NE(s.message().find("is corrupt"), std::string::npos) << s.message();
  EXPECT_EQ(untouched, "untouched");

  // A FIFO in its place is refused without blocking.
  fs::remove(a.path);
  ASSERT_EQ(::mkfifo(a.path.c_str(), 0600), 0);
  s = store.read(sha, data.size(), &untouched);
  EXPECT_EQ(s.code(), ErrorCode::io_error) << s.message();
  EXPECT_NE(s.message().find("FIFO"), std::string::npos) << s.message();
}

// apply_delta on its own: the buffer is the cap, whatever the frame says.

TEST(DeltaApplyTest, FrameWithoutADeclaredSizeIsRefused) {
  const std::string base(4096, 'b');
  const std::string target = base + std::string(100000, 'x');
  // A streamed frame: no content size in its header.
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ASSERT_NE(c, nullptr);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_refPrefix(c, base.data(), base.size());
  std::string out(ZSTD_compressBound(target.size()), '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_inBuffer i{target.data(), target.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(c, &o, &i, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(c);
  out.resize(o.pos);
  std::string rebuilt;
  const Status s = detail::apply_delta(base, out, 4096, &rebuilt);
  EXPECT_EQ(s.code(), ErrorCode::bundle_invalid);
  EXPECT_NE(s.message().find("does not declare the size"), std::string::npos) << s.message();
  EXPECT_TRUE(rebuilt.empty());
}

TEST(DeltaApplyTest, TrailingBytesAfterTheFrameAreRefused) {
  const std::string base(4096, 'b');
  std::string delta;
  ASSERT_TRUE(detail::make_delta(base, base + "tail", &delta).ok());
  std::string rebuilt;
  const Status s = detail::apply_delta(base, delta + "junk", base.size() + 4, &rebuilt);
  EXPECT_EQ(s.code(), ErrorCode::bundle_invalid);
  EXPECT_NE(s.message().find("after its frame"), std::string::npos) << s.message();
}

TEST(DeltaApplyTest, WrongBaseDoesNotRebuildTheObject) {
  // Random bytes: every match has one source, so a changed base byte shows.
  std::mt19937 rng(42);
  std::string base(8192, '\0');
  for (char& c : base)
    c = static_cast<char>(rng());
  std::string target = base;
  target[100] = 'X';
  std::string delta;
  ASSERT_TRUE(detail::make_delta(base, target, &delta).ok());
  std::string rebuilt;
  ASSERT_TRUE(detail::apply_delta(base, delta, target.size(), &rebuilt).ok());
  EXPECT_EQ(rebuilt, target);
  std::string other = base;
  other[5000] ^= 0x5a;
  const Status s = detail::apply_delta(other, delta, target.size(), &rebuilt);
  // zstd cannot always tell another base of the same size; what it rebuilds
  // from one is not the object (and rebuild_object's SHA-256 check refuses
  // it: RebuiltObjectOneByteOffTheSignedHashIsRefused).
  EXPECT_TRUE(!s || rebuilt != target);
}

TEST(StoreReadTest, ASymlinkInPlaceOfAStoredArtifactIsNotFollowed) {
  TempDir dir;
  ArtifactStore store(dir / "store");
  const std::string data(5000, 's');
  const std::string sha = sha256_hex(data.data(), data.size());
  // Elsewhere, a file with exactly that content; in the store, a link to it.
  write_file(dir / "elsewhere.so", data);
  fs::create_symlink(dir / "elsewhere.so", dir / "store" / (sha + ".so"));
  std::string got = "untouched";
  const Status s = store.read(sha, data.size(), &got);
  EXPECT_EQ(s.code(), ErrorCode::io_error) << s.message();
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.message();
  EXPECT_EQ(got, "untouched");
}

// Objects of a megabyte or more are hashed on a second thread that trails
// the decoder; the hash must still be exactly that of the bytes rebuilt,
// and a delta that fails midway must stop that thread and be refused.

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out)
    c = static_cast<char>(rng());
  return out;
}

TEST(DeltaApplyTest, AnObjectOfMegabytesIsHashedBesideItsRebuildAndTheHashIsItsOwn) {
  const std::string base = random_bytes(3u << 20, 7);
  std::string target = base;
  for (std::size_t i = 0; i < target.size(); i += 100003)
    target[i] ^= 0x11;  // changes spread over every block
  target += random_bytes(300000, 8);
  std::string delta;
  ASSERT_TRUE(detail::make_delta(base, target, &delta).ok());
  for (int round = 0; round < 5; ++round) {
    std::string rebuilt;
    std::string hex;
    const Status s = detail::apply_delta(base, delta, target.size(), &rebuilt, &hex);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(rebuilt, target);
    EXPECT_EQ(hex, sha256_hex(target.data(), target.size()));
  }
}

TEST(DeltaApplyTest, ADeltaOfMegabytesThatFailsMidwayStopsItsHasherAndIsRefused) {
  // A megabyte of new bytes first (decoded and hashed block by block),
  // then the base: its matches reach back into the base.
  const std::string base = random_bytes(2u << 20, 9);
  const std::string target = random_bytes(1u << 20, 10) + base;
  std::string delta;
  ASSERT_TRUE(detail::make_delta(base, target, &delta).ok());
  // Against a base without its first 256 KiB the first match reaches
  // before it: the rebuild fails a megabyte in, the hasher waiting for more.
  const std::string shorter = base.substr(256u << 10);
  std::string rebuilt = "untouched";
  std::string hex = "untouched";
  const Status s = detail::apply_delta(shorter, delta, target.size(), &rebuilt, &hex);
  EXPECT_EQ(s.code(), ErrorCode::bundle_invalid) << s.message();
  EXPECT_NE(s.message().find("does not rebuild against this base"), std::string::npos)
      << s.message();
  EXPECT_EQ(rebuilt, "untouched");
  EXPECT_EQ(hex, "untouched");
  // And with the right base it rebuilds.
  ASSERT_TRUE(detail::apply_delta(base, delta, target.size(), &rebuilt, &hex).ok());
  EXPECT_EQ(hex, sha256_hex(target.data(), target.size()));
}

// The manifest's delta object: exactly its fields, each of its form.

TEST(DeltaManifestTest, RoundTripsAndRefusesUnknownOrBadFields) {
  Manifest m;
  m.component = "greeter";
  m.version = V("1.0.0 (a)");
  m.applies_to = V("1.0.0");
  m.abi_version = 1;
  m.interface_id = "graft.example.greeter";
  m.interface_major = 1;
  m.file = "greeter-1.0.0-a.so";
  m.sha256 = std::string(64, 'a');
  m.size = 100;
  m.created = 1000;
  m.expires = 2000;
  m.key_id = std::string(16, 'b');
  m.delta = ManifestDelta{std::string(64, 'c'), "greeter.zst-delta", std::string(64, 'd'), 42};
  Manifest again;
  ASSERT_TRUE(Manifest::parse(m.to_json(), &again).ok());
  ASSERT_TRUE(again.delta.has_value());
  EXPECT_EQ(again.delta->base_sha256, std::string(64, 'c'));
  EXPECT_EQ(again.delta->size, 42u);
  EXPECT_EQ(again.to_json(), m.to_json());

  auto refused = [&](const std::function<void(json&)>& edit, const std::string& why) {
    json j = json::parse(m.to_json());
    edit(j);
    Manifest out;
    const Status s = Manifest::parse(j.dump(), &out);
    EXPECT_EQ(s.code(), ErrorCode::bundle_invalid) << j.dump();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  };
  refused([](json& j) { j["delta"]["extra"] = 1; }, "delta: unknown field 'extra'");
  refused([](json& j) { j["delta"].erase("base_sha256"); }, "delta: missing field 'base_sha256'");
  refused([](json& j) { j["delta"]["size"] = "42"; }, "delta: field 'size' must be a whole number");
  refused([](json& j) { j["delta"]["file"] = "../x"; }, "must be a plain file name");
  refused([](json& j) { j["delta"]["file"] = "greeter-1.0.0-a.so"; }, "other than the object's");
  refused([](json& j) { j["delta"]["sha256"] = "ABC"; }, "delta: sha256 must be 64");
  refused([](json& j) { j["delta"] = 5; }, "field 'delta' must be an object");
  // Without a delta, the manifest's bytes are what they were before.
  m.delta.reset();
  EXPECT_EQ(m.to_json().find("delta"), std::string::npos);
}

// Release components ship stripped, their debug info kept by build id.

struct ElfFacts {
  bool has_debug_info = false;
  std::string build_id;  // hex, empty when the object has none
};

// Reads the section headers of a 64-bit ELF file held in `bytes`; fails the
// test (and returns what it found so far) on anything out of bounds.
[[maybe_unused]] ElfFacts elf_facts(const std::string& bytes) {
  ElfFacts facts;
  Elf64_Ehdr eh{};
  if (bytes.size() < sizeof eh) {
    ADD_FAILURE() << "too short for an ELF header";
    return facts;
  }
  std::memcpy(&eh, bytes.data(), sizeof eh);
  auto section = [&](std::size_t i) {
    Elf64_Shdr sh{};
    const std::size_t at = eh.e_shoff + i * sizeof sh;
    if (at + sizeof sh <= bytes.size()) std::memcpy(&sh, bytes.data() + at, sizeof sh);
    return sh;
  };
  const Elf64_Shdr names = section(eh.e_shstrndx);
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (names.sh_offset + sh.sh_name >= bytes.size()) continue;
    const std::string name = bytes.c_str() + names.sh_offset + sh.sh_name;
    if (name == ".debug_info") facts.has_debug_info = sh.sh_type != SHT_NOBITS;
    if (name != ".note.gnu.build-id" || sh.sh_offset + sh.sh_size > bytes.size()) continue;
    Elf64_Nhdr nh{};
    std::memcpy(&nh, bytes.data() + sh.sh_offset, sizeof nh);
    const std::size_t desc = sh.sh_offset + sizeof nh + ((nh.n_namesz + 3) & ~3u);
    if (nh.n_type != NT_GNU_BUILD_ID || desc + nh.n_descsz > bytes.size()) continue;
    static const char* hex = "0123456789abcdef";
    for (std::size_t k = 0; k < nh.n_descsz; ++k) {
      const auto b = static_cast<unsigned char>(bytes[desc + k]);
      facts.build_id += hex[b >> 4];
      facts.build_id += hex[b & 15];
    }
  }
  return facts;
}

TEST(StrippedComponentTest, ComponentsShipWithoutDebugInfoAndItIsKeptByBuildId) {
#ifndef GRAFT_COMPONENTS_STRIPPED
  GTEST_SKIP() << "this build keeps debug info in its components (Debug build type, or "
                  "GRAFT_STRIP_COMPONENTS=OFF)";
#else
  for (const char* name : {"greeter-1.0.0.so", "counter-2.0.0.so", "origin_guard-26.3.1-a.so"}) {
    SCOPED_TRACE(name);
    const ElfFacts object = elf_facts(read_file(component_file(name)));
    EXPECT_FALSE(object.has_debug_info);
    ASSERT_GT(object.build_id.size(), 2u);
    const fs::path debug_file = fs::path(GRAFT_COMPONENT_DEBUG_DIR) / ".build-id" /
                                object.build_id.substr(0, 2) /
                                (object.build_id.substr(2) + ".debug");
    ASSERT_TRUE(fs::exists(debug_file)) << debug_file;
    const ElfFacts debug = elf_facts(read_file(debug_file));
    EXPECT_TRUE(debug.has_debug_info);
    EXPECT_EQ(debug.build_id, object.build_id);
  }
#endif
}

}  // namespace
}  // namespace graft::testing
