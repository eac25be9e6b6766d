/* The navigation policy interface: may the page that starts a navigation
 * read the response of the page it navigates to? The answer follows the
 * same-origin rule of the WHATWG URL standard. */
#ifndef GRAFT_EXAMPLE_ORIGIN_GUARD_H
#define GRAFT_EXAMPLE_ORIGIN_GUARD_H

#include <graft/abi.h>

#define ORIGIN_GUARD_INTERFACE_ID "graft.example.navigation_policy"
#define ORIGIN_GUARD_INTERFACE_MAJOR 1u

#define ORIGIN_GUARD_REASON_SIZE 256
#define ORIGIN_GUARD_VERSION_SIZE 32

#ifdef __cplusplus
extern "C" {
#endif

typedef enum origin_guard_decision {
  ORIGIN_GUARD_DENY = 0,
  ORIGIN_GUARD_ALLOW = 1
} origin_guard_decision;

/* Filled by the component. The caller owns it; fixed-size buffers keep it
 * free of allocations across the boundary. */
typedef struct origin_guard_verdict {
  int32_t decision;                        /* an origin_guard_decision */
  char reason[ORIGIN_GUARD_REASON_SIZE];   /* short, NUL-terminated, truncated if needed */
  char version[ORIGIN_GUARD_VERSION_SIZE]; /* the component version that decided */
} origin_guard_verdict;

typedef struct navigation_policy_v1 {
  /* Decides whether a page at `initiator_url` may read the response of
   * `target_url`. An unparseable URL is an opaque origin: denied, not an
   * error. Returns GRAFT_E_INVALID_ARGUMENT only for NULL arguments. */
  graft_status (*check_navigation)(void* self, const char* initiator_url, const char* target_url,
                                   origin_guard_verdict* verdict);
} navigation_policy_v1;

#ifdef __cplusplus
}
#include <graft/interface.hpp>
GRAFT_DECLARE_INTERFACE(navigation_policy_v1, ORIGIN_GUARD_INTERFACE_ID,
                        ORIGIN_GUARD_INTERFACE_MAJOR)
#endif

#endif
