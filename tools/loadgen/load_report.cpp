#include "load_report.hpp"

#include <algorithm>
#include <cmath>

namespace loadgen {
namespace {

double percentile_ms(const std::vector<std::uint32_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  // Nearest rank.
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted_us.size())));
  return sorted_us[std::clamp<std::size_t>(rank, 1, sorted_us.size()) - 1] / 1000.0;
}

void add_counts(std::map<std::string, std::uint64_t>& into,
                const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [k, v] : from)
    into[k] += v;
}

// Summarises the seconds [first, last) of every recorder.
LatencySummary summarise(const std::vector<LoadRecorder>& recorders, std::size_t first,
                         std::size_t last) {
  LatencySummary s;
  std::vector<std::uint32_t> latencies;
  for (const auto& r : recorders) {
    for (std::size_t i = first; i < last && i < r.seconds().size(); ++i) {
      const auto& sec = r.seconds()[i];
      s.requests += sec.requests;
      s.errors += sec.errors;
      latencies.insert(latencies.end(), sec.latencies_us.begin(), sec.latencies_us.end());
      add_counts(s.versions, sec.versions);
      add_counts(s.decisions, sec.decisions);
      add_counts(s.error_kinds, sec.error_kinds);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  s.p50_ms = percentile_ms(latencies, 0.50);
  s.p99_ms = percentile_ms(latencies, 0.99);
  s.max_ms = latencies.empty() ? 0 : latencies.back() / 1000.0;
  return s;
}

}  // namespace

LoadReport build_load_report(const std::vector<LoadRecorder>& recorders,
                             std::vector<EventMark> marks, std::int64_t start_unix_ms,
                             double duration_s) {
  LoadReport report;
  report.start_unix_ms = start_unix_ms;
  report.marks = std::move(marks);
  // Windows run from the earliest mark to the latest, whatever the order given.
  std::stable_sort(report.marks.begin(), report.marks.end(),
                   [](const EventMark& a, const EventMark& b) { return a.unix_ms < b.unix_ms; });
  const std::size_t seconds = recorders.empty() ? 0 : recorders.front().seconds().size();

  for (std::size_t i = 0; i < seconds; ++i) {
    SecondReport sec{i, summarise(recorders, i, i + 1), {}};
    for (const auto& m : report.marks) {
      const double t = static_cast<double>(m.unix_ms - start_unix_ms) / 1000.0;
      if (t >= static_cast<double>(i) && t < static_cast<double>(i + 1)) {
        sec.marks.push_back(m.name);
      }
    }
    report.seconds.push_back(std::move(sec));
  }
  report.total = summarise(recorders, 0, seconds);

  // "during" is every second that overlaps the span from the first mark to
  // the last; "before" and "after" are the whole seconds either side.
  if (!report.marks.empty()) {
    const double first_t =
        static_cast<double>(report.marks.front().unix_ms - start_unix_ms) / 1000.0;
    const double last_t = static_cast<double>(report.marks.back().unix_ms - start_unix_ms) / 1000.0;
    const auto clamp_second = [&](double t) {
      return static_cast<std::size_t>(std::clamp(t, 0.0, static_cast<double>(seconds)));
    };
    const std::size_t during_first = clamp_second(std::floor(first_t));
    const std::size_t during_end = std::max(during_first + 1, clamp_second(std::floor(last_t) + 1));
    const auto window = [&](const char* name, std::size_t first, std::size_t end) {
      end = std::min(end, seconds);
      first = std::min(first, end);
      report.windows.push_back({name, first, end - first, summarise(recorders, first, end)});
    };
    window("before", 0, during_first);
    window("during", during_first, during_end);
    window("after", during_end, seconds);
  }

  // Every answer's arrival, merged; the end of the run closes the last gap
  // (a server that never came back was without service until the end).
  // The start opens the first one, so a run without answers reports its
  // whole length.
  std::vector<std::int64_t> answers{0};
  for (const auto& r : recorders) {
    answers.insert(answers.end(), r.answer_times_us().begin(), r.answer_times_us().end());
  }
  std::sort(answers.begin(), answers.end());
  answers.push_back(static_cast<std::int64_t>(duration_s * 1e6));
  for (std::size_t i = 1; i < answers.size(); ++i) {
    const double gap_ms = static_cast<double>(answers[i] - answers[i - 1]) / 1000.0;
    if (gap_ms > report.longest_gap_ms) {
      report.longest_gap_ms = gap_ms;
      report.longest_gap_start_s = static_cast<double>(answers[i - 1]) / 1e6;
    }
  }
  return report;
}

}  // namespace loadgen
