// A small multi-threaded HTTP/1.1 server (Boost.Beast) with keep-alive and a
// clean stop: it stops accepting, closes idle connections, and answers every
// request it has already read before closing that connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace origin_host {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// Called on an I/O thread, concurrently; must not throw.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

class Session;

class HttpServer {
 public:
  // Binds and listens at once (port 0 picks a free port), so that port()
  // is known before start(). Throws boost::system::system_error.
  HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
             RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  unsigned short port() const noexcept;
  void start();
  // Stops accepting and winds the connections down; returns at once.
  void stop();
  // Open connections (0 once a stop has finished).
  std::uint64_t connections() const noexcept;
  std::uint64_t requests_answered() const noexcept;

 private:
  friend class Session;
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace origin_host
