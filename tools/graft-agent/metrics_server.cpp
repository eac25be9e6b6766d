#include "metrics_server.hpp"

#include <graft/status.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace graft::agent {

MetricsServer::MetricsServer(const std::string& address, std::function<std::string()> text)
    : text_(std::move(text)) {
  const auto colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  int port = -1;
  try {
    port = colon == std::string::npos ? -1 : std::stoi(address.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535 ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    throw Error(
        Status(ErrorCode::invalid_argument, "metrics address '" + address + "' must be IPv4:PORT"));
  }
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw Error(Status(ErrorCode::io_error, "metrics: cannot listen on " + address));
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void MetricsServer::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    ::close(fd);
  }
}

void MetricsServer::serve(int fd) {
  // Read the request head: at most 8 KiB, at most 2 s.
  std::string head;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    head.append(buf, static_cast<std::size_t>(n));
  }
  std::string status = "404 Not Found", body = "not found\n";
  if (head.rfind("GET /metrics ", 0) == 0 || head.rfind("GET /metrics?", 0) == 0) {
    status = "200 OK";
    try {
      body = text_();
    } catch (const std::exception& e) {
      status = "500 Internal Server Error";
      body = std::string(e.what()) + "\n";
    }
  }
  const std::string reply = "HTTP/1.1 " + status +
                            "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::size_t done = 0;
  while (done < reply.size()) {
    const ssize_t w = ::send(fd, reply.data() + done, reply.size() - done, MSG_NOSIGNAL);
    if (w <= 0) return;
    done += static_cast<std::size_t>(w);
  }
}

}  // namespace graft::agent
