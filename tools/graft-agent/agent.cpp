#include "agent.hpp"

#include "rollout_controller.hpp"

#include <graft/host_directory.hpp>
#include <graft/revocation.hpp>
#include <graft/status_board.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace graft::agent {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Writes `bytes` to `file` and syncs it.
bool write_synced(const fs::path& file, const std::string& bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

std::string read_small(const fs::path& file, std::size_t cap) {
  std::ifstream in(file, std::ios::binary);
  std::string s(cap, '\0');
  in.read(s.data(), static_cast<std::streamsize>(cap));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

}  // namespace

Agent::Agent(AgentConfig config, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), log_(std::move(logger)), keys_(config_.fleet) {
  bucket_ = fleet::machine_bucket(config_.machine);
}

Agent::~Agent() {
  stop();
}

std::uint64_t Agent::etcd_requests() const {
  return (etcd_ ? etcd_->requests_sent() : 0) +
         (etcd_revocations_ ? etcd_revocations_->requests_sent() : 0) +
         (etcd_watch_ ? etcd_watch_->requests_sent() : 0) +
         (controller_ ? controller_->etcd_requests() : 0);
}

void Agent::start() {
  if (Status s = TrustedKeys::load(config_.trusted_keys, &trusted_); !s) throw Error(s);
  const fleet::EtcdOptions eo = etcd_options(config_);
  etcd_ = std::make_unique<fleet::EtcdClient>(eo);
  etcd_watch_ = std::make_unique<fleet::EtcdClient>(eo);
  fs::create_directories(config_.cache_dir);
  cache_ = std::make_unique<fleet::ObjectCache>(fleet::ObjectCacheOptions{
      config_.objects, config_.cache_dir / "objects", config_.objects_ca});
  load_state();
  log_->info("agent for machine {} (bucket {}{}) in fleet {}", config_.machine, bucket_,
             config_.ring.empty() ? "" : ", ring " + config_.ring, config_.fleet);
  etcd_revocations_ = std::make_unique<fleet::EtcdClient>(eo);
  // Called with mu_ held.
  const std::string desired_prefix = keys_.desired();
  watch_thread_ = std::thread([this, desired_prefix] {
    watch_prefix(
        desired_prefix,
        [this] {
          desired_.clear();
          desired_errors_.clear();
        },
        [this, desired_prefix](const std::string& key, const std::string* value) {
          const std::string component = key.substr(desired_prefix.size());
          if (value == nullptr) {
            desired_.erase(component);
            desired_errors_.erase(component);
            return;
          }
          fleet::DesiredState d;
          if (Status s = fleet::DesiredState::parse(*value, &d); !s || d.component != component) {
            desired_.erase(component);
            desired_errors_[component] = s ? "names another component" : s.message();
          } else {
            desired_[component] = std::move(d);
            desired_errors_.erase(component);
          }
        });
  });
  revocation_thread_ = std::thread([this] {
    watch_prefix(
        keys_.revocations(), [this] { revocation_records_.clear(); },
        [this](const std::string& key, const std::string* value) {
          // A deleted revocation changes nothing: hosts keep refusing.
          if (value != nullptr) revocation_records_[key] = *value;
        });
  });
  work_thread_ = std::thread([this] { work_loop(); });
  if (config_.controller) {
    controller_ = std::make_unique<RolloutController>(
        config_, log_,
        [this] {
          std::lock_guard lock(mu_);
          for (const auto& [component, d] : desired_) {
            if (d.state == fleet::RolloutState::rolling) return true;
          }
          return false;
        },
        [this] { return lease_.load(); });
    controller_->start();
  }
}

void Agent::stop() {
  stop_ = true;
  wake_.notify_all();
  if (controller_) controller_->stop();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (revocation_thread_.joinable()) revocation_thread_.join();
  if (work_thread_.joinable()) work_thread_.join();
  if (lease_ != 0 && etcd_) {
    // Leaving on purpose: the reports go now, not when the lease runs out.
    (void)etcd_->lease_revoke(lease_.load());
    lease_ = 0;
  }
}

bool Agent::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return stop_.load(); });
  return !stop_.load();
}

