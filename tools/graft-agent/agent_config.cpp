#include "agent_config.hpp"

#include "fleet_keys.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace graft::agent {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Status bad(int line, const std::string& what) {
  return Status(ErrorCode::invalid_argument,
                "agent config line " + std::to_string(line) + ": " + what);
}

}  // namespace

Status load_config(const std::filesystem::path& file, AgentConfig* out) {
  std::ifstream in(file);
  if (!in)
    return Status(ErrorCode::file_missing, "agent config " + file.string() + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > 1 << 20) {
    return Status(ErrorCode::invalid_argument, "agent config " + file.string() + ": too large");
  }
  Status s = parse_config(text.str(), out);
  if (!s) return Status(s.code(), file.string() + ": " + s.message());
  return s;
}

Status parse_config(const std::string& text, AgentConfig* out) {
  AgentConfig c;
  std::istringstream in(text);
  int n = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++n;
    const std::string line = trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) return bad(n, "expected 'key = value'");
    const std::string key = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (key == "etcd") {
      c.etcd.push_back(value);
    } else if (key == "fleet") {
      c.fleet = value;
    } else if (key == "machine") {
      c.machine = value;
    } else if (key == "ring") {
      c.ring = value;
    } else if (key == "trusted_key") {
      c.trusted_keys.emplace_back(value);
    } else if (key == "objects") {
      c.objects = value;
    } else if (key == "run_dir") {
      c.run_dir = value;
    } else if (key == "inbox") {
      c.inboxes.emplace_back(value);
      c.host_states.emplace_back();
    } else if (key == "host_state") {
      if (c.inboxes.empty()) return bad(n, "host_state must follow the 'inbox' of its host");
      if (!c.host_states.back().empty()) {
        return bad(n, "the inbox " + c.inboxes.back().string() + " already has a host_state");
      }
      if (value.empty()) return bad(n, "host_state needs a folder");
      c.host_states.back() = value;
    } else if (key == "cache_dir") {
      c.cache_dir = value;
    } else if (key == "metrics") {
      c.metrics = value;
    } else if (key == "lease_ttl") {
      try {
        const long v = std::stol(value);
        if (v < 2 || v > 3600) throw std::out_of_range(value);
        c.lease_ttl = std::chrono::seconds(v);
      } catch (...) {
        return bad(n, "lease_ttl must be 2 to 3600 seconds");
      }
    } else if (key == "etcd_ca") {
      c.etcd_ca = value;
    } else if (key == "etcd_cert") {
      c.etcd_cert = value;
    } else if (key == "etcd_key") {
      c.etcd_key = value;
    } else if (key == "etcd_user") {
      c.etcd_user = value;
    } else if (key == "etcd_password_file") {
      // The password stays out of the configuration file (which is often
      // world-readable); the file's first line is the password.
      std::ifstream pw(value);
      std::string first;
      if (!pw || !std::getline(pw, first)) {
        return bad(n, "etcd_password_file '" + value + "' cannot be read");
      }
      if (!first.empty() && first.back() == '\r') first.pop_back();
      if (first.empty()) return bad(n, "etcd_password_file '" + value + "' is empty");
      c.etcd_password = first;
    } else if (key == "objects_ca") {
      if (::access(value.c_str(), R_OK) != 0) {
        return bad(n, "objects_ca '" + value + "' cannot be read");
      }
      c.objects_ca = value;
    } else if (key == "controller") {
      if (value != "on" && value != "off") return bad(n, "controller must be 'on' or 'off'");
      c.controller = value == "on";
    } else {
      return bad(n, "unknown key '" + key + "'");
    }
  }
  if (c.machine.empty()) {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    c.machine = name;
  }
  if (c.etcd.empty())
    return Status(ErrorCode::invalid_argument, "agent config: no 'etcd' endpoint");
  if (c.objects.empty())
    return Status(ErrorCode::invalid_argument, "agent config: no 'objects' URL");
  if (c.trusted_keys.empty()) {
    return Status(ErrorCode::invalid_argument, "agent config: no 'trusted_key'");
  }
  if (c.cache_dir.empty()) {
    return Status(ErrorCode::invalid_argument, "agent config: no 'cache_dir'");
  }
  for (const auto& [what, name] :
       {std::pair<std::string, std::string>{"fleet", c.fleet}, {"machine", c.machine}}) {
    if (auto e = fleet::check_name(what, name); !e.empty()) {
      return Status(ErrorCode::invalid_argument, "agent config: " + e);
    }
  }
  if (!c.ring.empty()) {
    if (auto e = fleet::check_name("ring", c.ring); !e.empty()) {
      return Status(ErrorCode::invalid_argument, "agent config: " + e);
    }
  }
  if (auto e = fleet::check_tls_files(etcd_options(c)); !e.empty()) {
    return Status(ErrorCode::invalid_argument, "agent config: " + e);
  }
  *out = std::move(c);
  return Status();
}

fleet::EtcdOptions etcd_options(const AgentConfig& c) {
  fleet::EtcdOptions o;
  o.endpoints = c.etcd;
  o.ca_file = c.etcd_ca;
  o.cert_file = c.etcd_cert;
  o.key_file = c.etcd_key;
  o.username = c.etcd_user;
  o.password = c.etcd_password;
  return o;
}

}  // namespace graft::agent
