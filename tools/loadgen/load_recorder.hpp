// What one client saw, second by second. Each client owns its recorder, so
// recording takes no lock; recorders are merged after the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loadgen {

using Clock = std::chrono::steady_clock;

enum class ErrorKind { connect, write, read, timeout, http_status, bad_body };
const char* to_string(ErrorKind kind) noexcept;

struct SecondRecord {
  std::uint64_t requests = 0;  // answered and failed
  std::uint64_t errors = 0;
  std::vector<std::uint32_t> latencies_us;        // answered requests
  std::map<std::string, std::uint64_t> versions;  // component version in the answers
  std::map<std::string, std::uint64_t> decisions;
  std::map<std::string, std::uint64_t> error_kinds;
};

class LoadRecorder {
 public:
  LoadRecorder(Clock::time_point start, std::size_t seconds);

  void answered(Clock::time_point sent, Clock::time_point done, const std::string& version,
                const std::string& decision);
  void failed(Clock::time_point when, ErrorKind kind);

  const std::vector<SecondRecord>& seconds() const noexcept { return seconds_; }
  // When each answer arrived, in microseconds since the start.
  const std::vector<std::int64_t>& answer_times_us() const noexcept { return answer_times_us_; }

 private:
  SecondRecord& at(Clock::time_point when);

  Clock::time_point start_;
  std::vector<SecondRecord> seconds_;
  std::vector<std::int64_t> answer_times_us_;
};

}  // namespace loadgen
