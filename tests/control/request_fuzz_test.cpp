// 10,000 random and malformed requests on a real host's control socket,
// some clients killed in the middle of a frame: the host answers each
// malformed request with an error, keeps serving, and still installs a
// good bundle afterwards, its callers never failing.
#include "control_fixture.hpp"

#include <graft/control_client.hpp>
#include <graft/control_protocol.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <map>
#include <random>
#include <thread>

namespace graft::testing {
namespace {

using nlohmann::json;

int connect_to(const fs::path& socket) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung host fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one reply frame; nullopt when the host closed the connection.
std::optional<control::Reply> read_reply(int fd) {
  std::string in;
  char buf[4096];
  for (;;) {
    const auto scan = control::scan_frame(in, control::kMaxReplySize);
    if (scan.state == control::FrameState::complete) {
      return control::decode_reply(
          std::string_view(in).substr(control::kFrameHeaderSize, scan.payload_size));
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// One malformed request of a given kind, as a whole frame; `closes` says
// whether the host must close after answering (the stream cannot be
// framed any more).
struct Malformed {
  std::string kind;
  std::string frame;
  bool closes = false;
};

Malformed make_malformed(std::mt19937& rng, int i) {
  using control::encode_frame;
  const std::vector<std::string> wrong_types = {
      R"({"version":2,"command":["status"]})",
      R"({"version":"1","command":"status"})",
      R"({"version":1.5,"command":"status"})",
      R"({"version":2,"command":"install","bundle":{"a":1}})",
      R"({"version":2,"command":"rollback","component":null})",
      R"({"version":2,"command":"policy","auto_install":1})",
      R"({"version":2,"command":"approve","all":"yes"})",
      R"({"version":2,"id":"x","command":"ping"})",
      R"([{"version":2,"command":"ping"}])",
      R"(12345)",
  };
  switch (i % 7) {
    case 0:
      return {"garbage", encode_frame(random_bytes(rng, 1 + rng() % 300))};
    case 1:
      return {"wrong_type", encode_frame(wrong_types[rng() % wrong_types.size()])};
    case 2:
      return {"unknown_command",
              encode_frame(R"({"version":2,"command":"cmd)" + std::to_string(rng()) + R"("})")};
    case 3:
      return {"unknown_version",
              encode_frame(R"({"version":)" +
                           std::to_string(control::kProtocolVersion + 1 + rng() % 1000) +
                           R"(,"command":"status"})")};
    case 4: {
      // A length prefix beyond the limit.
      const std::uint32_t n = control::kMaxRequestSize + 1 + rng() % 0x7fffffff;
      std::string f = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
      return {"huge_length", f + random_bytes(rng, rng() % 16), true};
    }
    case 5: {
      // Valid JSON cut short inside a correct frame.
      const std::string json = R"({"version":2,"command":"install","bundle":"/x/y/z"})";
      return {"truncated_json", encode_frame(json.substr(0, 1 + rng() % (json.size() - 1)))};
    }
    default:
      return {"missing_field", encode_frame(R"({"version":2,"command":"commit"})")};
  }
}

TEST(RequestFuzz, HostSurvivesTenThousandMalformedRequestsAndStillInstalls) {
  TempDir dir;
  const fs::path run_dir = dir / "run";
  fs::create_directories(run_dir);
  fs::create_directories(dir / "keys");
  const KeyPair keys = make_keys(dir / "keys");
  const fs::path bundle =
      make_bundle(keys, "greeter-1.1.0.so", "1.1.0", "1.0.0", dir / "greeter-1.1.0");
  HostOptions o;
  o.name = "fuzzed";
  o.keys = {keys.public_key};
  o.deadline_ms = 400;
  TestHost host(dir.path(), run_dir, o);
  host.start();
  const fs::path socket = host.socket();

  constexpr int kRequests = 10000;
  constexpr int kThreads = 4;
  std::map<std::string, int> sent_by_kind;
  std::atomic<int> error_replies{0}, closed_after_huge{0}, truncated_frames{0};
  std::atomic<int> unexpected{0};
  std::mutex kinds_mu;
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(1000 + t);
      int fd = connect_to(socket);
      for (int i = t; i < kRequests; i += kThreads) {
        if (fd < 0) fd = connect_to(socket);
        if (fd < 0) {
          ++unexpected;
          continue;
        }
        Malformed m = make_malformed(rng, i / kThreads + t);
        if (i % 50 == 0) {
          // A frame cut short, then the client goes away.
          m.kind = "truncated_frame";
          const std::string whole = control::encode_frame(random_bytes(rng, 100));
          send_all(fd, whole.substr(0, 1 + rng() % (whole.size() - 1)));
          ::close(fd);
          fd = -1;
          ++truncated_frames;
        } else {
          if (!send_all(fd, m.frame)) {
            ++unexpected;
            ::close(fd);
            fd = -1;
            continue;
          }
          const auto reply = read_reply(fd);
          if (!reply || reply->ok || reply->kind != "protocol") {
            ++unexpected;
          } else {
            ++error_replies;
          }
          if (m.closes) {
            // The host answers, then closes: the next read sees the end (or a
            // reset, as the bytes after the prefix were never read).
            char c;
            if (::recv(fd, &c, 1, 0) <= 0) ++closed_after_huge;
            ::close(fd);
            fd = -1;
          }
        }
        std::lock_guard lock(kinds_mu);
        ++sent_by_kind[m.kind];
      }
      if (fd >= 0) ::close(fd);
    });
  }
  // Meanwhile, clients killed in the middle of a frame.
  int killed = 0;
  for (int k = 0; k < 40; ++k) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      const int fd = connect_to(socket);
      const std::string frame = control::encode_frame(R"({"version":2,"command":"status"})");
      (void)!::write(fd, frame.data(), 5);
      ::pause();
      _exit(0);
    }
    ::usleep(2000);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ++killed;
  }
  for (auto& c : clients)
    c.join();

