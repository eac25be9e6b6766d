// The host's control socket: accepts connections (same user or root only,
// by SO_PEERCRED), reads length-prefixed requests with a deadline, and
// answers each, malformed ones with an error, without ever stopping.
#pragma once

#include <graft/control_protocol.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace graft::control {

struct ControlServerOptions {
  // A connection must deliver each request, and take each reply, within
  // this long; past it the host closes the connection.
  std::chrono::milliseconds deadline{5000};
  // Connections beyond this get a "busy" reply and are closed.
  std::size_t max_connections = 64;
};

struct ControlServerCounters {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;   // well-formed requests answered
  std::uint64_t malformed = 0;  // answered with a protocol error
  std::uint64_t denied = 0;     // peers of another user
  std::uint64_t timed_out = 0;  // connections closed at their deadline
};

class ControlServer {
 public:
  // Answers a decoded request: the handler must call `reply` exactly once,
  // from any thread, with an encoded reply payload.
  using Reply = std::function<void(std::string payload)>;
  using Handler = std::function<void(const Request& request, Reply reply)>;

  // Binds `socket_path` (0600; an old file there is replaced) and starts
  // serving on a thread of its own. Throws graft::Error when it cannot.
  ControlServer(std::filesystem::path socket_path, Handler handler, ControlServerOptions options,
                std::shared_ptr<spdlog::logger> logger);
  // Stops serving, closes every connection, removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::filesystem::path& socket_path() const noexcept;
  ControlServerCounters counters() const noexcept;

  struct Impl;  // public so that the connections in the .cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace graft::control
