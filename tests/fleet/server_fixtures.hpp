// Real servers for the fleet tests: an etcd cluster (1 or 3 members) and an
// nginx serving a folder of objects, each on free loopback ports with its
// data in a temporary folder, stopped (SIGKILL, reaped) when destroyed.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace graft::testing {

namespace fleet_fs = std::filesystem;

// A loopback port nothing listens on now (the kernel's pick).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Starts `args` with stdout and stderr going to `log`; returns the pid.
inline pid_t spawn(std::vector<std::string> args, const fleet_fs::path& log) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::setpgid(0, 0);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline void kill_and_reap(pid_t& pid, int signo = SIGKILL) {
  if (pid <= 0) return;
  ::kill(pid, signo);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// etcd's TLS, for EtcdCluster: its certificate and key, and the CA it
// trusts for client certificates (then required). The client certificate
// and key are the ones the fixture's own probes use.
struct EtcdTls {
  fleet_fs::path ca, server_cert, server_key, client_cert, client_key;
};

// Certificates made with the openssl command for one test: a CA, a server
// certificate for 127.0.0.1 signed by it, a client certificate signed by
// it, and a second CA that signed neither.
class TestCertificates {
 public:
  explicit TestCertificates(const fleet_fs::path& dir) : dir_(dir) {
    fleet_fs::create_directories(dir_);
    make_ca("ca");
    make_ca("other-ca");
    make_signed("server", "/CN=127.0.0.1",
                "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    // No CommonName: etcd's JSON gateway refuses client certificates with
    // one when its authentication is on (the name would not be the user).
    make_signed("client", "/O=graft-test-client", "extendedKeyUsage=clientAuth\n");
  }
  fleet_fs::path ca() const { return dir_ / "ca.pem"; }
  fleet_fs::path other_ca() const { return dir_ / "other-ca.pem"; }
  EtcdTls etcd_tls() const {
    return {ca(), dir_ / "server.pem", dir_ / "server.key", dir_ / "client.pem",
            dir_ / "client.key"};
  }

 private:
  void openssl(const std::string& args) const {
    const std::string cmd = "openssl " + args + " >>" + (dir_ / "openssl.log").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }
  void make_ca(const std::string& name) const {
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
            name + " -keyout " + (dir_ / (name + ".key")).string() + " -out " +
            (dir_ / (name + ".pem")).string());
  }
  void make_signed(const std::string& name, const std::string& subject,
                   const std::string& ext) const {
    const fleet_fs::path ext_file = dir_ / (name + ".ext");
    std::ofstream(ext_file) << ext;
    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj " + subject +
            " -keyout " + (dir_ / (name + ".key")).string() + " -out " +
            (dir_ / (name + ".csr")).string());
    openssl("x509 -req -days 2 -in " + (dir_ / (name + ".csr")).string() + " -CA " +
            (dir_ / "ca.pem").string() + " -CAkey " + (dir_ / "ca.key").string() +
            " -CAcreateserial -extfile " + ext_file.string() + " -out " +
            (dir_ / (name + ".pem")).string());
  }
  fleet_fs::path dir_;
};

// POSTs `body` to `url` (a GET when `body` is empty; TLS with `tls`'s CA
// and client certificate when given; `token` as the Authorization header):
// the HTTP code (0 when nothing answered) and the body.
inline long http_post(const std::string& url, const std::string& body, std::string* answer,
                      const EtcdTls* tls = nullptr, const std::string& token = {}) {
  CURL* c = curl_easy_init();
  std::string out;
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: " + token).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (!body.empty()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (tls != nullptr) {
    curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca.c_str());
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls->client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls->client_key.c_str());
  }
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  long code = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  if (answer != nullptr) *answer = out;
  return code;
}

// GETs `url`: the HTTP code (0 when nothing answered) and the body.
inline long http_get(const std::string& url, std::string* body = nullptr) {
  return http_post(url, {}, body);
}

