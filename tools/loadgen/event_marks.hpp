// Events marked on the run's timeline by another program (the demo marks
// the start and end of an install), as "NAME UNIX_MS" lines in a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace loadgen {

struct EventMark {
  std::string name;
  std::int64_t unix_ms = 0;
};

// In file order. Missing file: no marks. Lines that do not parse are skipped.
std::vector<EventMark> read_event_marks(const std::filesystem::path& file);

}  // namespace loadgen
