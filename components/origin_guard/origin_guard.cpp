// The origin_guard component: a navigation policy that lets a page read a
// response only from its own origin. Built as 26.3.1 and, with
// ORIGIN_GUARD_FIX_HOST_PREFIX_MATCH, as the security response 26.3.1 (a).
#include "origin_guard.h"

#include "same_origin.hpp"

#include <graft/component.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace {

class OriginGuard {
 public:
  explicit OriginGuard(graft::Host& host) : host_(host) {
    host_.debug(std::string("origin_guard ") + GRAFT_COMPONENT_VERSION + " ready");
  }

  graft_status check_navigation(const char* initiator_url, const char* target_url,
                                origin_guard_verdict* verdict) const {
    if (initiator_url == nullptr || target_url == nullptr || verdict == nullptr) {
      return GRAFT_E_INVALID_ARGUMENT;
    }
    const auto result = origin_guard::same_origin(initiator_url, target_url);
    verdict->decision = result.same ? ORIGIN_GUARD_ALLOW : ORIGIN_GUARD_DENY;
    std::snprintf(verdict->reason, sizeof verdict->reason, "%s", result.reason.c_str());
    std::snprintf(verdict->version, sizeof verdict->version, "%s", GRAFT_COMPONENT_VERSION);
    return GRAFT_OK;
  }

  // Refuses to go live when libcurl's URL API does not behave as this
  // component expects (a library that cannot parse URLs allows nothing, but
  // it should not serve either).
  void self_test() const {
    expect("https://example.com/", "HTTPS://EXAMPLE.com:443/x", true);
    expect("https://example.com/", "http://example.com/", false);
    expect("data:text/html,x", "data:text/html,x", false);
  }

 private:
  void expect(const char* from, const char* to, bool same) const {
    if (origin_guard::same_origin(from, to).same != same) {
      throw std::runtime_error(std::string("self-test: wrong decision for ") + from + " -> " + to);
    }
  }

  graft::Host& host_;
};

const navigation_policy_v1 kTable = {
    .check_navigation = graft::method<&OriginGuard::check_navigation>,
};

}  // namespace

GRAFT_COMPONENT(OriginGuard, navigation_policy_v1, kTable)