class EtcdCluster {
 public:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    fleet_fs::path data;
    pid_t pid = -1;
    bool tls = false;
    std::string client_url() const {
      return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(client_port);
    }
  };

  // With `tls`, clients talk https and must show a certificate its CA signed.
  EtcdCluster(const fleet_fs::path& work, int members, std::optional<EtcdTls> tls = std::nullopt)
      : work_(work), tls_(std::move(tls)) {
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client_port = free_port();
      m.peer_port = free_port();
      m.data = work / ("etcd-" + m.name);
      m.tls = tls_.has_value();
      members_.push_back(m);
    }
    for (std::size_t i = 0; i < members_.size(); ++i)
      start(i);
    if (!wait_until([&] { return healthy(); }, std::chrono::seconds(30))) {
      throw std::runtime_error("etcd cluster did not become healthy; see " + work.string());
    }
  }
  ~EtcdCluster() {
    for (auto& m : members_)
      kill_and_reap(m.pid);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const auto& m : members_)
      out.push_back(m.client_url());
    return out;
  }
  std::string endpoints_csv() const {
    std::string out;
    for (const auto& e : endpoints())
      out += (out.empty() ? "" : ",") + e;
    return out;
  }
  std::size_t size() const { return members_.size(); }
  const Member& member(std::size_t i) const { return members_.at(i); }

  // Every running member answers /health with "true".
  bool healthy() const {
    for (const auto& m : members_) {
      if (m.pid <= 0) continue;
      std::string body;
      const long code = tls_ ? http_post(m.client_url() + "/health", "", &body, &*tls_)
                             : http_get(m.client_url() + "/health", &body);
      if (code != 200 || body.find("\"true\"") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  // The index of the member that leads now (-1 when none answers).
  int leader() const {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].pid <= 0) continue;
      std::string body;
      http_post(members_[i].client_url() + "/v3/maintenance/status", "{}", &body,
                tls_ ? &*tls_ : nullptr);
      const auto leader = field(body, "leader");
      const auto self = field(body, "member_id");
      if (!leader.empty() && leader == self) return static_cast<int>(i);
    }
    return -1;
  }

  void kill(std::size_t i) { kill_and_reap(members_.at(i).pid); }
  void kill_all() {
    for (std::size_t i = 0; i < members_.size(); ++i)
      kill(i);
  }
  // Restarts a killed member on its data folder.
  void restart(std::size_t i) { start(i, "existing"); }
  void restart_all() {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].pid <= 0) start(i, "existing");
    }
    if (!wait_until([&] { return healthy(); }, std::chrono::seconds(30))) {
      throw std::runtime_error("etcd cluster did not come back");
    }
  }

 private:
  void start(std::size_t i, const std::string& state = "new") {
    Member& m = members_[i];
    std::string cluster;
    for (const auto& o : members_) {
      cluster += (cluster.empty() ? "" : ",") + o.name +
                 "=http://127.0.0.1:" + std::to_string(o.peer_port);
    }
    const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> args = {"/usr/bin/etcd",
                                     "--name",
                                     m.name,
                                     "--data-dir",
                                     m.data.string(),
                                     "--listen-client-urls",
                                     m.client_url(),
                                     "--advertise-client-urls",
                                     m.client_url(),
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     cluster,
                                     "--initial-cluster-state",
                                     state,
                                     "--initial-cluster-token",
                                     "graft-test",
                                     "--heartbeat-interval",
                                     "50",
                                     "--election-timeout",
                                     "500",
                                     "--logger",
                                     "zap",
                                     "--log-level",
                                     "warn"};
    if (tls_) {
      args.insert(args.end(), {"--cert-file", tls_->server_cert.string(), "--key-file",
                               tls_->server_key.string(), "--trusted-ca-file", tls_->ca.string(),
                               "--client-cert-auth"});
    }
    m.pid = spawn(args, work_ / (m.name + ".log"));
  }

  // The string value of "name":"..." in a flat JSON answer.
  static std::string field(const std::string& body, const std::string& name) {
    const auto at = body.find("\"" + name + "\":\"");
    if (at == std::string::npos) return {};
    const auto start = at + name.size() + 4;
    const auto end = body.find('"', start);
    return end == std::string::npos ? std::string() : body.substr(start, end - start);
  }

  fleet_fs::path work_;
  std::optional<EtcdTls> tls_;
  std::vector<Member> members_;
};

