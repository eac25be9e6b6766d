#include "etcd_client.hpp"

#include <curl/curl.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace graft::fleet {

namespace {

using json = nlohmann::json;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  });
}

// The gateway writes 64-bit numbers as strings; accept both.
std::int64_t number(const json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string bytes_field(const json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return {};
  std::string out;
  if (!base64_decode(it->get<std::string>(), &out)) return {};
  return out;
}

KeyValue key_value(const json& j) {
  KeyValue kv;
  kv.key = bytes_field(j, "key");
  kv.value = bytes_field(j, "value");
  kv.create_revision = number(j, "create_revision");
  kv.mod_revision = number(j, "mod_revision");
  kv.version = number(j, "version");
  kv.lease = number(j, "lease");
  return kv;
}

EtcdStatus failure(EtcdStatus::Kind kind, std::string message) {
  EtcdStatus s;
  s.kind = kind;
  s.message = std::move(message);
  return s;
}

struct Transfer {
  std::string* body = nullptr;
  std::size_t limit = 0;
  bool too_big = false;
  const std::atomic<bool>* stop = nullptr;
  // For streams: called with what arrived; false ends the transfer.
  std::function<bool(std::string&)> on_data;
};

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (t->body->size() + len > t->limit) {
    t->too_big = true;
    return 0;
  }
  t->body->append(data, len);
  if (t->on_data && !t->on_data(*t->body)) return 0;
  return len;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  return t->stop != nullptr && t->stop->load() ? 1 : 0;
}

// Takes complete top-level JSON objects off the front of `buffer`.
std::vector<std::string> split_objects(std::string& buffer) {
  std::vector<std::string> out;
  std::size_t start = std::string::npos, consumed = 0;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    const char c = buffer[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      if (depth++ == 0) start = i;
    } else if (c == '}' && depth > 0) {
      if (--depth == 0) {
        out.push_back(buffer.substr(start, i + 1 - start));
        consumed = i + 1;
      }
    }
  }
  buffer.erase(0, consumed);
  return out;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  global_init();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool base64_decode(const std::string& text, std::string* bytes) {
  global_init();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return false;
  }
  out.resize(len);
  *bytes = std::move(out);
  return true;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string check_tls_files(const EtcdOptions& o) {
  for (const auto& [what, file] : {std::pair<std::string, std::string>{"CA file", o.ca_file},
                                   {"client certificate", o.cert_file},
                                   {"client key", o.key_file}}) {
    if (file.empty()) continue;
    if (::access(file.c_str(), R_OK) != 0) {
      return "etcd " + what + " '" + file + "' cannot be read: " + std::strerror(errno);
    }
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return "etcd client certificate and client key go together: give both or neither";
  }
  if (o.username.empty() != o.password.empty()) {
    return "etcd user name and password go together: give both or neither";
  }
  return {};
}

namespace {

// What etcd says when a request's token is missing, expired or unknown.
bool token_rejected(const std::string& message) {
  return message.find("invalid auth token") != std::string::npos ||
         message.find("user name is empty") != std::string::npos ||
         message.find("token is expired") != std::string::npos ||
         message.find("revision of auth store is old") != std::string::npos;
}

}  // namespace

void EtcdClient::prepare(void* handle, char* error_buffer) const {
  CURL* curl = static_cast<CURL*>(handle);
  error_buffer[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.key_file.c_str());
  }
}

std::string EtcdClient::describe_failure(int code, const char* error_buffer) const {
  const auto rc = static_cast<CURLcode>(code);
  std::string out = curl_easy_strerror(rc);
  if (error_buffer[0] != '\0') out += " (" + std::string(error_buffer) + ")";
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      out += options_.ca_file.empty()
                 ? "; etcd's TLS certificate is not signed by a CA this system trusts (give the CA "
                   "file)"
                 : "; etcd's TLS certificate is not signed by the CA in " + options_.ca_file;
      break;
    case CURLE_SSL_CERTPROBLEM:
      out +=
          "; check the client certificate " + options_.cert_file + " and key " + options_.key_file;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      if (options_.cert_file.empty()) out += "; if etcd requires client certificates, give one";
      break;
    default:
      break;
  }
  return out;
}

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
  global_init();
  if (options_.endpoints.empty()) throw std::invalid_argument("etcd: no endpoints given");
  for (auto& e : options_.endpoints) {
    while (!e.empty() && e.back() == '/')
      e.pop_back();
  }
}

