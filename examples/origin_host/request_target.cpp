#include "request_target.hpp"

#include "curl_url_parts.hpp"

#include <curl/curl.h>

#include <memory>

namespace origin_host {
namespace {

using curl_url_parts::CurlString;
using curl_url_parts::CurlUrl;
using curl_url_parts::get_part;

std::string decode(std::string_view text) {
  // Form encoding writes spaces as '+'; libcurl decodes only %XX.
  std::string plus_as_space(text);
  for (char& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  int length = 0;
  CurlString decoded(curl_easy_unescape(nullptr, plus_as_space.data(),
                                        static_cast<int>(plus_as_space.size()), &length));
  if (!decoded) return plus_as_space;
  return std::string(decoded.get(), static_cast<std::size_t>(length));
}

}  // namespace

std::optional<RequestTarget> parse_request_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  CurlUrl url(curl_url());
  if (!url) return std::nullopt;
  const std::string absolute = "http://origin-host.invalid" + std::string(target);
  if (curl_url_set(url.get(), CURLUPART_URL, absolute.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  RequestTarget out;
  out.path = get_part(url.get(), CURLUPART_PATH, CURLU_URLDECODE).value_or("/");
  const std::string query = get_part(url.get(), CURLUPART_QUERY, 0).value_or("");
  std::string_view rest(query);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    out.params[decode(name)] = decode(value);
  }
  return out;
}

}  // namespace origin_host
