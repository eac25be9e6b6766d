#include "status_view.hpp"

#include "host_selection.hpp"
#include "text_table.hpp"

#include <cstdio>

namespace graftctl {

std::string format_duration(std::chrono::seconds d) {
  long long s = d.count() < 0 ? 0 : d.count();
  const long long days = s / 86400, hours = s / 3600 % 24, minutes = s / 60 % 60, secs = s % 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m " + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

void print_host_status(std::ostream& out, const graft::HostEntry& host, const CallRates* rates) {
  if (!host.snapshot) {
    out << "host pid " << host.pid << ": starting (no status board yet)\n";
    return;
  }
  const graft::BoardSnapshot& s = *host.snapshot;
  const auto up = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() - s.started);
  out << "host " << describe(host) << "  up " << format_duration(up) << "  auto-install "
      << (s.auto_install ? "on" : "off") << (s.has_inbox ? "" : " (no inbox)") << "  pending "
      << s.pending.size() << "\n";
  std::vector<std::string> header = {"COMPONENT", "VERSION", "PREVIOUS", "STATE",
                                     "CALLS",     "ERRORS",  "IN-FLIGHT"};
  if (rates != nullptr) header.push_back("CALLS/S");
  header.push_back("LAST EVENT");
  TextTable table(header);
  table.numeric(4).numeric(5).numeric(6);
  if (rates != nullptr) table.numeric(7);
  for (const auto& c : s.components) {
    std::vector<std::string> row = {c.name,
                                    c.version.empty() ? "-" : c.version,
                                    c.previous_version.empty() ? "-" : c.previous_version,
                                    c.state,
                                    std::to_string(c.calls),
                                    std::to_string(c.errors),
                                    std::to_string(c.in_flight)};
    if (rates != nullptr) {
      auto it = rates->find(c.name);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", it == rates->end() ? 0.0 : it->second);
      row.push_back(it == rates->end() ? "-" : buf);
    }
    row.push_back(c.last_event.empty() ? "-" : c.last_event);
    table.add(std::move(row));
  }
  if (table.empty()) {
    out << "  (no components)\n";
  } else {
    table.print(out);
  }
  if (!s.pending.empty()) {
    out << "pending bundles (install with 'graftctl approve BUNDLE'):\n";
    TextTable pending({"BUNDLE", "COMPONENT", "VERSION", "PATH"});
    for (const auto& p : s.pending)
      pending.add({p.bundle, p.component, p.version, p.path});
    pending.print(out);
  }
}

}  // namespace graftctl
