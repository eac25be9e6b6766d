/* The greeter interface: a stateless component whose versions answer
 * differently, used by hello_host and the tests. */
#ifndef GRAFT_EXAMPLE_GREETER_H
#define GRAFT_EXAMPLE_GREETER_H

#include <graft/abi.h>

#define GREETER_INTERFACE_ID "graft.example.greeter"
#define GREETER_INTERFACE_MAJOR 1u

#ifdef __cplusplus
extern "C" {
#endif

typedef struct greeter_v1 {
  /* Writes a greeting for `name` into `out` (NUL-terminated). */
  graft_status (*greet)(void* self, const char* name, char* out, size_t out_size);
  /* Maps `in` to a number that tells which build answered: in + 1000 * generation. */
  graft_status (*tag)(void* self, int64_t in, int64_t* out);
} greeter_v1;

#ifdef __cplusplus
}
#include <graft/interface.hpp>
GRAFT_DECLARE_INTERFACE(greeter_v1, GREETER_INTERFACE_ID, GREETER_INTERFACE_MAJOR)
#endif

#endif
