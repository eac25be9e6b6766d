// A tiny HTTP responder for Prometheus: GET /metrics answers the agent's
// metrics text; anything else is 404. One request per connection, bounded
// in size and time; loopback unless configured otherwise.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace graft::agent {

class MetricsServer {
 public:
  // `address` is HOST:PORT (port 0: any free one). Throws graft::Error.
  MetricsServer(const std::string& address, std::function<std::string()> text);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const noexcept { return port_; }

 private:
  void run();
  void serve(int fd);

  std::function<std::string()> text_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace graft::agent
