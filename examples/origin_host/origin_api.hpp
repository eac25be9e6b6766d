// The host's HTTP API:
//   GET /check?from=URL&to=URL  the navigation policy's decision, and the
//                               component version that made it
//   GET /status                 the runtime's status
#pragma once

#include "http_server.hpp"
#include "origin_guard.h"

#include <graft/slot.hpp>

#include <nlohmann/json.hpp>

#include <functional>

namespace origin_host {

class OriginApi {
 public:
  using StatusSource = std::function<nlohmann::json()>;

  OriginApi(graft::Slot<navigation_policy_v1>& guard, StatusSource status)
      : guard_(guard), status_(std::move(status)) {}

  HttpResponse handle(const HttpRequest& request) const noexcept;

 private:
  HttpResponse check(const HttpRequest& request, const std::string& from,
                     const std::string& to) const;

  graft::Slot<navigation_policy_v1>& guard_;
  StatusSource status_;
};

}  // namespace origin_host
