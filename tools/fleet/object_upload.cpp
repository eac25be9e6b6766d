#include "object_upload.hpp"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

namespace graft::fleet {

namespace fs = std::filesystem;

bool is_object_store_url(const std::string& where) {
  return where.rfind("http://", 0) == 0 || where.rfind("https://", 0) == 0;
}

namespace {

// The server's answer, kept short for the error message.
std::size_t keep_answer(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const std::size_t len = size * n;
  if (out->size() < 300) out->append(data, std::min<std::size_t>(len, 300 - out->size()));
  return len;
}

}  // namespace

Status upload_object(const ObjectUploadOptions& o, const fs::path& file,
                     const std::string& sha256) {
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  const std::string url = base + "/" + sha256;
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return Status(ErrorCode::io_error, file.string() + ": " + ec.message());
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) return Status(ErrorCode::io_error, file.string() + ": cannot open");
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status(ErrorCode::io_error, "curl_easy_init failed");
  std::string answer;
  char error_buffer[CURL_ERROR_SIZE];
  error_buffer[0] = '\0';
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READDATA, in.get());
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string why = curl_easy_strerror(rc);
    if (error_buffer[0] != '\0') why += " (" + std::string(error_buffer) + ")";
    return Status(ErrorCode::io_error, "PUT " + url + ": " + why);
  }
  long http = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
  if (http == 200 || http == 201 || http == 204) return Status();
  std::string why = "PUT " + url + ": HTTP " + std::to_string(http);
  if (http == 405 || http == 501) {
    why += " (the server does not take PUT here; nginx needs 'dav_methods PUT;')";
  } else if (http == 413) {
    why += " (the object is larger than the server accepts; nginx: client_max_body_size)";
  }
  for (char& ch : answer) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  // A server's own error page (HTML) says no more than the status.
  if (!answer.empty() && answer.front() != '<') why += ": " + answer;
  return Status(ErrorCode::io_error, why);
}

}  // namespace graft::fleet
