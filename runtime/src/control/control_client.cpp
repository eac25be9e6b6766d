#include <graft/control_client.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace graft::control {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int millis_left(Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on `fd`; false when the deadline passed first.
bool wait_for(int fd, short events, Clock::time_point until) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, millis_left(until));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

CallResult failed(CallFailure failure, std::string detail) {
  CallResult r;
  r.failure = failure;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

std::string_view to_string(CallFailure failure) noexcept {
  switch (failure) {
    case CallFailure::none:
      return "none";
    case CallFailure::connect_failed:
      return "connect_failed";
    case CallFailure::timed_out:
      return "timed_out";
    case CallFailure::closed:
      return "closed";
    case CallFailure::bad_reply:
      return "bad_reply";
  }
  return "unknown";
}

CallResult call_host(const std::filesystem::path& socket, const Request& request,
                     std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof addr.sun_path) {
    return failed(CallFailure::connect_failed, "socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return failed(CallFailure::connect_failed, std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // A Unix socket connects at once or fails (EAGAIN: backlog full).
    return failed(CallFailure::connect_failed, path + ": " + std::strerror(errno));
  }

  const std::string frame = encode_frame(encode_request(request));
  std::size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n = ::send(fd.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd.get(), POLLOUT, until)) {
        return failed(CallFailure::timed_out, "sending the request");
      }
    } else {
      // A host that refuses a peer (another user) answers at once and
      // closes: its reply may already be waiting even though our send failed.
      const int send_errno = errno;
      if (send_errno == EPIPE || send_errno == ECONNRESET) break;
      return failed(CallFailure::closed,
                    std::string("sending the request: ") + std::strerror(send_errno));
    }
  }

  const bool request_sent = sent == frame.size();
  auto after_send = [&](CallResult r) {
    r.request_sent = request_sent;
    return r;
  };
  std::string in;
  char buf[16384];
  for (;;) {
    const FrameScan scan = scan_frame(in, kMaxReplySize);
    if (scan.state == FrameState::too_large) {
      return after_send(failed(CallFailure::bad_reply,
                               "reply announces " + std::to_string(scan.payload_size) + " bytes"));
    }
    if (scan.state == FrameState::complete) {
      auto reply = decode_reply(std::string_view(in).substr(kFrameHeaderSize, scan.payload_size));
      if (!reply)
        return after_send(failed(CallFailure::bad_reply, "reply is not a well-formed reply"));
      CallResult r;
      r.reply = std::move(reply);
      return after_send(std::move(r));
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return after_send(
          failed(CallFailure::closed, "the host closed the connection without a reply"));
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd.get(), POLLIN, until)) {
        return after_send(failed(CallFailure::timed_out,
                                 "no reply within " + std::to_string(deadline.count()) + " ms"));
      }
    } else {
      return after_send(
          failed(CallFailure::closed, std::string("reading the reply: ") + std::strerror(errno)));
    }
  }
}

}  // namespace graft::control
