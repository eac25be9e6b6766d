// What the process tests share: keys and bundles made with the real
// graftctl, test hosts started as real processes, graftctl runs against
// them, and their boards read as graftctl reads them.
#pragma once

#include "child_process.hpp"
#include "test_support.hpp"

#include <graft/host_directory.hpp>
#include <graft/status_board.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace graft::testing {

struct KeyPair {
  fs::path public_key;
  fs::path secret_key;
};

inline RunResult graftctl(const fs::path& run_dir, std::vector<std::string> args) {
  args.insert(args.begin(), GRAFTCTL_PATH);
  return run_program(std::move(args), {"GRAFT_RUN_DIR=" + run_dir.string()});
}

inline std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// `graftctl keygen --out DIR`; the public key is the file whose name says so.
inline KeyPair make_keys(const fs::path& dir) {
  const RunResult r = run_program({GRAFTCTL_PATH, "keygen", "--out", dir.string()});
  EXPECT_EQ(r.code, 0) << describe(r);
  KeyPair keys;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find("pub") != std::string::npos) {
      keys.public_key = e.path();
    } else {
      keys.secret_key = e.path();
    }
  }
  EXPECT_FALSE(keys.public_key.empty()) << "keygen made no public key in " << dir;
  EXPECT_FALSE(keys.secret_key.empty()) << "keygen made no secret key in " << dir;
  return keys;
}

// `graftctl bundle ...` of a built greeter into `out` (a new folder).
inline fs::path make_bundle(const KeyPair& keys, const std::string& so, const std::string& version,
                            const std::string& applies_to, const fs::path& out) {
  const RunResult r = run_program({GRAFTCTL_PATH, "bundle", "--key", keys.secret_key.string(),
                                   "--so", component_file(so).string(), "--version", version,
                                   "--applies-to", applies_to, "--out", out.string()});
  EXPECT_EQ(r.code, 0) << describe(r);
  return out;
}

// The bundle's shared object (the one file that is neither manifest nor signature).
inline fs::path bundle_object(const fs::path& bundle) {
  for (const auto& e : fs::directory_iterator(bundle)) {
    if (e.path().extension() == ".so") return e.path();
  }
  return {};
}

struct HostOptions {
  std::string name = "host";
  fs::path inbox;
  std::vector<fs::path> keys;
  bool auto_install = false;
  long deadline_ms = 5000;
  long probation_ms = 0;
  // When set (e.g. "counter-1.0.0.so"): the host also serves a counter,
  // a stateful component, from this built file.
  std::string counter_so;
};

// A graft_control_test_host process: a greeter under load, control plane on.
class TestHost {
 public:
  TestHost(const fs::path& work, const fs::path& run_dir, HostOptions o)
      : options_(std::move(o)),
        state_(work / (options_.name + "-state")),
        report_(work / (options_.name + "-report.json")),
        log_(work / (options_.name + ".log")),
        run_dir_(run_dir) {}

  // Starts (or restarts on the same state directory); returns its pid.
  pid_t start() {
    std::vector<std::string> args = {GRAFT_TEST_HOST_PATH,
                                     "--name",
                                     options_.name,
                                     "--state-dir",
                                     state_.string(),
                                     "--run-dir",
                                     run_dir_.string(),
                                     "--component",
                                     component_file("greeter-1.0.0.so").string(),
                                     "--report",
                                     report_.string(),
                                     "--deadline-ms",
                                     std::to_string(options_.deadline_ms)};
    if (!options_.inbox.empty()) {
      args.insert(args.end(), {"--inbox", options_.inbox.string()});
    }
    for (const auto& k : options_.keys)
      args.insert(args.end(), {"--trusted-key", k.string()});
    if (options_.auto_install) args.push_back("--auto-install");
    if (!options_.counter_so.empty()) {
      args.insert(args.end(), {"--counter", component_file(options_.counter_so).string()});
    }
    if (options_.probation_ms > 0) {
      args.insert(args.end(), {"--probation-ms", std::to_string(options_.probation_ms)});
    }
    const std::string line = process_.start(args, log_.string());
    EXPECT_EQ(line.rfind("ready ", 0), 0u) << "host did not start: '" << line << "'\n" << log();
    return process_.pid();
  }

  // A host killed by the test leaves its board in /dev/shm; the run
  // directory goes with the test, so clean up here.
  ~TestHost() {
    process_ = ChildProcess();
    HostDirectory(run_dir_).remove_dead();
  }
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  pid_t pid() const { return process_.pid(); }
  fs::path socket() const { return HostDirectory(run_dir_).socket_path(process_.pid()); }
  std::string board() const { return HostDirectory(run_dir_).board_name(process_.pid()); }
  ChildProcess& process() { return process_; }
  std::string log() const { return read_file(log_); }
  const fs::path& state_dir() const { return state_; }
  // The journal's lines, parsed (a line that is not JSON is kept as a string).
  std::vector<nlohmann::json> journal() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(read_file(state_ / "journal.jsonl"));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      lines.push_back(j.is_discarded() ? nlohmann::json(line) : j);
    }
    return lines;
  }

  // Stops it (SIGTERM) and returns its report: pid, calls, failures, version.
  nlohmann::json stop() {
    const int code = process_.stop(SIGTERM);
    EXPECT_EQ(code, 0) << log();
    return nlohmann::json::parse(read_file(report_), nullptr, false);
  }

  // The serving version of a component on its board.
  std::string board_version(const std::string& component = "greeter") const {
    const auto s = read_status_board(board());
    if (!s) return "";
    for (const auto& c : s->components) {
      if (c.name == component) return c.version;
    }
    return "";
  }

 private:
  HostOptions options_;
  fs::path state_, report_, log_, run_dir_;
  ChildProcess process_;
};

}  // namespace graft::testing
