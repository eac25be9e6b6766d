// graft-agent: one per machine. It watches the fleet's desired state in
// etcd, verifies each release record with its own trusted keys, fetches the
// object once into the machine's cache, hands a bundle to every host inbox
// of the machine (a host with auto-install off holds it as pending), and
// reports what each host serves, read from the status boards, into etcd
// under a lease, so a machine that dies drops out of the fleet view.
#pragma once

#include "agent_config.hpp"
#include "desired_state.hpp"
#include "etcd_client.hpp"
#include "fleet_keys.hpp"
#include "object_fetch.hpp"
#include "release_record.hpp"

#include <graft/bundle_verifier.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace spdlog {
class logger;
}

namespace graft::agent {

class RolloutController;

// Counters for /metrics (monotonic unless said otherwise).
struct AgentCounters {
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> refusals{0};
  std::atomic<std::uint64_t> fetch_bytes{0};  // delta and full objects together
  std::atomic<std::uint64_t> fetches{0};
  std::atomic<std::uint64_t> delta_fetch_bytes{0};
  std::atomic<std::uint64_t> full_fetch_bytes{0};
  std::atomic<std::uint64_t> delta_fetches{0};
  std::atomic<std::uint64_t> delta_fallbacks{0};  // delta route given up for the full object
  std::atomic<std::uint64_t> rollbacks_seen{0};
  std::atomic<std::uint64_t> etcd_errors{0};
};

class Agent {
 public:
  Agent(AgentConfig config, std::shared_ptr<spdlog::logger> logger);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Starts the threads; throws graft::Error when the keys cannot be read.
  void start();
  void stop();

  const AgentConfig& config() const noexcept { return config_; }
  const AgentCounters& counters() const noexcept { return counters_; }
  std::uint64_t etcd_requests() const;
  // The /metrics text (Prometheus exposition format).
  std::string metrics_text() const;

 private:
  struct Refusal {
    std::string component, version, reason;
  };
  struct Observed {
    std::string version, state;
    // The board's counters span every version of the slot: these are their
    // values when the host was first seen serving `version`.
    std::uint64_t base_calls = 0, base_errors = 0;
  };

  // Reads `prefix` in full, then watches it: `clear` before a full read,
  // `apply` for each key (value nullptr: deleted).
  void watch_prefix(const std::string& prefix, const std::function<void()>& clear,
                    const std::function<void(const std::string&, const std::string*)>& apply);
  void apply_revocations();
  void work_loop();
  void deliver(const fleet::DesiredState& d);
  // A verified release and its object in the cache.
  struct Verified {
    fleet::ReleaseRecord record;
    Manifest manifest;
    std::filesystem::path object;  // the full object, or
    std::filesystem::path delta;   // the delta (the hosts rebuild the object from their base)
  };
  // Every host this agent delivers to holds the base object `sha256` in its
  // store (so a delta will do); false when a host's state folder is unknown.
  bool hosts_hold_base(const std::string& sha256) const;
  // A delta bundle some host refused: the release goes again, as the full object.
  void check_delta_delivery(const std::string& release_key);
  Status deliver_to_inbox(const std::filesystem::path& inbox, const std::string& name,
                          const Verified& v);
  void observe_hosts();
  void publish_reports();
  std::chrono::milliseconds keepalive_interval() const;
  void refuse(const std::string& component, const std::string& version, const std::string& why);
  // Waits `d` or until stopped; false when stopped.
  bool pause(std::chrono::milliseconds d);
  std::chrono::milliseconds backoff(int attempt);
  void load_state();
  void save_state();

  AgentConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  fleet::FleetKeys keys_;
  TrustedKeys trusted_;
  std::unique_ptr<fleet::EtcdClient> etcd_watch_;  // the long watch has its own client
  std::unique_ptr<fleet::EtcdClient> etcd_;
  std::unique_ptr<fleet::ObjectCache> cache_;
  std::uint32_t bucket_ = 0;

  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool changed_ = false;
  std::map<std::string, fleet::DesiredState> desired_;     // by component
  std::map<std::string, std::string> desired_errors_;      // component -> why unreadable
  std::map<std::string, std::string> revocation_records_;  // etcd key -> record

  // Work thread only.
  std::map<std::string, Version> highest_delivered_;     // persisted in cache_dir
  std::set<std::string> delivered_;                      // release keys handed to every inbox
  std::map<std::string, std::string> revoked_;           // "component version" -> reason
  std::map<std::string, std::string> revocations_seen_;  // etcd key -> record handled
  std::map<std::string, Refusal> refusals_;              // by component+version
  std::map<std::string, std::string> record_failures_;   // release key -> reason (not retried)
  std::map<std::pair<int, std::string>, Observed> observed_;
  std::map<int, std::set<std::string>> rolled_back_;  // pid -> versions it rolled back
  std::map<int, std::string> host_reports_;           // pid -> JSON as last put
  std::map<int, std::string> host_report_keys_;       // pid -> the part that decides a re-put
  std::map<int, std::string> host_names_;
  std::string agent_report_;
  bool reports_dirty_ = true;
  bool known_written_ = false;
  std::atomic<std::int64_t> lease_{0};  // the reports' lease; the controller campaigns with it
  std::chrono::steady_clock::time_point next_keepalive_{};
  std::chrono::steady_clock::time_point next_etcd_try_{};
  int etcd_failures_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> retry_at_;  // fetch retries
  std::map<std::string, int> retry_count_;
  std::map<std::string, std::string> delta_bundles_;  // release key -> delta bundle delivered
  std::set<std::string> delta_failed_;                // release keys that go as full objects
  std::set<std::string> fallback_bundles_;            // delta bundles refused, replaced in full

  std::mt19937 rng_{std::random_device{}()};
  AgentCounters counters_;
  std::unique_ptr<RolloutController> controller_;
  std::thread watch_thread_, revocation_thread_, work_thread_;
  std::unique_ptr<fleet::EtcdClient> etcd_revocations_;
};

}  // namespace graft::agent
