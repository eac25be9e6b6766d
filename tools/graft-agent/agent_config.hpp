// graft-agent's configuration file: one `key = value` per line, `#` starts
// a comment, list keys repeat. docs/fleet.md describes every key.
//
//   etcd = http://10.0.0.1:2379          (repeat for each member)
//   fleet = prod
//   machine = web-17                     (default: the host name)
//   ring = canary                        (optional label: joins that ring by name)
//   trusted_key = /etc/graft/keys/release.pub   (repeat)
//   objects = https://cdn.example/graft-objects
//   run_dir = /run/graft                 (where this machine's hosts publish boards)
//   inbox = /var/lib/app/graft-inbox     (repeat: one per host inbox)
//   host_state = /var/lib/app/graft      (optional, after an inbox: that host's state
//                                         dir, whose store says which delta bases it holds)
//   cache_dir = /var/cache/graft-agent
//   metrics = 127.0.0.1:9464             (empty: no /metrics endpoint)
//   lease_ttl = 10                       (seconds)
//   controller = on                      (take part in the rollout controller election)
//   etcd_ca = /etc/graft/etcd-ca.pem     (TLS: the CA of etcd's certificate)
//   etcd_cert = /etc/graft/agent.pem     (TLS client certificate, with etcd_key)
//   etcd_key = /etc/graft/agent.key
//   etcd_user = graft-agent              (etcd authentication, with etcd_password_file)
//   etcd_password_file = /etc/graft/etcd-password
//   objects_ca = /etc/graft/objects-ca.pem (TLS: the CA of the object server's certificate)
#pragma once

#include "etcd_client.hpp"

#include <graft/status.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace graft::agent {

struct AgentConfig {
  std::vector<std::string> etcd;
  std::string fleet;
  std::string machine;
  std::string ring;
  std::vector<std::filesystem::path> trusted_keys;
  std::string objects;
  std::filesystem::path run_dir;
  std::vector<std::filesystem::path> inboxes;
  // The state folder of the host behind each inbox (same index; empty when
  // not given): `<host_state>/store/<sha256>` tells whether that host holds
  // a delta's base object.
  std::vector<std::filesystem::path> host_states;
  std::filesystem::path cache_dir;
  std::string metrics;  // host:port
  std::chrono::seconds lease_ttl{10};
  bool controller = true;
  std::chrono::milliseconds board_interval{200};
  std::string etcd_ca, etcd_cert, etcd_key, etcd_user, etcd_password;
  std::string objects_ca;
};

// The etcd client's options from the configuration.
fleet::EtcdOptions etcd_options(const AgentConfig& config);

// Reads and checks the file; the error names the line.
Status load_config(const std::filesystem::path& file, AgentConfig* out);
Status parse_config(const std::string& text, AgentConfig* out);

}  // namespace graft::agent
