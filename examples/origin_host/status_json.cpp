#include "status_json.hpp"

#include <string>

namespace origin_host {

nlohmann::json to_json(const graft::SlotStatus& slot) {
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : slot.versions) {
    versions.push_back({{"version", v.version},
                        {"state", std::string(graft::to_string(v.state))},
                        {"in_flight", v.in_flight},
                        {"errors", v.errors},
                        {"artifact", v.artifact}});
  }
  return {{"component", slot.component},
          {"interface", slot.interface_id},
          {"interface_major", slot.interface_major},
          {"state", std::string(graft::to_string(slot.state))},
          {"version", slot.version},
          {"previous_version", slot.previous_version},
          {"calls", slot.calls},
          {"errors", slot.errors},
          {"in_flight", slot.in_flight},
          {"probation_left_ms", slot.probation_left.count()},
          {"versions", std::move(versions)},
          {"stayed_mapped", slot.stayed_mapped},
          {"last_event", slot.last_event}};
}

nlohmann::json to_json(const std::vector<graft::SlotStatus>& slots) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : slots)
    out.push_back(to_json(s));
  return out;
}

nlohmann::json to_json(const graft::ControlPlane& control) {
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& p : control.pending()) {
    pending.push_back({{"name", p.name},
                       {"path", p.path.string()},
                       {"component", p.component},
                       {"version", p.version},
                       {"applies_to", p.applies_to}});
  }
  return {{"host_name", control.host_name()},
          {"socket", control.socket_path().string()},
          {"status_board", control.board_name()},
          {"auto_install", control.auto_install()},
          {"pending", std::move(pending)}};
}

}  // namespace origin_host
