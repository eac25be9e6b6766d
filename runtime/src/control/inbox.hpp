// The inbox: a folder the host watches (inotify) for patch bundles. It
// reports each bundle folder once, when the bundle is there in full: moved
// in whole (a rename into the folder), or complete by its manifest's size
// and hash. A bundle still being copied is left alone; one that stays
// incomplete past a limit is reported anyway, so that its verification
// refuses it with a reason.
//
// Bundles the host is done with leave the inbox: to refused/NAME (with
// refused/NAME.reason beside it, created with O_EXCL | O_NOFOLLOW so that a
// planted symlink or file is never written through) or to installed/NAME.
// The inbox folder must be the host user's and not writable by others.
#pragma once

#include <graft/status.hpp>

#include "file_io.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace spdlog {
class logger;
}

namespace graft::control {

// What a look at a bundle folder found.
enum class BundleCompleteness {
  incomplete,  // parts missing or shorter than the manifest says: wait
  complete,    // every part there, the shared object matches the manifest
  mismatched,  // at full size but not matching the manifest: wait a little, then report
};

struct InboxOptions {
  // A full look at the folder, in case inotify dropped events.
  std::chrono::milliseconds rescan_interval{1000};
  // A bundle at full size whose hash does not match is reported after it
  // has stopped changing for this long.
  std::chrono::milliseconds settle{1500};
  // A bundle that stays incomplete, unchanged, this long is reported.
  std::chrono::milliseconds incomplete_limit{60000};
};

class Inbox {
 public:
  using Probe = std::function<BundleCompleteness(const std::filesystem::path& bundle)>;
  // Called on the inbox's thread with the bundle folder's name and path.
  using Ready = std::function<void(const std::string& name, const std::filesystem::path& path)>;
  // Called when a reported bundle left the inbox by other means (deleted,
  // moved away by someone).
  using Gone = std::function<void(const std::string& name)>;

  // Creates the folder if needed and starts watching; bundles already
  // there are looked at first. Throws graft::Error when it cannot watch.
  Inbox(std::filesystem::path dir, Probe probe, Ready ready, Gone gone, InboxOptions options,
        std::shared_ptr<spdlog::logger> logger);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  // Moves a bundle to refused/ and writes the reason beside it.
  Status set_aside(const std::string& name, const std::string& reason);
  // Moves a bundle to installed/.
  Status retire(const std::string& name);

  // Names that are never bundles (the folders bundles are moved to).
  static bool reserved(const std::string& name) noexcept;

 private:
  struct Entry {
    bool whole = false;     // renamed in as a complete folder
    bool reported = false;  // handed to `ready_`
    int watch = -1;         // inotify watch on the folder itself
    std::chrono::steady_clock::time_point changed;
  };

  void run();
  void rescan();
  void touched(const std::string& name, bool moved_in);
  void consider(const std::string& name);
  // Renames the bundle into `to_folder` under a name free for it and its
  // .reason; `target_dir_fd` (if not null) gets that folder open.
  Status move_out(const std::string& name, const std::string& to_folder,
                  std::filesystem::path* moved_to, detail::UniqueFd* target_dir_fd);

  std::filesystem::path dir_;
  Probe probe_;
  Ready ready_;
  Gone gone_;
  InboxOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  int inotify_ = -1;
  int wake_ = -1;  // eventfd: stop
  std::mutex mu_;  // entries_ (the thread and set_aside/retire)
  std::map<std::string, Entry> entries_;
  std::map<int, std::string> watches_;  // watch descriptor -> bundle name
  std::thread thread_;
};

}  // namespace graft::control
