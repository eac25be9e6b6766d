// The same-origin decision between two URLs, with a reason a person can read.
#pragma once

#include <string>

namespace origin_guard {

struct SameOriginResult {
  bool same = false;
  std::string reason;
};

SameOriginResult same_origin(const char* initiator_url, const char* target_url);

}  // namespace origin_guard
