// Publishing an object to an object server over HTTP: PUT <base_url>/<sha256>
// (nginx with dav_methods PUT, an S3-style bucket behind a gateway, ...).
// Objects are immutable and named by their hash, so a second PUT of the same
// object is harmless; the agents trust none of it (they check the signed
// size and hash).
#pragma once

#include <graft/status.hpp>

#include <chrono>
#include <filesystem>
#include <string>

namespace graft::fleet {

struct ObjectUploadOptions {
  std::string base_url;  // http(s)://host:port/path
  std::string ca_file;   // https: the CA of the server's certificate (empty: the system's)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{120000};
};

// Whether `where` names an HTTP object store (rather than a folder).
bool is_object_store_url(const std::string& where);

// PUTs `file` to <base_url>/<sha256>. The error names the URL and the
// server's answer (e.g. 405 from a server that does not take PUT).
Status upload_object(const ObjectUploadOptions& options, const std::filesystem::path& file,
                     const std::string& sha256);

}  // namespace graft::fleet
