// The libcurl functions graft_fleet calls, defined here and forwarded to
// libcurl.so.4, which is opened the first time one of them runs.
//
// Why: libcurl pulls some thirty more libraries into a process (TLS,
// Kerberos, LDAP, IDN...). Linked directly, every graftctl command paid for
// mapping and relocating them at start (about 5 ms of CPU, two thirds of a
// `graftctl --version`) although only the fleet commands and graft-agent
// speak HTTP. Defined under libcurl's own names, the callers (etcd_client,
// object_fetch) stay written against <curl/curl.h> unchanged.
//
// When libcurl cannot be opened, curl_easy_init returns null and
// curl_easy_strerror says why, so every caller's existing error path reports
// it; nothing is retried on each call.
#include <curl/curl.h>

#include <dlfcn.h>

#include <cstdarg>
#include <mutex>
#include <string>

namespace {

struct Curl {
  void* handle = nullptr;
  std::string error;  // why libcurl could not be opened
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;

  template <class F>
  bool bind(F* fn, const char* name) {
    *fn = reinterpret_cast<F>(::dlsym(handle, name));
    if (*fn == nullptr) error = std::string("libcurl.so.4 has no ") + name;
    return *fn != nullptr;
  }

  Curl() {
    // RTLD_LOCAL: its symbols do not replace the forwarders below.
    handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      error = std::string("cannot load libcurl.so.4: ") + (why != nullptr ? why : "unknown error");
      return;
    }
    const bool all =
        bind(&global_init, "curl_global_init") && bind(&easy_init, "curl_easy_init") &&
        bind(&easy_setopt, "curl_easy_setopt") && bind(&easy_perform, "curl_easy_perform") &&
        bind(&easy_getinfo, "curl_easy_getinfo") && bind(&easy_cleanup, "curl_easy_cleanup") &&
        bind(&easy_strerror, "curl_easy_strerror") && bind(&slist_append, "curl_slist_append") &&
        bind(&slist_free_all, "curl_slist_free_all");
    if (!all) {
      ::dlclose(handle);
      handle = nullptr;
    }
  }
  bool ok() const { return handle != nullptr; }
};

const Curl& curl() {
  static const Curl lib;  // opened once, on first use; never closed
  return lib;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  return curl().ok() ? curl().global_init(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init(void) {
  return curl().ok() ? curl().easy_init() : nullptr;
}

// The one argument's type follows from the option's number range, as in
// libcurl's own curl_easy_setopt.
CURLcode curl_easy_setopt(CURL* handle, CURLoption option, ...) {
  if (!curl().ok()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = curl().easy_setopt(handle, option, va_arg(args, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = curl().easy_setopt(handle, option, va_arg(args, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = curl().easy_setopt(handle, option, va_arg(args, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = curl().easy_setopt(handle, option, va_arg(args, curl_off_t));
  } else {
    rc = curl().easy_setopt(handle, option, va_arg(args, void*));
  }
  va_end(args);
  return rc;
}

CURLcode curl_easy_perform(CURL* handle) {
  return curl().ok() ? curl().easy_perform(handle) : CURLE_FAILED_INIT;
}

// Every CURLINFO takes a pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL* handle, CURLINFO info, ...) {
  if (!curl().ok()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  void* out = va_arg(args, void*);
  va_end(args);
  return curl().easy_getinfo(handle, info, out);
}

void curl_easy_cleanup(CURL* handle) {
  if (curl().ok()) curl().easy_cleanup(handle);
}

const char* curl_easy_strerror(CURLcode code) {
  return curl().ok() ? curl().easy_strerror(code) : curl().error.c_str();
}

curl_slist* curl_slist_append(curl_slist* list, const char* text) {
  return curl().ok() ? curl().slist_append(list, text) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  if (curl().ok()) curl().slist_free_all(list);
}

}  // extern "C"
