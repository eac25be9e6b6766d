// The run's results: per second, per window around the marked events
// (before, during, after), and in total.
#pragma once

#include "event_marks.hpp"
#include "load_recorder.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loadgen {

struct LatencySummary {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::map<std::string, std::uint64_t> versions;
  std::map<std::string, std::uint64_t> decisions;
  std::map<std::string, std::uint64_t> error_kinds;
};

struct SecondReport {
  std::size_t second = 0;  // since the start of the run
  LatencySummary summary;
  std::vector<std::string> marks;  // events that fell in this second
};

struct WindowReport {
  std::string name;  // before, during, after
  std::size_t first_second = 0;
  std::size_t seconds = 0;
  LatencySummary summary;
};

struct LoadReport {
  std::int64_t start_unix_ms = 0;
  std::vector<SecondReport> seconds;
  std::vector<WindowReport> windows;  // empty without marks
  std::vector<EventMark> marks;
  LatencySummary total;
  // The longest stretch with no answer at all, and when it began.
  double longest_gap_ms = 0;
  double longest_gap_start_s = 0;
};

LoadReport build_load_report(const std::vector<LoadRecorder>& recorders,
                             std::vector<EventMark> marks, std::int64_t start_unix_ms,
                             double duration_s);

}  // namespace loadgen
