/* The counter interface: a stateful component. Its state moves from one
 * version to the next in a quiesce swap. */
#ifndef GRAFT_EXAMPLE_COUNTER_H
#define GRAFT_EXAMPLE_COUNTER_H

#include <graft/abi.h>

#define COUNTER_INTERFACE_ID "graft.example.counter"
#define COUNTER_INTERFACE_MAJOR 1u

#ifdef __cplusplus
extern "C" {
#endif

typedef struct counter_v1 {
  /* Adds `delta`; writes the new total to `total` (may be NULL). */
  graft_status (*add)(void* self, int64_t delta, int64_t* total);
  graft_status (*get)(void* self, int64_t* total);
  /* Which build answered (1 or 2). */
  graft_status (*generation)(void* self, int32_t* out);
} counter_v1;

#ifdef __cplusplus
}
#include <graft/interface.hpp>
GRAFT_DECLARE_INTERFACE(counter_v1, COUNTER_INTERFACE_ID, COUNTER_INTERFACE_MAJOR)
#endif

#endif
