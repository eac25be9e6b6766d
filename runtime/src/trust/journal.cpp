#include <graft/journal.hpp>

#include <graft/manifest.hpp>

#include "file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <ctime>

namespace graft {

bool Journal::append(const JournalEntry& e) {
  nlohmann::json j = {{"time", format_utc(std::time(nullptr))}, {"event", e.event}};
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("component", e.component);
  put("version", e.version);
  put("from", e.from_version);
  put("by", e.by);
  put("code", e.code);
  put("reason", e.reason);
  put("bundle", e.bundle);
  const std::string line = j.dump() + "\n";
  std::lock_guard lock(mu_);
  // One write of a whole line with O_APPEND: lines never interleave.
  detail::UniqueFd fd(::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return false;
  return detail::write_all(fd.get(), line.data(), line.size());
}

}  // namespace graft
