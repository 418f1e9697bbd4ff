// fake_kube_api: a small stand-in for the Kubernetes API server, for tests and the reconcile
// demo. It speaks real HTTPS (a throwaway self-signed certificate for 127.0.0.1/localhost) and
// checks the bearer token against a file it re-reads on every request, so tests can rotate it.
//
// Serves, for serviceaccounts, pods, namespaces (core v1) and deployments, statefulsets,
// daemonsets, replicasets (apps/v1), perconaservermongodbs (psmdb.percona.com/v1): LIST
// (resourceVersion, limit/continue), GET, WATCH (a chunked stream of JSON lines, with bookmarks,
// timeoutSeconds, 410 Gone for expired versions), and merge / strategic-merge PATCH for
// serviceaccounts, deployments, statefulsets, daemonsets (strategic merge is applied as a JSON
// merge patch: enough for the maps reconcile patches; a metadata.resourceVersion in the patch is a
// precondition, 409 when stale).
//
// Server-side dry run (dryRun=All) of a POST (create) of pods and serviceaccounts and of a PATCH:
// the answer is the object as admission leaves it, nothing is stored or recorded as a patch.
// Admission is what a webhook running the irsa config of the option "admissionConfig" (or
// --admission-config) would do (the core's MutatePod / MutateServiceAccount, the ServiceAccounts
// of the fake as their lookup); without one, objects come back unchanged, as from an API server
// whose webhook is unreachable with failurePolicy Ignore. A POST without dryRun=All is refused.
// Also served read-only: /version, services, endpointslices (labelSelector k=v),
// mutatingwebhookconfigurations and perconaservermongodbs.
//
// Test control, under /fake/ (no token needed; never in a real server):
//   POST /fake/apply           an object or a List: create or replace (ADDED/MODIFIED events)
//   POST /fake/delete          {"kind","namespace","name"} (DELETED event)
//   POST /fake/generate        {"count","namespaces","annotateEvery","annotation"}: bulk SAs
//   POST /fake/compact         forget the event history: a watch from an older version gets 410
//   POST /fake/expire-watches  compact, and send ERROR 410 to every open watch
//   POST /fake/close-watches   end every open watch normally
//   POST /fake/fail            {"method","path","code","message","count"} (count -1 = always;
//                              path is a prefix); {"clear": true} removes all rules
//   POST /fake/options         {"goneAsHttp": bool, "bookmarkSeconds": n, "delayMs": n,
//                              "admissionConfig": "path" ("" = none)}
//                              (delayMs: every API request waits that long before its answer)
//   GET  /fake/patches         the patches applied, in order
//   GET  /fake/patch-summary   the same, one text line each: "<resource> <namespace>/<name> <type>"
//   GET  /fake/requests        every API request: method, path, query, authorized, token
//   POST /fake/reset-log       forget recorded patches and requests
//   GET  /fake/object?resource=R&namespace=N&name=X
//   GET  /fake/watchers        number of open watches
//   POST /fake/shutdown        stop (as SIGTERM does)
//
// Usage: fake_kube_api --token-file F --tls-dir D [--fixture F] [--port N] [--ready-file F]
//                      [--initial-resource-version N] [--client-cert-auth] [--admission-config F]
// The TLS directory gets tls.crt/tls.key (reused when present, so a restarted server keeps its
// certificate); the ready file gets the port once listening.
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "irsa/config.h"
#include "irsa/document.h"
#include "irsa/mutation.h"
#include "irsa/service_account.h"
#include "process_setup.h"

