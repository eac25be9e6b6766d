#include "report_output.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace loadgen {
namespace {

std::string format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

// 1234567 -> "1,234,567"
std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "26.3.1" when one version answered; "26.3.1 x1,204, 26.3.1 (a) x8,310"
// when several did.
std::string versions_text(const LatencySummary& s) {
  if (s.versions.empty()) return "-";
  if (s.versions.size() == 1) return s.versions.begin()->first;
  std::string out;
  for (const auto& [v, n] : s.versions) {
    if (!out.empty()) out += ", ";
    out += v + " x" + with_commas(n);
  }
  return out;
}

nlohmann::json summary_json(const LatencySummary& s) {
  return {{"requests", s.requests},   {"errors", s.errors},          {"p50_ms", s.p50_ms},
          {"p99_ms", s.p99_ms},       {"max_ms", s.max_ms},          {"versions", s.versions},
          {"decisions", s.decisions}, {"error_kinds", s.error_kinds}};
}

void table_row(std::ostream& out, const std::string& label, const LatencySummary& s,
               const std::string& tail) {
  char line[256];
  std::snprintf(line, sizeof line, "  %-11s %10s %8s %9.2f %9.2f %9.2f   ", label.c_str(),
                with_commas(s.requests).c_str(), with_commas(s.errors).c_str(), s.p50_ms, s.p99_ms,
                s.max_ms);
  out << line << versions_text(s) << tail << "\n";
}

constexpr const char* kColumns =
    "requests   errors    p50 ms    p99 ms    max ms   versions answering\n";

}  // namespace

void write_table(const LoadReport& report, std::ostream& out) {
  out << "  second      " << kColumns;
  for (const auto& sec : report.seconds) {
    std::string tail;
    for (const auto& m : sec.marks)
      tail += (tail.empty() ? "   <- " : ", ") + m;
    table_row(out, std::to_string(sec.second), sec.summary, tail);
  }
  if (!report.windows.empty()) {
    out << "\n  window      " << kColumns;
    for (const auto& w : report.windows) {
      std::string label = w.name;
      if (w.seconds == 1) label += " " + std::to_string(w.first_second);
      if (w.seconds > 1) {
        label += " " + std::to_string(w.first_second) + "-" +
                 std::to_string(w.first_second + w.seconds - 1);
      }
      table_row(out, label, w.summary, "");
    }
  }
  out << "\n";
  table_row(out, "total", report.total, "");
  out << "  longest time without an answer: " << format("%.1f", report.longest_gap_ms)
      << " ms (from s " << format("%.3f", report.longest_gap_start_s) << ")\n";
}

void write_json_lines(const LoadReport& report, std::ostream& out) {
  for (const auto& sec : report.seconds) {
    auto line = summary_json(sec.summary);
    line["second"] = sec.second;
    line["unix_ms"] = report.start_unix_ms + static_cast<std::int64_t>(sec.second) * 1000;
    line["marks"] = sec.marks;
    out << line.dump() << "\n";
  }
  nlohmann::json windows = nlohmann::json::object();
  for (const auto& w : report.windows) {
    auto j = summary_json(w.summary);
    j["first_second"] = w.first_second;
    j["seconds"] = w.seconds;
    windows[w.name] = std::move(j);
  }
  nlohmann::json marks = nlohmann::json::array();
  for (const auto& m : report.marks)
    marks.push_back({{"name", m.name}, {"unix_ms", m.unix_ms}});
  out << nlohmann::json{{"summary", summary_json(report.total)},
                        {"windows", std::move(windows)},
                        {"marks", std::move(marks)},
                        {"start_unix_ms", report.start_unix_ms},
                        {"longest_gap_ms", report.longest_gap_ms},
                        {"longest_gap_start_s", report.longest_gap_start_s}}
             .dump()
      << "\n";
}

void write_summary_vars(const LoadReport& report, std::ostream& out) {
  const auto& t = report.total;
  out << "REQUESTS=" << t.requests << "\n";
  out << "FAILED=" << t.errors << "\n";
  out << "P50_MS=" << format("%.2f", t.p50_ms) << "\n";
  out << "P99_MS=" << format("%.2f", t.p99_ms) << "\n";
  out << "MAX_MS=" << format("%.2f", t.max_ms) << "\n";
  for (const auto& w : report.windows) {
    std::string key = w.name;
    for (char& c : key)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out << "REQUESTS_" << key << "=" << w.summary.requests << "\n";
    out << "FAILED_" << key << "=" << w.summary.errors << "\n";
    out << "P99_" << key << "_MS=" << format("%.2f", w.summary.p99_ms) << "\n";
  }
  out << "LONGEST_GAP_MS=" << format("%.1f", report.longest_gap_ms) << "\n";
  std::string versions;
  for (const auto& [v, n] : t.versions)
    versions += (versions.empty() ? "" : ";") + v;
  out << "VERSIONS='" << versions << "'\n";
  std::string decisions;
  for (const auto& [d, n] : t.decisions) {
    decisions += (decisions.empty() ? "" : ";") + d + ":" + std::to_string(n);
  }
  out << "DECISIONS='" << decisions << "'\n";
}

}  // namespace loadgen
