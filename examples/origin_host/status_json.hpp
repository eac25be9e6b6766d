// The runtime's and the control plane's status as JSON, for GET /status.
#pragma once

#include <graft/control_plane.hpp>
#include <graft/slot_status.hpp>

#include <nlohmann/json.hpp>

#include <vector>

namespace origin_host {

nlohmann::json to_json(const graft::SlotStatus& slot);
nlohmann::json to_json(const std::vector<graft::SlotStatus>& slots);
// Socket, board, auto-install policy and the bundles held for approval.
nlohmann::json to_json(const graft::ControlPlane& control);

}  // namespace origin_host