  // A client that sends half a frame and stalls is cut off at the deadline.
  const int slow = connect_to(socket);
  ASSERT_GE(slow, 0);
  send_all(slow, std::string("\0\0\0\x20{\"ver", 9));
  char c;
  EXPECT_EQ(::recv(slow, &c, 1, 0), 0) << "the host kept a stalled connection open";
  ::close(slow);

  int total = 0;
  std::string counts;
  for (const auto& [kind, n] : sent_by_kind) {
    total += n;
    counts += kind + "=" + std::to_string(n) + " ";
  }
  std::printf(
      "requests: %d (%s), error replies: %d, closed after huge length: %d, "
      "truncated frames: %d, clients killed mid-frame: %d\n",
      total, counts.c_str(), error_replies.load(), closed_after_huge.load(),
      truncated_frames.load(), killed);
  EXPECT_EQ(total, kRequests);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(error_replies.load(), kRequests - truncated_frames.load());
  EXPECT_EQ(closed_after_huge.load(), sent_by_kind["huge_length"]);

  // Still serving: a well-formed request, then a real install.
  control::Request ping;
  ping.command = control::Command::ping;
  const auto pong = control::call_host(socket, ping, std::chrono::seconds(5));
  ASSERT_EQ(pong.failure, control::CallFailure::none) << pong.detail;
  EXPECT_TRUE(pong.reply->ok);
  const RunResult install = graftctl(run_dir, {"install", bundle.string()});
  EXPECT_EQ(install.code, 0) << describe(install);
  EXPECT_TRUE(eventually([&] { return host.board_version() == "1.1.0"; }));
  const json report = host.stop();
  EXPECT_EQ(report["failures"], 0) << report.dump();
  EXPECT_EQ(report["version"], "1.1.0");
}

}  // namespace
}  // namespace graft::testing
