// How `graftctl status` and `graftctl top` show a host's board to people.
#pragma once

#include <graft/host_directory.hpp>

#include <chrono>
#include <map>
#include <ostream>
#include <string>

namespace graftctl {

// "3d 4h", "12m 5s", "40s"
std::string format_duration(std::chrono::seconds d);

// Calls per second per component, from two readings of the same host.
using CallRates = std::map<std::string, double>;

// One host: a heading line, its components, its pending bundles. With
// `rates`, a CALLS/S column is added.
void print_host_status(std::ostream& out, const graft::HostEntry& host,
                       const CallRates* rates = nullptr);

}  // namespace graftctl
