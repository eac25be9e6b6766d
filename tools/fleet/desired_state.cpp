#include "desired_state.hpp"

#include "fleet_keys.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

namespace graft::fleet {

using json = nlohmann::json;

Status parse_rings(const std::string& text, std::vector<Ring>* out) {
  std::vector<Ring> rings;
  std::stringstream in(text);
  double last = 0;
  for (std::string part; std::getline(in, part, ',');) {
    const auto colon = part.find(':');
    if (colon == std::string::npos) {
      return Status(ErrorCode::invalid_argument,
                    "ring '" + part + "' must be NAME:PERCENT% (e.g. canary:1%)");
    }
    Ring r;
    r.name = part.substr(0, colon);
    if (const auto bad = check_name("ring name", r.name); !bad.empty()) {
      return Status(ErrorCode::invalid_argument, bad);
    }
    std::string pct = part.substr(colon + 1);
    if (!pct.empty() && pct.back() == '%') pct.pop_back();
    try {
      std::size_t used = 0;
      r.percent = std::stod(pct, &used);
      if (used != pct.size()) throw std::invalid_argument(pct);
    } catch (...) {
      return Status(ErrorCode::invalid_argument,
                    "ring '" + r.name + "': '" + part.substr(colon + 1) + "' is not a percentage");
    }
    if (!(r.percent > 0 && r.percent <= 100) || r.percent < last) {
      return Status(ErrorCode::invalid_argument,
                    "ring '" + r.name + "': percentages are cumulative, rising, in (0, 100]");
    }
    last = r.percent;
    rings.push_back(std::move(r));
  }
  if (rings.empty()) return Status(ErrorCode::invalid_argument, "no rings given");
  if (rings.back().percent != 100) {
    return Status(ErrorCode::invalid_argument,
                  "the last ring must be 100% (every machine belongs to a ring)");
  }
  *out = std::move(rings);
  return Status();
}

std::string rings_to_string(const std::vector<Ring>& rings) {
  std::string s;
  for (const auto& r : rings) {
    std::ostringstream pct;
    pct << r.percent;
    s += (s.empty() ? "" : ",") + r.name + ":" + pct.str() + "%";
  }
  return s;
}

std::uint32_t machine_bucket(const std::string& machine_id) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : machine_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::uint32_t>(h % 10000);
}

int ring_of(const std::vector<Ring>& rings, std::uint32_t bucket, const std::string& label) {
  if (!label.empty()) {
    for (std::size_t i = 0; i < rings.size(); ++i) {
      if (rings[i].name == label) return static_cast<int>(i);
    }
  }
  for (std::size_t i = 0; i < rings.size(); ++i) {
    if (bucket < static_cast<std::uint32_t>(std::lround(rings[i].percent * 100))) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::string to_string(RolloutState s) {
  switch (s) {
    case RolloutState::rolling:
      return "rolling";
    case RolloutState::paused:
      return "paused";
    case RolloutState::halted:
      return "halted";
    case RolloutState::aborted:
      return "aborted";
    case RolloutState::complete:
      return "complete";
  }
  return "rolling";
}

Status parse_error_rate(const std::string& text, double* out) {
  const auto bad = [&] {
    return Status(ErrorCode::invalid_argument,
                  "error rate '" + text + "' is not a share of calls: 5%, 0.5% or 0.05");
  };
  if (text.empty()) return bad();
  const bool percent = text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(number, &used);
  } catch (const std::exception&) {
    return bad();
  }
  if (used != number.size() || !(v >= 0)) return bad();
  if (percent) v /= 100.0;
  if (v > 1.0) return bad();
  *out = v;
  return Status();
}

bool parse_rollout_state(const std::string& text, RolloutState* out) {
  for (auto s : {RolloutState::rolling, RolloutState::paused, RolloutState::halted,
                 RolloutState::aborted, RolloutState::complete}) {
    if (to_string(s) == text) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string DesiredState::to_json() const {
  json rj = json::array();
  for (const auto& r : rings)
    rj.push_back({{"name", r.name}, {"percent", r.percent}});
  return json{{"component", component},
              {"version", version.to_string()},
              {"rings", rj},
              {"active", active},
              {"state", fleet::to_string(state)},
              {"bake_seconds", bake_seconds},
              {"max_rollbacks", max_rollbacks},
              {"max_error_rate", max_error_rate},
              {"started", started},
              {"ring_healthy_since", ring_healthy_since},
              {"halted_by", halted_by},
              {"note", note}}
      .dump();
}

Status DesiredState::parse(const std::string& text, DesiredState* out) {
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::invalid_argument, "desired state is not a JSON object");
  }
  try {
    DesiredState d;
    d.component = j.at("component").get<std::string>();
    std::string error;
    const auto v = Version::parse(j.at("version").get<std::string>(), &error);
    if (!v) return Status(ErrorCode::bad_version, "desired state: " + error);
    d.version = *v;
    d.rings.clear();
    for (const auto& r : j.at("rings")) {
      d.rings.push_back({r.at("name").get<std::string>(), r.at("percent").get<double>()});
    }
    if (d.rings.empty()) return Status(ErrorCode::invalid_argument, "desired state: no rings");
    d.active = j.at("active").get<std::size_t>();
    if (!parse_rollout_state(j.at("state").get<std::string>(), &d.state)) {
      return Status(ErrorCode::invalid_argument, "desired state: unknown state");
    }
    d.bake_seconds = j.value("bake_seconds", std::int64_t{0});
    d.max_rollbacks = j.value("max_rollbacks", 0);
    d.max_error_rate = j.value("max_error_rate", -1.0);
    d.started = j.value("started", std::time_t{0});
    d.ring_healthy_since = j.value("ring_healthy_since", std::time_t{0});
    d.halted_by = j.value("halted_by", std::vector<std::string>{});
    d.note = j.value("note", std::string());
    *out = std::move(d);
    return Status();
  } catch (const std::exception& e) {
    return Status(ErrorCode::invalid_argument, std::string("desired state: ") + e.what());
  }
}

}  // namespace graft::fleet
