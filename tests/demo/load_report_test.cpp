// loadgen's report: per-second numbers, the before/during/after windows
// around marked events, percentiles, and the longest time without an answer.
#include "load_report.hpp"

#include <gtest/gtest.h>

namespace loadgen {
namespace {

using std::chrono::milliseconds;

class LoadReportTest : public ::testing::Test {
 protected:
  Clock::time_point at(int ms) const { return start_ + milliseconds(ms); }
  // An answer that took `latency_ms` and arrived at `done_ms`.
  void answer(LoadRecorder& r, int done_ms, int latency_ms, const char* version) {
    r.answered(at(done_ms - latency_ms), at(done_ms), version, "allow");
  }
  LoadReport report(const std::vector<LoadRecorder>& recorders, std::vector<EventMark> marks) {
    return build_load_report(recorders, std::move(marks), kStartUnixMs, 4.0);
  }

  static constexpr std::int64_t kStartUnixMs = 1'700'000'000'000;
  Clock::time_point start_ = Clock::now();
};

TEST_F(LoadReportTest, CountsEachSecondAndTheVersionsThatAnswered) {
  std::vector<LoadRecorder> recorders(2, LoadRecorder(start_, 4));
  answer(recorders[0], 100, 1, "26.3.1");
  answer(recorders[1], 900, 1, "26.3.1");
  answer(recorders[0], 1500, 1, "26.3.1 (a)");
  recorders[1].failed(at(1600), ErrorKind::connect);
  const auto r = report(recorders, {});
  ASSERT_EQ(r.seconds.size(), 4u);
  EXPECT_EQ(r.seconds[0].summary.requests, 2u);
  EXPECT_EQ(r.seconds[0].summary.versions.at("26.3.1"), 2u);
  EXPECT_EQ(r.seconds[1].summary.requests, 2u);
  EXPECT_EQ(r.seconds[1].summary.errors, 1u);
  EXPECT_EQ(r.seconds[1].summary.error_kinds.at("connect"), 1u);
  EXPECT_EQ(r.total.requests, 4u);
  EXPECT_EQ(r.total.errors, 1u);
  EXPECT_TRUE(r.windows.empty());
}

TEST_F(LoadReportTest, PercentilesUseTheNearestRank) {
  std::vector<LoadRecorder> recorders(1, LoadRecorder(start_, 4));
  for (int i = 1; i <= 100; ++i)
    answer(recorders[0], 200 + i, i, "26.3.1");
  const auto r = report(recorders, {});
  EXPECT_DOUBLE_EQ(r.total.p50_ms, 50.0);
  EXPECT_DOUBLE_EQ(r.total.p99_ms, 99.0);
  EXPECT_DOUBLE_EQ(r.total.max_ms, 100.0);
}

TEST_F(LoadReportTest, MarksSplitTheRunIntoBeforeDuringAndAfter) {
  std::vector<LoadRecorder> recorders(1, LoadRecorder(start_, 4));
  answer(recorders[0], 500, 1, "26.3.1");
  answer(recorders[0], 1500, 1, "26.3.1");
  answer(recorders[0], 2500, 7, "26.3.1 (a)");
  answer(recorders[0], 3500, 1, "26.3.1 (a)");
  // The install runs from 2.2 s to 2.3 s into the run.
  const auto r = report(
      recorders, {{"install_end", kStartUnixMs + 2300}, {"install_start", kStartUnixMs + 2200}});
  ASSERT_EQ(r.windows.size(), 3u);
  EXPECT_EQ(r.windows[0].name, "before");
  EXPECT_EQ(r.windows[0].first_second, 0u);
  EXPECT_EQ(r.windows[0].seconds, 2u);
  EXPECT_EQ(r.windows[0].summary.requests, 2u);
  EXPECT_EQ(r.windows[1].name, "during");
  EXPECT_EQ(r.windows[1].first_second, 2u);
  EXPECT_EQ(r.windows[1].seconds, 1u);
  EXPECT_DOUBLE_EQ(r.windows[1].summary.p99_ms, 7.0);
  EXPECT_EQ(r.windows[2].name, "after");
  EXPECT_EQ(r.windows[2].seconds, 1u);
  EXPECT_EQ(r.seconds[2].marks, (std::vector<std::string>{"install_start", "install_end"}));
}

TEST_F(LoadReportTest, LongestGapSpansTheTimeWithoutAnyAnswer) {
  std::vector<LoadRecorder> recorders(2, LoadRecorder(start_, 4));
  answer(recorders[0], 1000, 1, "26.3.1");
  answer(recorders[1], 1100, 1, "26.3.1");
  answer(recorders[0], 1900, 1, "26.3.1 (a)");
  answer(recorders[1], 3950, 1, "26.3.1 (a)");
  const auto r = report(recorders, {});
  EXPECT_NEAR(r.longest_gap_ms, 2050.0, 0.01);
  EXPECT_NEAR(r.longest_gap_start_s, 1.9, 0.0001);
}

TEST_F(LoadReportTest, ARunWithoutAnswersWasWithoutServiceThroughout) {
  std::vector<LoadRecorder> recorders(1, LoadRecorder(start_, 4));
  recorders[0].failed(at(10), ErrorKind::connect);
  const auto r = report(recorders, {});
  EXPECT_NEAR(r.longest_gap_ms, 4000.0, 0.01);
}

}  // namespace
}  // namespace loadgen
