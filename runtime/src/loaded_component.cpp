#include "loaded_component.hpp"

#include "loaded_library.hpp"
#include "object_file_check.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

namespace graft::detail {
namespace {

std::string error_text(const graft_error& e) {
  const std::size_t n = ::strnlen(e.message, GRAFT_ERROR_MESSAGE_SIZE);
  return n == 0 ? std::string("(no message)") : std::string(e.message, n);
}

// The file as the operator knows it, and the copy that is loaded.
std::string file_words(const Artifact& a) {
  if (a.source.empty() || a.source == a.path) return "file '" + a.path.string() + "'";
  return "file '" + a.source.string() + "' (store copy '" + a.path.filename().string() + "')";
}

}  // namespace

Status LoadedComponent::open(const Artifact& artifact, const SlotSpec& spec, const CallGate& gate,
                             std::shared_ptr<spdlog::logger> logger,
                             std::unique_ptr<LoadedComponent>* out) {
  std::string what = "component '" + spec.component + "': " + file_words(artifact);
  if (Status s = check_object_file(artifact.path, what); !s) return s;

  std::unique_ptr<LoadedComponent> c(new LoadedComponent());
  c->artifact_ = artifact;
  c->logger_ = std::move(logger);
  if (Status s = LoadedLibrary::open(artifact.path, &c->library_); !s) {
    return classify_load_error(s.message(), what);
  }
  // Never published: no call can be inside, so a failure unloads at once.
  struct UnloadOnFailure {
    LoadedComponent* c;
    ~UnloadOnFailure() {
      if (c != nullptr) c->unload();
    }
  } on_failure{c.get()};
  auto entry = reinterpret_cast<graft_entry_fn>(c->library_->symbol(GRAFT_ENTRY_SYMBOL));
  if (entry == nullptr) {
    return Status(ErrorCode::entry_missing, what + ": exports no '" GRAFT_ENTRY_SYMBOL
                                                   "' entry function (not a graft "
                                                   "component, or built for another ABI)");
  }
  c->descriptor_ = entry(GRAFT_ABI_VERSION);
  if (Status s = check_descriptor(c->descriptor_, spec, what, &c->facts_); !s) return s;
  what = "component '" + spec.component + "' " + c->facts_.version.to_string() + ": " +
         file_words(artifact);

  c->services_.struct_size = sizeof(graft_host_services);
  c->services_.abi_version = GRAFT_ABI_VERSION;
  c->services_.host_context = c.get();
  c->services_.log = &LoadedComponent::log_bridge;

  graft_error err{};
  void* instance = nullptr;
  const graft_status created = c->descriptor_->create(&c->services_, &instance, &err);
  if (created != GRAFT_OK) {
    return Status(ErrorCode::create_failed, what + ": create failed (status " +
                                                std::to_string(created) + "): " + error_text(err));
  }
  if (instance == nullptr) {
    return Status(ErrorCode::create_failed,
                  what + ": create reported success but returned no instance");
  }
  c->instance_ = instance;
  if (c->facts_.has_self_test) {
    err = graft_error{};
    const graft_status tested = c->descriptor_->self_test(instance, &err);
    if (tested != GRAFT_OK) {
      return Status(
          ErrorCode::self_test_failed,
          what + ": self-test failed (status " + std::to_string(tested) + "): " + error_text(err));
    }
  }
  c->cell_.table = c->descriptor_->table;
  c->cell_.instance = instance;
  c->cell_.gate = &gate;
  c->cell_.slot_index = gate.index();
  on_failure.c = nullptr;
  *out = std::move(c);
  return Status();
}

LoadedComponent::~LoadedComponent() {
  // Never unmap from a destructor: only the slot's reaper unloads, after the
  // drain. One destroyed while loaded (a runtime torn down with calls inside)
  // stays mapped, its instance alive.
  if (library_ && instance_ != nullptr) {
    logger_->error("{}: destroyed while loaded; left mapped", describe());
  }
}

bool LoadedComponent::unload() {
  if (instance_ != nullptr) {
    descriptor_->destroy(instance_);
    instance_ = nullptr;
  }
  descriptor_ = nullptr;
  if (!library_) return true;
  const bool gone = library_->close();
  library_.reset();
  return gone;
}

std::string LoadedComponent::describe() const {
  return "component '" + facts_.name + "' " + facts_.version.to_string() + " (" +
         file_words(artifact_) + ")";
}

Status LoadedComponent::export_state(std::string* bytes) const {
  if (!facts_.can_export) {
    return Status(ErrorCode::state_unsupported, describe() + ": cannot export state");
  }
  graft_state_sink sink{bytes, [](void* ctx, const void* data, std::size_t size) -> graft_status {
                          try {
                            static_cast<std::string*>(ctx)->append(static_cast<const char*>(data),
                                                                   size);
                            return GRAFT_OK;
                          } catch (...) {
                            return GRAFT_E_NO_MEMORY;
                          }
                        }};
  graft_error err{};
  const graft_status s = descriptor_->export_state(instance_, &sink, &err);
  if (s != GRAFT_OK) {
    return Status(ErrorCode::state_export_failed, describe() + ": state export failed (status " +
                                                      std::to_string(s) + "): " + error_text(err));
  }
  return Status();
}

Status LoadedComponent::import_state(std::uint32_t schema, const std::string& bytes) {
  if (!facts_.can_import) {
    return Status(ErrorCode::state_unsupported, describe() + ": cannot import state");
  }
  graft_error err{};
  const graft_status s =
      descriptor_->import_state(instance_, schema, bytes.data(), bytes.size(), &err);
  if (s != GRAFT_OK) {
    std::string why = s == GRAFT_E_STATE_SCHEMA ? "refused state schema " + std::to_string(schema)
                                                : "state import failed";
    return Status(ErrorCode::state_import_failed, describe() + ": " + why + " (status " +
                                                      std::to_string(s) + "): " + error_text(err));
  }
  return Status();
}

void LoadedComponent::log_bridge(void* context, graft_log_level level, const char* message) {
  auto* self = static_cast<LoadedComponent*>(context);
  if (self == nullptr || message == nullptr) return;
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case GRAFT_LOG_TRACE:
      lvl = spdlog::level::trace;
      break;
    case GRAFT_LOG_DEBUG:
      lvl = spdlog::level::debug;
      break;
    case GRAFT_LOG_INFO:
      lvl = spdlog::level::info;
      break;
    case GRAFT_LOG_WARN:
      lvl = spdlog::level::warn;
      break;
    case GRAFT_LOG_ERROR:
      lvl = spdlog::level::err;
      break;
  }
  self->logger_->log(lvl, "[{} {}] {}", self->facts_.name, self->facts_.version.to_string(),
                     std::string_view(message, ::strnlen(message, 4096)));
}

}  // namespace graft::detail
