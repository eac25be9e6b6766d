// The fleet as its agents report it, per rollout ring: what the controller
// decides on and what `graftctl fleet status` shows.
#pragma once

#include "desired_state.hpp"
#include "etcd_client.hpp"

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
  std::vector<std::string> refusals;     // machine: reason (agent or host refusals)
};

// `reports`: every key under /graft/<fleet>/machines/ (agent and host
// reports); `known`: every key under /graft/<fleet>/known/.
std::vector<RingView> view_rings(const DesiredState& d, const std::vector<KeyValue>& reports,
                                 const std::vector<KeyValue>& known = {});

}  // namespace graft::fleet
