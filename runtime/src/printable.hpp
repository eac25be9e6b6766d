// Text from outside (inbox folder names, manifest fields, file names) on its
// way into a log line, a refusal record or a terminal: control characters
// are escaped, so a name cannot start a forged log line ("\n2026-... host
// installed ...") or send escape sequences to an operator's terminal. The
// one escaping function for every such place.
//
//   logger->info("inbox: bundle {} arriving", printable(name));
//   // "evil<newline>[info] installed"  ->  "evil\n[info] installed"
#pragma once

#include <string>
#include <string_view>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft {

// Bytes below 0x20 and DEL become C-style escapes (\n, \r, \t, \x1b, ...);
// everything else, UTF-8 included, is kept. A backslash is kept as it is, so
// that escaping twice changes nothing (messages escaped where they are made
// pass through the log sinks unchanged); what matters is that no control
// character reaches the sink.
std::string printable(std::string_view text);

}  // namespace graft

#pragma GCC visibility pop
