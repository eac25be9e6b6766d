#include "host_match.hpp"

#include <strings.h>

namespace origin_guard {

#ifdef ORIGIN_GUARD_FIX_HOST_PREFIX_MATCH

// 26.3.1 (a): both hosts whole. See ADVISORY.md.
bool hosts_match(const std::string& initiator_host, const std::string& target_host) {
  return initiator_host.size() == target_host.size() &&
         strncasecmp(initiator_host.c_str(), target_host.c_str(), target_host.size()) == 0;
}

#else

// 26.3.1: compares as many characters as the target host has. An initiator
// host that merely starts with the target host passes, e.g.
// bank.example.attacker.test for bank.example (GRAFT-2026-0001).
bool hosts_match(const std::string& initiator_host, const std::string& target_host) {
  return strncasecmp(initiator_host.c_str(), target_host.c_str(), target_host.size()) == 0;
}

#endif

}  // namespace origin_guard
