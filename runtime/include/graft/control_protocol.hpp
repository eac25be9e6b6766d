// The control protocol between graftctl and a host: each message is a frame,
// a 4-byte big-endian payload length followed by that many bytes of JSON.
//
//   request: {"version":2,"id":7,"deadline_ms":4520316,
//             "command":"rollback","component":"greeter","mode":"automatic"}
//   reply:   {"version":2,"id":7,"ok":true,"result":{...}}
//            {"version":2,"id":7,"ok":false,
//             "error":{"kind":"refused","code":"no_previous","message":"..."}}
//
// Requests that change a host (install, rollback, commit, approve) are
// applied at most once: they carry a non-zero id, unique per request, and a
// deadline (milliseconds on CLOCK_MONOTONIC, which client and host share on
// one machine and which cannot be stepped back). The host does not start a
// request whose deadline has passed (kind "expired": not applied), and a
// request whose id it has seen answers the first outcome again.
//
// Decoding is a pure function of the bytes (no I/O, no allocation beyond the
// result, never throws), so that it can be fuzzed on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft::control {

inline constexpr std::uint32_t kProtocolVersion = 2;
// Replies of an older host (its unknown_version error) are still read.
inline constexpr std::uint32_t kOldestReplyVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 4;
// Requests and replies are small; anything larger is refused unread.
inline constexpr std::uint32_t kMaxRequestSize = 64 * 1024;
inline constexpr std::uint32_t kMaxReplySize = 4 * 1024 * 1024;

enum class Command {
  ping,      // is the host there; answers its pid and name
  status,    // host, policy, components, pending bundles
  install,   // bundle: path of a bundle folder
  rollback,  // component
  commit,    // component
  pending,   // bundles held for approval
  approve,   // bundle (a pending bundle's name or path), or all
  policy,    // auto_install: set it when given; answers the policy
};

std::string_view to_string(Command command) noexcept;
std::optional<Command> parse_command(std::string_view name) noexcept;

struct Request {
  std::uint64_t id = 0;  // echoed in the reply
  Command command = Command::ping;
  std::string component;
  std::string bundle;
  bool all = false;
  std::optional<bool> auto_install;
  // CLOCK_MONOTONIC milliseconds (std::chrono::steady_clock) from which on
  // the host must not start the request; required (non-zero) with a
  // non-zero id on changes.
  std::uint64_t deadline_ms = 0;
  // install, approve, rollback: "immediate", "quiesce" or "automatic"
  // (empty: automatic, state carried when both versions can).
  std::string mode;
};

// Whether a command changes the host (and so is applied at most once).
bool is_change(Command command) noexcept;

// Why a request could not be decoded. Each has a stable name (the reply's
// error code).
enum class RequestError {
  none,
  too_large,        // the length prefix exceeds kMaxRequestSize
  bad_json,         // not JSON, or not an object
  unknown_version,  // "version" is not kProtocolVersion
  unknown_command,  // "command" names no command
  bad_request,      // a field is missing or of the wrong type
};

std::string_view to_string(RequestError error) noexcept;

enum class FrameState { need_more, complete, too_large };

struct FrameScan {
  FrameState state = FrameState::need_more;
  std::uint32_t payload_size = 0;  // from the length prefix, once known
};

// Looks at the start of `bytes` for a frame whose payload may be at most
// `limit` bytes long.
FrameScan scan_frame(std::string_view bytes, std::uint32_t limit) noexcept;

struct DecodedRequest {
  std::optional<Request> request;  // set when error == none
  RequestError error = RequestError::none;
  std::string message;   // what was wrong, for the error reply
  std::uint64_t id = 0;  // the request's id when it could be read (for the reply)
};

// Decodes one request payload (the JSON after the length prefix).
DecodedRequest decode_request(std::string_view payload) noexcept;

// Decodes a whole frame: length prefix and payload. Trailing bytes after
// the frame are ignored; a short buffer is bad_request ("truncated frame").
DecodedRequest decode_request_frame(std::string_view bytes) noexcept;

// The payload of a request, and a frame around any payload.
std::string encode_request(const Request& request);
std::string encode_frame(std::string_view payload);

// Reply kinds: what a client does with an error.
inline constexpr std::string_view kKindProtocol = "protocol";   // the request was malformed
inline constexpr std::string_view kKindDenied = "denied";       // the peer may not ask
inline constexpr std::string_view kKindRefused = "refused";     // a check or the runtime said no
inline constexpr std::string_view kKindNotFound = "not_found";  // no such component or bundle
inline constexpr std::string_view kKindBusy = "busy";           // too many connections
inline constexpr std::string_view kKindInternal = "internal";   // the host failed unexpectedly
inline constexpr std::string_view kKindExpired = "expired";  // deadline passed first: not applied

struct Reply {
  std::uint64_t id = 0;
  bool ok = false;
  std::string kind;     // for errors: one of the kinds above
  std::string code;     // for errors: a RequestError name or a graft::ErrorCode name
  std::string message;  // for errors: for people
  std::string result;   // for success: the result object, as JSON text
};

// A reply payload from its parts (`result_json` must be a JSON value).
std::string encode_ok_reply(std::uint64_t id, std::string_view result_json);
std::string encode_error_reply(std::uint64_t id, std::string_view kind, std::string_view code,
                               std::string_view message);
// Decodes a reply payload; nullopt when it is not a well-formed reply.
std::optional<Reply> decode_reply(std::string_view payload) noexcept;

}  // namespace graft::control

#pragma GCC visibility pop