std::chrono::milliseconds Agent::backoff(int attempt) {
  // 200 ms doubling to 5 s, each wait between half and all of it (jitter),
  // so agents that lost etcd together do not come back in step.
  const long cap = 5000;
  const long base = std::min(cap, 200L << std::min(attempt, 5));
  std::uniform_int_distribution<long> pick(base / 2, base);
  return std::chrono::milliseconds(pick(rng_));
}

void Agent::load_state() {
  const auto text = read_small(config_.cache_dir / "agent-state.json", 1 << 20);
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  const auto h = j.find("highest_delivered");
  if (h == j.end() || !h->is_object()) return;
  for (auto e = h->begin(); e != h->end(); ++e) {
    if (!e.value().is_string()) continue;
    if (auto v = Version::parse(e.value().get<std::string>())) highest_delivered_[e.key()] = *v;
  }
}

void Agent::save_state() {
  json h = json::object();
  for (const auto& [c, v] : highest_delivered_)
    h[c] = v.to_string();
  const fs::path file = config_.cache_dir / "agent-state.json";
  const fs::path tmp = config_.cache_dir / ".agent-state.json.tmp";
  if (write_synced(tmp, json{{"highest_delivered", h}}.dump())) {
    std::error_code ec;
    fs::rename(tmp, file, ec);
  }
}

// --- the desired state: read once, then watched ---------------------------

void Agent::watch_prefix(const std::string& prefix, const std::function<void()>& clear,
                         const std::function<void(const std::string&, const std::string*)>& apply) {
  fleet::EtcdClient& etcd = prefix == keys_.desired() ? *etcd_watch_ : *etcd_revocations_;
  const std::string end = fleet::prefix_end(prefix);
  std::int64_t revision = 0;  // 0: read everything afresh
  int failures = 0;
  while (!stop_) {
    if (revision == 0) {
      std::vector<fleet::KeyValue> kvs;
      std::int64_t rev = 0;
      const auto st = etcd.range(prefix, end, &kvs, &rev);
      if (!st.ok()) {
        ++counters_.etcd_errors;
        log_->warn("reading {}: {}", prefix, st.message);
        if (!pause(backoff(failures++))) return;
        continue;
      }
      {
        std::lock_guard lock(mu_);
        clear();
        for (const auto& kv : kvs)
          apply(kv.key, &kv.value);
        changed_ = true;
      }
      revision = rev;
      wake_.notify_all();
    }
    const auto ended = etcd.watch(
        prefix, end, revision + 1,
        [&](const fleet::WatchBatch& batch) {
          {
            std::lock_guard lock(mu_);
            for (const auto& e : batch.events) {
              apply(e.kv.key, e.type == fleet::WatchEvent::Type::put ? &e.kv.value : nullptr);
              revision = std::max(revision, e.kv.mod_revision);
            }
            changed_ = true;
          }
          failures = 0;
          wake_.notify_all();
          return !stop_.load();
        },
        stop_);
    if (stop_) return;
    if (ended.compact_revision > 0) {
      log_->info("{}: revision {} was compacted; reading it afresh", prefix, revision + 1);
      revision = 0;
      continue;
    }
    ++counters_.etcd_errors;
    log_->warn("watch of {}: {}; resuming from revision {}", prefix, ended.status.message,
               revision + 1);
    if (!pause(backoff(failures++))) return;
  }
}

// --- delivering releases ---------------------------------------------------

void Agent::refuse(const std::string& component, const std::string& version,
                   const std::string& why) {
  const std::string id = component + "@" + version;
  auto it = refusals_.find(id);
  if (it != refusals_.end() && it->second.reason == why) return;
  refusals_[id] = Refusal{component, version, why};
  ++counters_.refusals;
  reports_dirty_ = true;
  log_->warn("{} {}: refused: {}", component, version, why);
}