std::size_t EtcdClient::first_endpoint() const {
  std::lock_guard lock(mu_);
  return preferred_;
}

void EtcdClient::remember_endpoint(std::size_t i) {
  std::lock_guard lock(mu_);
  preferred_ = i;
}

EtcdStatus EtcdClient::token(std::string* out) {
  {
    std::lock_guard lock(mu_);
    if (!token_.empty()) {
      *out = token_;
      return EtcdStatus::success();
    }
  }
  std::string answer;
  const json body = {{"name", options_.username}, {"password", options_.password}};
  EtcdStatus st = call_once("/v3/auth/authenticate", body.dump(), &answer, options_.request_timeout,
                            nullptr, {});
  if (!st.ok()) {
    if (st.kind == EtcdStatus::Kind::refused) {
      st.message = "etcd authentication as '" + options_.username + "' failed: " + st.message;
    }
    return st;
  }
  json j;
  if (auto p = json::parse(answer, nullptr, false); p.is_object()) j = std::move(p);
  const std::string t = j.is_object() ? j.value("token", std::string()) : std::string();
  if (t.empty() || t.size() > 4096 || t.find_first_of("\r\n") != std::string::npos) {
    return failure(EtcdStatus::Kind::bad_answer, "etcd authentication gave no usable token");
  }
  authentications_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  token_ = t;
  *out = t;
  return EtcdStatus::success();
}

void EtcdClient::forget_token(const std::string& t) {
  std::lock_guard lock(mu_);
  if (token_ == t) token_.clear();
}

EtcdStatus EtcdClient::call(const std::string& path, const std::string& body, std::string* answer,
                            std::chrono::milliseconds timeout, const std::atomic<bool>* stop) {
  if (options_.username.empty()) {
    EtcdStatus st = call_once(path, body, answer, timeout, stop, {});
    if (st.kind == EtcdStatus::Kind::refused &&
        st.message.find("user name is empty") != std::string::npos) {
      st.message += "; etcd requires authentication: give a user and password";
    }
    return st;
  }
  // A token expires (etcd's --auth-token-ttl): one new one, then the request again.
  for (int attempt = 0;; ++attempt) {
    std::string t;
    if (EtcdStatus st = token(&t); !st.ok()) return st;
    EtcdStatus st = call_once(path, body, answer, timeout, stop, t);
    if (st.ok() || attempt > 0 || st.kind != EtcdStatus::Kind::refused ||
        !token_rejected(st.message)) {
      return st;
    }
    forget_token(t);
  }
}

