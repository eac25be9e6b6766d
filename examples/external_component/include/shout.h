/* An interface defined outside the graft tree: turn text to upper case. */
#ifndef SHOUT_H
#define SHOUT_H

#include <graft/abi.h>

#define SHOUT_INTERFACE_ID "example.shout"
#define SHOUT_INTERFACE_MAJOR 1u

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shout_v1 {
  graft_status (*shout)(void* self, const char* text, char* out, size_t out_size);
} shout_v1;

#ifdef __cplusplus
}
#include <graft/interface.hpp>
GRAFT_DECLARE_INTERFACE(shout_v1, SHOUT_INTERFACE_ID, SHOUT_INTERFACE_MAJOR)
#endif

#endif
