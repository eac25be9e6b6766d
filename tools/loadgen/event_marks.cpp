#include "event_marks.hpp"

#include <fstream>
#include <sstream>

namespace loadgen {

std::vector<EventMark> read_event_marks(const std::filesystem::path& file) {
  std::vector<EventMark> marks;
  if (file.empty()) return marks;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    EventMark mark;
    if (fields >> mark.name >> mark.unix_ms) marks.push_back(std::move(mark));
  }
  return marks;
}

}  // namespace loadgen
