// The journal: one JSON object per line in <state_dir>/journal.jsonl, for
// every install, refusal (with its reason), rollback (by operator or
// probation), commit, drain and unload.
//
// A crash (or power loss) in the middle of an append can leave the last line
// cut short. The Installer calls drop_torn_tail() when it opens, so every
// line a later host writes, and every line before it, is whole JSON.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct JournalEntry {
  std::string
      event;  // installed, refused, rolled_back, committed, draining, unloaded, restored, ...
  std::string component;
  std::string version;
  std::string from_version;
  std::string by;
  std::string code;    // for refusals: the ErrorCode's name
  std::string reason;  // for refusals and fallbacks: the message
  std::string bundle;  // bundle folder, when one is involved
  std::string mode;    // for swaps and rollbacks: the mode that ran (immediate, quiesce)
};

class Journal {
 public:
  explicit Journal(std::filesystem::path file) : file_(std::move(file)) {}
  // Appends one line (with a UTC timestamp); false if it could not be written.
  bool append(const JournalEntry& entry);
  // Cuts off a last line without its newline (a crash's torn write); returns
  // how many bytes were dropped, 0 if the file ends cleanly or does not exist,
  // -1 (with errno set) if the file could not be read or truncated.
  long long drop_torn_tail();
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
  std::mutex mu_;
};

}  // namespace graft

#pragma GCC visibility pop