EtcdStatus EtcdClient::call_once(const std::string& path, const std::string& body,
                                 std::string* answer, std::chrono::milliseconds timeout,
                                 const std::atomic<bool>* stop, const std::string& token) {
  const std::size_t n = options_.endpoints.size();
  const std::size_t first = first_endpoint();
  std::string last_error = "no endpoint tried";
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    const std::string url = options_.endpoints[i] + path;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return failure(EtcdStatus::Kind::unavailable, "curl_easy_init failed");
    std::string received;
    Transfer t;
    t.body = &received;
    t.limit = options_.max_response_bytes;
    t.stop = stop;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: " + token).c_str());
    char error_buffer[CURL_ERROR_SIZE];
    prepare(curl, error_buffer);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (stop != nullptr) {
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    }
    requests_.fetch_add(1, std::memory_order_relaxed);
    const CURLcode rc = curl_easy_perform(curl);
    long http = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (stop != nullptr && stop->load()) {
      return failure(EtcdStatus::Kind::unavailable, "stopped");
    }
    if (t.too_big) {
      return failure(EtcdStatus::Kind::bad_answer, "etcd answer from " + url + " exceeds " +
                                                       std::to_string(options_.max_response_bytes) +
                                                       " bytes");
    }
    if (rc != CURLE_OK) {
      // A campaign that times out is waiting its turn, not a broken endpoint.
      if (rc == CURLE_OPERATION_TIMEDOUT && path == "/v3/election/campaign") {
        return failure(EtcdStatus::Kind::unavailable, "timed out");
      }
      last_error = url + ": " + describe_failure(rc, error_buffer);
      continue;
    }
    if (http >= 500) {
      // A member without a leader, or one shutting down: another may do.
      last_error = url + ": HTTP " + std::to_string(http) + ": " + received.substr(0, 200);
      continue;
    }
    remember_endpoint(i);
    if (http != 200) {
      std::string why = url + ": HTTP " + std::to_string(http) + ": " + received.substr(0, 300);
      if (received.find("CommonName of client") != std::string::npos) {
        why +=
            "; etcd's JSON gateway takes only client certificates without a CommonName "
            "while its authentication is on: issue one whose subject has no CN";
      }
      return failure(EtcdStatus::Kind::refused, why);
    }
    *answer = std::move(received);
    return EtcdStatus::success();
  }
  return failure(EtcdStatus::Kind::unavailable, "etcd unavailable: " + last_error);
}

namespace {

EtcdStatus parse_answer(const std::string& text, json* out) {
  *out = json::parse(text, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    return failure(EtcdStatus::Kind::bad_answer, "etcd answer is not a JSON object");
  }
  return EtcdStatus::success();
}

}  // namespace

EtcdStatus EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
  json body = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  std::string answer;
  return call("/v3/kv/put", body.dump(), &answer, options_.request_timeout);
}

EtcdStatus EtcdClient::range(const std::string& key, const std::string& range_end,
                             std::vector<KeyValue>* out, std::int64_t* revision) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  std::string answer;
  if (auto st = call("/v3/kv/range", body.dump(), &answer, options_.request_timeout); !st.ok()) {
    return st;
  }
  json j;
  if (auto st = parse_answer(answer, &j); !st.ok()) return st;
  out->clear();
  if (const auto kvs = j.find("kvs"); kvs != j.end() && kvs->is_array()) {
    for (const auto& kv : *kvs)
      out->push_back(key_value(kv));
  }
  if (revision != nullptr && j.contains("header")) *revision = number(j["header"], "revision");
  return EtcdStatus::success();
}

EtcdStatus EtcdClient::get(const std::string& key, std::optional<KeyValue>* out,
                           std::int64_t* revision) {
  std::vector<KeyValue> kvs;
  auto st = range(key, {}, &kvs, revision);
  if (!st.ok()) return st;
  *out = kvs.empty() ? std::nullopt : std::optional<KeyValue>(kvs.front());
  return st;
}

EtcdStatus EtcdClient::delete_range(const std::string& key, const std::string& range_end) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  std::string answer;
  return call("/v3/kv/deleterange", body.dump(), &answer, options_.request_timeout);
}

EtcdStatus EtcdClient::put_if_unchanged(const std::string& key, std::int64_t mod_revision,
                                        const std::string& value, bool* done, std::int64_t lease) {
  json put = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  const json body = {{"compare", json::array({{{"key", base64_encode(key)},
                                               {"target", "MOD"},
                                               {"result", "EQUAL"},
                                               {"mod_revision", std::to_string(mod_revision)}}})},
                     {"success", json::array({{{"request_put", put}}})}};
  std::string answer;
  if (auto st = call("/v3/kv/txn", body.dump(), &answer, options_.request_timeout); !st.ok()) {
    return st;
  }
  json j;
  if (auto st = parse_answer(answer, &j); !st.ok()) return st;
  *done = j.value("succeeded", false);
  return EtcdStatus::success();
}

