// The origin of a URL per the WHATWG URL standard: a (scheme, host, port)
// tuple for http, https, ws, wss and ftp URLs, an opaque origin for anything
// else (data:, file:, about:, javascript:, other schemes, and URLs that do
// not parse). URLs are parsed by libcurl's URL API.
#pragma once

#include <string>

namespace origin_guard {

struct WebOrigin {
  bool opaque = true;
  std::string scheme;  // lower-case
  // As libcurl normalises it: IPv4 in dotted decimal, IPv6 bracketed and
  // compressed, percent-escapes decoded, IDN as punycode when the process
  // runs under a UTF-8 locale. Letter case is kept; comparisons ignore it.
  std::string host;
  unsigned port = 0;         // explicit, or the scheme's default
  std::string opaque_cause;  // why the origin is opaque, for reasons
};

WebOrigin web_origin_of(const char* url);

// `https://bank.example:443`, or `null (cause)` for an opaque origin.
std::string to_string(const WebOrigin& origin);

}  // namespace origin_guard
