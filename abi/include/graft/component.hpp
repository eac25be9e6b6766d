// Header-only C++ helper for component authors. It compiles into the
// component: a component is written as a plain C++ class, exported with one
// declaration, and every exception is caught at the C boundary and turned
// into a status code and a message.
//
//   class Greeter {
//    public:
//     explicit Greeter(graft::Host& host) : host_(host) {}
//     graft_status greet(const char* name, char* out, size_t size);
//   };
//   const greeter_v1 kTable = {.greet = graft::method<&Greeter::greet>};
//   GRAFT_COMPONENT(Greeter, greeter_v1, kTable)
//
// Optional members, found by the helper when present:
//   void self_test();                       // throw (or return false) to fail
//   static constexpr uint32_t state_schema = N;
//   void export_state(graft::StateWriter&); // write the state's bytes
//   void import_state(uint32_t schema, std::string_view bytes);
//     // throw graft::StateSchemaError for a schema it cannot read
#pragma once

#include <graft/abi.h>
#include <graft/interface.hpp>

#include <cxxabi.h>

#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

// glibc's forced unwind carries no C++ object: `catch (abi::__forced_unwind&)`
// binds a reference to null, which UBSan's null check would report.
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define GRAFT_NO_SANITIZE_NULL __attribute__((no_sanitize("null")))
#endif
#endif
#ifndef GRAFT_NO_SANITIZE_NULL
#define GRAFT_NO_SANITIZE_NULL
#endif

namespace graft {

// What a component sees of its host.
class Host {
 public:
  explicit Host(const graft_host_services* services) noexcept : services_(services) {}

  void log(graft_log_level level, std::string_view message) const noexcept {
    if (services_ == nullptr || !has_log()) return;
    try {
      std::string line(message);
      services_->log(services_->host_context, level, line.c_str());
    } catch (...) {
      // Logging must never throw out of a component.
    }
  }
  void debug(std::string_view m) const noexcept { log(GRAFT_LOG_DEBUG, m); }
  void info(std::string_view m) const noexcept { log(GRAFT_LOG_INFO, m); }
  void warn(std::string_view m) const noexcept { log(GRAFT_LOG_WARN, m); }
  void error(std::string_view m) const noexcept { log(GRAFT_LOG_ERROR, m); }

