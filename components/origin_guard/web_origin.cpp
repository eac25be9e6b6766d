#include "web_origin.hpp"

#include "curl_url_parts.hpp"

#include <curl/curl.h>

#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>

namespace origin_guard {
namespace {

using curl_url_parts::CurlString;
using curl_url_parts::CurlUrl;
using curl_url_parts::get_part;

// The special schemes whose origin is a tuple, with their default ports
// (WHATWG URL, "special scheme"). file is special too, but its origin is
// left to the implementation; like most engines we make it opaque.
struct TupleScheme {
  std::string_view name;
  unsigned default_port;
};
constexpr std::array<TupleScheme, 5> kTupleSchemes{{
    {"http", 80},
    {"https", 443},
    {"ws", 80},
    {"wss", 443},
    {"ftp", 21},
}};

const TupleScheme* tuple_scheme(std::string_view scheme) {
  for (const auto& s : kTupleSchemes) {
    if (s.name == scheme) return &s;
  }
  return nullptr;
}

constexpr std::string_view kSchemeChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.";

WebOrigin opaque(std::string cause) {
  WebOrigin o;
  o.opaque_cause = std::move(cause);
  return o;
}

std::string lower_ascii(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

WebOrigin web_origin_of(const char* url) {
  CurlUrl handle(curl_url());
  if (!handle) return opaque("out of memory");
  // Non-special schemes parse too, so that their origin is reported as
  // opaque by name rather than as a parse failure.
  const CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    // data:, about:, javascript: and the like have no authority, which
    // libcurl refuses; they are opaque origins either way. The scheme is
    // named for the reason only.
    const std::string_view text(url);
    const auto colon = text.find(':');
    const bool has_scheme =
        colon != std::string_view::npos && colon > 0 &&
        text.substr(0, colon).find_first_not_of(kSchemeChars) == std::string_view::npos;
    if (has_scheme) return opaque(lower_ascii(std::string(text.substr(0, colon))) + ": URL");
    return opaque(std::string("unparseable URL (") + curl_url_strerror(rc) + ")");
  }
  const auto scheme = get_part(handle.get(), CURLUPART_SCHEME, 0);
  if (!scheme) return opaque("no scheme");
  const std::string lowered = lower_ascii(*scheme);
  const TupleScheme* special = tuple_scheme(lowered);
  if (special == nullptr) return opaque(lowered + ": URL");

  // IDN hosts come back as punycode when libidn2 can read the input under
  // the process locale; otherwise as given, which can only make two
  // spellings of one host compare unequal (a deny), never the reverse.
  auto host = get_part(handle.get(), CURLUPART_HOST, CURLU_PUNYCODE);
  if (!host) host = get_part(handle.get(), CURLUPART_HOST, 0);
  if (!host || host->empty()) return opaque(lowered + ": URL without a host");

  WebOrigin o;
  o.opaque = false;
  o.scheme = lowered;
  o.host = std::move(*host);
  o.port = special->default_port;
  // libcurl knows the default port of the schemes it supports; ws and wss
  // are not among them in every build, hence the table above.
  if (const auto port = get_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT)) {
    o.port = static_cast<unsigned>(std::stoul(*port));
  }
  return o;
}

std::string to_string(const WebOrigin& origin) {
  if (origin.opaque) return "null (" + origin.opaque_cause + ")";
  std::string text = origin.scheme + "://" + lower_ascii(origin.host);
  const TupleScheme* special = tuple_scheme(origin.scheme);
  if (special == nullptr || special->default_port != origin.port) {
    text += ":" + std::to_string(origin.port);
  }
  return text;
}

}  // namespace origin_guard
