// The request decoder is a pure function: every malformed input gets a
// named error, every well-formed one a request.
#include <graft/control_protocol.hpp>

#include <gtest/gtest.h>

#include <random>

namespace graft::control {
namespace {

TEST(ControlProtocol, RoundTripsEveryCommand) {
  for (Command c : {Command::ping, Command::status, Command::install, Command::rollback,
                    Command::commit, Command::pending, Command::approve, Command::policy}) {
    Request r;
    r.id = 42;
    r.command = c;
    r.deadline_ms = 1764687600000;
    if (c == Command::install || c == Command::rollback || c == Command::approve) {
      r.mode = "quiesce";
    }
    if (c == Command::install) r.bundle = "/tmp/b";
    if (c == Command::rollback || c == Command::commit) r.component = "greeter";
    if (c == Command::approve) r.all = true;
    if (c == Command::policy) r.auto_install = true;
    const DecodedRequest d = decode_request_frame(encode_frame(encode_request(r)));
    ASSERT_TRUE(d.request) << to_string(c) << ": " << d.message;
    EXPECT_EQ(d.request->command, c);
    EXPECT_EQ(d.request->id, 42u);
    EXPECT_EQ(d.request->bundle, r.bundle);
    EXPECT_EQ(d.request->component, r.component);
    EXPECT_EQ(d.request->all, r.all);
    EXPECT_EQ(d.request->auto_install, r.auto_install);
    EXPECT_EQ(d.request->deadline_ms, r.deadline_ms);
    EXPECT_EQ(d.request->mode, r.mode);
  }
}

// Changes are applied at most once: they need an id and a deadline.
TEST(ControlProtocol, ChangesNeedAnIdAndADeadline) {
  for (const char* payload : {
           R"({"version":2,"command":"rollback","component":"g"})",
           R"({"version":2,"id":5,"command":"rollback","component":"g"})",
           R"({"version":2,"deadline_ms":9,"command":"commit","component":"g"})",
           R"({"version":2,"id":0,"deadline_ms":9,"command":"install","bundle":"/b"})",
           R"({"version":2,"id":5,"deadline_ms":-1,"command":"approve","all":true})",
       }) {
    const DecodedRequest d = decode_request(payload);
    EXPECT_FALSE(d.request) << payload;
    EXPECT_EQ(d.error, RequestError::bad_request) << payload;
  }
  const DecodedRequest ok =
      decode_request(R"({"version":2,"id":5,"deadline_ms":9,"command":"commit","component":"g"})");
  ASSERT_TRUE(ok.request) << ok.message;
  EXPECT_EQ(ok.request->deadline_ms, 9u);
  // Reads need neither.
  EXPECT_TRUE(decode_request(R"({"version":2,"command":"status"})").request);
}

TEST(ControlProtocol, ModeIsOneOfThreeAndOnlyOnSwaps) {
  EXPECT_EQ(
      decode_request(
          R"({"version":2,"id":5,"deadline_ms":9,"command":"rollback","component":"g","mode":"fast"})")
          .error,
      RequestError::bad_request);
  EXPECT_EQ(
      decode_request(
          R"({"version":2,"id":5,"deadline_ms":9,"command":"commit","component":"g","mode":"quiesce"})")
          .error,
      RequestError::bad_request);
  const DecodedRequest d = decode_request(
      R"({"version":2,"id":5,"deadline_ms":9,"command":"install","bundle":"/b","component":"g","mode":"immediate"})");
  ASSERT_TRUE(d.request) << d.message;
  EXPECT_EQ(d.request->mode, "immediate");
  EXPECT_EQ(d.request->component, "g");
}

TEST(ControlProtocol, NamesEachKindOfMalformedRequest) {
  struct Case {
    std::string payload;
    RequestError error;
  };
  const Case cases[] = {
      {"", RequestError::bad_json},
      {"{", RequestError::bad_json},
      {"[1,2]", RequestError::bad_json},
      {"\"status\"", RequestError::bad_json},
      {"{\"command\":\"status\"}", RequestError::bad_request},
      {"{\"version\":\"1\",\"command\":\"status\"}", RequestError::bad_request},
      {"{\"version\":1,\"command\":\"status\"}", RequestError::unknown_version},
      {"{\"version\":3,\"command\":\"status\"}", RequestError::unknown_version},
      {"{\"version\":2}", RequestError::bad_request},
      {"{\"version\":2,\"command\":7}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"reboot\"}", RequestError::unknown_command},
      {"{\"version\":2,\"command\":\"install\"}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"install\",\"bundle\":3}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"install\",\"bundle\":\"\"}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"rollback\",\"component\":[]}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"approve\"}", RequestError::bad_request},
      {"{\"version\":2,\"command\":\"approve\",\"all\":true,\"bundle\":\"x\"}",
       RequestError::bad_request},
      {"{\"version\":2,\"command\":\"policy\",\"auto_install\":\"on\"}", RequestError::bad_request},
      {"{\"version\":2,\"id\":-1,\"command\":\"status\"}", RequestError::bad_request},
  };
  for (const auto& c : cases) {
    const DecodedRequest d = decode_request(c.payload);
    EXPECT_FALSE(d.request) << c.payload;
    EXPECT_EQ(d.error, c.error) << c.payload << " -> " << to_string(d.error) << ": " << d.message;
    EXPECT_FALSE(d.message.empty()) << c.payload;
  }
}

TEST(ControlProtocol, KeepsTheIdOfARequestItCannotServe) {
  const DecodedRequest d = decode_request("{\"version\":9,\"id\":77,\"command\":\"status\"}");
  EXPECT_EQ(d.error, RequestError::unknown_version);
  EXPECT_EQ(d.id, 77u);
}

TEST(ControlProtocol, ScansFramesByTheirLengthPrefix) {
  EXPECT_EQ(scan_frame("", kMaxRequestSize).state, FrameState::need_more);
  EXPECT_EQ(scan_frame(std::string("\0\0\0", 3), kMaxRequestSize).state, FrameState::need_more);
  EXPECT_EQ(scan_frame(std::string("\0\0\0\5abc", 7), kMaxRequestSize).state,
            FrameState::need_more);
  const FrameScan full = scan_frame(std::string("\0\0\0\3abcXYZ", 10), kMaxRequestSize);
  EXPECT_EQ(full.state, FrameState::complete);
  EXPECT_EQ(full.payload_size, 3u);
  const FrameScan huge = scan_frame("\xff\xff\xff\xff", kMaxRequestSize);
  EXPECT_EQ(huge.state, FrameState::too_large);
  EXPECT_EQ(huge.payload_size, 0xffffffffu);
  EXPECT_EQ(decode_request_frame(std::string("\x7f\0\0\0", 4)).error, RequestError::too_large);
  EXPECT_EQ(decode_request_frame(std::string("\0\0\0\x10{}", 6)).error, RequestError::bad_request);
}

TEST(ControlProtocol, SurvivesRandomBytesAndDeepNesting) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (auto& b : bytes)
      b = static_cast<char>(rng());
    if (i % 3 == 0 && bytes.size() >= 4) {
      // A plausible length prefix over random bytes.
      bytes[0] = bytes[1] = 0;
      bytes[2] = 0;
      bytes[3] = static_cast<char>(bytes.size() - 4);
    }
    const DecodedRequest d = decode_request_frame(bytes);
    if (!d.request) {
      EXPECT_NE(d.error, RequestError::none);
    }
  }
  const std::string deep(100000, '[');
  EXPECT_EQ(decode_request(deep).error, RequestError::too_large);
  const std::string nested = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_EQ(decode_request(nested).error, RequestError::bad_json);
}

TEST(ControlProtocol, DecodesReplies) {
  const auto ok = decode_reply(encode_ok_reply(5, "{\"a\":1}"));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->id, 5u);
  EXPECT_EQ(ok->result, "{\"a\":1}");
  const auto err = decode_reply(encode_error_reply(6, kKindRefused, "bad_signature", "no \xff"));
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->ok);
  EXPECT_EQ(err->kind, "refused");
  EXPECT_EQ(err->code, "bad_signature");
  EXPECT_FALSE(decode_reply("{\"ok\":true}"));
  // An older host's refusal of a newer request is still read.
  const auto old = decode_reply(
      R"({"version":1,"id":3,"ok":false,"error":{"kind":"protocol","code":"unknown_version","message":"speaks 1"}})");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->code, "unknown_version");
  EXPECT_FALSE(decode_reply(R"({"version":3,"id":3,"ok":true,"result":{}})"));
  EXPECT_FALSE(decode_reply("garbage"));
}

}  // namespace
}  // namespace graft::control