namespace {

using nlohmann::json;

struct ResourceType {
  std::string group_version;
  std::string resource;
  std::string kind;
  bool namespaced;
  bool patchable;
};

const std::vector<ResourceType>& Types() {
  static const std::vector<ResourceType> kTypes = {
      {"v1", "serviceaccounts", "ServiceAccount", true, true},
      {"v1", "pods", "Pod", true, false},
      {"v1", "namespaces", "Namespace", false, false},
      {"apps/v1", "deployments", "Deployment", true, true},
      {"apps/v1", "statefulsets", "StatefulSet", true, true},
      {"apps/v1", "daemonsets", "DaemonSet", true, true},
      {"apps/v1", "replicasets", "ReplicaSet", true, false},
      {"v1", "services", "Service", true, false},
      {"discovery.k8s.io/v1", "endpointslices", "EndpointSlice", true, false},
      {"admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", false, false},
      {"psmdb.percona.com/v1", "perconaservermongodbs", "PerconaServerMongoDB", true, false},
  };
  return kTypes;
}

const ResourceType* TypeByResource(std::string_view gv, std::string_view resource) {
  for (const auto& t : Types()) {
    if (t.group_version == gv && t.resource == resource) return &t;
  }
  return nullptr;
}

const ResourceType* TypeByKind(std::string_view kind) {
  for (const auto& t : Types()) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

json StatusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

void SendStatus(httplib::Response& res, int code, const std::string& reason,
                const std::string& message) {
  res.status = code;
  res.set_content(StatusObject(code, reason, message).dump(), "application/json");
}

struct Event {
  std::int64_t rv;
  std::string resource;  // "v1/serviceaccounts"
  std::string type;
  json object;
};

struct FailRule {
  std::string method;  // "*" = any
  std::string path;    // prefix
  int code;
  std::string message;
  int count;  // -1 = forever
};

class FakeApi {
 public:
  FakeApi(std::string token_file, std::int64_t initial_rv, bool client_cert_auth)
      : token_file_(std::move(token_file)),
        rv_(initial_rv),
        oldest_rv_(initial_rv),
        client_cert_auth_(client_cert_auth) {}

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

  // --- objects ---
  static std::string ObjectKey(const ResourceType& t, std::string_view ns, std::string_view name) {
    return t.group_version + "/" + t.resource + "/" + std::string(ns) + "/" + std::string(name);
  }

  std::string Apply(json object) {
    if (object.is_object() && object.value("kind", "") == "List") {
      std::string error;
      for (auto& item : object["items"]) {
        error = Apply(std::move(item));
        if (!error.empty()) return error;
      }
      return {};
    }
    if (!object.is_object()) return "not an object";
    const ResourceType* type = TypeByKind(object.value("kind", ""));
    if (type == nullptr) return "unsupported kind " + object.value("kind", "");
    json& metadata = object["metadata"];
    if (!metadata.is_object() || !metadata.contains("name")) return "metadata.name required";
    if (type->namespaced && (!metadata.contains("namespace") || metadata["namespace"] == "")) {
      metadata["namespace"] = "default";
    }
    if (!type->namespaced) metadata.erase("namespace");
    object["apiVersion"] = type->group_version;
    const std::string ns = type->namespaced ? metadata["namespace"].get<std::string>() : "";
    const std::string name = metadata["name"].get<std::string>();
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = ObjectKey(*type, ns, name);
    const bool exists = objects_.count(key) != 0;
    if (!metadata.contains("uid")) metadata["uid"] = "uid-" + std::to_string(++uid_counter_);
    metadata["resourceVersion"] = std::to_string(++rv_);
    objects_[key] = object;
    Record(*type, exists ? "MODIFIED" : "ADDED", object);
    return {};
  }

  std::string Delete(const json& body) {
    const ResourceType* type = TypeByKind(body.value("kind", ""));
    if (type == nullptr) return "unsupported kind";
    const std::string ns = type->namespaced ? body.value("namespace", "default") : "";
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = objects_.find(ObjectKey(*type, ns, body.value("name", "")));
    if (it == objects_.end()) return "not found";
    json object = std::move(it->second);
    objects_.erase(it);
    object["metadata"]["resourceVersion"] = std::to_string(++rv_);
    Record(*type, "DELETED", object);
    return {};
  }

  void Generate(const json& body) {
    const int count = body.value("count", 0);
    const int namespaces = std::max(1, body.value("namespaces", 1));
    const int annotate_every = body.value("annotateEvery", 0);
    const std::string annotation = body.value("annotation", "eks.amazonaws.com/role-arn");
    const ResourceType* type = TypeByKind("ServiceAccount");
    std::lock_guard<std::mutex> lock(mu_);
    char ns[32];
    char name[48];
    for (int i = 0; i < count; ++i) {
      std::snprintf(ns, sizeof ns, "team-%04d", i % namespaces);
      std::snprintf(name, sizeof name, "workload-sa-%06d", i);
      json sa = {{"apiVersion", "v1"},
                 {"kind", "ServiceAccount"},
                 {"metadata",
                  {{"name", name},
                   {"namespace", ns},
                   {"uid", "gen-" + std::to_string(i)},
                   {"resourceVersion", std::to_string(++rv_)},
                   {"creationTimestamp", "2025-01-01T00:00:00Z"},
                   {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}}}}};
      if (annotate_every > 0 && i % annotate_every == 0) {
        sa["metadata"]["annotations"][annotation] =
            "arn:aws:iam::111122223333:role/team-" + std::to_string(i % namespaces);
      }
      objects_[ObjectKey(*type, ns, name)] = std::move(sa);
    }
    // Bulk objects are not in the history: a watch from before them must relist.
    history_.clear();
    oldest_rv_ = rv_;
  }

  // Every version handed out so far becomes too old to watch from (the next list gets a new one).
  void Compact() {
    std::lock_guard<std::mutex> lock(mu_);
    history_.clear();
    oldest_rv_ = ++rv_;
  }

  void ExpireWatches() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      history_.clear();
      oldest_rv_ = rv_;
      ++expire_generation_;
    }
    cv_.notify_all();
  }

  void CloseWatches() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++close_generation_;
    }
    cv_.notify_all();
  }

  // --- the API ---
  void Handle(const httplib::Request& req, httplib::Response& res) {
    const std::string auth = req.get_header_value("Authorization");
    const std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    const bool authorized = client_cert_auth_ || (!token.empty() && token == CurrentToken());
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::string query;
      for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
      requests_.push_back({{"method", req.method},
                           {"path", req.path},
                           {"query", query},
                           {"authorized", authorized},
                           {"token", token}});
    }
    if (!authorized) return SendStatus(res, 401, "Unauthorized", "Unauthorized");
    if (const int delay = delay_ms_.load(); delay > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));  // a slow API server
    }
    if (ApplyFailRule(req, res)) return;
    if (req.path == "/version") {
      res.set_content(R"({"major":"1","minor":"33","gitVersion":"v1.33.0-fake"})",
                      "application/json");
      return;
    }

    // /api/v1/... or /apis/<group>/<version>/...
    std::vector<std::string> parts;
    std::stringstream ss(req.path);
    for (std::string part; std::getline(ss, part, '/');) {
      if (!part.empty()) parts.push_back(part);
    }
    std::size_t i = 0;
    std::string gv;
    if (parts.size() >= 2 && parts[0] == "api") {
      gv = parts[1];
      i = 2;
    } else if (parts.size() >= 3 && parts[0] == "apis") {
      gv = parts[1] + "/" + parts[2];
      i = 3;
    } else {
      return SendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    }
    std::string ns, resource, name;
    const std::size_t rest = parts.size() - i;
    if (rest >= 3 && parts[i] == "namespaces") {  // namespaces/{ns}/{resource}[/{name}]
      ns = parts[i + 1];
      resource = parts[i + 2];
      if (rest == 4) name = parts[i + 3];
      if (rest > 4) return SendStatus(res, 404, "NotFound", "unsupported subresource");
    } else if (rest == 1 ||
               rest == 2) {  // {resource}[/{name}] (cluster-wide, or namespaces/{name})
      resource = parts[i];
      if (rest == 2) name = parts[i + 1];
    } else {
      return SendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    }
    const ResourceType* type = TypeByResource(gv, resource);
    if (type == nullptr)
      return SendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    if (!type->namespaced && !ns.empty())
      return SendStatus(res, 404, "NotFound", resource + " is cluster-scoped");

    if (req.method == "GET") {
      if (!name.empty()) return GetObject(*type, ns, name, res);
      const std::string watch = req.get_param_value("watch");
      if (watch == "1" || watch == "true") return Watch(*type, ns, req, res);
      return List(*type, ns, req, res);
    }
    const bool dry_run = req.get_param_value("dryRun") == "All";
    if (req.method == "PATCH" && !name.empty() && dry_run)
      return DryRunPatch(*type, ns, name, req, res);
    if (req.method == "PATCH" && !name.empty()) return Patch(*type, ns, name, req, res);
    if (req.method == "POST" && name.empty() && dry_run) return DryRunCreate(*type, ns, req, res);
    return SendStatus(res, 405, "MethodNotAllowed",
                      "the fake API server does not support " + req.method + " here");
  }

  // --- control ---
  json Patches() {
    std::lock_guard<std::mutex> lock(mu_);
    return patches_;
  }
  json Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void ResetLog() {
    std::lock_guard<std::mutex> lock(mu_);
    patches_ = json::array();
    requests_ = json::array();
  }
  json Object(const std::string& resource, const std::string& ns, const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : Types()) {
      if (t.resource != resource) continue;
      const auto it = objects_.find(ObjectKey(t, t.namespaced ? ns : "", name));
      if (it != objects_.end()) return it->second;
    }
    return nullptr;
  }
  int watchers() const { return watchers_.load(); }
  void SetFailRule(const json& body) {
    std::lock_guard<std::mutex> lock(mu_);
    if (body.value("clear", false)) {
      fail_rules_.clear();
      return;
    }
    fail_rules_.push_back(
        FailRule{body.value("method", "*"), body.value("path", "/"), body.value("code", 500),
                 body.value("message", "injected failure"), body.value("count", -1)});
  }
  void SetOptions(const json& body) {
    std::lock_guard<std::mutex> lock(mu_);
    gone_as_http_ = body.value("goneAsHttp", gone_as_http_);
    bookmark_seconds_ = body.value("bookmarkSeconds", bookmark_seconds_);
    delay_ms_.store(body.value("delayMs", delay_ms_.load()));
    if (body.contains("admissionConfig"))
      SetAdmissionConfigLocked(body.value("admissionConfig", ""));
  }
  // Caller holds mu_ (or no other thread runs yet). Empty path: no admission webhook.
  std::string SetAdmissionConfigLocked(const std::string& path) {
    admission_config_.reset();
    if (path.empty()) return {};
    auto config = irsa::LoadConfigFile(path);
    if (!config.ok()) return config.error();
    admission_config_ = std::make_shared<irsa::Config>(std::move(config).value());
    return {};
  }

 private:
  std::string CurrentToken() const {
    std::ifstream in(token_file_);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    return token;
  }

  bool ApplyFailRule(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = fail_rules_.begin(); it != fail_rules_.end(); ++it) {
      if ((it->method != "*" && it->method != req.method) || req.path.rfind(it->path, 0) != 0)
        continue;
      const int code = it->code;
      const std::string message = it->message;
      if (it->count > 0 && --it->count == 0) fail_rules_.erase(it);
      const std::string reason = code == 403   ? "Forbidden"
                                 : code == 404 ? "NotFound"
                                 : code == 409 ? "Conflict"
                                 : code == 410 ? "Expired"
                                 : code == 422 ? "Invalid"
                                               : "InternalError";
      SendStatus(res, code, reason, message);
      return true;
    }
    return false;
  }

  // Caller holds mu_.
  void Record(const ResourceType& type, const std::string& event_type, const json& object) {
    history_.push_back(Event{rv_, type.group_version + "/" + type.resource, event_type, object});
    cv_.notify_all();
  }

  void GetObject(const ResourceType& type, const std::string& ns, const std::string& name,
                 httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = objects_.find(ObjectKey(type, ns, name));
    if (it == objects_.end()) {
      return SendStatus(res, 404, "NotFound", type.resource + " \"" + name + "\" not found");
    }
    json object = it->second;
    object["kind"] = type.kind;
    res.set_content(object.dump(), "application/json");
  }

  void List(const ResourceType& type, const std::string& ns, const httplib::Request& req,
            httplib::Response& res) {
    const std::string prefix =
        type.group_version + "/" + type.resource + "/" + (ns.empty() ? "" : ns + "/");
    std::size_t limit = 0;
    if (req.has_param("limit")) limit = std::stoul(req.get_param_value("limit"));
    const std::string start_after = req.get_param_value("continue");
    // labelSelector: only the "key=value" form.
    const std::string selector = req.get_param_value("labelSelector");
    const std::string selector_key = selector.substr(0, selector.find('='));
    const std::string selector_value =
        selector.find('=') == std::string::npos ? "" : selector.substr(selector.find('=') + 1);
    json list = {
        {"kind", type.kind + "List"}, {"apiVersion", type.group_version}, {"items", json::array()}};
    std::lock_guard<std::mutex> lock(mu_);
    list["metadata"] = {{"resourceVersion", std::to_string(rv_)}};
    auto it =
        start_after.empty() ? objects_.lower_bound(prefix) : objects_.upper_bound(start_after);
    for (; it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      if (limit != 0 && list["items"].size() == limit) {
        list["metadata"]["continue"] = std::prev(it)->first;
        break;
      }
      if (!selector.empty()) {
        const json* labels = nullptr;
        if (const auto m = it->second.find("metadata");
            m != it->second.end() && m->contains("labels"))
          labels = &(*m)["labels"];
        if (labels == nullptr || labels->value(selector_key, std::string()) != selector_value)
          continue;
      }
      list["items"].push_back(it->second);
    }
    res.set_content(list.dump(), "application/json");
  }

  void Patch(const ResourceType& type, const std::string& ns, const std::string& name,
             const httplib::Request& req, httplib::Response& res) {
    const std::string content_type = req.get_header_value("Content-Type");
    const bool merge = content_type.rfind("application/merge-patch+json", 0) == 0;
    const bool strategic = content_type.rfind("application/strategic-merge-patch+json", 0) == 0;
    if (!merge && !strategic) {
      return SendStatus(res, 415, "UnsupportedMediaType",
                        "the body of the request was in an unknown format");
    }
    if (!type.patchable)
      return SendStatus(res, 405, "MethodNotAllowed", "the fake does not patch " + type.resource);
    json patch = json::parse(req.body, nullptr, false);
    if (!patch.is_object()) return SendStatus(res, 400, "BadRequest", "invalid JSON patch body");
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = objects_.find(ObjectKey(type, ns, name));
    if (it == objects_.end())
      return SendStatus(res, 404, "NotFound", type.resource + " \"" + name + "\" not found");
    json& object = it->second;
    if (patch.contains("metadata") && patch["metadata"].is_object() &&
        patch["metadata"].contains("resourceVersion")) {
      if (patch["metadata"]["resourceVersion"] != object["metadata"]["resourceVersion"]) {
        return SendStatus(
            res, 409, "Conflict",
            "Operation cannot be fulfilled on " + type.resource + " \"" + name +
                "\": the object has been modified; please apply your changes to the latest version "
                "and try again");
      }
    }
    json body = patch;
    if (body.contains("metadata") && body["metadata"].is_object())
      body["metadata"].erase("resourceVersion");
    object.merge_patch(body);
    object["metadata"]["resourceVersion"] = std::to_string(++rv_);
    if (type.group_version == "apps/v1") {
      object["metadata"]["generation"] = object["metadata"].value("generation", 1) + 1;
    }
    patches_.push_back({{"resource", type.resource},
                        {"namespace", ns},
                        {"name", name},
                        {"patchType", merge ? "merge" : "strategic-merge"},
                        {"patch", patch}});
    Record(type, "MODIFIED", object);
    json out = object;
    out["kind"] = type.kind;
    res.set_content(out.dump(), "application/json");
  }

  // The ServiceAccounts stored, as a webhook's cache would see them. Caller holds mu_.
  class StoredAccounts final : public irsa::ServiceAccountLookup {
   public:
    StoredAccounts(const FakeApi& api, const std::string& prefix) : api_(api), prefix_(prefix) {}
    std::optional<irsa::ServiceAccountInfo> Find(std::string_view ns,
                                                 std::string_view name) const override {
      const auto it = api_.objects_.find(ObjectKey(*TypeByKind("ServiceAccount"), ns, name));
      if (it == api_.objects_.end()) return std::nullopt;
      auto info = irsa::ReadServiceAccount(it->second, prefix_);
      if (!info.ok()) return std::nullopt;
      return std::move(info).value();
    }

   private:
    const FakeApi& api_;
    std::string prefix_;
  };

  // What the admission webhook does to `object`. Caller holds mu_.
  void Admit(const ResourceType& type, const std::string& ns, json& object) {
    if (!admission_config_) return;
    const irsa::Config& config = *admission_config_;
    irsa::Result<irsa::Mutation> mutation = irsa::Status::Error("kind not handled");
    if (type.kind == "Pod") {
      StoredAccounts accounts(*this, config.annotation_prefix);
      mutation = irsa::MutatePod(config, object, ns, &accounts);
    } else if (type.kind == "ServiceAccount") {
      mutation = irsa::MutateServiceAccount(config, object, ns);
    }
    if (!mutation.ok() || mutation->patch.empty()) return;
    object = object.patch(json::parse(mutation->patch.Serialize()));
  }

  void DryRunCreate(const ResourceType& type, const std::string& ns, const httplib::Request& req,
                    httplib::Response& res) {
    if (type.kind != "Pod" && type.kind != "ServiceAccount")
      return SendStatus(res, 405, "MethodNotAllowed",
                        "the fake creates only pods and serviceaccounts");
    json object = json::parse(req.body, nullptr, false);
    if (!object.is_object() || !object["metadata"].is_object())
      return SendStatus(res, 400, "BadRequest", "invalid object");
    object["metadata"]["namespace"] = ns;
    std::lock_guard<std::mutex> lock(mu_);
    if (!object["metadata"].contains("name")) {
      object["metadata"]["name"] =
          object["metadata"].value("generateName", "") + "dry" + std::to_string(++uid_counter_);
    }
    const std::string name = object["metadata"]["name"].get<std::string>();
    if (objects_.count(ObjectKey(type, ns, name)) != 0) {
      return SendStatus(res, 409, "AlreadyExists",
                        type.resource + " \"" + name + "\" already exists");
    }
    Admit(type, ns, object);
    res.status = 201;
    res.set_content(object.dump(), "application/json");
  }

  void DryRunPatch(const ResourceType& type, const std::string& ns, const std::string& name,
                   const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Content-Type").rfind("application/merge-patch+json", 0) != 0)
      return SendStatus(res, 415, "UnsupportedMediaType", "dry-run patches: merge patches only");
    json patch = json::parse(req.body, nullptr, false);
    if (!patch.is_object()) return SendStatus(res, 400, "BadRequest", "invalid JSON patch body");
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = objects_.find(ObjectKey(type, ns, name));
    if (it == objects_.end())
      return SendStatus(res, 404, "NotFound", type.resource + " \"" + name + "\" not found");
    json object = it->second;
    object.merge_patch(patch);
    Admit(type, ns, object);
    object["kind"] = type.kind;
    res.set_content(object.dump(), "application/json");
  }

  void Watch(const ResourceType& type, const std::string& ns, const httplib::Request& req,
             httplib::Response& res) {
    const std::string resource = type.group_version + "/" + type.resource;
    std::int64_t from = -1;
    const std::string rv_param = req.get_param_value("resourceVersion");
    if (!rv_param.empty() && rv_param != "0") from = std::stoll(rv_param);
    const int timeout_seconds =
        req.has_param("timeoutSeconds") ? std::stoi(req.get_param_value("timeoutSeconds")) : 1800;
    const bool bookmarks = req.get_param_value("allowWatchBookmarks") == "true";
    std::int64_t expire_generation, close_generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (from < 0) from = rv_;
      if (from < oldest_rv_ && gone_as_http_) {
        return SendStatus(
            res, 410, "Expired",
            "too old resource version: " + rv_param + " (" + std::to_string(oldest_rv_) + ")");
      }
      expire_generation = expire_generation_;
      close_generation = close_generation_;
    }
    struct State {
      std::int64_t sent_rv;
      bool expired_on_start;
      std::chrono::steady_clock::time_point deadline;
      std::chrono::steady_clock::time_point last_write;
    };
    auto state = std::make_shared<State>();
    state->sent_rv = from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      state->expired_on_start = from < oldest_rv_;
    }
    state->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    state->last_write = std::chrono::steady_clock::now();
    ++watchers_;
    res.set_chunked_content_provider(
        "application/json",
        [this, state, resource, ns, bookmarks, expire_generation, close_generation](
            std::size_t, httplib::DataSink& sink) {
          auto gone = [&](const std::string& why) {
            const json event = {{"type", "ERROR"}, {"object", StatusObject(410, "Expired", why)}};
            const std::string line = event.dump() + "\n";
            sink.write(line.data(), line.size());
            sink.done();
            return true;
          };
          if (state->expired_on_start) {
            return gone("too old resource version: " + std::to_string(state->sent_rv));
          }
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait_for(lock, std::chrono::milliseconds(200));
          if (stopping_ || close_generation_ != close_generation ||
              std::chrono::steady_clock::now() >= state->deadline) {
            lock.unlock();
            sink.done();
            return true;
          }
          if (expire_generation_ != expire_generation) {
            lock.unlock();
            return gone("watch expired by the test");
          }
          std::string out;
          for (const auto& e : history_) {
            if (e.rv <= state->sent_rv || e.resource != resource) continue;
            if (!ns.empty() && e.object["metadata"].value("namespace", "") != ns) continue;
            out += json{{"type", e.type}, {"object", e.object}}.dump() + "\n";
          }
          // Skip past everything seen so far, including events of other resources.
          state->sent_rv = rv_;
          const auto now = std::chrono::steady_clock::now();
          if (out.empty() && bookmarks &&
              now - state->last_write >= std::chrono::seconds(bookmark_seconds_)) {
            out = json{{"type", "BOOKMARK"},
                       {"object",
                        {{"kind", "ServiceAccount"},
                         {"apiVersion", "v1"},
                         {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}}
                      .dump() +
                  "\n";
          }
          lock.unlock();
          if (!out.empty()) {
            state->last_write = now;
            if (!sink.write(out.data(), out.size())) return false;
          }
          return sink.is_writable();
        },
        [this](bool) { --watchers_; });
  }

  const std::string token_file_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::int64_t rv_;
  std::int64_t oldest_rv_;
  std::int64_t uid_counter_ = 0;
  std::int64_t expire_generation_ = 0;
  std::int64_t close_generation_ = 0;
  bool gone_as_http_ = false;
  int bookmark_seconds_ = 5;
  std::atomic<int> delay_ms_{0};
  std::shared_ptr<irsa::Config> admission_config_;  // guarded by mu_
  bool client_cert_auth_;
  std::map<std::string, json> objects_;
  std::deque<Event> history_;
  std::vector<FailRule> fail_rules_;
  json patches_ = json::array();
  json requests_ = json::array();
  std::atomic<int> watchers_{0};
};

