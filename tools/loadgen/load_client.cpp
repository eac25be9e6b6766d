#include "load_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

namespace loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

LoadClient::LoadClient(asio::io_context& io, asio::ip::tcp::endpoint endpoint,
                       const LoadOptions& options, Clock::time_point deadline,
                       LoadRecorder& recorder, std::size_t first_target)
    : stream_(io),
      retry_timer_(io),
      endpoint_(endpoint),
      options_(options),
      deadline_(deadline),
      recorder_(recorder),
      next_target_(first_target) {}

void LoadClient::start() {
  connect();
}

void LoadClient::connect() {
  if (past_deadline()) return;
  stream_.expires_after(options_.timeout);
  stream_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
    if (ec) {
      return self->fail(ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::connect);
    }
    self->send();
  });
}

void LoadClient::send() {
  if (past_deadline()) return close();
  const auto& target = options_.targets[next_target_++ % options_.targets.size()];
  request_ = {http::verb::get, target, 11};
  request_.set(http::field::host, options_.host);
  request_.set(http::field::user_agent, "graft-loadgen");
  request_.keep_alive(true);
  response_ = {};
  sent_at_ = Clock::now();
  stream_.expires_after(options_.timeout);
  http::async_write(
      stream_, request_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
}

void LoadClient::on_write(beast::error_code ec) {
  if (ec) return fail(ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::write);
  http::async_read(
      stream_, buffer_, response_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void LoadClient::on_read(beast::error_code ec) {
  if (ec) return fail(ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::read);
  const auto done = Clock::now();
  if (response_.result() != http::status::ok) {
    recorder_.failed(done, ErrorKind::http_status);
  } else {
    const auto body = nlohmann::json::parse(response_.body(), nullptr, false);
    if (body.is_object() && body.contains("decision") && body.contains("version") &&
        body["decision"].is_string() && body["version"].is_string()) {
      recorder_.answered(sent_at_, done, body["version"].get<std::string>(),
                         body["decision"].get<std::string>());
    } else {
      recorder_.failed(done, ErrorKind::bad_body);
    }
  }
  // The server asks to close (e.g. it is stopping): open a new connection
  // for the next request, which is not a failure.
  if (!response_.keep_alive()) {
    close();
    return connect();
  }
  send();
}

void LoadClient::fail(ErrorKind kind) {
  recorder_.failed(Clock::now(), kind);
  close();
  if (past_deadline()) return;
  // A refused or broken connection is retried after a pause, as a client
  // library would, rather than in a tight loop.
  retry_timer_.expires_after(options_.retry_delay);
  retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->connect();
  });
}

void LoadClient::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  buffer_.consume(buffer_.size());
}

}  // namespace loadgen
