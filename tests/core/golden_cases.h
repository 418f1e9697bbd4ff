// Loading golden cases (tests/testdata/<case>/): shared by the golden and parity tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "irsa/admission.h"
#include "irsa/document.h"

namespace irsa::testing {

inline const std::filesystem::path kTestdata = IRSA_TESTDATA_DIR;

inline std::vector<std::string> GoldenCaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kTestdata)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / "input.yaml")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline nlohmann::json LoadDocument(const std::filesystem::path& path) {
  auto doc = LoadDocumentFile(path.string());
  if (!doc.ok()) ADD_FAILURE() << doc.error();
  return doc.ok() ? *doc : nlohmann::json();
}

struct GoldenCase {
  Config config;
  nlohmann::json input;
  AdmissionRequest request;  // input.yaml as the API server would send it
  StaticServiceAccountLookup service_accounts;
};

inline std::unique_ptr<GoldenCase> LoadGoldenCase(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = kTestdata / name;
  auto c = std::make_unique<GoldenCase>();
  const fs::path config_path =
      fs::exists(dir / "config.yaml") ? dir / "config.yaml" : kTestdata / "default-config.yaml";
  auto config = LoadConfigFile(config_path.string());
  EXPECT_TRUE(config.ok()) << config.error();
  if (config.ok()) c->config = *config;
  c->input = LoadDocument(dir / "input.yaml");
  const bool is_review = c->input.is_object() && c->input.value("kind", "") == "AdmissionReview";
  auto request =
      is_review ? DecodeParsedAdmissionReview(c->input) : RequestFromManifest(c->input, "");
  EXPECT_TRUE(request.ok()) << request.error();
  if (request.ok()) c->request = *request;
  if (fs::exists(dir / "serviceaccount.yaml")) {
    auto sa =
        ReadServiceAccount(LoadDocument(dir / "serviceaccount.yaml"), c->config.annotation_prefix);
    EXPECT_TRUE(sa.ok()) << sa.error();
    if (sa.ok()) c->service_accounts.Add(*sa);
  }
  return c;
}

// The AdmissionReview JSON the API server would send for `request`.
inline std::string ReviewBody(const AdmissionRequest& r) {
  return nlohmann::json{{"apiVersion", r.api_version},
                        {"kind", "AdmissionReview"},
                        {"request",
                         {{"uid", r.uid},
                          {"kind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
                          {"namespace", r.ns},
                          {"name", r.name},
                          {"operation", r.operation},
                          {"dryRun", r.dry_run},
                          {"object", r.object}}}}
      .dump();
}

inline void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Applies `patch` to `object` with Kubernetes' own patcher (kubectl patch --local --type=json,
// $IRSA_KUBECTL) and returns the object kubectl prints. `tag` names the temporary directory.
inline Result<nlohmann::json> KubectlPatchLocal(const nlohmann::json& object,
                                                const nlohmann::json& patch,
                                                const std::string& tag) {
  namespace fs = std::filesystem;
  const char* kubectl = std::getenv("IRSA_KUBECTL");
  if (kubectl == nullptr || !fs::exists(kubectl))
    return Status::Error(
        "kubectl not found (IRSA_KUBECTL); run scripts/fetch-k8s-tools.sh before the tests");
  const fs::path tmp =
      fs::temp_directory_path() / ("irsa-golden-" + tag + "-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  WriteFile(tmp / "object.json", object.dump());
  WriteFile(tmp / "patch.json", patch.dump());
  // KUBECONFIG points nowhere: --local must not need a cluster.
  const std::string command = "KUBECONFIG=/dev/null '" + std::string(kubectl) +
                              "' patch --local -f '" + (tmp / "object.json").string() +
                              "' --type=json --patch-file '" + (tmp / "patch.json").string() +
                              "' -o json 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::Error("cannot run " + command);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  fs::remove_all(tmp);
  if (status != 0) return Status::Error(command + " failed:\n" + output);
  auto parsed = ParseJson(output);
  if (!parsed.ok()) return Status::Error(parsed.error() + "\n" + output);
  return parsed;
}

}  // namespace irsa::testing
