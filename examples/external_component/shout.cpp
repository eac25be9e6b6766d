// A component built only against the installed graft::abi.
#include "shout.h"

#include <graft/component.hpp>

#include <cctype>
#include <string>

#ifndef SHOUT_MARKS
#define SHOUT_MARKS "!"
#endif

namespace {

class Shout {
 public:
  explicit Shout(graft::Host&) {}
  graft_status shout(const char* text, char* out, size_t out_size) {
    std::string s(text);
    for (char& c : s)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    s += SHOUT_MARKS;
    if (s.size() + 1 > out_size) return GRAFT_E_BUFFER_TOO_SMALL;
    s.copy(out, s.size());
    out[s.size()] = '\0';
    return GRAFT_OK;
  }
};

const shout_v1 kTable = {.shout = graft::method<&Shout::shout>};

}  // namespace

GRAFT_COMPONENT(Shout, shout_v1, kTable)
