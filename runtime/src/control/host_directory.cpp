#include <graft/host_directory.hpp>
#include <graft/status.hpp>

#include "file_io.hpp"
#include "untrusted_file.hpp"

#include <boost/interprocess/shared_memory_object.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace graft {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSocketPrefix = "host-";
constexpr std::string_view kSocketSuffix = ".sock";
// Where POSIX shared memory appears on Linux; scanned for orphaned boards.
const fs::path kShmDir = "/dev/shm";

// Fields of /proc/PID/stat after the command name (which may hold spaces).
std::vector<std::string> proc_stat_fields(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;)
    fields.push_back(f);
  return fields;
}

std::optional<int> parse_pid(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int pid = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  return pid > 0 ? std::optional<int>(pid) : std::nullopt;
}

// The pid in a socket's file name (host-<pid>.sock), if it is one.
std::optional<int> socket_pid(std::string_view name) {
  if (!name.starts_with(kSocketPrefix) || !name.ends_with(kSocketSuffix)) return std::nullopt;
  return parse_pid(
      name.substr(kSocketPrefix.size(), name.size() - kSocketPrefix.size() - kSocketSuffix.size()));
}

// FNV-1a: a short, stable tag of the run directory for board names.
std::string dir_tag(const fs::path& dir) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : dir.string()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Removes a board segment only if it is this user's: never a squatter's
// (which root could unlink), never another user's host's.
bool remove_own_board(const std::string& name) {
  struct stat st {};
  if (::lstat((kShmDir / name).c_str(), &st) == 0 && st.st_uid != ::geteuid()) return false;
  boost::interprocess::shared_memory_object::remove(name.c_str());
  return true;
}

}  // namespace

fs::path default_run_dir() {
  if (const char* env = std::getenv("GRAFT_RUN_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "graft";
  }
  return fs::path("/tmp") / ("graft-" + std::to_string(::getuid()));
}

std::uint64_t process_start_ticks(int pid) {
  const auto fields = proc_stat_fields(pid);
  // starttime is field 22 of stat; fields[] starts at field 3 (state).
  if (fields.size() < 20) return 0;
  return std::strtoull(fields[19].c_str(), nullptr, 10);
}

bool process_alive(int pid, std::uint64_t start_ticks) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  const auto fields = proc_stat_fields(pid);
  if (fields.empty()) return false;
  // A zombie has exited; its parent just has not reaped it yet.
  if (fields[0] == "Z" || fields[0] == "X") return false;
  if (start_ticks != 0 && fields.size() >= 20 &&
      std::strtoull(fields[19].c_str(), nullptr, 10) != start_ticks) {
    return false;
  }
  return true;
}

HostDirectory::HostDirectory(fs::path run_dir) : run_dir_(std::move(run_dir)) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(run_dir_, ec);
  if (ec) canonical = fs::absolute(run_dir_);
  board_prefix_ = "graft." + std::to_string(::getuid()) + "." + dir_tag(canonical) + ".";
}

fs::path HostDirectory::socket_path(int pid) const {
  return run_dir_ / (std::string(kSocketPrefix) + std::to_string(pid) + std::string(kSocketSuffix));
}

fs::path HostDirectory::board_record(int pid) const {
  return run_dir_ / (std::string(kSocketPrefix) + std::to_string(pid) + ".board");
}

std::string HostDirectory::board_name(int pid) const {
  // A host whose usual board name was taken by another user says in the
  // (owner-only) run directory which name it used instead.
  detail::UntrustedFile f = detail::UntrustedFile::open(board_record(pid), 256);
  std::string recorded;
  if (f.read_all(&recorded)) {
    while (!recorded.empty() && recorded.back() == '\n')
      recorded.pop_back();
    if (recorded.starts_with(board_prefix_ + std::to_string(pid) + ".") &&
        recorded.find('/') == std::string::npos) {
      return recorded;
    }
  }
  return board_prefix_ + std::to_string(pid);
}

