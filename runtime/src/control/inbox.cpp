#include "inbox.hpp"

#include "file_io.hpp"
#include "owned_folder.hpp"
#include "printable.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace graft::control {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kRootEvents =
    IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;
constexpr std::uint32_t kBundleEvents =
    IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ATTRIB | IN_ONLYDIR;
// While a bundle is still arriving, look at it this often even without events.
constexpr std::chrono::milliseconds kArrivingTick{200};

}  // namespace

bool Inbox::reserved(const std::string& name) noexcept {
  return name.empty() || name[0] == '.' || name == "refused" || name == "installed";
}

Inbox::Inbox(fs::path dir, Probe probe, Ready ready, Gone gone, InboxOptions options,
             std::shared_ptr<spdlog::logger> logger)
    : dir_(std::move(dir)),
      probe_(std::move(probe)),
      ready_(std::move(ready)),
      gone_(std::move(gone)),
      options_(options),
      logger_(std::move(logger)) {
  // Another user who can write here could fill it with FIFOs and symlinks,
  // or swap a bundle for another between checks: the host's own only.
  if (Status st = detail::ensure_owned_folder(dir_, "inbox"); !st) throw Error(st);
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_ < 0 || wake_ < 0 || ::inotify_add_watch(inotify_, dir_.c_str(), kRootEvents) < 0) {
    const std::string why = std::strerror(errno);
    if (inotify_ >= 0) ::close(inotify_);
    if (wake_ >= 0) ::close(wake_);
    throw Error(Status(ErrorCode::io_error, "cannot watch inbox " + dir_.string() + ": " + why));
  }
  thread_ = std::thread([this] { run(); });
}

Inbox::~Inbox() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(inotify_);
  ::close(wake_);
}

void Inbox::run() {
  rescan();
  auto next_rescan = Clock::now() + options_.rescan_interval;
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    bool arriving = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, e] : entries_)
        arriving |= !e.reported;
    }
    const auto now = Clock::now();
    auto until = next_rescan;
    if (arriving && now + kArrivingTick < until) until = now + kArrivingTick;
    const auto wait = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count());
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {wake_, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      logger_->error("inbox {}: poll failed: {}", printable(dir_.string()), std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;

    std::vector<std::pair<std::string, bool>> touched_names;  // name, moved in whole
    std::vector<std::string> gone_names;
    bool overflow = false;
    if (fds[0].revents != 0) {
      for (;;) {
        const ssize_t len = ::read(inotify_, buf, sizeof buf);
        if (len <= 0) break;
        for (char* p = buf; p < buf + len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          if ((ev->mask & IN_Q_OVERFLOW) != 0) {
            overflow = true;
            continue;
          }
          std::lock_guard lock(mu_);
          auto w = watches_.find(ev->wd);
          if (w != watches_.end()) {
            // Something changed inside a bundle folder.
            if ((ev->mask & IN_IGNORED) != 0) {
              watches_.erase(w);
            } else {
              touched_names.emplace_back(w->second, false);
            }
            continue;
          }
          if (ev->len == 0 || (ev->mask & IN_ISDIR) == 0) continue;
          const std::string name(ev->name);
          if (reserved(name)) continue;
          if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
            touched_names.emplace_back(name, (ev->mask & IN_MOVED_TO) != 0);
          } else if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
            gone_names.push_back(name);
          }
        }
      }
    }
    for (const auto& name : gone_names) {
      bool reported = false;
      {
        std::lock_guard lock(mu_);
        auto it = entries_.find(name);
        if (it == entries_.end()) continue;
        reported = it->second.reported;
        if (it->second.watch >= 0) {
          ::inotify_rm_watch(inotify_, it->second.watch);
          watches_.erase(it->second.watch);
        }
        entries_.erase(it);
      }
      if (reported) gone_(name);
    }
    for (const auto& [name, moved_in] : touched_names)
      touched(name, moved_in);
    if (overflow || Clock::now() >= next_rescan) {
      rescan();
      next_rescan = Clock::now() + options_.rescan_interval;
    }

    // Bundles still arriving: look again (settle and incomplete limits).
    std::vector<std::string> waiting;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, e] : entries_) {
        if (!e.reported) waiting.push_back(name);
      }
    }
    for (const auto& name : waiting)
      consider(name);
  }
}

void Inbox::rescan() {
  std::error_code ec;
  std::vector<std::string> present;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code is_dir_ec;
    if (reserved(name) || !e.is_directory(is_dir_ec)) continue;
    present.push_back(name);
  }
  std::vector<std::string> vanished;
  std::vector<std::string> fresh;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (std::find(present.begin(), present.end(), it->first) == present.end()) {
        if (it->second.reported) vanished.push_back(it->first);
        if (it->second.watch >= 0) {
          ::inotify_rm_watch(inotify_, it->second.watch);
          watches_.erase(it->second.watch);
        }
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& name : present) {
      if (entries_.count(name) == 0) fresh.push_back(name);
    }
  }
  for (const auto& name : vanished)
    gone_(name);
  for (const auto& name : fresh)
    touched(name, false);
}

