// keygen, bundle, verify: the offline commands for keys and bundles. They
// touch no running host.
#include "commands.hpp"
#include "exit_codes.hpp"
#include "text_table.hpp"
#include "trust_commands_bundle.hpp"

#include <graft/bundle_verifier.hpp>
#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

namespace graftctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int fail(const char* command, int code, const std::string& message) {
  std::cerr << "graftctl " << command << ": " << message << "\n";
  return code;
}

// A CLI11 check that a value parses as a graft version.
CLI::Validator version_check(bool base_only) {
  return CLI::Validator(
      [base_only](std::string& text) -> std::string {
        std::string why;
        const auto v = graft::Version::parse(text, &why);
        if (!v) return why;
        if (base_only && v->is_response()) {
          return "'" + text + "' is a response; a bundle applies to a base release such as " +
                 v->base().to_string();
        }
        return {};
      },
      base_only ? "BASE" : "VERSION");
}

// --- keygen ------------------------------------------------------------------

void add_keygen(CLI::App& app, Context& ctx) {
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("keygen", "Make an ed25519 key pair for signing bundles");
  cmd->add_option("--out", *out, "folder to write the key pair into (created if missing)")
      ->required();
  cmd->footer(
      "Writes DIR/<key id>.key (the secret key, mode 0600) and DIR/<key id>.pub (give it to hosts "
      "as a trusted key). The key id is the first 16 hex digits of the SHA-256 of the public key.");
  cmd->callback([out, &ctx] {
    fs::path secret_file, public_file;
    if (graft::Status s = graft::generate_key_pair(*out, &secret_file, &public_file); !s) {
      ctx.exit_code = fail("keygen", kExitError, s.message());
      return;
    }
    graft::PublicKey key;
    if (graft::Status s = graft::read_public_key(public_file, &key); !s) {
      ctx.exit_code = fail("keygen", kExitError, s.message());
      return;
    }
    std::cout << "key id      " << key.key_id() << "\n"
              << "public key  " << public_file.string() << "\n"
              << "secret key  " << secret_file.string() << " (mode 0600; keep it private)\n";
    ctx.exit_code = kExitOk;
  });
}

// --- bundle ------------------------------------------------------------------

void add_bundle(CLI::App& app, Context& ctx) {
  struct Args {
    std::string secret_key, shared_object, version, applies_to, out;
    std::string expires = "30d";
    std::string delta_from;
    bool delta_only = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("bundle", "Make a signed patch bundle from a built component");
  cmd->add_option("--key", args->secret_key, "the secret key file written by 'graftctl keygen'")
      ->required();
  cmd->add_option("--so", args->shared_object, "the component's shared object")->required();
  cmd->add_option("--version", args->version,
                  "the component's version, e.g. \"26.3.1 (a)\"; must match what the shared "
                  "object reports")
      ->required()
      ->check(version_check(false));
  cmd->add_option("--applies-to", args->applies_to,
                  "the base release the bundle patches, e.g. 26.3.1")
      ->required()
      ->check(version_check(true));
  cmd->add_option("--expires", args->expires,
                  "how long the bundle stays valid: a number and d, h, m or s (30d, 12h, 90m)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_duration(text) ? std::string()
                                        : "'" + text +
                                              "' is not a duration: a positive number and d, h, "
                                              "m or s, e.g. 30d, 12h, 90m (at most ten years)";
          },
          "DURATION"));
  cmd->add_option("--out", args->out, "the bundle folder to write (must not exist, or be empty)")
      ->required();
  cmd->add_option("--delta-from", args->delta_from,
                  "also carry a delta that rebuilds the object from this exact base: a bundle "
                  "folder or a shared object (hosts that hold it fetch kilobytes, not the object)");
  cmd->add_flag("--delta-only", args->delta_only,
                "leave the full object out (needs --delta-from); hosts without the base refuse "
                "it and need the full bundle");
  cmd->footer(
      "The component name, graft ABI version and interface id and major version are read from "
      "the shared object's own descriptor, so the manifest cannot disagree with the code. The "
      "bundle holds the shared object, manifest.json and manifest.sig (an ed25519 signature over "
      "manifest.json's exact bytes), and with --delta-from a zstd delta against the base object "
      "named by its sha256 in the signed manifest. See docs/bundle-format.md.");
  cmd->callback([args, &ctx] {
    BundleRequest rq;
    rq.secret_key = args->secret_key;
    rq.shared_object = args->shared_object;
    rq.version = *graft::Version::parse(args->version);
    rq.applies_to = *graft::Version::parse(args->applies_to);
    rq.lifetime = *parse_duration(args->expires);
    rq.out = args->out;
    rq.delta_from = args->delta_from;
    rq.delta_only = args->delta_only;
    const BundleResult r = write_bundle(rq);
    if (r.exit_code != kExitOk) {
      ctx.exit_code = fail("bundle", r.exit_code, r.error);
      return;
    }
    std::cout << r.summary;
    ctx.exit_code = kExitOk;
  });
}

