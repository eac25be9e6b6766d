// Whether two origins' hosts are the same host: ASCII case-insensitive, the
// way the WHATWG URL standard compares hosts once they are parsed.
#pragma once

#include <string>

namespace origin_guard {

bool hosts_match(const std::string& initiator_host, const std::string& target_host);

}  // namespace origin_guard
