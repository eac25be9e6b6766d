// Time to install a verified bundle of the small greeter through the
// Installer: manifest signature, SHA-256 of the shared object, copy into the
// store and check of the copy, dlopen, create, self-test, swap. Every
// iteration really installs: it alternates between two responses, going back
// with an explicit operator rollback (allow_older to the previous version)
// and forward again by re-applying the same bundle.
#include "greeter.h"

#include <graft/abi.h>
#include <graft/artifact_store.hpp>
#include <graft/installer.hpp>
#include <graft/manifest.hpp>
#include <graft/runtime.hpp>
#include <graft/signing_key.hpp>

#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("graft-bench-install-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(std::random_device{}()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// A bundle of `so` as `graftctl bundle` writes it.
fs::path make_bundle(const fs::path& out, const fs::path& so, graft::Version version,
                     const graft::SecretKey& key) {
  fs::create_directories(out);
  fs::copy_file(so, out / so.filename());
  graft::Manifest m;
  m.component = "greeter";
  m.version = version;
  m.applies_to = version.base();
  m.abi_version = GRAFT_ABI_VERSION;
  m.interface_id = GREETER_INTERFACE_ID;
  m.interface_major = GREETER_INTERFACE_MAJOR;
  m.file = so.filename().string();
  m.sha256 = graft::sha256_file(out / m.file, &m.size);
  m.created = std::time(nullptr);
  m.expires = m.created + 86400;
  m.key_id = key.public_key().key_id();
  const std::string text = m.to_json();
  write_text(out / "manifest.json", text);
  write_text(out / "manifest.sig", graft::sign_detached(key, text) + "\n");
  return out;
}

// A host on greeter 1.0.0 with (a) then (b) installed, and both bundles.
struct Host {
  Scratch scratch;
  std::unique_ptr<graft::Runtime> runtime;
  graft::Slot<greeter_v1>* greeter = nullptr;
  std::unique_ptr<graft::Installer> installer;
  fs::path bundle_a, bundle_b;
  std::string error;

  Host() {
    fs::path secret_file, public_file;
    graft::SecretKey key;
    if (!graft::generate_key_pair(scratch.dir / "keys", &secret_file, &public_file) ||
        !graft::read_secret_key(secret_file, &key)) {
      error = "cannot make a key pair";
      return;
    }
    const fs::path builds = GRAFT_BENCH_INSTALL_DIR;
    bundle_a = make_bundle(scratch.dir / "a", builds / "greeter-1.0.0-a.so",
                           graft::Version(1, 0, 0, 'a'), key);
    bundle_b = make_bundle(scratch.dir / "b", builds / "greeter-1.0.0-b.so",
                           graft::Version(1, 0, 0, 'b'), key);
    graft::RuntimeOptions o;
    o.state_dir = scratch.dir / "state";
    o.logger =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    o.probation = std::chrono::milliseconds(0);  // commit at once: the old version unloads
    runtime = graft::Runtime::open(o);
    greeter = &runtime->slot<greeter_v1>("greeter");
    installer =
        std::make_unique<graft::Installer>(*runtime, graft::InstallerOptions{{public_file}});
    for (const graft::Status& s :
         {greeter->load(fs::path(GRAFT_COMPONENT_DIR) / "greeter-1.0.0.so"),
          installer->install(bundle_a), installer->install(bundle_b)}) {
      if (!s) {
        error = s.message();
        return;
      }
    }
  }
  ~Host() {
    installer.reset();
    runtime.reset();
  }

  int64_t tag() {
    int64_t out = -1;
    (void)greeter->call(&greeter_v1::tag, int64_t{0}, &out);
    return out;
  }
};

void BM_InstallVerifiedBundle(benchmark::State& state) {
  Host host;
  if (!host.error.empty()) {
    state.SkipWithError(host.error.c_str());
    return;
  }
  graft::SwapOptions back;  // to (a), the version serving just before (b)
  back.allow_older = true;
  bool to_a = true;
  for (auto _ : state) {
    const graft::Status s = to_a ? host.installer->install(host.bundle_a, back)
                                 : host.installer->install(host.bundle_b);
    if (!s) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    to_a = !to_a;
  }
  // The last install is the one answering (tag = 1000 * generation).
  if (host.tag() != (to_a ? 4000 : 3000))
    state.SkipWithError("the installed version did not answer");
}
BENCHMARK(BM_InstallVerifiedBundle)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(100)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// The checks alone (manifest, signature, expiry, size, SHA-256, version
// policy), for the share of the install they take.
void BM_VerifyBundle(benchmark::State& state) {
  Host host;
  if (!host.error.empty()) {
    state.SkipWithError(host.error.c_str());
    return;
  }
  for (auto _ : state) {
    graft::VerifiedBundle verified;
    // (b) serves: its own bundle passes every check here (only the slot,
    // at install, would call it not newer).
    const graft::Status s = host.installer->verify(host.bundle_b, &verified);
    benchmark::DoNotOptimize(verified.checks.data());
    if (s.code() != graft::ErrorCode::ok) {
      state.SkipWithError(s.message().c_str());
      return;
    }
  }
}
BENCHMARK(BM_VerifyBundle)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Iterations(200)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