// nginx serving `root` at http://127.0.0.1:<port>/ (objects by name).
class NginxServer {
 public:
  // `server_extra`: directives added to the server block (e.g. "limit_rate 2k;").
  NginxServer(const fleet_fs::path& work, const fleet_fs::path& root,
              const std::string& server_extra = {})
      : prefix_(work / "nginx"), root_(root), port_(free_port()) {
    fleet_fs::create_directories(prefix_ / "logs");
    fleet_fs::create_directories(root_);
    const fleet_fs::path conf = prefix_ / "nginx.conf";
    std::ofstream(conf) << "daemon off;\nmaster_process off;\npid "
                        << (prefix_ / "nginx.pid").string() << ";\nerror_log "
                        << (prefix_ / "logs/error.log").string()
                        << " warn;\nevents { worker_connections 256; }\nhttp {\n"
                        << "  access_log " << (prefix_ / "logs/access.log").string() << ";\n"
                        << "  client_body_temp_path " << (prefix_ / "tmp").string() << ";\n"
                        << "  proxy_temp_path " << (prefix_ / "tmp").string() << ";\n"
                        << "  fastcgi_temp_path " << (prefix_ / "tmp").string() << ";\n"
                        << "  uwsgi_temp_path " << (prefix_ / "tmp").string() << ";\n"
                        << "  scgi_temp_path " << (prefix_ / "tmp").string() << ";\n"
                        << "  server {\n    listen 127.0.0.1:" << port_ << ";\n    root "
                        << root_.string() << ";\n    " << server_extra << "\n  }\n}\n";
    pid_ = spawn({"/usr/sbin/nginx", "-p", prefix_.string(), "-c", conf.string()},
                 prefix_ / "nginx.out");
    if (!wait_until([&] { return http_get(url() + "/") != 0; }, std::chrono::seconds(20))) {
      throw std::runtime_error("nginx did not start; see " + prefix_.string());
    }
  }
  ~NginxServer() { kill_and_reap(pid_, SIGKILL); }
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const fleet_fs::path& root() const { return root_; }
  // Requests for objects (not the readiness probe of "/") in the access log.
  std::size_t object_requests() const {
    std::ifstream in(prefix_ / "logs/access.log");
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find("GET /") != std::string::npos && line.find("GET / ") == std::string::npos ? 1
                                                                                               : 0;
    return n;
  }
  // The answers to GET /<name>, in order: HTTP status and body bytes sent.
  std::vector<std::pair<int, std::uint64_t>> responses_for(const std::string& name) const {
    std::ifstream in(prefix_ / "logs/access.log");
    std::vector<std::pair<int, std::uint64_t>> out;
    const std::string request = "\"GET /" + name + " ";
    for (std::string line; std::getline(in, line);) {
      const auto at = line.find(request);
      if (at == std::string::npos) continue;
      const auto end = line.find('"', at + 1);
      if (end == std::string::npos) continue;
      std::istringstream fields(line.substr(end + 1));
      int status = 0;
      std::uint64_t body = 0;
      fields >> status >> body;
      out.emplace_back(status, body);
    }
    return out;
  }
  // GET requests for /<name> in the access log, and the body bytes nginx
  // sent for them (the "combined" format: "GET /name HTTP/1.1" STATUS BYTES).
  std::size_t requests_for(const std::string& name, std::uint64_t* bytes = nullptr) const {
    std::ifstream in(prefix_ / "logs/access.log");
    std::size_t n = 0;
    std::uint64_t sent = 0;
    const std::string request = "\"GET /" + name + " ";
    for (std::string line; std::getline(in, line);) {
      const auto at = line.find(request);
      if (at == std::string::npos) continue;
      ++n;
      const auto end = line.find('"', at + 1);
      if (end == std::string::npos) continue;
      std::istringstream fields(line.substr(end + 1));
      int status = 0;
      std::uint64_t body = 0;
      if (fields >> status >> body) sent += body;
    }
    if (bytes != nullptr) *bytes = sent;
    return n;
  }

 private:
  fleet_fs::path prefix_, root_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace graft::testing
