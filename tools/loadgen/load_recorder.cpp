#include "load_recorder.hpp"

#include <algorithm>

namespace loadgen {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::write:
      return "write";
    case ErrorKind::read:
      return "read";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::http_status:
      return "http_status";
    case ErrorKind::bad_body:
      return "bad_body";
  }
  return "unknown";
}

LoadRecorder::LoadRecorder(Clock::time_point start, std::size_t seconds)
    : start_(start), seconds_(seconds) {}

SecondRecord& LoadRecorder::at(Clock::time_point when) {
  const auto offset = std::chrono::duration_cast<std::chrono::seconds>(when - start_).count();
  // A request that ends just past the run's end counts in its last second.
  const auto index =
      std::clamp<std::int64_t>(offset, 0, static_cast<std::int64_t>(seconds_.size()) - 1);
  return seconds_[static_cast<std::size_t>(index)];
}

void LoadRecorder::answered(Clock::time_point sent, Clock::time_point done,
                            const std::string& version, const std::string& decision) {
  auto& s = at(done);
  ++s.requests;
  s.latencies_us.push_back(static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(done - sent).count()));
  ++s.versions[version];
  ++s.decisions[decision];
  answer_times_us_.push_back(
      std::chrono::duration_cast<std::chrono::microseconds>(done - start_).count());
}

void LoadRecorder::failed(Clock::time_point when, ErrorKind kind) {
  auto& s = at(when);
  ++s.requests;
  ++s.errors;
  ++s.error_kinds[to_string(kind)];
}

}  // namespace loadgen
