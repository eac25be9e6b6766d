#include "http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace origin_host {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
// A keep-alive connection that sends nothing for this long is closed.
constexpr std::chrono::seconds kIdleTimeout{60};
constexpr std::chrono::seconds kWriteTimeout{10};
// After a stop, how long a connection still reads a request that a client
// sent before it learned of the stop.
constexpr std::chrono::milliseconds kStopAnswerGrace{200};
}  // namespace

class Session;

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(asio::io_context& io, RequestHandler h)
      : io(io), acceptor(asio::make_strand(io)), handler(std::move(h)) {}

  void accept_next();
  void add(std::uint64_t id, const std::shared_ptr<Session>& session);
  void remove(std::uint64_t id);

  asio::io_context& io;
  tcp::acceptor acceptor;
  RequestHandler handler;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> answered{0};
  std::mutex sessions_mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions;
  std::uint64_t next_id = 0;  // under sessions_mu
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> server, std::uint64_t id)
      : stream_(std::move(socket)),
        grace_timer_(stream_.get_executor()),
        server_(std::move(server)),
        id_(id) {}
  ~Session() { server_->remove(id_); }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read_request, shared_from_this()));
  }

  // Runs on the session's strand. From now on answers carry "Connection:
  // close". A client that was promised keep-alive may already be sending its
  // next request, so the connection stays open for a short grace and answers
  // what arrives; then it closes, or after its answer if one is being made.
  void stop() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      self->grace_timer_.expires_after(kStopAnswerGrace);
      self->grace_timer_.async_wait([self](beast::error_code ec) {
        if (ec) return;
        self->grace_over_ = true;
        if (!self->busy_) self->close();
      });
    });
  }

 private:
  void read_request() {
    if (grace_over_) return close();
    request_ = {};
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();  // end of stream, timeout, or closed by stop()
    busy_ = true;
    response_ = server_->handler(request_);
    response_.version(request_.version());
    response_.keep_alive(request_.keep_alive() && !stopping_);
    response_.prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    busy_ = false;
    if (ec) return close();
    server_->answered.fetch_add(1, std::memory_order_relaxed);
    if (!response_.keep_alive()) return close();
    read_request();
  }

  void close() {
    beast::error_code ignored;
    grace_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  asio::steady_timer grace_timer_;
  beast::flat_buffer buffer_;
  HttpRequest request_;
  HttpResponse response_;
  std::shared_ptr<HttpServer::State> server_;
  std::uint64_t id_;
  bool busy_ = false;        // a request is read and not yet answered
  bool stopping_ = false;    // the server stops: answers say "Connection: close"
  bool grace_over_ = false;  // ...and new requests are no longer read
};

void HttpServer::State::accept_next() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (ec || self->stopping.load()) return;  // acceptor closed by stop()
                          std::uint64_t id = 0;
                          {
                            std::lock_guard lock(self->sessions_mu);
                            id = self->next_id++;
                          }
                          auto session = std::make_shared<Session>(std::move(socket), self, id);
                          self->add(id, session);
                          session->run();
                          self->accept_next();
                        });
}

void HttpServer::State::add(std::uint64_t id, const std::shared_ptr<Session>& session) {
  open.fetch_add(1);
  std::lock_guard lock(sessions_mu);
  sessions.emplace(id, session);
  // A stop that ran between accept and here has not seen this session.
  if (stopping.load()) session->stop();
}

void HttpServer::State::remove(std::uint64_t id) {
  {
    std::lock_guard lock(sessions_mu);
    sessions.erase(id);
  }
  open.fetch_sub(1);
}

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, RequestHandler handler)
    : state_(std::make_shared<State>(io, std::move(handler))) {
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  // A restarted host binds its old port at once, despite TIME_WAIT.
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

HttpServer::~HttpServer() = default;

unsigned short HttpServer::port() const noexcept {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

void HttpServer::start() {
  asio::dispatch(state_->acceptor.get_executor(), [s = state_] { s->accept_next(); });
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  asio::post(state_->acceptor.get_executor(), [s = state_] {
    beast::error_code ignored;
    s->acceptor.close(ignored);
  });
  // Collected first: the last reference may drop here, and ~Session takes
  // sessions_mu.
  std::vector<std::shared_ptr<Session>> open_sessions;
  {
    std::lock_guard lock(state_->sessions_mu);
    for (auto& [id, weak] : state_->sessions) {
      if (auto session = weak.lock()) open_sessions.push_back(std::move(session));
    }
  }
  for (auto& session : open_sessions)
    session->stop();
}

std::uint64_t HttpServer::connections() const noexcept {
  return state_->open.load();
}

std::uint64_t HttpServer::requests_answered() const noexcept {
  return state_->answered.load(std::memory_order_relaxed);
}

}  // namespace origin_host