void HostDirectory::forget_board_name(int pid) const {
  std::error_code ec;
  fs::remove(board_record(pid), ec);
}

Status HostDirectory::record_board_name(int pid, const std::string& name) const {
  std::string error;
  if (!detail::write_file_atomically(board_record(pid), name + "\n", &error)) {
    return Status(ErrorCode::io_error, error);
  }
  return Status();
}

void HostDirectory::prepare() const {
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  struct stat st {};
  if (::lstat(run_dir_.c_str(), &st) != 0) {
    throw Error(Status(ErrorCode::io_error, "cannot create run directory " + run_dir_.string() +
                                                ": " + std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw Error(
        Status(ErrorCode::io_error, "run directory " + run_dir_.string() + " is not a directory"));
  }
  // In a shared /tmp, someone else could have made the folder first.
  if (st.st_uid != ::geteuid()) {
    throw Error(Status(ErrorCode::io_error, "run directory " + run_dir_.string() +
                                                " belongs to uid " + std::to_string(st.st_uid) +
                                                ", not to this user"));
  }
  if ((st.st_mode & 0077) != 0 && ::chmod(run_dir_.c_str(), 0700) != 0) {
    throw Error(Status(ErrorCode::io_error, "cannot make run directory " + run_dir_.string() +
                                                " owner-only: " + std::strerror(errno)));
  }
}

std::vector<int> HostDirectory::remove_dead() const {
  std::vector<int> removed;
  std::set<int> seen;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir_, ec)) {
    const auto pid = socket_pid(e.path().filename().string());
    if (!pid) continue;
    seen.insert(*pid);
    // The board's start time tells a reused pid from the host that made it.
    std::uint64_t ticks = 0;
    if (auto board = read_status_board(board_name(*pid))) ticks = board->process_start_ticks;
    if (process_alive(*pid, ticks)) continue;
    std::error_code rm;
    fs::remove(e.path(), rm);
    remove_own_board(board_name(*pid));
    fs::remove(board_record(*pid), rm);
    removed.push_back(*pid);
  }
  // Boards whose socket is already gone (the host died between the two).
  for (const auto& e : fs::directory_iterator(kShmDir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(board_prefix_)) continue;
    // <prefix><pid>, or <prefix><pid>.<random> when the first was taken.
    std::string_view rest = std::string_view(name).substr(board_prefix_.size());
    rest = rest.substr(0, rest.find('.'));
    const auto pid = parse_pid(rest);
    if (!pid || seen.count(*pid) != 0) continue;
    std::uint64_t ticks = 0;
    if (auto board = read_status_board(name)) ticks = board->process_start_ticks;
    if (process_alive(*pid, ticks)) continue;
    if (!remove_own_board(name)) continue;
    removed.push_back(*pid);
  }
  return removed;
}

std::vector<HostEntry> HostDirectory::live_hosts(std::vector<int>* removed) const {
  auto gone = remove_dead();
  if (removed != nullptr) *removed = std::move(gone);
  std::vector<HostEntry> hosts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir_, ec)) {
    const auto pid = socket_pid(e.path().filename().string());
    if (!pid) continue;
    HostEntry h;
    h.pid = *pid;
    h.socket = e.path();
    h.board = board_name(*pid);
    // Only a board of the socket's owner speaks for that host: one another
    // user planted under the predictable name is not read.
    struct stat socket_st {
    }, board_st{};
    if (::lstat(e.path().c_str(), &socket_st) == 0 &&
        ::lstat((kShmDir / h.board).c_str(), &board_st) == 0 &&
        socket_st.st_uid == board_st.st_uid) {
      h.snapshot = read_status_board(h.board);
    }
    hosts.push_back(std::move(h));
  }
  std::sort(hosts.begin(), hosts.end(),
            [](const HostEntry& a, const HostEntry& b) { return a.pid < b.pid; });
  return hosts;
}

}  // namespace graft
