// The fleet as its agents report it, per rollout ring: what the controller
// decides on and what `graftctl fleet status` shows.
#pragma once

#include "desired_state.hpp"
#include "etcd_client.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace graft::fleet {

struct RingView {
  std::string name;
  int machines = 0;
  int hosts = 0;
  int on_target = 0;                     // serving the target, committed
  int probation = 0;                     // serving the target, on probation
  int pending = 0;                       // holding it for approval
  int rolled_back = 0;                   // rolled it back
  int other = 0;                         // serving something else
  std::vector<std::string> unreachable;  // known machines with no live report (lease gone)
  std::vector<std::string> halting;      // machine/host that rolled it back
  // machine/host(pid) serving the version with an error rate over the
  // rollout's limit, with the rate ("... errs on 12.5% of 400 calls").
  std::vector<std::string> erring;
  std::vector<std::string> refusals;  // machine: reason (agent or host refusals)
  // Bytes the ring's agents fetched since they started (every release):
  // deltas (their hosts held the base) and full objects.
  std::uint64_t delta_bytes = 0;
  std::uint64_t full_bytes = 0;
};

// `reports`: every key under /graft/<fleet>/machines/ (agent and host
// reports); `known`: every key under /graft/<fleet>/known/.
std::vector<RingView> view_rings(const DesiredState& d, const std::vector<KeyValue>& reports,
                                 const std::vector<KeyValue>& known = {});

}  // namespace graft::fleet