void Inbox::touched(const std::string& name, bool moved_in) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = entries_.try_emplace(name);
  Entry& e = it->second;
  if (inserted) {
    e.watch = ::inotify_add_watch(inotify_, (dir_ / name).c_str(), kBundleEvents);
    if (e.watch >= 0) watches_[e.watch] = name;
    logger_->info("inbox: bundle {} {}", printable(name), moved_in ? "moved in" : "arriving");
  }
  e.whole |= moved_in;
  e.changed = Clock::now();
  lock.unlock();
  consider(name);
}

void Inbox::consider(const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.reported) return;
  const bool whole = it->second.whole;
  const auto changed = it->second.changed;
  lock.unlock();

  const fs::path path = dir_ / name;
  std::string why;
  bool report = whole;
  if (!report) {
    const auto quiet = Clock::now() - changed;
    switch (probe_(path)) {
      case BundleCompleteness::complete:
        report = true;
        break;
      case BundleCompleteness::mismatched:
        report = quiet >= options_.settle;
        break;
      case BundleCompleteness::incomplete:
        report = quiet >= options_.incomplete_limit;
        if (report) {
          logger_->warn("inbox: bundle {} stayed incomplete for {} ms; looking at it as it is",
                        printable(name), options_.incomplete_limit.count());
        }
        break;
    }
  }
  if (!report) return;
  lock.lock();
  it = entries_.find(name);
  if (it == entries_.end() || it->second.reported) return;
  it->second.reported = true;
  lock.unlock();
  ready_(name, path);
}

Status Inbox::move_out(const std::string& name, const std::string& to_folder, fs::path* moved_to,
                       detail::UniqueFd* target_dir_fd) {
  const fs::path target_dir = dir_ / to_folder;
  // refused/ and installed/ are the host's: a symlink planted in their place
  // would send bundles (and refusal records) elsewhere.
  if (Status st = detail::ensure_owned_folder(target_dir, "inbox folder", /*no_symlink=*/true);
      !st) {
    return st;
  }
  detail::UniqueFd from(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  detail::UniqueFd to(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from || !to) {
    return Status(ErrorCode::io_error,
                  "cannot open " + printable(target_dir.string()) + ": " + std::strerror(errno));
  }
  // A name free for the bundle and for its .reason beside it (whatever
  // someone may have put there, it is never replaced).
  auto taken = [&](const std::string& n) {
    struct stat st {};
    return ::fstatat(to.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ||
           ::fstatat(to.get(), (n + ".reason").c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  };
  std::string target = name;
  for (int n = 1; taken(target); ++n) {
    if (n > 1000) {
      return Status(ErrorCode::io_error, "no free name for bundle " + printable(name) + " in " +
                                             printable(target_dir.string()));
    }
    target = name + "." + std::to_string(n);
  }
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      if (it->second.watch >= 0) {
        ::inotify_rm_watch(inotify_, it->second.watch);
        watches_.erase(it->second.watch);
      }
      entries_.erase(it);
    }
  }
  if (::renameat(from.get(), name.c_str(), to.get(), target.c_str()) != 0) {
    return Status(ErrorCode::io_error, "cannot move bundle " + printable((dir_ / name).string()) +
                                           " to " + printable((target_dir / target).string()) +
                                           ": " + std::strerror(errno));
  }
  *moved_to = target_dir / target;
  if (target_dir_fd != nullptr) *target_dir_fd = std::move(to);
  return {};
}

Status Inbox::set_aside(const std::string& name, const std::string& reason) {
  fs::path target;
  detail::UniqueFd refused;
  Status st = move_out(name, "refused", &target, &refused);
  if (!st.ok()) return st;
  // Written whole under a temporary name, then linked to its own name:
  // created with O_EXCL | O_NOFOLLOW relative to the refused/ folder's fd
  // (never opened if something is there), and a reader never sees half a
  // record. One line, control characters escaped.
  const std::string file = target.filename().string() + ".reason";
  const std::string temp = "." + file + ".writing";
  const std::string line = printable(reason) + "\n";
  ::unlinkat(refused.get(), temp.c_str(), 0);  // one a crash left; ours to remove
  detail::UniqueFd out(::openat(refused.get(), temp.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  const bool written = out && detail::write_all(out.get(), line.data(), line.size());
  out.reset();
  const bool linked =
      written && ::linkat(refused.get(), temp.c_str(), refused.get(), file.c_str(), 0) == 0;
  const int err = errno;
  ::unlinkat(refused.get(), temp.c_str(), 0);
  if (!linked) {
    return Status(ErrorCode::io_error,
                  "cannot write " + printable(target.string()) + ".reason: " + std::strerror(err));
  }
  return {};
}

Status Inbox::retire(const std::string& name) {
  fs::path target;
  return move_out(name, "installed", &target, nullptr);
}

}  // namespace graft::control
