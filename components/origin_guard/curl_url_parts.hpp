// Owning handles for libcurl's URL API and a reader for one URL part; used
// by the origin_guard component and by origin_host's request parsing.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

namespace curl_url_parts {

struct CurlUrlFree {
  void operator()(CURLU* handle) const noexcept { curl_url_cleanup(handle); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

struct CurlStringFree {
  void operator()(char* text) const noexcept { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringFree>;

// The part, or nullopt when the URL has none (or libcurl refuses it).
inline std::optional<std::string> get_part(CURLU* url, CURLUPart part, unsigned flags) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK || raw == nullptr) return std::nullopt;
  CurlString owned(raw);
  return std::string(owned.get());
}

}  // namespace curl_url_parts