 private:
  // Size-checked: an older host may hand a smaller services table.
  bool has_log() const noexcept {
    return services_->struct_size >= offsetof(graft_host_services, log) + sizeof(services_->log) &&
           services_->log != nullptr;
  }
  const graft_host_services* services_;
};

// Throw to return a specific status with a message.
class ComponentError : public std::runtime_error {
 public:
  ComponentError(graft_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  graft_status status() const noexcept { return status_; }

 private:
  graft_status status_;
};

// Thrown by import_state for a schema the version cannot read.
class StateSchemaError : public ComponentError {
 public:
  explicit StateSchemaError(const std::string& message)
      : ComponentError(GRAFT_E_STATE_SCHEMA, message) {}
};

// Writes exported state into the host's sink.
class StateWriter {
 public:
  explicit StateWriter(const graft_state_sink* sink) noexcept : sink_(sink) {}
  void write(const void* data, std::size_t size) {
    if (sink_->write(sink_->context, data, size) != GRAFT_OK) {
      throw ComponentError(GRAFT_E_FAILED, "host refused exported state");
    }
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

 private:
  const graft_state_sink* sink_;
};

namespace detail {

inline void set_error(graft_error* error, const char* message) noexcept {
  if (error == nullptr) return;
  std::strncpy(error->message, message, GRAFT_ERROR_MESSAGE_SIZE - 1);
  error->message[GRAFT_ERROR_MESSAGE_SIZE - 1] = '\0';
}

// Runs `body` and turns whatever it throws into a status and a message.
// Not noexcept, and the one thing it lets through is glibc's forced unwind
// (pthread_exit, thread cancellation): swallowing it aborts the process, and
// the host's call gate unpins on its way out.
template <class Body>
GRAFT_NO_SANITIZE_NULL graft_status guard(graft_error* error, const Host* host, Body&& body) {
  try {
    return body();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (const ComponentError& e) {
    set_error(error, e.what());
    if (host != nullptr) host->error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_error(error, "out of memory");
    if (host != nullptr) host->error("out of memory");
    return GRAFT_E_NO_MEMORY;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    if (host != nullptr) host->error(std::string("exception at the ABI boundary: ") + e.what());
    return GRAFT_E_EXCEPTION;
  } catch (...) {
    set_error(error, "unknown exception");
    if (host != nullptr) host->error("unknown exception at the ABI boundary");
    return GRAFT_E_EXCEPTION;
  }
}

// What the host's `void* instance` points to.
template <class Impl>
struct Instance {
  explicit Instance(const graft_host_services* services) : host(services), impl(host) {}
  Host host;
  Impl impl;
};

template <class R>
graft_status to_status(R&& r) noexcept {
  if constexpr (std::is_same_v<std::decay_t<R>, bool>) {
    return r ? GRAFT_OK : GRAFT_E_FAILED;
  } else {
    return static_cast<graft_status>(r);
  }
}

template <auto Method>
struct MethodThunk;

template <class C, class R, class... A, R (C::*M)(A...)>
struct MethodThunk<M> {
  static graft_status call(void* self, A... args) {
    auto* inst = static_cast<Instance<C>*>(self);
    return guard(nullptr, &inst->host, [&]() -> graft_status {
      if constexpr (std::is_void_v<R>) {
        (inst->impl.*M)(args...);
        return GRAFT_OK;
      } else {
        return to_status((inst->impl.*M)(args...));
      }
    });
  }
};

template <class C, class R, class... A, R (C::*M)(A...) const>
struct MethodThunk<M> {
  static graft_status call(void* self, A... args) {
    auto* inst = static_cast<const Instance<C>*>(self);
    return guard(nullptr, &inst->host, [&]() -> graft_status {
      if constexpr (std::is_void_v<R>) {
        (inst->impl.*M)(args...);
        return GRAFT_OK;
      } else {
        return to_status((inst->impl.*M)(args...));
      }
    });
  }
};

template <class Impl>
constexpr std::uint32_t state_schema_of() {
  if constexpr (requires { Impl::state_schema; }) {
    return Impl::state_schema;
  } else {
    return 0;
  }
}

template <class Impl>
struct Lifecycle {
  static graft_status create(const graft_host_services* services, void** out, graft_error* error) {
    return guard(error, nullptr, [&]() -> graft_status {
      *out = new Instance<Impl>(services);
      return GRAFT_OK;
    });
  }

  GRAFT_NO_SANITIZE_NULL static void destroy(void* self) {
    try {
      delete static_cast<Instance<Impl>*>(self);
    } catch (abi::__forced_unwind&) {
      throw;
    } catch (...) {
      // A destructor that throws has nowhere to report to.
    }
  }

  static graft_status self_test(void* self, graft_error* error) {
    auto* inst = static_cast<Instance<Impl>*>(self);
    return guard(error, &inst->host, [&]() -> graft_status {
      using R = decltype(inst->impl.self_test());
      if constexpr (std::is_void_v<R>) {
        inst->impl.self_test();
        return GRAFT_OK;
      } else {
        graft_status s = to_status(inst->impl.self_test());
        if (s != GRAFT_OK) set_error(error, "self-test reported failure");
        return s;
      }
    });
  }

  static graft_status export_state(void* self, const graft_state_sink* sink, graft_error* error) {
    auto* inst = static_cast<Instance<Impl>*>(self);
    return guard(error, &inst->host, [&]() -> graft_status {
      StateWriter writer(sink);
      inst->impl.export_state(writer);
      return GRAFT_OK;
    });
  }

  static graft_status import_state(void* self, std::uint32_t schema, const void* data,
                                   std::size_t size, graft_error* error) {
    auto* inst = static_cast<Instance<Impl>*>(self);
    return guard(error, &inst->host, [&]() -> graft_status {
      inst->impl.import_state(schema, std::string_view(static_cast<const char*>(data), size));
      return GRAFT_OK;
    });
  }
};

template <class Impl, class Table>
constexpr graft_component_descriptor describe(const char* name, const char* version,
                                              const Table* table) {
  using L = Lifecycle<Impl>;
  graft_component_descriptor d{};
  d.struct_size = sizeof(graft_component_descriptor);
  d.abi_version = GRAFT_ABI_VERSION;
  d.component_name = name;
  d.component_version = version;
  d.interface_id = InterfaceTraits<Table>::id;
  d.interface_major = InterfaceTraits<Table>::major;
  d.table_size = sizeof(Table);
  d.table = table;
  d.create = &L::create;
  d.destroy = &L::destroy;
  if constexpr (requires(Impl & i) { i.self_test(); }) d.self_test = &L::self_test;
  d.state_schema = state_schema_of<Impl>();
  if constexpr (requires(Impl & i, StateWriter & w) { i.export_state(w); }) {
    d.export_state = &L::export_state;
  }
  if constexpr (requires(Impl & i, std::uint32_t s, std::string_view b) { i.import_state(s, b); }) {
    d.import_state = &L::import_state;
  }
  return d;
}

}  // namespace detail

// The C function for a member function: `.greet = graft::method<&Greeter::greet>`.
// The member returns graft_status, bool or void; whatever it throws becomes a
// status (and a log line through the host).
template <auto Method>
inline constexpr auto method = &detail::MethodThunk<Method>::call;

}  // namespace graft

// graft_add_component() defines GRAFT_COMPONENT_NAME and GRAFT_COMPONENT_VERSION.
#if defined(GRAFT_COMPONENT_NAME) && defined(GRAFT_COMPONENT_VERSION)
#define GRAFT_COMPONENT(Impl, Table, table_variable) \
  GRAFT_COMPONENT_AS(Impl, Table, table_variable, GRAFT_COMPONENT_NAME, GRAFT_COMPONENT_VERSION)
#endif

// Exports the component's one symbol. Name and version given explicitly.
#define GRAFT_COMPONENT_AS(Impl, Table, table_variable, name, version)                \
  namespace {                                                                         \
  constexpr graft_component_descriptor graft_descriptor_ =                            \
      ::graft::detail::describe<Impl, Table>(name, version, &(table_variable));       \
  }                                                                                   \
  extern "C" GRAFT_EXPORT const graft_component_descriptor* graft_component_entry_v1( \
      std::uint32_t host_abi_version) {                                               \
    (void)host_abi_version;                                                           \
    return &graft_descriptor_;                                                        \
  }
