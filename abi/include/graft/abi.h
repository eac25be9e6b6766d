/*
 * graft component ABI — the one contract a component is built against.
 *
 * Plain C. A component exports exactly one symbol, GRAFT_ENTRY_SYMBOL, which
 * returns a const descriptor. The descriptor starts with its own size and the
 * ABI version; fields are only ever appended, and the host reads no field
 * beyond the size it was given (the way sqlite3ext.h and the Vulkan loader
 * negotiate). Nothing of C++ crosses this boundary.
 */
#ifndef GRAFT_ABI_H
#define GRAFT_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped only for an incompatible change. A change of ABI version cannot be
 * patched live: it needs a new build of the host. */
#define GRAFT_ABI_VERSION 1u

/* The entry symbol's name, and its type. The version is part of the name so
 * that a component built for another ABI fails with "entry missing" instead
 * of being called through the wrong signature. */
#define GRAFT_ENTRY_SYMBOL "graft_component_entry_v1"

#if defined(_WIN32)
#define GRAFT_EXPORT __declspec(dllexport)
#else
#define GRAFT_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes. Every interface function and every lifecycle function returns
 * one. 0 is success; anything else counts as an error returned by the
 * component (probation counts them). Codes >= 100 are produced by the host's
 * call gate, never by a component. */
typedef int32_t graft_status;
#define GRAFT_OK 0
#define GRAFT_E_FAILED 1           /* generic failure; see the message */
#define GRAFT_E_INVALID_ARGUMENT 2 /* a caller passed something unusable */
#define GRAFT_E_EXCEPTION 3        /* a C++ exception was caught at the boundary */
#define GRAFT_E_NO_MEMORY 4
#define GRAFT_E_STATE_SCHEMA 5     /* exported state has a schema this version cannot read */
#define GRAFT_E_UNSUPPORTED 6      /* optional operation not provided */
#define GRAFT_E_BUFFER_TOO_SMALL 7 /* an output buffer was too small */
#define GRAFT_E_UNAVAILABLE 100    /* gate: no version serving, or the gate stayed closed */
#define GRAFT_E_NESTING 101        /* gate: calls nested deeper than the host allows */

/* The error message channel of lifecycle functions: the component writes a
 * NUL-terminated message into `message` (truncating as needed). */
#define GRAFT_ERROR_MESSAGE_SIZE 512
typedef struct graft_error {
  char message[GRAFT_ERROR_MESSAGE_SIZE];
} graft_error;

typedef enum graft_log_level {
  GRAFT_LOG_TRACE = 0,
  GRAFT_LOG_DEBUG = 1,
  GRAFT_LOG_INFO = 2,
  GRAFT_LOG_WARN = 3,
  GRAFT_LOG_ERROR = 4
} graft_log_level;

/* What the host offers a component. Size-checked like the descriptor: read
 * no field at or beyond struct_size. */
typedef struct graft_host_services {
  uint32_t struct_size;
  uint32_t abi_version;
  void* host_context; /* pass back unchanged */
  /* Logs a line into the host's logger, tagged with component and version. */
  void (*log)(void* host_context, graft_log_level level, const char* message);
} graft_host_services;

/* Exported state is written through a sink that the host owns, so no memory
 * changes hands across the boundary. */
typedef struct graft_state_sink {
  void* context;
  graft_status (*write)(void* context, const void* data, size_t size);
} graft_state_sink;

typedef struct graft_component_descriptor {
  /* --- negotiated header: always present --- */
  uint32_t struct_size; /* sizeof the descriptor the component was built with */
  uint32_t abi_version; /* GRAFT_ABI_VERSION the component was built with */

  /* --- identity --- */
  const char* component_name;    /* e.g. "origin_guard" */
  const char* component_version; /* e.g. "26.3.1 (a)" */
  const char* interface_id;      /* e.g. "graft.example.navigation_policy" */
  uint32_t interface_major;      /* a change here cannot be patched live */
  uint32_t table_size;           /* sizeof the function table; may grow by appending */
  const void* table;             /* the interface's function table */

  /* --- lifecycle (create and destroy are required) --- */
  graft_status (*create)(const graft_host_services* host, void** instance, graft_error* error);
  void (*destroy)(void* instance);

  /* --- optional: NULL when absent --- */
  graft_status (*self_test)(void* instance, graft_error* error);
  /* Schema of the state this version exports; 0 when it has none. */
  uint32_t state_schema;
  graft_status (*export_state)(void* instance, const graft_state_sink* sink, graft_error* error);
  /* Must refuse with GRAFT_E_STATE_SCHEMA a schema it cannot read. */
  graft_status (*import_state)(void* instance, uint32_t schema, const void* data, size_t size,
                               graft_error* error);
} graft_component_descriptor;

/* The smallest descriptor a host accepts: everything up to and including
 * `destroy`. Fields after it are read only when struct_size covers them. */
#define GRAFT_DESCRIPTOR_MIN_SIZE \
  (offsetof(graft_component_descriptor, destroy) + sizeof(void (*)(void*)))

/* True when a descriptor of size `size` contains `field` whole. */
#define GRAFT_DESCRIPTOR_HAS(size, field) \
  ((size) >=                              \
   offsetof(graft_component_descriptor, field) + sizeof(((graft_component_descriptor*)0)->field))

typedef const graft_component_descriptor* (*graft_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* GRAFT_ABI_H */
