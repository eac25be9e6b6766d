// One keep-alive HTTP/1.1 client (Boost.Beast) that sends requests back to
// back until the deadline, reconnecting after a failure.
#pragma once

#include "load_options.hpp"
#include "load_recorder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>

namespace loadgen {

class LoadClient : public std::enable_shared_from_this<LoadClient> {
 public:
  LoadClient(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
             const LoadOptions& options, Clock::time_point deadline, LoadRecorder& recorder,
             std::size_t first_target);

  void start();

 private:
  void connect();
  void send();
  void on_write(boost::beast::error_code ec);
  void on_read(boost::beast::error_code ec);
  void fail(ErrorKind kind);
  void close();
  bool past_deadline() const { return Clock::now() >= deadline_; }

  boost::beast::tcp_stream stream_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::ip::tcp::endpoint endpoint_;
  const LoadOptions& options_;
  Clock::time_point deadline_;
  LoadRecorder& recorder_;
  std::size_t next_target_;
  Clock::time_point sent_at_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::empty_body> request_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
};

}  // namespace loadgen
