#include <graft/journal.hpp>

#include <graft/manifest.hpp>

#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
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
  put("mode", e.mode);
  const std::string line = j.dump() + "\n";
  std::lock_guard lock(mu_);
  // One write of a whole line with O_APPEND: lines never interleave.
  detail::UniqueFd fd(::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return false;
  return detail::write_all(fd.get(), line.data(), line.size());
}

long long Journal::drop_torn_tail() {
  std::lock_guard lock(mu_);
  detail::UniqueFd fd(::open(file_.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return errno == ENOENT ? 0 : -1;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return -1;
  // Scan back from the end, a block at a time, for the last newline.
  const off_t size = st.st_size;
  off_t end = size;
  char block[4096];
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof block) ? end - sizeof block : 0;
    const auto want = static_cast<std::size_t>(end - start);
    const ssize_t got = ::pread(fd.get(), block, want, start);
    if (got != static_cast<ssize_t>(want)) {
      if (got >= 0) errno = EIO;
      return -1;
    }
    for (std::size_t i = want; i > 0; --i) {
      if (block[i - 1] != '\n') continue;
      const off_t keep = start + static_cast<off_t>(i);
      if (keep == size) return 0;
      if (::ftruncate(fd.get(), keep) != 0 || detail::io().fsync(fd.get()) != 0) return -1;
      return size - keep;
    }
    end = start;
  }
  if (size == 0) return 0;
  // Not one whole line: the crash cut the first.
  if (::ftruncate(fd.get(), 0) != 0 || detail::io().fsync(fd.get()) != 0) return -1;
  return size;
}

}  // namespace graft
