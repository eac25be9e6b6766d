#include "object_fetch.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <system_error>

namespace graft::fleet {

namespace fs = std::filesystem;

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string sha256_of_file(const fs::path& file, std::uint64_t* size) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {};
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::array<unsigned char, 64 * 1024> buf;
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return {};
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&st, buf.data(), static_cast<unsigned long long>(n));
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256_final(&st, digest.data());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  if (size != nullptr) *size = total;
  return std::string(hex.data());
}

ObjectCache::ObjectCache(ObjectCacheOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

namespace {

struct Sink {
  int fd = -1;
  std::uint64_t room = 0;  // bytes the signed size still allows
  std::uint64_t written = 0;
  bool too_long = false;
  bool write_failed = false;
};

std::size_t write_part(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (len > s->room) {
    s->too_long = true;
    return 0;
  }
  std::size_t done = 0;
  while (done < len) {
    const ssize_t w = ::write(s->fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      s->write_failed = true;
      return 0;
    }
    done += static_cast<std::size_t>(w);
  }
  s->room -= len;
  s->written += len;
  return len;
}

// Holds an flock on <dir>/<sha>.lock so two agents never write one object.
class CacheLock {
 public:
  explicit CacheLock(const fs::path& file) {
    fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~CacheLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;
  bool held() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

Status ObjectCache::fetch(const std::string& sha256, std::uint64_t size, fs::path* path,
                          FetchReport* report) {
  *report = FetchReport{};
  if (!is_sha256_hex(sha256)) {
    return Status(ErrorCode::invalid_argument, "object name '" + sha256 + "' is not a SHA-256");
  }
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) {
    return Status(ErrorCode::io_error,
                  "object cache " + options_.dir.string() + ": " + ec.message());
  }
  CacheLock lock(options_.dir / (sha256 + ".lock"));
  if (!lock.held()) {
    return Status(ErrorCode::io_error, "object cache: cannot lock " + sha256);
  }
  const fs::path done = object_path(sha256);
  std::uint64_t have = 0;
  if (fs::exists(done, ec)) {
    // Checked again: a cache file damaged on disk is fetched anew.
    if (sha256_of_file(done, &have) == sha256 && have == size) {
      report->cached = true;
      *path = done;
      return Status();
    }
    fs::remove(done, ec);
  }
  const fs::path part = options_.dir / (sha256 + ".part");
  if (Status s = download(sha256, size, part, report); !s) return s;
  const std::string got = sha256_of_file(part, &have);
  if (have != size || got != sha256) {
    fs::remove(part, ec);
    const std::string url = options_.base_url + "/" + sha256;
    if (have != size) {
      return Status(ErrorCode::size_mismatch, "object " + url + ": is " + std::to_string(have) +
                                                  " bytes, the signed manifest says " +
                                                  std::to_string(size));
    }
    return Status(ErrorCode::hash_mismatch,
                  "object " + url + ": SHA-256 " + got + " differs from the signed manifest's");
  }
  fs::rename(part, done, ec);
  if (ec) return Status(ErrorCode::io_error, "object cache: " + ec.message());
  *path = done;
  return Status();
}

Status ObjectCache::download(const std::string& sha256, std::uint64_t size, const fs::path& part,
                             FetchReport* report) {
  const std::string url = options_.base_url + "/" + sha256;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd =
        ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return Status(ErrorCode::io_error, "object cache: cannot open " + part.string());
    }
    struct stat st {};
    ::fstat(fd, &st);
    auto offset = static_cast<std::uint64_t>(st.st_size);
    if (offset >= size) {
      // Complete already (the hash decides), or longer than signed: start over.
      if (offset == size) {
        ::close(fd);
        return Status();
      }
      if (::ftruncate(fd, 0) != 0) {
        ::close(fd);
        return Status(ErrorCode::io_error, "object cache: cannot truncate " + part.string());
      }
      offset = 0;
    }
    Sink sink;
    sink.fd = fd;
    sink.room = size - offset;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      ::close(fd);
      return Status(ErrorCode::io_error, "curl_easy_init failed");
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    char error_buffer[CURL_ERROR_SIZE];
    error_buffer[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_part);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    if (offset > 0) {
      curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
    }
    const CURLcode rc = curl_easy_perform(curl);
    long http = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(curl);
    ::fsync(fd);
    ::close(fd);
    report->bytes_fetched += sink.written;
    if (rc == CURLE_OK) return Status();
    if (sink.too_long) {
      std::error_code ec;
      fs::remove(part, ec);
      return Status(ErrorCode::size_mismatch, "object " + url +
                                                  ": longer than the signed manifest's " +
                                                  std::to_string(size) + " bytes");
    }
    if (rc == CURLE_RANGE_ERROR && offset > 0) {
      // The server ignores ranges: fetch the whole object again.
      std::error_code ec;
      fs::resize_file(part, 0, ec);
      continue;
    }
    std::string why = curl_easy_strerror(rc);
    if (error_buffer[0] != '\0') why += " (" + std::string(error_buffer) + ")";
    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
      why +=
          options_.ca_file.empty()
              ? "; the object server's certificate is not signed by a CA this system trusts"
              : "; the object server's certificate is not signed by the CA in " + options_.ca_file;
    }
    return Status(ErrorCode::io_error,
                  "object " + url + ": " + why +
                      (http != 0 ? " (HTTP " + std::to_string(http) + ")" : std::string()));
  }
  return Status(ErrorCode::io_error, "object " + url + ": cannot resume the download");
}

}  // namespace graft::fleet
