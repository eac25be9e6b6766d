// A fleet on one machine for the tests: an etcd cluster, nginx serving the
// object store, and simulated machines, each with its own run directory,
// host inboxes, test hosts (real processes under call load) and a real
// graft-agent. graftctl runs against it as an operator's would.
#pragma once

#include "child_process.hpp"
#include "server_fixtures.hpp"
#include "test_support.hpp"

#include <graft/host_directory.hpp>
#include <graft/status_board.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace graft::testing {

inline std::string describe_run(const RunResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

struct FleetOptions {
  int etcd_members = 1;
  int machines = 3;
  int hosts_per_machine = 2;
  long probation_ms = 1500;
  long probation_errors = -1;  // errors probation tolerates (-1: the runtime's default)
  bool auto_install = true;
  std::vector<std::string> labels;  // ring label per machine ("" for none)
  int lease_ttl = 3;
  // The object each machine's hosts start from (default greeter-1.0.0.so).
  std::vector<fs::path> start_objects;
  // etcd over TLS with client certificates (made at test time), and with
  // etcd's authentication on (user root, a password in a file).
  bool etcd_tls = false;
  bool etcd_auth = false;
  std::string nginx_extra;  // directives for the object server (e.g. "limit_rate 2k;")
};

class FleetWorld {
 public:
  struct Host {
    std::string name;
    fs::path state, report, log, inbox;
    ChildProcess process;
  };
  struct Machine {
    std::string id;
    fs::path dir, run_dir, cache, config, agent_log, start_object;
    std::vector<std::unique_ptr<Host>> hosts;
    ChildProcess agent;
  };

  explicit FleetWorld(FleetOptions o)
      : options_(std::move(o)),
        certs_(options_.etcd_tls ? std::make_optional<TestCertificates>(work_ / "certs")
                                 : std::nullopt),
        etcd_(work_.path(), options_.etcd_members,
              certs_ ? std::make_optional(certs_->etcd_tls()) : std::nullopt),
        nginx_(work_.path(), work_ / "objects", options_.nginx_extra) {
    if (options_.etcd_auth) enable_etcd_auth();
    const RunResult k = run_program({GRAFTCTL_PATH, "keygen", "--out", (work_ / "keys").string()});
    EXPECT_EQ(k.code, 0) << describe_run(k);
    for (const auto& e : fs::directory_iterator(work_ / "keys")) {
      (e.path().extension() == ".pub" ? public_key_ : secret_key_) = e.path();
    }
    for (int m = 0; m < options_.machines; ++m) {
      auto machine = std::make_unique<Machine>();
      machine->id = "machine-" + std::to_string(m);
      machine->dir = work_ / machine->id;
      machine->run_dir = machine->dir / "run";
      machine->cache = machine->dir / "cache";
      fs::create_directories(machine->run_dir);
      fs::permissions(machine->run_dir, fs::perms::owner_all);
      machine->start_object = static_cast<std::size_t>(m) < options_.start_objects.size()
                                  ? options_.start_objects[static_cast<std::size_t>(m)]
                                  : component_file("greeter-1.0.0.so");
      for (int h = 0; h < options_.hosts_per_machine; ++h) {
        auto host = std::make_unique<Host>();
        host->name = machine->id + "-host-" + std::to_string(h);
        host->state = machine->dir / (host->name + "-state");
        host->report = machine->dir / (host->name + "-report.json");
        host->log = machine->dir / (host->name + ".log");
        host->inbox = machine->dir / (host->name + "-inbox");
        start_host(*machine, *host);
        machine->hosts.push_back(std::move(host));
      }
      write_agent_config(*machine, m);
      start_agent(*machine);
      machines_.push_back(std::move(machine));
    }
  }

  ~FleetWorld() {
    for (auto& m : machines_) {
      m->agent = ChildProcess();
      for (auto& h : m->hosts)
        h->process = ChildProcess();
      HostDirectory(m->run_dir).remove_dead();
    }
  }

  void start_host(Machine& m, Host& h) {
    std::vector<std::string> args = {GRAFT_TEST_HOST_PATH,
                                     "--name",
                                     h.name,
                                     "--state-dir",
                                     h.state.string(),
                                     "--run-dir",
                                     m.run_dir.string(),
                                     "--component",
                                     m.start_object.string(),
                                     "--report",
                                     h.report.string(),
                                     "--inbox",
                                     h.inbox.string(),
                                     "--trusted-key",
                                     public_key_.string(),
                                     "--threads",
                                     "1",
                                     "--probation-ms",
                                     std::to_string(options_.probation_ms)};
    if (options_.auto_install) args.push_back("--auto-install");
    if (options_.probation_errors >= 0) {
      args.insert(args.end(), {"--probation-errors", std::to_string(options_.probation_errors)});
    }
    const std::string line = h.process.start(args, h.log.string());
    ASSERT_EQ(line.rfind("ready ", 0), 0u) << "host " << h.name << " did not start";
  }

  // etcdctl against the cluster, with the TLS files and (once auth is on) the root user.
  RunResult etcdctl(std::vector<std::string> args, bool as_root) {
    std::vector<std::string> full = {"/usr/bin/etcdctl", "--endpoints", etcd_.endpoints_csv()};
    if (certs_) {
      const EtcdTls t = certs_->etcd_tls();
      full.insert(full.end(), {"--cacert", t.ca.string(), "--cert", t.client_cert.string(), "--key",
                               t.client_key.string()});
    }
    if (as_root) full.insert(full.end(), {"--user", "root:" + std::string(kRootPassword)});
    full.insert(full.end(), args.begin(), args.end());
    return run_program(full);
  }
  void enable_etcd_auth() {
    std::ofstream(password_file()) << kRootPassword << "\n";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"user", "add", "root:" + std::string(kRootPassword)},
             {"user", "grant-role", "root", "root"},
             {"auth", "enable"}}) {
      const RunResult r = etcdctl(args, false);
      ASSERT_EQ(r.code, 0) << describe_run(r);
    }
  }
  static constexpr const char* kRootPassword = "graft-test-password";
  fs::path password_file() const { return work_ / "etcd-password"; }
  const std::optional<TestCertificates>& certificates() const { return certs_; }

  // The etcd client options an operator on this fleet would use.
  std::vector<std::string> etcd_flags() const {
    std::vector<std::string> out = {"--etcd", etcd_.endpoints_csv()};
    if (certs_) {
      const EtcdTls t = certs_->etcd_tls();
      out.insert(out.end(), {"--etcd-ca", t.ca.string(), "--etcd-cert", t.client_cert.string(),
                             "--etcd-key", t.client_key.string()});
    }
    if (options_.etcd_auth) {
      out.insert(out.end(),
                 {"--etcd-user", "root", "--etcd-password-file", password_file().string()});
    }
    return out;
  }

  void write_agent_config(Machine& m, int index) {
    m.config = m.dir / "agent.conf";
    m.agent_log = m.dir / "agent.log";
    std::ofstream c(m.config);
    for (const auto& e : etcd_.endpoints())
      c << "etcd = " << e << "\n";
    if (certs_) {
      const EtcdTls t = certs_->etcd_tls();
      c << "etcd_ca = " << t.ca.string() << "\netcd_cert = " << t.client_cert.string()
        << "\netcd_key = " << t.client_key.string() << "\n";
    }
    if (options_.etcd_auth) {
      c << "etcd_user = root\netcd_password_file = " << password_file().string() << "\n";
    }
    c << "fleet = test\nmachine = " << m.id << "\n";
    if (static_cast<std::size_t>(index) < options_.labels.size() &&
        !options_.labels[static_cast<std::size_t>(index)].empty()) {
      c << "ring = " << options_.labels[static_cast<std::size_t>(index)] << "\n";
    }
    c << "trusted_key = " << public_key_.string() << "\nobjects = " << nginx_.url()
      << "\nrun_dir = " << m.run_dir.string() << "\ncache_dir = " << m.cache.string()
      << "\nlease_ttl = " << options_.lease_ttl << "\nmetrics = 127.0.0.1:0\n";
    for (const auto& h : m.hosts)
      c << "inbox = " << h->inbox.string() << "\nhost_state = " << h->state.string() << "\n";
  }

  void start_agent(Machine& m) {
    const std::string line =
        m.agent.start({GRAFT_AGENT_PATH, "--config", m.config.string()}, m.agent_log.string());
    ASSERT_EQ(line.rfind("ready ", 0), 0u) << "agent of " << m.id << " did not start:\n"
                                           << read_file(m.agent_log);
  }

  RunResult graftctl(std::vector<std::string> args) {
    args.insert(args.begin(), GRAFTCTL_PATH);
    args.insert(args.end(), {"--fleet", "test"});
    const auto flags = etcd_flags();
    args.insert(args.end(), flags.begin(), flags.end());
    return run_program(std::move(args));
  }

  // `graftctl bundle` of a component file into a new folder.
  fs::path bundle(const fs::path& so, const std::string& version, const std::string& applies_to,
                  const std::string& expires = "30d") {
    const fs::path out = work_ / ("bundle-" + std::to_string(bundles_++));
    const RunResult r = run_program({GRAFTCTL_PATH, "bundle", "--key", secret_key_.string(), "--so",
                                     so.string(), "--version", version, "--applies-to", applies_to,
                                     "--expires", expires, "--out", out.string()});
    EXPECT_EQ(r.code, 0) << describe_run(r);
    return out;
  }

  // The same with a delta that rebuilds the object from `base`.
  fs::path delta_bundle(const fs::path& so, const std::string& version,
                        const std::string& applies_to, const fs::path& base) {
    const fs::path out = work_ / ("bundle-" + std::to_string(bundles_++));
    const RunResult r = run_program({GRAFTCTL_PATH, "bundle", "--key", secret_key_.string(), "--so",
                                     so.string(), "--version", version, "--applies-to", applies_to,
                                     "--delta-from", base.string(), "--out", out.string()});
    EXPECT_EQ(r.code, 0) << describe_run(r);
    return out;
  }

  // The agent's /metrics text ("" when it cannot be read).
  static std::string metrics(const Machine& m) {
    const std::string log = read_file(m.agent_log);
    const auto at = log.find("metrics at ");
    if (at == std::string::npos) return "";
    std::string text;
    if (http_get(log.substr(at + 11, log.find('\n', at) - at - 11), &text) != 200) return "";
    return text;
  }
  // One counter's value from the /metrics text (-1 when absent).
  static long long metric(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::atoll(text.c_str() + at + name.size() + 2);
  }

  RunResult publish(const fs::path& bundle, bool deploy) {
    std::vector<std::string> args = {"fleet", "publish", bundle.string(), "--objects",
                                     nginx_.root().string()};
    if (deploy) args.push_back("--deploy");
    return graftctl(args);
  }

  // The rollout of `component` as `graftctl fleet status --json` shows it.
  nlohmann::json status(const std::string& component) {
    const RunResult r = graftctl({"fleet", "status", component, "--json"});
    if (r.code != 0) return nlohmann::json();
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_array() && !j.empty() ? j[0] : nlohmann::json();
  }

  static std::string board_version(const Machine& m, const Host& h) {
    const auto s = read_status_board(HostDirectory(m.run_dir).board_name(h.process.pid()));
    if (!s) return "";
    for (const auto& c : s->components) {
      if (c.name == "greeter") return c.version + (c.state == "probation" ? "?" : "");
    }
    return "";
  }

  // Hosts whose greeter serves `version` committed.
  int hosts_serving(const std::string& version) {
    int n = 0;
    for (const auto& m : machines_) {
      for (const auto& h : m->hosts)
        n += board_version(*m, *h) == version ? 1 : 0;
    }
    return n;
  }
  int host_count() const { return options_.machines * options_.hosts_per_machine; }

  // Stops every host and returns their reports.
  std::vector<nlohmann::json> stop_hosts() {
    std::vector<nlohmann::json> out;
    for (auto& m : machines_) {
      for (auto& h : m->hosts) {
        EXPECT_EQ(h->process.stop(SIGTERM), 0) << read_file(h->log);
        out.push_back(nlohmann::json::parse(read_file(h->report), nullptr, false));
      }
    }
    return out;
  }

  std::string logs() const {
    std::string out;
    for (const auto& m : machines_)
      out += "--- " + m->id + " agent:\n" + read_file(m->agent_log);
    return out;
  }

  EtcdCluster& etcd() { return etcd_; }
  const fs::path& secret_key() const { return secret_key_; }
  NginxServer& nginx() { return nginx_; }
  std::vector<std::unique_ptr<Machine>>& machines() { return machines_; }
  const fs::path& work() const { return work_.path(); }

 private:
  FleetOptions options_;
  TempDir work_;
  std::optional<TestCertificates> certs_;
  EtcdCluster etcd_;
  NginxServer nginx_;
  fs::path public_key_, secret_key_;
  std::vector<std::unique_ptr<Machine>> machines_;
  int bundles_ = 0;
};

}  // namespace graft::testing