EtcdStatus EtcdClient::lease_grant(std::chrono::seconds ttl, std::int64_t* id) {
  const json body = {{"TTL", std::to_string(ttl.count())}};
  std::string answer;
  if (auto st = call("/v3/lease/grant", body.dump(), &answer, options_.request_timeout); !st.ok()) {
    return st;
  }
  json j;
  if (auto st = parse_answer(answer, &j); !st.ok()) return st;
  *id = number(j, "ID");
  if (*id == 0) return failure(EtcdStatus::Kind::bad_answer, "lease grant without an ID");
  return EtcdStatus::success();
}

EtcdStatus EtcdClient::lease_keepalive(std::int64_t id, std::int64_t* ttl_left) {
  // The gateway's keep-alive is a stream; one request, one answer.
  const json body = {{"ID", std::to_string(id)}};
  std::string answer;
  if (auto st = call("/v3/lease/keepalive", body.dump(), &answer, options_.request_timeout);
      !st.ok()) {
    return st;
  }
  std::string buffer = answer;
  const auto objects = split_objects(buffer);
  if (objects.empty()) return failure(EtcdStatus::Kind::bad_answer, "empty keep-alive answer");
  json j;
  if (auto st = parse_answer(objects.front(), &j); !st.ok()) return st;
  const json& result = j.contains("result") ? j["result"] : j;
  *ttl_left = number(result, "TTL");
  return EtcdStatus::success();
}

EtcdStatus EtcdClient::lease_revoke(std::int64_t id) {
  const json body = {{"ID", std::to_string(id)}};
  std::string answer;
  return call("/v3/lease/revoke", body.dump(), &answer, options_.request_timeout);
}

EtcdStatus EtcdClient::campaign(const std::string& name, std::int64_t lease,
                                const std::string& value, std::chrono::milliseconds timeout,
                                const std::atomic<bool>& stop, LeaderKey* leader) {
  const json body = {{"name", base64_encode(name)},
                     {"lease", std::to_string(lease)},
                     {"value", base64_encode(value)}};
  std::string answer;
  if (auto st = call("/v3/election/campaign", body.dump(), &answer, timeout, &stop); !st.ok()) {
    return st;
  }
  json j;
  if (auto st = parse_answer(answer, &j); !st.ok()) return st;
  const auto it = j.find("leader");
  if (it == j.end() || !it->is_object()) {
    return failure(EtcdStatus::Kind::bad_answer, "campaign answer names no leader");
  }
  leader->name = bytes_field(*it, "name");
  leader->key = bytes_field(*it, "key");
  leader->revision = number(*it, "rev");
  leader->lease = number(*it, "lease");
  return EtcdStatus::success();
}

EtcdStatus EtcdClient::resign(const LeaderKey& leader) {
  const json body = {{"leader",
                      {{"name", base64_encode(leader.name)},
                       {"key", base64_encode(leader.key)},
                       {"rev", std::to_string(leader.revision)},
                       {"lease", std::to_string(leader.lease)}}}};
  std::string answer;
  return call("/v3/election/resign", body.dump(), &answer, options_.request_timeout);
}

EtcdStatus EtcdClient::leader(const std::string& name, std::optional<KeyValue>* out) {
  const json body = {{"name", base64_encode(name)}};
  std::string answer;
  auto st = call("/v3/election/leader", body.dump(), &answer, options_.request_timeout);
  if (!st.ok()) {
    // "election: no leader" comes back as an error answer.
    if (st.kind == EtcdStatus::Kind::refused && st.message.find("no leader") != std::string::npos) {
      *out = std::nullopt;
      return EtcdStatus::success();
    }
    return st;
  }
  json j;
  if (auto s = parse_answer(answer, &j); !s.ok()) return s;
  if (const auto it = j.find("kv"); it != j.end() && it->is_object()) {
    *out = key_value(*it);
  } else {
    *out = std::nullopt;
  }
  return EtcdStatus::success();
}

