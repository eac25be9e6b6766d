// The rollout controller: every agent runs one, one of them leads through
// etcd's election API (its campaign is tied to a lease, so a dead leader's
// turn ends with the lease). The leader promotes each rollout ring by ring
// when every host of the rings reached so far serves the target committed
// and stayed so for the bake time, and halts it when hosts of those rings
// roll the version back. All of a rollout's state is in its desired-state
// key, written with a compare-and-swap, so a new leader resumes exactly
// where the last one stopped and a deposed one cannot overwrite it.
#pragma once

#include "agent_config.hpp"
#include "desired_state.hpp"
#include "etcd_client.hpp"
#include "fleet_keys.hpp"
#include "fleet_view.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace spdlog {
class logger;
}

namespace graft::agent {

class RolloutController {
 public:
  // `rolling` says whether any rollout is rolling, from the agent's watch of
  // the desired state: while none is, the leader sends etcd nothing.
  // `lease` is the agent's current lease (0: none yet); the campaign is
  // tied to it.
  RolloutController(AgentConfig config, std::shared_ptr<spdlog::logger> logger,
                    std::function<bool()> rolling, std::function<std::int64_t()> lease);
  ~RolloutController();
  void start();
  void stop();
  bool leading() const noexcept { return leading_.load(); }
  std::uint64_t etcd_requests() const { return etcd_ ? etcd_->requests_sent() : 0; }

 private:
  void run();
  void lead(std::int64_t lease);
  // One look at every rollout; false when leadership was lost.
  bool step();
  bool pause(std::chrono::milliseconds d);

  AgentConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<bool()> rolling_;
  std::function<std::int64_t()> lease_;
  fleet::FleetKeys keys_;
  std::unique_ptr<fleet::EtcdClient> etcd_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leading_{false};
  std::thread thread_;
};

}  // namespace graft::agent
