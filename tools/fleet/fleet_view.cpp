#include "fleet_view.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

namespace graft::fleet {

using json = nlohmann::json;

std::vector<RingView> view_rings(const DesiredState& d, const std::vector<KeyValue>& reports,
                                 const std::vector<KeyValue>& known) {
  std::vector<RingView> rings;
  for (const auto& r : d.rings) {
    RingView v;
    v.name = r.name;
    rings.push_back(std::move(v));
  }
  // machine -> ring, from the agent reports.
  std::map<std::string, int> ring_of_machine;
  for (const auto& kv : reports) {
    if (kv.key.size() < 6 || kv.key.compare(kv.key.size() - 6, 6, "/agent") != 0) continue;
    const auto j = json::parse(kv.value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const std::string machine = j.value("machine", std::string());
    const int ring = ring_of(d.rings, j.value("bucket", 0u), j.value("label", std::string()));
    if (ring < 0) continue;
    ring_of_machine[machine] = ring;
    auto& view = rings[static_cast<std::size_t>(ring)];
    ++view.machines;
    if (const auto f = j.find("fetched"); f != j.end() && f->is_object()) {
      view.delta_bytes += f->value("delta_bytes", std::uint64_t{0});
      view.full_bytes += f->value("full_bytes", std::uint64_t{0});
    }
    for (const auto& r : j.value("refusals", json::array())) {
      if (r.value("component", std::string()) == d.component &&
          r.value("version", std::string()) == d.version.to_string()) {
        view.refusals.push_back(machine + ": " + r.value("reason", std::string()));
      }
    }
    for (const auto& r : j.value("host_refusals", json::array())) {
      const std::string bundle = r.value("bundle", std::string());
      if (bundle.rfind(d.component + "-" + d.version.file_suffix() + "-", 0) == 0) {
        view.refusals.push_back(machine + ": host refused: " + r.value("reason", std::string()));
      }
    }
  }
  for (const auto& kv : known) {
    const auto j = json::parse(kv.value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const std::string machine = j.value("machine", std::string());
    if (ring_of_machine.count(machine) != 0) continue;
    const int ring = ring_of(d.rings, j.value("bucket", 0u), j.value("label", std::string()));
    if (ring >= 0) rings[static_cast<std::size_t>(ring)].unreachable.push_back(machine);
  }
  const std::string target = d.version.to_string();
  for (const auto& kv : reports) {
    if (kv.key.find("/hosts/") == std::string::npos) continue;
    const auto j = json::parse(kv.value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const std::string machine = j.value("machine", std::string());
    const auto it = ring_of_machine.find(machine);
    if (it == ring_of_machine.end()) continue;
    auto& view = rings[static_cast<std::size_t>(it->second)];
    const std::string who = machine + "/" + j.value("host", std::string()) + "(" +
                            std::to_string(j.value("pid", 0)) + ")";
    for (const auto& c : j.value("components", json::array())) {
      if (c.value("name", std::string()) != d.component) continue;
      ++view.hosts;
      bool rolled = false;
      for (const auto& r : j.value("rolled_back", json::array())) {
        if (r.is_string() && r.get<std::string>() == d.component + " " + target) rolled = true;
      }
      bool pending = false;
      for (const auto& p : j.value("pending", json::array())) {
        if (p.value("component", std::string()) == d.component &&
            p.value("version", std::string()) == target) {
          pending = true;
        }
      }
      const std::string version = c.value("version", std::string());
      const std::string state = c.value("state", std::string());
      // Counted on the version only (the agent's baseline is where the host
      // started serving it).
      const auto calls = c.value("version_calls", std::uint64_t{0});
      const auto errors = c.value("version_errors", std::uint64_t{0});
      if (d.max_error_rate >= 0 && version == target && calls >= kMinCallsForErrorRate &&
          static_cast<double>(errors) > d.max_error_rate * static_cast<double>(calls)) {
        char rate[32];
        std::snprintf(rate, sizeof rate, "%.1f%%",
                      100.0 * static_cast<double>(errors) / static_cast<double>(calls));
        view.erring.push_back(who + " errs on " + rate + " of " + std::to_string(calls) + " calls");
      }
      if (rolled) {
        ++view.rolled_back;
        view.halting.push_back(who);
      } else if (version == target && state == "serving") {
        ++view.on_target;
      } else if (version == target) {
        ++view.probation;
      } else if (pending) {
        ++view.pending;
      } else {
        ++view.other;
      }
    }
  }
  return rings;
}

}  // namespace graft::fleet
