#include "rollout_controller.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

namespace graft::agent {

RolloutController::RolloutController(AgentConfig config, std::shared_ptr<spdlog::logger> logger,
                                     std::function<bool()> rolling,
                                     std::function<std::int64_t()> lease)
    : config_(std::move(config)),
      log_(std::move(logger)),
      rolling_(std::move(rolling)),
      lease_(std::move(lease)),
      keys_(config_.fleet) {}

RolloutController::~RolloutController() {
  stop();
}

void RolloutController::start() {
  etcd_ = std::make_unique<fleet::EtcdClient>(etcd_options(config_));
  thread_ = std::thread([this] { run(); });
}

void RolloutController::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool RolloutController::pause(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !stop_;
}

void RolloutController::run() {
  int failures = 0;
  while (!stop_) {
    // The agent's own lease (its reports' lease) is the candidate's: one
    // keep-alive serves both, and a dead agent's turn ends with it.
    const std::int64_t lease = lease_();
    if (lease == 0) {
      if (!pause(std::chrono::milliseconds(200))) return;
      continue;
    }
    fleet::LeaderKey key;
    const auto st = etcd_->campaign(keys_.controller_election(), lease, config_.machine,
                                    std::chrono::seconds(60), stop_, &key);
    if (!st.ok()) {
      if (st.message != "timed out" &&
          !pause(std::chrono::milliseconds(std::min(5000, 250 << std::min(failures++, 4))))) {
        return;
      }
      continue;
    }
    failures = 0;
    if (lease_() != lease) continue;  // the lease ran out while it waited: not a leader
    log_->info("rollout controller: {} leads", config_.machine);
    leading_ = true;
    lead(lease);
    leading_ = false;
    (void)etcd_->resign(key);
  }
}

void RolloutController::lead(std::int64_t lease) {
  while (!stop_) {
    if (lease_() != lease) {
      log_->warn("rollout controller: {} lost its lease; campaigning again", config_.machine);
      return;
    }
    if (rolling_() && !step()) return;
    if (!pause(std::chrono::milliseconds(300))) return;
  }
}

bool RolloutController::step() {
  std::vector<fleet::KeyValue> desired, reports, known;
  if (!etcd_->range(keys_.desired(), fleet::prefix_end(keys_.desired()), &desired).ok() ||
      !etcd_->range(keys_.machines(), fleet::prefix_end(keys_.machines()), &reports).ok() ||
      !etcd_->range(keys_.known(), fleet::prefix_end(keys_.known()), &known).ok()) {
    return true;  // etcd unreachable: keep the lease ticking and try again
  }
  const std::time_t now = std::time(nullptr);
  for (const auto& kv : desired) {
    fleet::DesiredState d;
    if (!fleet::DesiredState::parse(kv.value, &d) || d.state != fleet::RolloutState::rolling) {
      continue;
    }
    // Known machines without a live report count as unreachable.
    const auto rings = fleet::view_rings(d, reports, known);
    fleet::DesiredState next = d;
    int rolled_back = 0, hosts = 0, ready = 0, machines = 0;
    std::vector<std::string> halting, erring, unreachable;
    for (std::size_t i = 0; i < d.active && i < rings.size(); ++i) {
      unreachable.insert(unreachable.end(), rings[i].unreachable.begin(),
                         rings[i].unreachable.end());
      erring.insert(erring.end(), rings[i].erring.begin(), rings[i].erring.end());
      rolled_back += rings[i].rolled_back;
      hosts += rings[i].hosts;
      ready += rings[i].on_target;
      machines += rings[i].machines;
      halting.insert(halting.end(), rings[i].halting.begin(), rings[i].halting.end());
    }
    if (rolled_back > d.max_rollbacks) {
      next.state = fleet::RolloutState::halted;
      next.halted_by = halting;
      next.note = std::to_string(rolled_back) + " host(s) of ring '" + d.rings[d.active - 1].name +
                  "' rolled " + d.version.to_string() + " back";
    } else if (!erring.empty()) {
      next.state = fleet::RolloutState::halted;
      next.halted_by = erring;
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g%%", 100.0 * d.max_error_rate);
      next.note = std::to_string(erring.size()) + " host(s) of ring '" +
                  d.rings[d.active - 1].name + "' serve " + d.version.to_string() +
                  " with an error rate over the limit of " + limit;
    } else if (!unreachable.empty()) {
      // A machine of the ring with no live report (an agent restarting, or
      // dead): its hosts are unaccounted for, so the ring is not done. A
      // retired machine's known/ key is deleted by the operator.
      next.ring_healthy_since = 0;
      next.note = "waiting for " + std::to_string(unreachable.size()) +
                  " unreachable machine(s) of the active rings: " + unreachable.front() +
                  (unreachable.size() > 1 ? ", ..." : "");
    } else if (ready == hosts && (hosts > 0 || machines == 0)) {
      if (d.ring_healthy_since == 0) {
        next.ring_healthy_since = now;
      } else if (now - d.ring_healthy_since >= d.bake_seconds) {
        next.ring_healthy_since = 0;
        if (d.active >= d.rings.size()) {
          next.state = fleet::RolloutState::complete;
          next.note = "every ring serves " + d.version.to_string();
        } else {
          ++next.active;
          next.note = "promoted to ring '" + d.rings[next.active - 1].name + "'";
        }
      }
    } else if (d.ring_healthy_since != 0) {
      next.ring_healthy_since = 0;
    }
    if (next.to_json() == d.to_json()) continue;
    bool done = false;
    const auto st = etcd_->put_if_unchanged(kv.key, kv.mod_revision, next.to_json(), &done);
    // Only promotions, halts and completion are news; a bake clock is not.
    if (st.ok() && done && (next.active != d.active || next.state != d.state)) {
      log_->info("rollout {} {}: {} ({})", d.component, d.version.to_string(),
                 fleet::to_string(next.state), next.note);
    }
  }
  return true;
}

}  // namespace graft::agent
