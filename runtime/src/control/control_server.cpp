#include "control_server.hpp"

#include <graft/status.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

namespace graft::control {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using boost::system::error_code;

}  // namespace

struct ControlServer::Impl {
  std::filesystem::path socket_path;
  Handler handler;
  ControlServerOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::uint64_t> connections{0}, requests{0}, malformed{0}, denied{0}, timed_out{0};
  // Declared after everything a session touches: sessions still queued in
  // the io_context are destroyed with it.
  asio::io_context io;
  local::acceptor acceptor{io};
  std::thread thread;

  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ControlServer::Impl* server, local::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    server_->open_connections.fetch_add(1);
  }
  ~Session() { server_->open_connections.fetch_sub(1); }

  void start() {
    ucred peer{};
    socklen_t len = sizeof peer;
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
      server_->logger->warn("control: cannot read the peer's credentials: {}",
                            std::strerror(errno));
      return;  // the socket closes with the session
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
      server_->denied.fetch_add(1);
      server_->logger->warn("control: refused a request from uid {} pid {} (only uid {} or root)",
                            peer.uid, peer.pid, ::geteuid());
      send_final(encode_error_reply(0, kKindDenied, "permission_denied",
                                    "only the host's own user or root may control it"));
      return;
    }
    if (server_->open_connections.load() > server_->options.max_connections) {
      send_final(encode_error_reply(0, kKindBusy, "busy", "too many control connections"));
      return;
    }
    read_header();
  }

 private:
  void arm_deadline() {
    timer_.expires_after(server_->options.deadline);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;  // cancelled: the step finished in time
      self->server_->timed_out.fetch_add(1);
      error_code ignored;
      self->socket_.close(ignored);
    });
  }

  void read_header() {
    arm_deadline();
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       // The client left (or the deadline closed it). The
                       // timer holds the session too: release it now.
                       if (ec) {
                         self->timer_.cancel();
                         return;
                       }
                       self->on_header();
                     });
  }

  void on_header() {
    const FrameScan scan =
        scan_frame(std::string_view(header_.data(), header_.size()), kMaxRequestSize);
    if (scan.state == FrameState::too_large) {
      // The rest of the stream cannot be framed any more: answer and close.
      server_->malformed.fetch_add(1);
      send_final(encode_error_reply(0, kKindProtocol, to_string(RequestError::too_large),
                                    "frame announces " + std::to_string(scan.payload_size) +
                                        " bytes; the limit is " + std::to_string(kMaxRequestSize)));
      return;
    }
    body_.resize(scan.payload_size);
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       if (ec) {
                         self->timer_.cancel();
                         return;
                       }
                       self->on_body();
                     });
  }

  void on_body() {
    timer_.cancel();
    DecodedRequest decoded = decode_request(body_);
    if (!decoded.request) {
      server_->malformed.fetch_add(1);
      send(
          encode_error_reply(decoded.id, kKindProtocol, to_string(decoded.error), decoded.message));
      return;
    }
    server_->requests.fetch_add(1);
    auto self = shared_from_this();
    auto executor = socket_.get_executor();
    try {
      server_->handler(*decoded.request, [self, executor](std::string payload) {
        asio::post(executor, [self, payload = std::move(payload)]() mutable {
          self->send(std::move(payload));
        });
      });
    } catch (const std::exception& e) {
      server_->logger->error("control: {} failed: {}", to_string(decoded.request->command),
                             e.what());
      send(encode_error_reply(decoded.id, kKindInternal, "internal", e.what()));
    }
  }

  // Sends a reply, then reads the next request.
  void send(std::string payload) { write(std::move(payload), /*then_close=*/false); }
  // Sends a reply, then closes.
  void send_final(std::string payload) { write(std::move(payload), /*then_close=*/true); }

  void write(std::string payload, bool then_close) {
    out_ = encode_frame(payload);
    arm_deadline();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), then_close](const error_code& ec, std::size_t) {
                        self->timer_.cancel();
                        if (ec || then_close) {
                          error_code ignored;
                          self->socket_.shutdown(local::socket::shutdown_both, ignored);
                          self->socket_.close(ignored);
                          return;
                        }
                        self->read_header();
                      });
  }

  ControlServer::Impl* server_;
  local::socket socket_;
  asio::steady_timer timer_;
  std::array<char, kFrameHeaderSize> header_{};
  std::string body_;
  std::string out_;
};

}  // namespace

void ControlServer::Impl::accept() {
  acceptor.async_accept([self = this](const error_code& ec, local::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      self->connections.fetch_add(1);
      std::make_shared<Session>(self, std::move(socket))->start();
    } else {
      // EMFILE and the like: keep accepting; the failure is the peer's.
      self->logger->warn("control: accept failed: {}", ec.message());
    }
    self->accept();
  });
}

ControlServer::ControlServer(std::filesystem::path socket_path, Handler handler,
                             ControlServerOptions options, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>()) {
  impl_->socket_path = std::move(socket_path);
  impl_->handler = std::move(handler);
  impl_->options = options;
  impl_->logger = std::move(logger);
  const std::string path = impl_->socket_path.string();
  ::unlink(path.c_str());
  error_code ec;
  impl_->acceptor.open(local(), ec);
  if (!ec) impl_->acceptor.bind(local::endpoint(path), ec);
  // Owner-only before listen: nobody can connect before then.
  if (!ec && ::chmod(path.c_str(), 0600) != 0) {
    ec = error_code(errno, boost::system::system_category());
  }
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    throw Error(Status(ErrorCode::io_error,
                       "cannot serve the control socket " + path + ": " + ec.message()));
  }
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    // A handler that throws must not take the control socket down with it.
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {
        impl->logger->error("control: {}", e.what());
      }
    }
  });
}

ControlServer::~ControlServer() {
  // Sessions still open are dropped with the io_context.
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  ::unlink(impl_->socket_path.c_str());
}

const std::filesystem::path& ControlServer::socket_path() const noexcept {
  return impl_->socket_path;
}

ControlServerCounters ControlServer::counters() const noexcept {
  ControlServerCounters c;
  c.connections = impl_->connections.load();
  c.requests = impl_->requests.load();
  c.malformed = impl_->malformed.load();
  c.denied = impl_->denied.load();
  c.timed_out = impl_->timed_out.load();
  return c;
}

}  // namespace graft::control
