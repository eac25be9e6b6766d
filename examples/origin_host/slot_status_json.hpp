// The runtime's slot snapshots as JSON, for GET /status.
#pragma once

#include <graft/slot_status.hpp>

#include <nlohmann/json.hpp>

#include <vector>

namespace origin_host {

nlohmann::json to_json(const graft::SlotStatus& slot);
nlohmann::json to_json(const std::vector<graft::SlotStatus>& slots);

}  // namespace origin_host
