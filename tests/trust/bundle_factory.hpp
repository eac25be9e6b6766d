// Keys and signed bundles made at test time, programmatically (Manifest +
// sign_detached), plus the runtime/installer pair the trust tests drive and
// a reader for the journal.
#pragma once

#include "bundle_maker.hpp"
#include "greeter.h"
#include "test_support.hpp"

#include <graft/abi.h>
#include <graft/artifact_store.hpp>
#include <graft/installer.hpp>
#include <graft/manifest.hpp>
#include <graft/runtime.hpp>
#include <graft/signing_key.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace graft::testing {

using nlohmann::json;

// The test builds of the greeter (tests/trust/CMakeLists.txt) and the base.
inline fs::path greeter_base_so() {
  return component_file("greeter-1.0.0.so");
}
inline fs::path trust_so(const std::string& file) {
  return fixture_file("trust", file);
}

// tag(0) of each build: 1000 * its GREETER_GENERATION.
inline constexpr int64_t kTagBase = 1000;      // 1.0.0
inline constexpr int64_t kTagA = 3000;         // 1.0.0 (a)
inline constexpr int64_t kTagB = 4000;         // 1.0.0 (b)
inline constexpr int64_t kTagNextBase = 5000;  // 1.0.1

inline Version V(const std::string& text) {
  auto v = Version::parse(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(Version());
}

// Every line of <state_dir>/journal.jsonl; a line that does not parse fails
// the test that reads it.
inline std::vector<json> journal_lines(const fs::path& state_dir) {
  std::vector<json> lines;
  std::ifstream in(state_dir / "journal.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "journal line is not JSON: " << line;
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

inline bool journal_has(const fs::path& state_dir, const std::string& event,
                        const std::function<bool(const json&)>& also = nullptr) {
  for (const auto& j : journal_lines(state_dir)) {
    if (j.value("event", "") == event && (!also || also(j))) return true;
  }
  return false;
}

// A host: a runtime on `state_dir` with a greeter slot and an Installer that
// trusts `keys`. Destroying it and making another on the same folder is a
// restart.
struct TestHost {
  LogCapture log;
  std::unique_ptr<Runtime> runtime;
  Slot<greeter_v1>* greeter = nullptr;
  std::unique_ptr<Installer> installer;

  TestHost(const fs::path& state_dir, const std::vector<fs::path>& keys,
           std::chrono::milliseconds probation = std::chrono::milliseconds(0)) {
    RuntimeOptions o = test_options(state_dir, log.logger);
    o.probation = probation;
    runtime = Runtime::open(o);
    greeter = &runtime->slot<greeter_v1>("greeter");
    installer = std::make_unique<Installer>(*runtime, InstallerOptions{keys});
  }
  ~TestHost() {
    // The installer listens to the runtime's events: it goes first.
    installer.reset();
    runtime.reset();
  }
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  // tag(0) of whatever serves; -1 when the call fails.
  int64_t tag() {
    int64_t out = -1;
    if (greeter->call(&greeter_v1::tag, int64_t{0}, &out) != GRAFT_OK) return -1;
    return out;
  }
  std::string serving() const {
    const auto v = greeter->serving_version();
    return v ? v->to_string() : "";
  }
};

}  // namespace graft::testing

namespace graft::testing {

// A temp folder with a trusted key, a state folder and bundles of each
// greeter build.
class TrustTest : public ::testing::Test {
 protected:
  fs::path state_dir() const { return dir_ / "state"; }

  std::unique_ptr<TestHost> start_host(
      std::chrono::milliseconds probation = std::chrono::milliseconds(0)) {
    return std::make_unique<TestHost>(state_dir(), std::vector<fs::path>{key_.public_file},
                                      probation);
  }
  // A host serving the base release 1.0.0, loaded from its file.
  std::unique_ptr<TestHost> base_host(
      std::chrono::milliseconds probation = std::chrono::milliseconds(0)) {
    auto host = start_host(probation);
    const Status s = host->greeter->load(greeter_base_so());
    EXPECT_TRUE(s.ok()) << s.message();
    return host;
  }

  // The Installer hears an earlier swap late: `first` runs on one thread
  // while a listener ahead of the Installer (made again with `options`)
  // holds its event `held_version` until the host, on another thread, has
  // swapped back to the base file. Returns once both threads are done.
  void swap_back_while_heard_late(TestHost& host, const std::string& held_version,
                                  InstallerOptions options, const std::function<void()>& first) {
    host.installer.reset();
    std::atomic<bool> held{false};
    host.runtime->on_event([&host, &held, held_version](const SlotEvent& e) {
      if (e.kind != SlotEventKind::swapped || e.version != held_version) return;
      held = true;
      EXPECT_TRUE(eventually([&] { return host.serving() == "1.0.0"; }));
    });
    host.installer = std::make_unique<Installer>(*host.runtime, std::move(options));
    std::thread a(first);
    EXPECT_TRUE(eventually([&] { return held.load(); }));
    std::thread b([&] {
      SwapOptions older;
      older.allow_older = true;
      const Status s = host.greeter->swap(greeter_base_so(), older);
      EXPECT_TRUE(s.ok()) << s.message();
    });
    a.join();
    b.join();
  }

  fs::path bundle(const std::string& name, const BundleSpec& spec) {
    const fs::path out = dir_ / "bundles" / name;
    write_test_bundle(out, spec, key_);
    return out;
  }
  fs::path bundle_a() {
    return bundle("greeter-1.0.0-a",
                  {.so = trust_so("greeter-1.0.0-a.so"), .version = V("1.0.0 (a)")});
  }
  fs::path bundle_b() {
    return bundle("greeter-1.0.0-b",
                  {.so = trust_so("greeter-1.0.0-b.so"), .version = V("1.0.0 (b)")});
  }
  fs::path bundle_next_base() {
    return bundle("greeter-1.0.1", {.so = trust_so("greeter-1.0.1.so"), .version = V("1.0.1")});
  }

  TempDir dir_;
  TestKey key_ = make_key(dir_ / "keys");
};

}  // namespace graft::testing
