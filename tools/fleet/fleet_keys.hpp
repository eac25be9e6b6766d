// The fleet's keyspace in etcd (docs/fleet.md lists it):
//
//   /graft/<fleet>/releases/<component>/<version>   release record (signed manifest + signature)
//   /graft/<fleet>/desired/<component>              target version and its rollout
//   (desired_state.hpp) /graft/<fleet>/machines/<machine>/agent         the agent's own report
//   (under its lease) /graft/<fleet>/machines/<machine>/hosts/<pid>   one host's observed state
//   (under its lease)
//
// Versions appear in keys in their dash form (26.3.1-a), which has no space.
#pragma once

#include <graft/version.hpp>

#include <string>

namespace graft::fleet {

// Fleet, component, ring and machine names: 1-128 of [A-Za-z0-9._-], not
// starting with '.'. Returns an error message, or "" when the name is fine.
std::string check_name(const std::string& what, const std::string& name);

// "26.3.1 (a)" -> "26.3.1-a".
std::string version_key(const Version& v);

class FleetKeys {
 public:
  explicit FleetKeys(std::string fleet) : root_("/graft/" + std::move(fleet) + "/") {}

  const std::string& root() const noexcept { return root_; }
  std::string releases() const { return root_ + "releases/"; }
  std::string release(const std::string& component, const Version& v) const {
    return releases() + component + "/" + version_key(v);
  }
  std::string desired() const { return root_ + "desired/"; }
  std::string desired(const std::string& component) const { return desired() + component; }
  std::string controller_election() const { return root_ + "controller"; }
  std::string revocations() const { return root_ + "revocations/"; }
  std::string revocation(const std::string& component, const Version& v) const {
    return revocations() + component + "/" + version_key(v);
  }
  std::string machines() const { return root_ + "machines/"; }
  std::string known() const { return root_ + "known/"; }
  std::string known(const std::string& machine) const { return known() + machine; }
  std::string agent(const std::string& machine) const { return machines() + machine + "/agent"; }
  std::string host(const std::string& machine, int pid) const {
    return machines() + machine + "/hosts/" + std::to_string(pid);
  }

 private:
  std::string root_;
};

}  // namespace graft::fleet
