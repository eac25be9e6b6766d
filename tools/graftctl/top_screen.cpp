#include "top_screen.hpp"

#include "exit_codes.hpp"
#include "host_selection.hpp"
#include "status_view.hpp"

#include <graft/status_board.hpp>

#include <nlohmann/json.hpp>

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

namespace graftctl {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

// Puts the terminal in non-canonical, no-echo mode so that a single q is
// read at once; restores it however top ends.
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const noexcept { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Ctrl-C and SIGTERM end the loop instead of the process, so that the
// terminal is restored; the previous handlers come back afterwards.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: poll returns at once
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Waits up to `interval`; true when the user asked to quit.
bool wait_or_quit(std::chrono::milliseconds interval, bool keyboard) {
  const auto until = std::chrono::steady_clock::now() + interval;
  while (g_stop == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int n = ::poll(keyboard ? &p : nullptr, keyboard ? 1 : 0, static_cast<int>(left.count()));
    if (n > 0 && keyboard) {
      char c = 0;
      if (::read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) return true;
    }
  }
  return true;
}

std::string clock_time() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

int run_top(const TopOptions& options) {
  g_stop = 0;
  if (!options.host.empty()) {
    const HostSelection first = select_hosts(options.run_dir, options.host);
    if (first.exit_code != 0) {
      std::cerr << "graftctl: " << first.error << "\n";
      return first.exit_code;
    }
  }
  StopSignals signals;
  RawTerminal terminal;
  const bool screen = ::isatty(STDOUT_FILENO) != 0 && !options.json;

  // Previous reading per host and component, for call rates: calls, the
  // board's refresh time they were read at, and the last rate. Rates are
  // over the board's own refresh times, so a frame drawn between two
  // refreshes repeats the last rate instead of showing 0.
  struct Reading {
    std::uint64_t calls = 0;
    std::chrono::system_clock::time_point refreshed;
    std::optional<double> rate;
  };
  std::map<std::pair<int, std::string>, Reading> previous;
  for (long i = 0; options.iterations == 0 || i < options.iterations; ++i) {
    const HostSelection sel = select_hosts(options.run_dir, options.host);
    std::ostringstream frame;
    // Calls per second per host and component since the previous frame
    // (none on the first).
    std::map<int, CallRates> rates;
    for (const auto& h : sel.hosts) {
      if (!h.snapshot) continue;
      for (const auto& c : h.snapshot->components) {
        const auto key = std::make_pair(h.pid, c.name);
        auto it = previous.find(key);
        if (it == previous.end()) {
          previous[key] = {c.calls, h.snapshot->refreshed, std::nullopt};
          continue;
        }
        Reading& r = it->second;
        const double secs =
            std::chrono::duration<double>(h.snapshot->refreshed - r.refreshed).count();
        if (secs > 0 && c.calls >= r.calls) {
          r.rate = static_cast<double>(c.calls - r.calls) / secs;
          r.calls = c.calls;
          r.refreshed = h.snapshot->refreshed;
        }
        if (r.rate) rates[h.pid][c.name] = *r.rate;
      }
    }
    if (options.json) {
      nlohmann::json hosts = nlohmann::json::array();
      for (const auto& h : sel.hosts) {
        if (!h.snapshot) continue;
        nlohmann::json host = nlohmann::json::parse(graft::to_json(*h.snapshot));
        for (auto& c : host["components"]) {
          const auto& host_rates = rates[h.pid];
          auto r = host_rates.find(c.value("component", ""));
          c["calls_per_second"] =
              r == host_rates.end() ? nlohmann::json() : nlohmann::json(r->second);
        }
        hosts.push_back(std::move(host));
      }
      frame << nlohmann::json{{"hosts", hosts}}.dump() << "\n";
    } else {
      if (screen) frame << "\x1b[H\x1b[2J";
      frame << "graftctl top  " << clock_time() << "  " << sel.hosts.size() << " host"
            << (sel.hosts.size() == 1 ? "" : "s") << "  (q or Ctrl-C quits)\n\n";
      if (sel.hosts.empty()) frame << no_host_message(options.run_dir) << "\n";
      for (const auto& h : sel.hosts) {
        print_host_status(frame, h, &rates[h.pid]);
        frame << "\n";
      }
    }
    std::cout << frame.str() << std::flush;
    if (options.iterations != 0 && i + 1 >= options.iterations) break;
    if (wait_or_quit(options.interval, terminal.active())) break;
  }
  return kExitOk;
}

}  // namespace graftctl
