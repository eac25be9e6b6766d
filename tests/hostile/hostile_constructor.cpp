// A shared object whose constructor does what GRAFT_HOSTILE_CONSTRUCTOR says
// ("hang", "crash", "exit"): what `graftctl bundle` must survive, since
// reading a descriptor means loading the object.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

__attribute__((constructor)) void misbehave() {
  const char* what = std::getenv("GRAFT_HOSTILE_CONSTRUCTOR");
  if (what == nullptr) return;
  if (std::strcmp(what, "hang") == 0) {
    for (;;)
      ::pause();
  }
  if (std::strcmp(what, "crash") == 0) ::raise(SIGSEGV);
  if (std::strcmp(what, "exit") == 0) ::_exit(0);
}

}  // namespace
