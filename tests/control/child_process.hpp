// Real processes for the control tests: test hosts that run until stopped,
// and graftctl runs whose exit code and output are checked.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace graft::testing {

inline std::vector<char*> c_args(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args)
    out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Reads from `fd` until EOF or `until`; false on timeout.
inline bool drain_fd(int fd, std::string* out, std::chrono::steady_clock::time_point until) {
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return true;
    out->append(buf, static_cast<std::size_t>(r));
  }
}

struct RunResult {
  int code = -1;  // exit code; -1 when killed or timed out
  std::string out;
  std::string err;
};

// Runs a program to completion. `env` entries (NAME=VALUE) are added to
// the environment; `as_uid`, when set, is taken with setuid in the child
// before exec (the test must run as root).
inline RunResult run_program(std::vector<std::string> args,
                             const std::vector<std::string>& env = {},
                             std::optional<uid_t> as_uid = std::nullopt,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  RunResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return r;
  auto argv = c_args(args);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (const auto& e : env)
      ::putenv(const_cast<char*>(e.c_str()));
    if (as_uid && (::setgid(65534) != 0 || ::setuid(*as_uid) != 0)) _exit(126);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  const auto until = std::chrono::steady_clock::now() + timeout;
  // stderr is drained after stdout; both are small for these commands.
  const bool done = drain_fd(out_pipe[0], &r.out, until) && drain_fd(err_pipe[0], &r.err, until);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (!done) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (done && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  return r;
}

// A long-running child whose first stdout line says it is ready.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& o) noexcept { *this = std::move(o); }
  ChildProcess& operator=(ChildProcess&& o) noexcept {
    std::swap(pid_, o.pid_);
    std::swap(out_, o.out_);
    return *this;
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // Starts `args` with stderr going to `log_file`; waits for a first line
  // on stdout. Returns that line ("" on failure).
  std::string start(std::vector<std::string> args, const std::string& log_file,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return "";
    auto argv = c_args(args);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[1], 1);
      const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) ::dup2(log, 2);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(p[1]);
    out_ = p[0];
    std::string line;
    const auto until = std::chrono::steady_clock::now() + timeout;
    char c = 0;
    while (std::chrono::steady_clock::now() < until) {
      pollfd pf{out_, POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return "";
  }

  pid_t pid() const noexcept { return pid_; }

  // Sends `signo` and waits; returns the exit code (-1 if killed by a signal).
  int stop(int signo = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signo);
    const auto until = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(5000);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // SIGKILL without reaping: the process stays a zombie until reap().
  void kill_hard() { ::kill(pid_, SIGKILL); }
  void reap() {
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace graft::testing