// --- TLS material ---

bool LoadOrCreateCertificate(const std::string& dir, X509** cert, EVP_PKEY** key) {
  const std::string crt_path = dir + "/tls.crt";
  const std::string key_path = dir + "/tls.key";
  if (std::filesystem::exists(crt_path) && std::filesystem::exists(key_path)) {
    FILE* f = std::fopen(crt_path.c_str(), "r");
    if (f == nullptr) return false;
    *cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    f = std::fopen(key_path.c_str(), "r");
    if (f == nullptr) return false;
    *key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    return *cert != nullptr && *key != nullptr;
  }
  *key = EVP_EC_gen("P-256");
  *cert = X509_new();
  if (*key == nullptr || *cert == nullptr) return false;
  X509_set_version(*cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(*cert), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(*cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(*cert), 60L * 60 * 24 * 30);
  X509_set_pubkey(*cert, *key);
  X509_NAME* name = X509_get_subject_name(*cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fake-kube-api"), -1, -1, 0);
  X509_set_issuer_name(*cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, *cert, *cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return false;
    X509_add_ext(*cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(*cert, *key, EVP_sha256()) == 0) return false;
  std::filesystem::create_directories(dir);
  FILE* f = std::fopen(key_path.c_str(), "w");
  if (f == nullptr) return false;
  PEM_write_PrivateKey(f, *key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(crt_path.c_str(), "w");
  if (f == nullptr) return false;
  PEM_write_X509(f, *cert);
  std::fclose(f);
  return true;
}

int Usage(const std::string& error) {
  std::cerr << "fake_kube_api: " << error
            << "\nusage: fake_kube_api --token-file F --tls-dir D [--fixture F] [--port N] "
               "[--ready-file F]"
               " [--initial-resource-version N] [--client-cert-auth] [--admission-config F]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  irsa::cli::PrepareProcess();  // SIGPIPE ignored: a client may close while it is answered
  std::string token_file, tls_dir, fixture, ready_file;
  int port = 0;
  std::int64_t initial_rv = 1000;
  bool client_cert_auth = false;
  std::string admission_config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--token-file")
      token_file = next();
    else if (arg == "--tls-dir")
      tls_dir = next();
    else if (arg == "--fixture")
      fixture = next();
    else if (arg == "--ready-file")
      ready_file = next();
    else if (arg == "--port")
      port = std::atoi(next().c_str());
    else if (arg == "--initial-resource-version")
      initial_rv = std::atoll(next().c_str());
    else if (arg == "--client-cert-auth")
      client_cert_auth = true;
    else if (arg == "--admission-config")
      admission_config = next();
    else
      return Usage("unknown argument " + arg);
  }
  if (token_file.empty() || tls_dir.empty())
    return Usage("--token-file and --tls-dir are required");

  // Signals are taken by one thread with sigwait, so the server threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A test that crashes must not leave its server behind: stop when the parent goes away.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return Usage("parent exited before start");

  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  if (!LoadOrCreateCertificate(tls_dir, &cert, &key))
    return Usage("cannot create or load the TLS certificate");
  X509_STORE* client_ca = nullptr;
  if (client_cert_auth) {
    client_ca = X509_STORE_new();
    X509_STORE_add_cert(client_ca, cert);
  }
  httplib::SSLServer server(cert, key, client_ca);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!server.is_valid()) return Usage("TLS setup failed");

  FakeApi api(token_file, initial_rv, client_cert_auth);
  if (const std::string error = api.SetAdmissionConfigLocked(admission_config); !error.empty())
    return Usage(error);
  if (!fixture.empty()) {
    auto document = irsa::LoadDocumentFile(fixture);
    if (!document.ok()) return Usage(document.error());
    if (const std::string error = api.Apply(*document); !error.empty())
      return Usage(fixture + ": " + error);
  }

  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_tcp_nodelay(true);
  auto json_body = [](const httplib::Request& req) {
    json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    return body.is_discarded() ? json::object() : body;
  };
  auto ok = [](httplib::Response& res, const std::string& error) {
    if (!error.empty()) res.status = 400;
    res.set_content(json{{"ok", error.empty()}, {"error", error}}.dump(), "application/json");
  };
  server.Post("/fake/apply", [&](const httplib::Request& req, httplib::Response& res) {
    auto document = irsa::ParseDocument(req.body);
    ok(res, document.ok() ? api.Apply(*document) : document.error());
  });
  server.Post("/fake/delete", [&](const httplib::Request& req, httplib::Response& res) {
    ok(res, api.Delete(json_body(req)));
  });
  server.Post("/fake/generate", [&](const httplib::Request& req, httplib::Response& res) {
    api.Generate(json_body(req));
    ok(res, "");
  });
  server.Post("/fake/compact", [&](const httplib::Request&, httplib::Response& res) {
    api.Compact();
    ok(res, "");
  });
  server.Post("/fake/expire-watches", [&](const httplib::Request&, httplib::Response& res) {
    api.ExpireWatches();
    ok(res, "");
  });
  server.Post("/fake/close-watches", [&](const httplib::Request&, httplib::Response& res) {
    api.CloseWatches();
    ok(res, "");
  });
  server.Post("/fake/fail", [&](const httplib::Request& req, httplib::Response& res) {
    api.SetFailRule(json_body(req));
    ok(res, "");
  });
  server.Post("/fake/options", [&](const httplib::Request& req, httplib::Response& res) {
    api.SetOptions(json_body(req));
    ok(res, "");
  });
  server.Get("/fake/patches", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(api.Patches().dump(2), "application/json");
  });
  server.Get("/fake/patch-summary", [&](const httplib::Request&, httplib::Response& res) {
    std::string text;
    for (const auto& p : api.Patches()) {
      text += p["resource"].get<std::string>() + " " + p["namespace"].get<std::string>() + "/" +
              p["name"].get<std::string>() + " " + p["patchType"].get<std::string>() + "\n";
    }
    res.set_content(text, "text/plain");
  });
  server.Get("/fake/requests", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(api.Requests().dump(), "application/json");
  });
  server.Post("/fake/reset-log", [&](const httplib::Request&, httplib::Response& res) {
    api.ResetLog();
    ok(res, "");
  });
  server.Get("/fake/object", [&](const httplib::Request& req, httplib::Response& res) {
    res.set_content(api.Object(req.get_param_value("resource"), req.get_param_value("namespace"),
                               req.get_param_value("name"))
                        .dump(),
                    "application/json");
  });
  server.Get("/fake/watchers", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::to_string(api.watchers()), "application/json");
  });
  server.Post("/fake/shutdown", [&](const httplib::Request&, httplib::Response& res) {
    ok(res, "");
    kill(getpid(), SIGTERM);
  });
  const auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    api.Handle(req, res);
  };
  server.Get(R"(/apis?/.*)", handler);
  server.Get("/version", handler);
  server.Patch(R"(/apis?/.*)", handler);
  server.Post(R"(/apis?/.*)", handler);
  server.Put(R"(/apis?/.*)", handler);
  server.Delete(R"(/apis?/.*)", handler);

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    bound = -1;
  }
  if (bound <= 0) return Usage("cannot listen on 127.0.0.1:" + std::to_string(port));

  std::thread signal_thread([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    api.Stop();
    server.stop();
  });
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::filesystem::rename(tmp, ready_file);
  }
  std::cerr << "fake_kube_api: listening on https://127.0.0.1:" << bound << "\n";
  server.listen_after_bind();
  api.Stop();
  // listen_after_bind returned: either the signal thread stopped us, or listening failed.
  if (signal_thread.joinable()) {
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  }
  return 0;
}
