#include "host_selection.hpp"

#include "exit_codes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

namespace graftctl {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::string pid_list(const std::vector<graft::HostEntry>& hosts) {
  std::string out;
  for (const auto& h : hosts) {
    if (!out.empty()) out += ", ";
    out += describe(h);
  }
  return out;
}

}  // namespace

std::string host_list(const std::vector<graft::HostEntry>& hosts) {
  return pid_list(hosts);
}

std::string describe(const graft::HostEntry& host) {
  const std::string name = host.snapshot ? host.snapshot->name : std::string("(starting)");
  return name + " (pid " + std::to_string(host.pid) + ")";
}

std::string no_host_message(const std::filesystem::path& run_dir) {
  const std::string uid = std::to_string(::geteuid());
  struct stat st {};
  if (::stat(run_dir.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return "permission denied reading the run dir " + run_dir.string() + " (you are uid " + uid +
             "): hosts of another user are not visible; run graftctl as that user";
    }
  } else if (::access(run_dir.c_str(), R_OK | X_OK) != 0 && errno == EACCES) {
    return "permission denied reading the run dir " + run_dir.string() + " (owned by uid " +
           std::to_string(st.st_uid) + ", you are uid " + uid +
           "): hosts of another user are not visible; run graftctl as that user";
  }
  return "no graft host of this user (uid " + uid + ") is running (run dir " + run_dir.string() +
         "); hosts of another user are not visible: run graftctl as that user, or give its run "
         "dir with --run-dir";
}

std::vector<graft::HostEntry> live_hosts(const std::filesystem::path& run_dir) {
  graft::HostDirectory dir(run_dir);
  std::vector<int> removed;
  auto hosts = dir.live_hosts(&removed);
  for (int pid : removed) {
    std::cerr << "graftctl: removed the socket and board left by dead host pid " << pid << "\n";
  }
  return hosts;
}

HostSelection select_hosts(const std::filesystem::path& run_dir, const std::string& host) {
  HostSelection sel;
  auto hosts = live_hosts(run_dir);
  if (host.empty()) {
    sel.hosts = std::move(hosts);
    return sel;
  }
  for (auto& h : hosts) {
    const bool match =
        all_digits(host) ? std::to_string(h.pid) == host : (h.snapshot && h.snapshot->name == host);
    if (match) sel.hosts.push_back(std::move(h));
  }
  if (sel.hosts.empty()) {
    sel.exit_code = kExitNotFound;
    sel.error = "no running host is named '" + host + "' (run 'graftctl hosts' to list them; run " +
                "dir " + run_dir.string() + ")";
  }
  return sel;
}

HostSelection select_one_host(const std::filesystem::path& run_dir, const std::string& host) {
  HostSelection sel = select_hosts(run_dir, host);
  if (sel.exit_code != 0) return sel;
  if (sel.hosts.empty()) {
    sel.exit_code = kExitNotFound;
    sel.error = no_host_message(run_dir);
  } else if (sel.hosts.size() > 1) {
    sel.exit_code = kExitUsage;
    sel.error = host.empty() ? std::to_string(sel.hosts.size()) +
                                   " hosts are running: " + pid_list(sel.hosts) +
                                   "; choose one with --host PID|NAME"
                             : "several hosts are named '" + host + "': " + pid_list(sel.hosts) +
                                   "; choose one by pid with --host PID";
    sel.hosts.clear();
  }
  return sel;
}

}  // namespace graftctl