void Agent::deliver(const fleet::DesiredState& d) {
  const int ring = fleet::ring_of(d.rings, bucket_, config_.ring);
  if (!d.targets(ring)) return;
  const std::string version = d.version.to_string();
  const std::string release_key = keys_.release(d.component, d.version);
  if (const auto r = revoked_.find(d.component + " " + version); r != revoked_.end()) {
    refuse(d.component, version, "revoked: " + r->second);
    return;
  }
  check_delta_delivery(release_key);
  if (record_failures_.count(release_key) != 0 || delivered_.count(release_key) != 0) return;
  if (auto it = highest_delivered_.find(d.component);
      it != highest_delivered_.end() && d.version < it->second) {
    refuse(d.component, version,
           "downgrade: " + version + " is below " + it->second.to_string() +
               ", already delivered to this machine (a replayed or old release record)");
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (auto it = retry_at_.find(release_key); it != retry_at_.end() && now < it->second) return;

  // The record, its signature with this agent's keys, then the object.
  std::optional<fleet::KeyValue> kv;
  if (const auto st = etcd_->get(release_key, &kv); !st.ok()) {
    ++counters_.etcd_errors;
    retry_at_[release_key] = now + backoff(retry_count_[release_key]++);
    return;
  }
  if (!kv) {
    refuse(d.component, version, "no release record at " + release_key);
    retry_at_[release_key] = now + backoff(retry_count_[release_key]++);
    return;
  }
  Verified v;
  Status s = fleet::ReleaseRecord::parse(kv->value, &v.record);
  if (s) s = fleet::verify_release(v.record, trusted_, &v.manifest);
  if (s && (v.manifest.component != d.component || v.manifest.version != d.version)) {
    s = Status(ErrorCode::bundle_invalid,
               "the signed manifest at " + release_key + " is for " + v.manifest.component + " " +
                   v.manifest.version.to_string() + ", not " + d.component + " " + version);
  }
  if (!s) {
    record_failures_[release_key] = s.message();
    refuse(d.component, version, s.message());
    return;
  }
  // The delta when every host holds its base (the signed manifest names
  // the base, the delta's size and SHA-256); the full object otherwise, or
  // when the delta cannot be had.
  if (v.manifest.delta && delta_failed_.count(release_key) == 0 &&
      hosts_hold_base(v.manifest.delta->base_sha256)) {
    const ManifestDelta& dm = *v.manifest.delta;
    fleet::FetchReport fetched;
    s = cache_->fetch(dm.sha256, dm.size, &v.delta, &fetched);
    counters_.fetch_bytes += fetched.bytes_fetched;
    counters_.delta_fetch_bytes += fetched.bytes_fetched;
    if (!fetched.cached) ++counters_.delta_fetches;
    if (fetched.bytes_fetched != 0) reports_dirty_ = true;
    if (!s) {
      log_->warn("{} {}: the delta: {}; fetching the full object instead", d.component, version,
                 s.message());
      v.delta.clear();
      delta_failed_.insert(release_key);
      ++counters_.delta_fallbacks;
    }
  }
  if (v.delta.empty()) {
    fleet::FetchReport fetched;
    s = cache_->fetch(v.manifest.sha256, v.manifest.size, &v.object, &fetched);
    counters_.fetch_bytes += fetched.bytes_fetched;
    counters_.full_fetch_bytes += fetched.bytes_fetched;
    if (!fetched.cached) ++counters_.fetches;
    if (fetched.bytes_fetched != 0) reports_dirty_ = true;
  }
  if (!s) {
    refuse(d.component, version, s.message());
    // Another try later: the mirror may be fixed; the signed hash still decides.
    retry_at_[release_key] =
        now + std::chrono::milliseconds(1000) + backoff(retry_count_[release_key]++);
    return;
  }
  retry_count_.erase(release_key);
  if (refusals_.erase(d.component + "@" + version) != 0) reports_dirty_ = true;

  const std::string full_name =
      d.component + "-" + fleet::version_key(d.version) + "-" + v.manifest.sha256.substr(0, 12);
  const std::string delta_name = full_name + "-delta";
  const std::string name = v.delta.empty() ? full_name : delta_name;
  bool all = true;
  for (const auto& inbox : config_.inboxes) {
    std::error_code ec;
    // Delivered before: still there, or already taken in or set aside by the
    // host (a host that installed the delta needs no full object).
    if (fs::exists(inbox / name, ec) || fs::exists(inbox / "installed" / name, ec) ||
        fs::exists(inbox / "refused" / name, ec) ||
        fs::exists(inbox / "installed" / delta_name, ec)) {
      continue;
    }
    if (Status ds = deliver_to_inbox(inbox, name, v); !ds) {
      all = false;
      refuse(d.component, version, ds.message());
    } else {
      ++counters_.deliveries;
      log_->info("{} {}: delivered to {}", d.component, version, inbox.string());
    }
  }
  if (all) {
    delivered_.insert(release_key);
    if (!v.delta.empty()) delta_bundles_[release_key] = delta_name;
    auto& h = highest_delivered_[d.component];
    if (h < d.version) {
      h = d.version;
      save_state();
      reports_dirty_ = true;
    }
  }
}

bool Agent::hosts_hold_base(const std::string& sha256) const {
  if (config_.inboxes.empty() || !fleet::is_sha256_hex(sha256)) return false;
  for (std::size_t i = 0; i < config_.inboxes.size(); ++i) {
    if (i >= config_.host_states.size() || config_.host_states[i].empty()) return false;
    // The host's store keeps every object it loaded as <sha256>.so (and
    // verifies it again when the delta is applied).
    std::error_code ec;
    if (!fs::is_regular_file(config_.host_states[i] / "store" / (sha256 + ".so"), ec)) return false;
  }
  return true;
}

void Agent::check_delta_delivery(const std::string& release_key) {
  const auto it = delta_bundles_.find(release_key);
  if (it == delta_bundles_.end()) return;
  bool installed_everywhere = true;
  for (const auto& inbox : config_.inboxes) {
    std::error_code ec;
    if (fs::exists(inbox / "refused" / it->second, ec)) {
      log_->warn("{}: a host refused the delta bundle {}; delivering the full object", release_key,
                 it->second);
      fallback_bundles_.insert(it->second);
      delta_failed_.insert(release_key);
      delivered_.erase(release_key);
      ++counters_.delta_fallbacks;
      reports_dirty_ = true;
      delta_bundles_.erase(it);
      return;
    }
    if (!fs::exists(inbox / "installed" / it->second, ec)) installed_everywhere = false;
  }
  if (installed_everywhere) delta_bundles_.erase(it);
}

void Agent::apply_revocations() {
  std::map<std::string, std::string> records;
  {
    std::lock_guard lock(mu_);
    records = revocation_records_;
  }
  for (const auto& [key, value] : records) {
    if (revocations_seen_[key] == value) continue;
    revocations_seen_[key] = value;
    // The record: {"revocation": text, "signature": hex}; the signature is
    // checked with this agent's keys before anything in it is used.
    const auto j = nlohmann::json::parse(value, nullptr, false);
    std::string text, signature;
    if (j.is_object()) {
      text = j.value("revocation", std::string());
      signature = j.value("signature", std::string());
    }
    Revocation r;
    if (Status s = verify_revocation(text, signature, trusted_, &r); !s) {
      const std::string rest = key.substr(keys_.revocations().size());
      refuse(rest.substr(0, rest.find('/')), rest.substr(rest.find('/') + 1), s.message());
      continue;
    }
    const std::string version = r.version.to_string();
    revoked_[r.component + " " + version] = r.reason;
    reports_dirty_ = true;
    const std::string name = "revoke-" + r.component + "-" + fleet::version_key(r.version);
    for (const auto& inbox : config_.inboxes) {
      std::error_code ec;
      if (fs::exists(inbox / name, ec) || fs::exists(inbox / "installed" / name, ec) ||
          fs::exists(inbox / "refused" / name, ec)) {
        continue;
      }
      const fs::path tmp = inbox / (".graft-agent-" + name);
      fs::remove_all(tmp, ec);
      fs::create_directories(tmp, ec);
      if (ec || !write_synced(tmp / "revocation.json", text) ||
          !write_synced(tmp / "revocation.sig", signature)) {
        refuse(r.component, version, "cannot write the revocation into " + inbox.string());
        continue;
      }
      fs::rename(tmp, inbox / name, ec);
      if (ec) {
        refuse(r.component, version, "cannot move the revocation into " + inbox.string());
        continue;
      }
      log_->warn("{} {}: revocation delivered to {} ({})", r.component, version, inbox.string(),
                 r.reason);
    }
  }
}

Status Agent::deliver_to_inbox(const fs::path& inbox, const std::string& name, const Verified& v) {
  // Built under a dot name (the inbox ignores those), then renamed in whole.
  const fs::path tmp = inbox / (".graft-agent-" + name);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status(ErrorCode::io_error, "inbox " + inbox.string() + ": " + ec.message());
  if (!write_synced(tmp / "manifest.json", v.record.manifest_text) ||
      !write_synced(tmp / "manifest.sig", v.record.signature)) {
    fs::remove_all(tmp, ec);
    return Status(ErrorCode::io_error, "inbox " + inbox.string() + ": cannot write the bundle");
  }
  // A delta bundle carries the delta instead of the object; the host
  // rebuilds the object from its base and checks it against the manifest.
  if (v.delta.empty()) {
    fs::copy_file(v.object, tmp / v.manifest.file, fs::copy_options::overwrite_existing, ec);
  } else {
    fs::copy_file(v.delta, tmp / v.manifest.delta->file, fs::copy_options::overwrite_existing, ec);
  }
  if (ec) {
    fs::remove_all(tmp, ec);
    return Status(ErrorCode::io_error, "inbox " + inbox.string() + ": " + ec.message());
  }
  fs::rename(tmp, inbox / name, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return Status(ErrorCode::io_error, "inbox " + inbox.string() + ": " + ec.message());
  }
  return Status();
}

// --- observing hosts and reporting -----------------------------------------

void Agent::observe_hosts() {
  if (config_.run_dir.empty()) return;
  std::vector<HostEntry> hosts;
  try {
    hosts = HostDirectory(config_.run_dir).live_hosts();
  } catch (const std::exception& e) {
    log_->warn("run dir {}: {}", config_.run_dir.string(), e.what());
    return;
  }
  std::set<int> seen;
  for (const auto& h : hosts) {
    if (!h.snapshot) continue;
    seen.insert(h.pid);
    const auto& snap = *h.snapshot;
    json components = json::array();
    json key_part = json::array();
    for (const auto& c : snap.components) {
      // A version seen on probation that is gone without becoming the
      // serving one was rolled back.
      // A version seen on probation that is gone without becoming the
      // serving one was rolled back. Probation can end between two looks,
      // so the board's last event counts too: the delivered version is not
      // served and the host says it rolled back or unloaded it.
      auto& before = observed_[{h.pid, c.name}];
      std::string dropped;
      if (before.state == "probation" && !before.version.empty() && c.version != before.version) {
        dropped = before.version;
      }
      if (const auto it = highest_delivered_.find(c.name); it != highest_delivered_.end()) {
        const std::string target = it->second.to_string();
        if (c.version != target &&
            (c.last_event == "unloaded " + target || c.last_event.rfind("rolled_back ", 0) == 0)) {
          const auto serving = Version::parse(c.version);
          if (serving && *serving < it->second) dropped = target;
        }
      }
      if (!dropped.empty() && rolled_back_[h.pid].insert(c.name + " " + dropped).second) {
        ++counters_.rollbacks_seen;
        log_->warn("host {} ({}) rolled back {} {}", snap.name, h.pid, c.name, dropped);
      }
      if (before.version != c.version || c.calls < before.base_calls ||
          c.errors < before.base_errors) {
        before.base_calls = c.calls;
        before.base_errors = c.errors;
      }
      before.version = c.version;
      before.state = c.state;
      const std::uint64_t version_calls = c.calls - before.base_calls;
      const std::uint64_t version_errors = c.errors - before.base_errors;
      // The report is re-put when the version's error rate moves by a whole
      // percent or its calls become enough to judge it, not on every call:
      // a host without errors costs no etcd traffic.
      const int rate_percent =
          version_calls == 0 ? 0 : static_cast<int>(100 * version_errors / version_calls);
      components.push_back({{"name", c.name},
                            {"version", c.version},
                            {"previous", c.previous_version},
                            {"state", c.state},
                            {"calls", c.calls},
                            {"errors", c.errors},
                            {"version_calls", version_calls},
                            {"version_errors", version_errors},
                            {"last_event", c.last_event}});
      key_part.push_back({c.name, c.version, c.previous_version, c.state, c.errors > 0,
                          rate_percent,
                          version_calls >= fleet::kMinCallsForErrorRate && version_errors > 0});
    }
    json pending = json::array();
    for (const auto& p : snap.pending)
      pending.push_back({{"component", p.component}, {"version", p.version}, {"bundle", p.bundle}});
    json rolled = json::array();
    for (const auto& r : rolled_back_[h.pid])
      rolled.push_back(r);
    const json report = {{"machine", config_.machine},
                         {"host", snap.name},
                         {"pid", h.pid},
                         {"auto_install", snap.auto_install},
                         {"components", components},
                         {"pending", pending},
                         {"rolled_back", rolled}};
    const std::string key = json{key_part, pending, rolled}.dump();
    if (host_report_keys_[h.pid] != key) {
      host_report_keys_[h.pid] = key;
      host_reports_[h.pid] = report.dump();
      reports_dirty_ = true;
    }
  }
  for (auto it = host_reports_.begin(); it != host_reports_.end();) {
    if (seen.count(it->first) == 0) {
      host_report_keys_.erase(it->first);
      observed_.erase(observed_.lower_bound({it->first, ""}),
                      observed_.lower_bound({it->first + 1, ""}));
      it = host_reports_.erase(it);
      reports_dirty_ = true;
    } else {
      ++it;
    }
  }
  // The agent's own report: refusals, deliveries, and what hosts refused.
  json refusals = json::array();
  for (const auto& [id, r] : refusals_)
    refusals.push_back({{"component", r.component}, {"version", r.version}, {"reason", r.reason}});
  json inbox_refusals = json::array();
  for (const auto& inbox : config_.inboxes) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(inbox / "refused", ec)) {
      if (e.path().extension() != ".reason") continue;
      // A delta bundle refused and replaced by the full object is no refusal
      // of the release (counted in "fetched" as a fallback).
      if (fallback_bundles_.count(e.path().stem().string()) != 0) continue;
      inbox_refusals.push_back(
          {{"bundle", e.path().stem().string()}, {"reason", read_small(e.path(), 2000)}});
    }
  }
  json delivered = json::object();
  for (const auto& [c, v] : highest_delivered_)
    delivered[c] = v.to_string();
  const std::string agent = json{{"machine", config_.machine},
                                 {"bucket", bucket_},
                                 {"label", config_.ring},
                                 {"hosts", host_reports_.size()},
                                 {"delivered", delivered},
                                 {"refusals", refusals},
                                 {"host_refusals", inbox_refusals},
                                 {"fetched",
                                  {{"delta_bytes", counters_.delta_fetch_bytes.load()},
                                   {"full_bytes", counters_.full_fetch_bytes.load()},
                                   {"delta_fetches", counters_.delta_fetches.load()},
                                   {"full_fetches", counters_.fetches.load()},
                                   {"delta_fallbacks", counters_.delta_fallbacks.load()}}}}
                                .dump();
  if (agent != agent_report_) {
    agent_report_ = agent;
    reports_dirty_ = true;
  }
}

