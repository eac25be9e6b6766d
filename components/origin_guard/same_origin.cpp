#include "same_origin.hpp"

#include "host_match.hpp"
#include "web_origin.hpp"

namespace origin_guard {

SameOriginResult same_origin(const char* initiator_url, const char* target_url) {
  const WebOrigin from = web_origin_of(initiator_url);
  const WebOrigin to = web_origin_of(target_url);
  // An opaque origin is same-origin only with itself, and two parses of a
  // URL never yield the same opaque origin.
  if (from.opaque) return {false, "initiator has an opaque origin (" + from.opaque_cause + ")"};
  if (to.opaque) return {false, "target has an opaque origin (" + to.opaque_cause + ")"};
  if (from.scheme != to.scheme) {
    return {false, "cross-origin: scheme " + from.scheme + " vs " + to.scheme};
  }
  if (!hosts_match(from.host, to.host)) {
    return {false, "cross-origin: host " + from.host + " vs " + to.host};
  }
  if (from.port != to.port) {
    return {false,
            "cross-origin: port " + std::to_string(from.port) + " vs " + std::to_string(to.port)};
  }
  return {true, "same origin " + to_string(to)};
}

}  // namespace origin_guard
