#include <graft/control_protocol.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace graft::control {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<Command, std::string_view>, 8> kCommandNames{{
    {Command::ping, "ping"},
    {Command::status, "status"},
    {Command::install, "install"},
    {Command::rollback, "rollback"},
    {Command::commit, "commit"},
    {Command::pending, "pending"},
    {Command::approve, "approve"},
    {Command::policy, "policy"},
}};

DecodedRequest fail(RequestError error, std::string message, std::uint64_t id = 0) {
  DecodedRequest out;
  out.error = error;
  out.message = std::move(message);
  out.id = id;
  return out;
}

// A required non-empty string field.
bool take_string(const json& j, const char* key, std::string* out, std::string* why) {
  auto it = j.find(key);
  if (it == j.end()) {
    *why = std::string("missing field '") + key + "'";
    return false;
  }
  if (!it->is_string()) {
    *why = std::string("field '") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  if (out->empty()) {
    *why = std::string("field '") + key + "' is empty";
    return false;
  }
  if (out->find('\0') != std::string::npos) {
    *why = std::string("field '") + key + "' contains a NUL byte";
    return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(Command command) noexcept {
  for (const auto& [c, name] : kCommandNames) {
    if (c == command) return name;
  }
  return "unknown";
}

bool is_change(Command command) noexcept {
  return command == Command::install || command == Command::rollback ||
         command == Command::commit || command == Command::approve;
}

std::optional<Command> parse_command(std::string_view name) noexcept {
  for (const auto& [c, n] : kCommandNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

std::string_view to_string(RequestError error) noexcept {
  switch (error) {
    case RequestError::none:
      return "none";
    case RequestError::too_large:
      return "too_large";
    case RequestError::bad_json:
      return "bad_json";
    case RequestError::unknown_version:
      return "unknown_version";
    case RequestError::unknown_command:
      return "unknown_command";
    case RequestError::bad_request:
      return "bad_request";
  }
  return "unknown";
}

FrameScan scan_frame(std::string_view bytes, std::uint32_t limit) noexcept {
  FrameScan scan;
  if (bytes.size() < kFrameHeaderSize) return scan;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  scan.payload_size = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                      (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  if (scan.payload_size > limit) {
    scan.state = FrameState::too_large;
  } else if (bytes.size() - kFrameHeaderSize >= scan.payload_size) {
    scan.state = FrameState::complete;
  }
  return scan;
}

DecodedRequest decode_request(std::string_view payload) noexcept {
  try {
    if (payload.size() > kMaxRequestSize) {
      return fail(RequestError::too_large, "request of " + std::to_string(payload.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(kMaxRequestSize));
    }
    json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return fail(RequestError::bad_json, "request is not valid JSON");
    if (!j.is_object()) return fail(RequestError::bad_json, "request is not a JSON object");

    std::uint64_t id = 0;
    if (auto it = j.find("id"); it != j.end()) {
      if (!it->is_number_unsigned()) {
        return fail(RequestError::bad_request, "field 'id' must be an unsigned integer");
      }
      id = it->get<std::uint64_t>();
    }
    auto version = j.find("version");
    if (version == j.end()) return fail(RequestError::bad_request, "missing field 'version'", id);
    if (!version->is_number_unsigned()) {
      return fail(RequestError::bad_request, "field 'version' must be an unsigned integer", id);
    }
    if (version->get<std::uint64_t>() != kProtocolVersion) {
      return fail(RequestError::unknown_version,
                  "protocol version " + std::to_string(version->get<std::uint64_t>()) +
                      " is not supported (this host speaks " + std::to_string(kProtocolVersion) +
                      ")",
                  id);
    }
    auto command = j.find("command");
    if (command == j.end()) return fail(RequestError::bad_request, "missing field 'command'", id);
    if (!command->is_string()) {
      return fail(RequestError::bad_request, "field 'command' must be a string", id);
    }
    const auto parsed = parse_command(command->get_ref<const std::string&>());
    if (!parsed) {
      std::string name = command->get<std::string>();
      if (name.size() > 64) name = name.substr(0, 64) + "...";
      // dump() quotes and escapes what the client sent (replacing invalid UTF-8).
      return fail(
          RequestError::unknown_command,
          "unknown command " + json(name).dump(-1, ' ', false, json::error_handler_t::replace), id);
    }

    Request r;
    r.id = id;
    r.command = *parsed;
    std::string why;
    if (auto d = j.find("deadline_ms"); d != j.end()) {
      if (!d->is_number_unsigned()) {
        return fail(RequestError::bad_request, "field 'deadline_ms' must be an unsigned integer",
                    id);
      }
      r.deadline_ms = d->get<std::uint64_t>();
    }
    if (is_change(r.command) && (r.id == 0 || r.deadline_ms == 0)) {
      return fail(RequestError::bad_request,
                  std::string(to_string(r.command)) +
                      " needs a non-zero 'id' and a 'deadline_ms' (it is applied at most once)",
                  id);
    }
    if (j.contains("mode")) {
      if (r.command != Command::install && r.command != Command::rollback &&
          r.command != Command::approve) {
        return fail(RequestError::bad_request,
                    "field 'mode' is for install, rollback and approve only", id);
      }
      if (!take_string(j, "mode", &r.mode, &why)) return fail(RequestError::bad_request, why, id);
      if (r.mode != "immediate" && r.mode != "quiesce" && r.mode != "automatic") {
        return fail(RequestError::bad_request,
                    "field 'mode' must be immediate, quiesce or automatic", id);
      }
    }
    switch (r.command) {
      case Command::ping:
      case Command::status:
      case Command::pending:
        break;
      case Command::install:
        if (!take_string(j, "bundle", &r.bundle, &why)) {
          return fail(RequestError::bad_request, why, id);
        }
        // Optional: the component the client read in the manifest, so the
        // host can queue the install with that component's requests.
        if (j.contains("component") && !take_string(j, "component", &r.component, &why)) {
          return fail(RequestError::bad_request, why, id);
        }
        break;
      case Command::rollback:
      case Command::commit:
        if (!take_string(j, "component", &r.component, &why)) {
          return fail(RequestError::bad_request, why, id);
        }
        break;
      case Command::approve: {
        auto all = j.find("all");
        if (all != j.end()) {
          if (!all->is_boolean()) {
            return fail(RequestError::bad_request, "field 'all' must be a boolean", id);
          }
          r.all = all->get<bool>();
        }
        if (j.contains("bundle")) {
          if (!take_string(j, "bundle", &r.bundle, &why)) {
            return fail(RequestError::bad_request, why, id);
          }
        }
        if (r.all == !r.bundle.empty()) {
          return fail(RequestError::bad_request, "approve needs exactly one of 'bundle' and 'all'",
                      id);
        }
        break;
      }
      case Command::policy: {
        auto a = j.find("auto_install");
        if (a != j.end()) {
          if (!a->is_boolean()) {
            return fail(RequestError::bad_request, "field 'auto_install' must be a boolean", id);
          }
          r.auto_install = a->get<bool>();
        }
        break;
      }
    }
    DecodedRequest out;
    out.id = id;
    out.request = std::move(r);
    return out;
  } catch (const std::exception& e) {
    // nlohmann can still throw on pathological input (e.g. depth); a bad
    // request either way.
    return fail(RequestError::bad_json, std::string("request could not be read: ") + e.what());
  }
}

DecodedRequest decode_request_frame(std::string_view bytes) noexcept {
  const FrameScan scan = scan_frame(bytes, kMaxRequestSize);
  switch (scan.state) {
    case FrameState::too_large:
      return fail(RequestError::too_large, "frame announces " + std::to_string(scan.payload_size) +
                                               " bytes; the limit is " +
                                               std::to_string(kMaxRequestSize));
    case FrameState::need_more:
      return fail(RequestError::bad_request, "truncated frame");
    case FrameState::complete:
      break;
  }
  return decode_request(bytes.substr(kFrameHeaderSize, scan.payload_size));
}

std::string encode_request(const Request& request) {
  json j = {{"version", kProtocolVersion},
            {"id", request.id},
            {"command", std::string(to_string(request.command))}};
  if (!request.component.empty()) j["component"] = request.component;
  if (!request.bundle.empty()) j["bundle"] = request.bundle;
  if (request.all) j["all"] = true;
  if (request.auto_install) j["auto_install"] = *request.auto_install;
  if (request.deadline_ms != 0) j["deadline_ms"] = request.deadline_ms;
  if (!request.mode.empty()) j["mode"] = request.mode;
  return j.dump();
}

std::string encode_frame(std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(payload);
  return out;
}

std::string encode_ok_reply(std::uint64_t id, std::string_view result_json) {
  json result = json::parse(result_json, nullptr, false);
  json j = {{"version", kProtocolVersion}, {"id", id}, {"ok", true}, {"result", result}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_error_reply(std::uint64_t id, std::string_view kind, std::string_view code,
                               std::string_view message) {
  json j = {{"version", kProtocolVersion},
            {"id", id},
            {"ok", false},
            {"error",
             {{"kind", std::string(kind)},
              {"code", std::string(code)},
              {"message", std::string(message)}}}};
  // Messages may quote bytes a client sent; never fail on invalid UTF-8.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Reply> decode_reply(std::string_view payload) noexcept {
  try {
    json j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Reply r;
    auto ok = j.find("ok");
    auto version = j.find("version");
    if (ok == j.end() || !ok->is_boolean() || version == j.end() ||
        !version->is_number_unsigned() || version->get<std::uint64_t>() < kOldestReplyVersion ||
        version->get<std::uint64_t>() > kProtocolVersion) {
      return std::nullopt;
    }
    r.ok = ok->get<bool>();
    if (auto id = j.find("id"); id != j.end() && id->is_number_unsigned()) {
      r.id = id->get<std::uint64_t>();
    }
    if (r.ok) {
      auto result = j.find("result");
      r.result = result == j.end() ? "null" : result->dump();
      return r;
    }
    auto error = j.find("error");
    if (error == j.end() || !error->is_object()) return std::nullopt;
    auto text = [&](const char* key) {
      auto it = error->find(key);
      return it != error->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    r.kind = text("kind");
    r.code = text("code");
    r.message = text("message");
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace graft::control