std::chrono::milliseconds Agent::keepalive_interval() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(config_.lease_ttl) / 3;
}

void Agent::publish_reports() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_etcd_try_) return;
  auto failed = [&](const fleet::EtcdStatus& st) {
    ++counters_.etcd_errors;
    log_->warn("reporting to etcd: {}", st.message);
    next_etcd_try_ = now + backoff(etcd_failures_++);
    reports_dirty_ = true;
  };
  if (lease_ != 0 && now >= next_keepalive_) {
    std::int64_t ttl = 0;
    const auto st = etcd_->lease_keepalive(lease_.load(), &ttl);
    if (!st.ok()) return failed(st);
    if (ttl <= 0) {
      log_->warn("lease {} expired; reporting under a new one", lease_.load());
      lease_ = 0;
    } else {
      next_keepalive_ = now + keepalive_interval();
    }
  }
  if (lease_ == 0) {
    std::int64_t granted = 0;
    const auto st = etcd_->lease_grant(config_.lease_ttl, &granted);
    if (!st.ok()) return failed(st);
    lease_ = granted;
    if (!known_written_) {
      // A record without a lease: the fleet view names this machine
      // unreachable once its reports are gone.
      const std::string me =
          nlohmann::json{{"machine", config_.machine}, {"bucket", bucket_}, {"label", config_.ring}}
              .dump();
      if (const auto k = etcd_->put(keys_.known(config_.machine), me); !k.ok()) return failed(k);
      known_written_ = true;
    }
    next_keepalive_ = now + keepalive_interval();
    reports_dirty_ = true;
    // Reports under an older lease of this machine are stale.
    std::vector<fleet::KeyValue> old;
    const std::string mine = keys_.machines() + config_.machine + "/hosts/";
    if (etcd_->range(mine, fleet::prefix_end(mine), &old).ok()) {
      for (const auto& kv : old) {
        if (kv.lease != lease_) (void)etcd_->delete_range(kv.key);
      }
    }
  }
  if (!reports_dirty_) return;
  std::vector<fleet::KeyValue> existing;
  const std::string mine = keys_.machines() + config_.machine + "/hosts/";
  if (const auto st = etcd_->range(mine, fleet::prefix_end(mine), &existing); !st.ok()) {
    return failed(st);
  }
  for (const auto& kv : existing) {
    const int pid = std::atoi(kv.key.substr(mine.size()).c_str());
    if (host_reports_.count(pid) == 0) {
      if (const auto st = etcd_->delete_range(kv.key); !st.ok()) return failed(st);
    }
  }
  for (const auto& [pid, report] : host_reports_) {
    bool same = false;
    for (const auto& kv : existing) {
      if (kv.key == keys_.host(config_.machine, pid) && kv.value == report && kv.lease == lease_) {
        same = true;
      }
    }
    if (same) continue;
    if (const auto st = etcd_->put(keys_.host(config_.machine, pid), report, lease_); !st.ok()) {
      return failed(st);
    }
  }
  if (const auto st = etcd_->put(keys_.agent(config_.machine), agent_report_, lease_); !st.ok()) {
    return failed(st);
  }
  reports_dirty_ = false;
  etcd_failures_ = 0;
}

