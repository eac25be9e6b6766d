// The client side of a host's control socket: one request, one reply, with
// a deadline. graftctl uses it; so can a host's own tooling.
#pragma once

#include <graft/control_protocol.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft::control {

enum class CallFailure {
  none,
  connect_failed,  // no socket, connection refused, permission denied
  timed_out,       // the host did not answer within the deadline
  closed,          // the host closed the connection without a reply
  bad_reply,       // the reply was not a well-formed frame
};

std::string_view to_string(CallFailure failure) noexcept;

struct CallResult {
  CallFailure failure = CallFailure::none;
  std::string detail;          // for a failure: the system's reason
  std::optional<Reply> reply;  // when failure == none
  // Whether the whole request reached the host's socket. When not, the host
  // cannot have acted on it; when it did and no reply came, it may have.
  bool request_sent = false;
};

// Connects to `socket`, sends `request`, and waits for the reply until
// `deadline` has passed.
CallResult call_host(const std::filesystem::path& socket, const Request& request,
                     std::chrono::milliseconds deadline);

}  // namespace graft::control

#pragma GCC visibility pop