WatchEnd EtcdClient::watch(const std::string& key, const std::string& range_end,
                           std::int64_t start_revision,
                           const std::function<bool(const WatchBatch&)>& on_batch,
                           const std::atomic<bool>& stop) {
  json create = {{"key", base64_encode(key)}};
  if (!range_end.empty()) create["range_end"] = base64_encode(range_end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  const std::string body = json{{"create_request", create}}.dump();

  WatchEnd end;
  std::string auth_token;
  if (!options_.username.empty()) {
    if (EtcdStatus st = token(&auth_token); !st.ok()) {
      end.status = st;
      return end;
    }
  }
  const std::size_t n = options_.endpoints.size();
  const std::size_t first = first_endpoint();
  std::string last_error;
  for (std::size_t k = 0; k < n && !stop.load(); ++k) {
    const std::size_t i = (first + k) % n;
    const std::string url = options_.endpoints[i] + "/v3/watch";
    std::string buffer;
    bool created = false, finished = false;
    std::string stream_error;
    Transfer t;
    t.body = &buffer;
    t.limit = options_.max_response_bytes;
    t.stop = &stop;
    t.on_data = [&](std::string& data) {
      for (const auto& text : split_objects(data)) {
        const json j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          stream_error = "watch: answer is not JSON";
          return false;
        }
        if (j.contains("error")) {
          stream_error = "watch: " + j["error"].dump().substr(0, 300);
          return false;
        }
        const json& r = j.contains("result") ? j["result"] : j;
        if (r.value("created", false)) created = true;
        if (const auto c = number(r, "compact_revision"); c > 0) {
          end.compact_revision = c;
          finished = true;
          return false;
        }
        if (r.value("canceled", false)) {
          stream_error = "watch canceled: " + r.value("cancel_reason", std::string());
          return false;
        }
        WatchBatch batch;
        if (r.contains("header")) batch.revision = number(r["header"], "revision");
        if (const auto ev = r.find("events"); ev != r.end() && ev->is_array()) {
          for (const auto& e : *ev) {
            WatchEvent we;
            we.type = e.value("type", std::string()) == "DELETE" ? WatchEvent::Type::del
                                                                 : WatchEvent::Type::put;
            if (e.contains("kv")) we.kv = key_value(e["kv"]);
            batch.events.push_back(std::move(we));
          }
        }
        if (!batch.events.empty() || batch.revision > 0) {
          if (!on_batch(batch)) {
            finished = true;
            return false;
          }
        }
      }
      return true;
    };
    CURL* curl = curl_easy_init();
    if (curl == nullptr) break;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!auth_token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: " + auth_token).c_str());
    }
    char error_buffer[CURL_ERROR_SIZE];
    prepare(curl, error_buffer);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    // A stream has no overall deadline; a dead peer is found by TCP keep-alive.
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    requests_.fetch_add(1, std::memory_order_relaxed);
    const CURLcode rc = curl_easy_perform(curl);
    long http = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (stop.load() || finished) {
      if (created) remember_endpoint(i);
      return end;
    }
    // A token etcd no longer takes: the next watch authenticates again.
    if (!auth_token.empty() && (token_rejected(stream_error) || token_rejected(buffer))) {
      forget_token(auth_token);
    }
    if (created) {
      // The stream ran, then broke: the caller resumes from its revision.
      remember_endpoint(i);
      end.status =
          failure(EtcdStatus::Kind::unavailable,
                  url + ": watch stream ended: " +
                      (stream_error.empty() ? describe_failure(rc, error_buffer) : stream_error));
      return end;
    }
    last_error = url + ": " +
                 (!stream_error.empty() ? stream_error
                  : rc != CURLE_OK      ? describe_failure(rc, error_buffer)
                                   : "HTTP " + std::to_string(http) + ": " + buffer.substr(0, 300));
  }
  end.status = failure(EtcdStatus::Kind::unavailable, "watch: etcd unavailable: " + last_error);
  return end;
}

}  // namespace graft::fleet
