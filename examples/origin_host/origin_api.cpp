#include "origin_api.hpp"

#include "request_target.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <exception>

namespace origin_host {

namespace http = boost::beast::http;

namespace {

HttpResponse json_response(const HttpRequest& request, http::status status,
                           const nlohmann::json& body) {
  HttpResponse response{status, request.version()};
  response.set(http::field::server, "origin_host");
  response.set(http::field::content_type, "application/json");
  // Request parameters are echoed back and need not be valid UTF-8.
  response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return response;
}

HttpResponse error_response(const HttpRequest& request, http::status status,
                            const std::string& message) {
  return json_response(request, status, {{"error", message}});
}

}  // namespace

HttpResponse OriginApi::handle(const HttpRequest& request) const noexcept {
  try {
    if (request.method() != http::verb::get) {
      auto response = error_response(request, http::status::method_not_allowed, "only GET");
      response.set(http::field::allow, "GET");
      return response;
    }
    const auto raw_target = request.target();
    const auto target =
        parse_request_target(std::string_view(raw_target.data(), raw_target.size()));
    if (!target) return error_response(request, http::status::bad_request, "bad request target");
    if (target->path == "/check") {
      const auto from = target->params.find("from");
      const auto to = target->params.find("to");
      if (from == target->params.end() || to == target->params.end()) {
        return error_response(request, http::status::bad_request,
                              "usage: /check?from=URL&to=URL (both percent-encoded)");
      }
      return check(request, from->second, to->second);
    }
    if (target->path == "/status") return json_response(request, http::status::ok, status_());
    return error_response(request, http::status::not_found, "no such path; try /check or /status");
  } catch (const std::exception& e) {
    return error_response(request, http::status::internal_server_error, e.what());
  }
}

HttpResponse OriginApi::check(const HttpRequest& request, const std::string& from,
                              const std::string& to) const {
  origin_guard_verdict verdict{};
  const graft_status rc =
      guard_.call(&navigation_policy_v1::check_navigation, from.c_str(), to.c_str(), &verdict);
  if (rc != GRAFT_OK) {
    // No version serving, or the component failed: the caller cannot tell
    // allow from deny, so this is a server error, not a deny.
    return json_response(request, http::status::service_unavailable,
                         {{"error", "navigation policy unavailable"}, {"status", rc}});
  }
  const bool allowed = verdict.decision == ORIGIN_GUARD_ALLOW;
  return json_response(request, http::status::ok,
                       {{"decision", allowed ? "allow" : "deny"},
                        {"reason", verdict.reason},
                        {"version", verdict.version},
                        {"from", from},
                        {"to", to}});
}

}  // namespace origin_host
