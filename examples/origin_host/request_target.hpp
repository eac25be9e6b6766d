// The path and decoded query parameters of an HTTP request target, split by
// libcurl's URL API.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace origin_host {

struct RequestTarget {
  std::string path;
  std::map<std::string, std::string> params;  // percent-decoded; the last of a repeated name wins
};

// nullopt when the target is not a URL path.
std::optional<RequestTarget> parse_request_target(std::string_view target);

}  // namespace origin_host
