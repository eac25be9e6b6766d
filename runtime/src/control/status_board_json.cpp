#include <graft/status_board.hpp>

#include <nlohmann/json.hpp>

namespace graft {
namespace {

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string to_json(const BoardSnapshot& s) {
  using nlohmann::json;
  json components = json::array();
  for (const auto& c : s.components) {
    components.push_back({{"component", c.name},
                          {"interface", c.interface_id},
                          {"version", c.version},
                          {"previous_version", c.previous_version},
                          {"state", c.state},
                          {"calls", c.calls},
                          {"errors", c.errors},
                          {"in_flight", c.in_flight},
                          {"probation_left_ms", c.probation_left.count()},
                          {"last_event", c.last_event}});
  }
  json pending = json::array();
  for (const auto& p : s.pending) {
    pending.push_back({{"bundle", p.bundle},
                       {"component", p.component},
                       {"version", p.version},
                       {"path", p.path}});
  }
  json j = {{"pid", s.pid},
            {"name", s.name},
            {"started_unix_ms", unix_ms(s.started)},
            {"refreshed_unix_ms", unix_ms(s.refreshed)},
            {"refreshes", s.refreshes},
            {"auto_install", s.auto_install},
            {"inbox", s.has_inbox},
            {"components", std::move(components)},
            {"pending", std::move(pending)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace graft
