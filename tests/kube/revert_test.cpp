// reconcile --revert against the fake API server: exactly the annotations this webhook added
// go, an admin's own or changed role-arn stays; then the real binary's flag.
#include "kube/revert.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "fake_kube_api_process.h"
#include "irsa/config.h"
#include "irsa/constants.h"
#include "kube/reconciler.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;

constexpr const char* kRole = "arn:aws:iam::111122223333:role/apps";
constexpr const char* kAdminRole = "arn:aws:iam::111122223333:role/admin-own";
constexpr const char* kRoleKey = "eks.amazonaws.com/role-arn";
const std::string kMarker(kManagedRoleArnAnnotation);

json ServiceAccount(const std::string& name, json annotations = json::object()) {
  json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", {{"name", name}, {"namespace", "apps"}}}};
  if (!annotations.empty()) sa["metadata"]["annotations"] = std::move(annotations);
  return sa;
}

std::string ResultOf(const ReconcileReport& report, const std::string& name) {
  for (const auto& a : report.actions) {
    if (a.kind == "ServiceAccount" && a.name == name) return a.result;
  }
  return "<none>";
}

std::size_t Patches(const FakeKubeApiProcess& api) {
  std::size_t n = 0;
  for (const auto& r : api.Requests()) n += r["method"] == "PATCH" ? 1 : 0;
  return n;
}

class RevertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Start());
    // app: nobody annotated it; admin-sa: an admin's own role (no marker); changed: annotated by
    // reconcile below, then changed by an admin.
    json items = json::array({ServiceAccount("app", {{"unrelated.example.com/note", "kept"}}),
                              ServiceAccount("admin-sa", {{kRoleKey, kAdminRole}}),
                              ServiceAccount("changed")});
    api_.Control("POST", "/fake/apply", {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}});
    auto config = ParseConfig({{"bindings",
                                {{{"name", "apps"},
                                  {"roleArn", kRole},
                                  {"namespaces", {"apps"}},
                                  {"serviceAccounts", {"app", "admin-sa", "changed"}}}}}},
                              "revert_test");
    ASSERT_TRUE(config.ok()) << config.error();
    config_ = std::move(config).value();
    auto client = KubeClient::Create(api_.Config());
    ASSERT_TRUE(client.ok()) << client.error();
    client_ = std::move(client).value();
  }

  json Annotations(const std::string& name) const {
    return api_.Object("serviceaccounts", "apps", name)["metadata"].value("annotations",
                                                                          json::object());
  }

  FakeKubeApiProcess api_;
  Config config_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(RevertTest, RemovesWhatWeAddedAndKeepsWhatAdminsSet) {
  // reconcile marks what it adds.
  const ReconcileReport reconciled = Reconcile(config_, *client_, ReconcileOptions{});
  ASSERT_FALSE(reconciled.failed());
  EXPECT_EQ(Annotations("app")[kRoleKey], kRole);
  EXPECT_EQ(Annotations("app")[kMarker], kRole);
  EXPECT_EQ(Annotations("admin-sa").count(kMarker), 0U) << "a conflicting role is left alone";
  // An admin changes the role reconcile set.
  json changed = api_.Object("serviceaccounts", "apps", "changed");
  changed["metadata"]["annotations"][kRoleKey] = kAdminRole;
  api_.Control("POST", "/fake/apply", changed);

  const std::size_t patches_before = Patches(api_);
  RevertOptions dry;
  dry.dry_run = true;
  const ReconcileReport planned = Revert(config_, *client_, dry);
  EXPECT_EQ(ResultOf(planned, "app"), result::kWouldRevert);
  EXPECT_EQ(ResultOf(planned, "changed"), result::kWouldKeepChanged);
  EXPECT_EQ(ResultOf(planned, "admin-sa"), "<none>");
  EXPECT_EQ(Patches(api_), patches_before) << "dry run wrote something";

  const ReconcileReport reverted = Revert(config_, *client_, RevertOptions{});
  EXPECT_FALSE(reverted.failed());
  EXPECT_EQ(ResultOf(reverted, "app"), result::kReverted);
  EXPECT_EQ(Annotations("app"), json({{"unrelated.example.com/note", "kept"}}));
  EXPECT_EQ(ResultOf(reverted, "changed"), result::kKeptChanged);
  EXPECT_EQ(Annotations("changed"), json({{kRoleKey, kAdminRole}}));
  EXPECT_EQ(Annotations("admin-sa"), json({{kRoleKey, kAdminRole}}));

  // Nothing of ours is left: a second revert does nothing.
  const ReconcileReport again = Revert(config_, *client_, RevertOptions{});
  EXPECT_TRUE(again.actions.empty());
}

TEST_F(RevertTest, WithoutBindingsItSearchesEveryNamespaceAndTheBinaryReports) {
  ASSERT_FALSE(Reconcile(config_, *client_, ReconcileOptions{}).failed());
  // After an uninstall the config may be gone: no --config, cluster-wide.
  const std::string kubeconfig = api_.WriteKubeconfig();
  std::string output;
  FILE* pipe = ::popen(
      (std::string(IRSA_WEBHOOK_PATH) + " reconcile --revert --kubeconfig " + kubeconfig + " 2>&1")
          .c_str(),
      "r");
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << output;
  EXPECT_NE(output.find("ServiceAccount apps/app: reverted: removed eks.amazonaws.com/role-arn="),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("Summary: 2 ServiceAccount(s) reverted, 0 changed by someone else"),
            std::string::npos)
      << output;
  EXPECT_EQ(Annotations("changed").count(kRoleKey), 0U);
  EXPECT_EQ(Annotations("admin-sa")[kRoleKey], kAdminRole);
  bool cluster_wide = false;
  for (const auto& r : api_.Requests()) cluster_wide |= r["path"] == "/api/v1/serviceaccounts";
  EXPECT_TRUE(cluster_wide);
}

}  // namespace
}  // namespace irsa::kube