// --- verify ------------------------------------------------------------------

// The checks BundleVerifier makes, in order; those after a failure were not
// reached and are shown as such.
const std::vector<std::string> kCheckOrder = {"manifest", "trusted key", "signature",
                                              "expiry",   "size",        "sha256"};
// With a delta, "delta" comes before "size" (and replaces size and sha256
// when the bundle carries only the delta); it is shown when checked.

json manifest_json(const graft::Manifest& m) {
  return json::parse(m.to_json());
}

void print_checks(const fs::path& bundle, const std::vector<graft::BundleCheck>& checks,
                  const graft::Status& result) {
  std::cout << "bundle " << bundle.string() << "\n";
  TextTable table({"CHECK", "RESULT", "DETAIL"});
  for (const auto& c : checks)
    table.add({c.name, c.passed ? "ok" : "FAILED", c.detail});
  const bool failed = !result.ok();
  if (failed) {
    for (const auto& name : kCheckOrder) {
      const bool seen = std::any_of(checks.begin(), checks.end(),
                                    [&](const graft::BundleCheck& c) { return c.name == name; });
      if (!seen) table.add({name, "-", "not checked"});
    }
  }
  table.print(std::cout);
  if (failed) {
    std::cout << "refused (" << graft::to_string(result.code()) << "): " << result.message()
              << "\n";
  } else {
    std::cout << "verified: every check passed\n";
  }
}

void add_verify(CLI::App& app, Context& ctx) {
  struct Args {
    std::string bundle;
    std::vector<std::string> trust;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("verify", "Check a bundle offline against trusted public keys");
  cmd->add_option("BUNDLE", args->bundle, "the bundle folder")->required();
  cmd->add_option("--trust", args->trust, "public key files (.pub) to trust; one or more")
      ->required()
      ->expected(1, -1);
  cmd->add_flag("--json", args->json, "print JSON instead of a table");
  cmd->footer(
      "Checks that manifest.json parses, is signed by a trusted key over its exact bytes, has "
      "not expired, and describes the shared object beside it (size and SHA-256). Exit 0 only "
      "if every check passes; 1 if one fails; 3 if the bundle folder does not exist. Version "
      "policy (downgrade, base, interface) is checked by the host at install time.");
  cmd->callback([args, &ctx] {
    std::vector<fs::path> key_files(args->trust.begin(), args->trust.end());
    graft::TrustedKeys keys;
    if (graft::Status s = graft::TrustedKeys::load(key_files, &keys); !s) {
      ctx.exit_code =
          fail("verify", s.code() == graft::ErrorCode::file_missing ? kExitNotFound : kExitUsage,
               s.message());
      return;
    }
    const fs::path bundle = args->bundle;
    std::error_code ec;
    if (!fs::is_directory(bundle, ec)) {
      ctx.exit_code = fail("verify", kExitNotFound,
                           "bundle '" + bundle.string() + "' is not a folder (no such bundle)");
      return;
    }
    graft::BundleVerifier verifier(std::move(keys));
    graft::Manifest manifest;
    std::vector<graft::BundleCheck> checks;
    const graft::Status result = verifier.verify(bundle, &manifest, &checks);
    if (args->json) {
      json list = json::array();
      for (const auto& c : checks)
        list.push_back({{"check", c.name}, {"passed", c.passed}, {"detail", c.detail}});
      json out = {{"bundle", bundle.string()}, {"ok", result.ok()}, {"checks", list}};
      if (result.ok()) {
        out["manifest"] = manifest_json(manifest);
      } else {
        out["error"] = {{"code", std::string(graft::to_string(result.code()))},
                        {"message", result.message()}};
      }
      std::cout << out.dump(2) << "\n";
    } else {
      print_checks(bundle, checks, result);
    }
    ctx.exit_code = result.ok() ? kExitOk : kExitRefused;
  });
}

}  // namespace

void add_trust_commands(CLI::App& app, Context& ctx) {
  add_keygen(app, ctx);
  add_bundle(app, ctx);
  add_verify(app, ctx);
}

}  // namespace graftctl
