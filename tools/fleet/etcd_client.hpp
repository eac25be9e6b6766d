// A client of etcd's v3 API through its JSON gateway (/v3/...), over
// libcurl. Keys and values travel base64-encoded; 64-bit numbers come back
// as JSON strings. Every request has a deadline and a cap on the size of
// the answer. With several endpoints, a request that cannot reach one (or
// gets a 5xx from it) is tried on the next; the last endpoint that answered
// is tried first next time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace graft::fleet {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // http://127.0.0.1:2379
  std::chrono::milliseconds request_timeout{3000};
  std::chrono::milliseconds connect_timeout{1000};
  std::size_t max_response_bytes = 16u << 20;
  // TLS (https:// endpoints): the CA that signed etcd's certificate (empty:
  // the system's CAs), and a client certificate and key for etcd's
  // --client-cert-auth (both or neither).
  std::string ca_file, cert_file, key_file;
  // etcd's own authentication: the client gets a token from
  // /v3/auth/authenticate and sends it with every request, and gets a new
  // one when etcd says the token is no longer valid (it expires).
  std::string username, password;
};

// Checks that the TLS files given exist and are readable and that a client
// certificate comes with its key; the error names the option.
std::string check_tls_files(const EtcdOptions& options);

// What a request came to. `unavailable` means no endpoint answered (or
// each answered 5xx): worth retrying later. `refused` is an answer from
// etcd that said no (e.g. a lease that does not exist).
struct EtcdStatus {
  enum class Kind { ok, unavailable, refused, bad_answer };
  Kind kind = Kind::ok;
  std::string message;
  bool ok() const noexcept { return kind == Kind::ok; }
  static EtcdStatus success() { return {}; }
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;
};

// One answer of a watch stream: its events and the store's revision.
struct WatchBatch {
  std::int64_t revision = 0;
  std::vector<WatchEvent> events;
};

// How a watch ended.
struct WatchEnd {
  EtcdStatus status;                  // unavailable: the stream broke; ok: stopped by the caller
  std::int64_t compact_revision = 0;  // > 0: start_revision was compacted away; resync
};

struct LeaderKey {
  std::string name;
  std::string key;
  std::int64_t revision = 0;
  std::int64_t lease = 0;
};

// The end of the range of every key that starts with `prefix`.
std::string prefix_end(const std::string& prefix);

class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions options);

  const EtcdOptions& options() const noexcept { return options_; }

  EtcdStatus put(const std::string& key, const std::string& value, std::int64_t lease = 0);
  // Keys in [key, range_end) (just `key` when range_end is empty); the
  // store's revision at the time of the read goes to `revision`.
  EtcdStatus range(const std::string& key, const std::string& range_end, std::vector<KeyValue>* out,
                   std::int64_t* revision = nullptr);
  EtcdStatus get(const std::string& key, std::optional<KeyValue>* out,
                 std::int64_t* revision = nullptr);
  EtcdStatus delete_range(const std::string& key, const std::string& range_end = {});
  // Puts `value` only when `key` was last modified at `mod_revision` (0:
  // does not exist). `done` says whether it was put.
  EtcdStatus put_if_unchanged(const std::string& key, std::int64_t mod_revision,
                              const std::string& value, bool* done, std::int64_t lease = 0);

  EtcdStatus lease_grant(std::chrono::seconds ttl, std::int64_t* id);
  // One keep-alive; `ttl_left` is 0 when the lease is gone.
  EtcdStatus lease_keepalive(std::int64_t id, std::int64_t* ttl_left);
  EtcdStatus lease_revoke(std::int64_t id);

  // Blocks until this lease's candidate leads election `name` or `stop`
  // turns true or `timeout` passes (then `leader` stays empty and the
  // status is unavailable with "timed out").
  EtcdStatus campaign(const std::string& name, std::int64_t lease, const std::string& value,
                      std::chrono::milliseconds timeout, const std::atomic<bool>& stop,
                      LeaderKey* leader);
  EtcdStatus resign(const LeaderKey& leader);
  // The current leader's value (nullopt when none).
  EtcdStatus leader(const std::string& name, std::optional<KeyValue>* out);

  // Watches [key, range_end) from `start_revision` (0: now), calling
  // `on_batch` for each answer until it returns false, `stop` turns true,
  // or the stream ends. Blocks the calling thread.
  WatchEnd watch(const std::string& key, const std::string& range_end, std::int64_t start_revision,
                 const std::function<bool(const WatchBatch&)>& on_batch,
                 const std::atomic<bool>& stop);

  // Requests sent so far (for the idle-traffic figure).
  std::uint64_t requests_sent() const noexcept { return requests_.load(); }
  // Tokens obtained from /v3/auth/authenticate so far.
  std::uint64_t authentications() const noexcept { return authentications_.load(); }

 private:
  // One request to every endpoint in turn, with `token` (may be empty).
  EtcdStatus call_once(const std::string& path, const std::string& body, std::string* answer,
                       std::chrono::milliseconds timeout, const std::atomic<bool>* stop,
                       const std::string& token);
  // The current token, authenticating first when there is none.
  EtcdStatus token(std::string* out);
  void forget_token(const std::string& token);
  // TLS options and the error buffer for one handle.
  void prepare(void* curl, char* error_buffer) const;
  std::string describe_failure(int curl_code, const char* error_buffer) const;
  // POSTs `body` (JSON) to `path` on the endpoints in turn; the parsed
  // answer goes to `answer` (JSON text).
  EtcdStatus call(const std::string& path, const std::string& body, std::string* answer,
                  std::chrono::milliseconds timeout, const std::atomic<bool>* stop = nullptr);
  std::size_t first_endpoint() const;
  void remember_endpoint(std::size_t i);

  EtcdOptions options_;
  mutable std::mutex mu_;
  std::size_t preferred_ = 0;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> authentications_{0};
  std::string token_;  // guarded by mu_
};

// base64 (standard alphabet, padded), as the gateway wants bytes.
std::string base64_encode(const std::string& bytes);
bool base64_decode(const std::string& text, std::string* bytes);

}  // namespace graft::fleet