void Agent::work_loop() {
  while (!stop_) {
    std::map<std::string, fleet::DesiredState> desired;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, config_.board_interval, [&] { return stop_.load() || changed_; });
      if (stop_) return;
      changed_ = false;
      desired = desired_;
      for (const auto& [component, why] : desired_errors_)
        refuse(component, "", "desired state unreadable: " + why);
    }
    try {
      apply_revocations();
      for (const auto& [component, d] : desired)
        deliver(d);
      observe_hosts();
      publish_reports();
    } catch (const std::exception& e) {
      log_->error("agent work: {}", e.what());
    }
  }
}

std::string Agent::metrics_text() const {
  std::ostringstream out;
  const auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << v << "\n";
  };
  counter("graft_agent_deliveries_total", "Bundles written into host inboxes.",
          counters_.deliveries.load());
  counter("graft_agent_refusals_total", "Releases or objects refused by the agent.",
          counters_.refusals.load());
  counter("graft_agent_fetches_total", "Full objects fetched from the object server.",
          counters_.fetches.load());
  counter("graft_agent_fetch_bytes_total", "Object bytes fetched from the object server.",
          counters_.fetch_bytes.load());
  counter("graft_agent_fetch_delta_bytes_total", "Delta bytes fetched (hosts held the base).",
          counters_.delta_fetch_bytes.load());
  counter("graft_agent_fetch_full_bytes_total", "Full object bytes fetched.",
          counters_.full_fetch_bytes.load());
  counter("graft_agent_delta_fetches_total", "Deltas fetched from the object server.",
          counters_.delta_fetches.load());
  counter("graft_agent_delta_fallbacks_total",
          "Releases whose delta could not be fetched or applied, sent as the full object.",
          counters_.delta_fallbacks.load());
  counter("graft_agent_rollbacks_total", "Host rollbacks the agent observed.",
          counters_.rollbacks_seen.load());
  counter("graft_agent_etcd_errors_total", "Failed etcd requests.", counters_.etcd_errors.load());
  counter("graft_agent_etcd_requests_total", "Requests sent to etcd.", etcd_requests());
  out << "# HELP graft_host_serving Versions served by this machine's hosts (1 per host and "
         "component).\n# TYPE graft_host_serving gauge\n";
  if (!config_.run_dir.empty()) {
    try {
      for (const auto& h : HostDirectory(config_.run_dir).live_hosts()) {
        if (!h.snapshot) continue;
        for (const auto& c : h.snapshot->components) {
          out << "graft_host_serving{host=\"" << h.snapshot->name << "\",pid=\"" << h.pid
              << "\",component=\"" << c.name << "\",version=\"" << c.version << "\",state=\""
              << c.state << "\"} 1\n";
        }
      }
    } catch (const std::exception&) {
      // The counters above still answer.
    }
  }
  return out.str();
}

}  // namespace graft::agent
