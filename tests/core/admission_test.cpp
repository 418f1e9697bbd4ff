#include "irsa/admission.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace irsa {
namespace {

using nlohmann::json;
using testing::Base64Decode;
using testing::MakeConfig;

const char* const kConfig = R"(
bindings:
  - {name: psmdb, roleArn: "arn:aws:iam::111122223333:role/psmdb-backup", namespaces: [psmdb], serviceAccounts: [default]}
)";

std::string Review(const std::string& api_version, const std::string& request) {
  return R"({"apiVersion": ")" + api_version + R"(", "kind": "AdmissionReview", "request": )" +
         request + "}";
}

const char* const kPodRequest =
    R"({"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "namespace": "psmdb", "operation": "CREATE", "object": {"metadata": {"generateName": "web-"},
  "spec": {"containers": [{"name": "c"}]}}})";

TEST(AdmissionTest, V1AndV1beta1EchoEnvelopeAndCarryBase64Patch) {
  const Config config = MakeConfig(kConfig);
  for (const std::string version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    auto request = DecodeAdmissionReview(Review(version, kPodRequest));
    ASSERT_TRUE(request.ok()) << request.error();
    const AdmissionResult result = Admit(config, *request, nullptr);
    EXPECT_EQ(result.object_name, "web-");
    EXPECT_EQ(result.ns, "psmdb");
    const json response = json::parse(EncodeAdmissionResponse(*request, result.mutation));
    EXPECT_EQ(response["apiVersion"], version);
    EXPECT_EQ(response["kind"], "AdmissionReview");
    EXPECT_EQ(response["response"]["uid"], "u-1");
    EXPECT_EQ(response["response"]["allowed"], true);
    EXPECT_EQ(response["response"]["patchType"], "JSONPatch");
    EXPECT_EQ(json::parse(Base64Decode(response["response"]["patch"])),
              result.mutation.patch.operations());
  }
}

TEST(AdmissionTest, DryRunGetsTheSameResponse) {
  const Config config = MakeConfig(kConfig);
  std::string dry = kPodRequest;
  dry.insert(dry.find("\"object\""), "\"dryRun\": true, ");
  auto normal = DecodeAdmissionReview(Review("admission.k8s.io/v1", kPodRequest));
  auto dry_run = DecodeAdmissionReview(Review("admission.k8s.io/v1", dry));
  ASSERT_TRUE(dry_run.ok());
  EXPECT_TRUE(dry_run->dry_run);
  EXPECT_EQ(EncodeAdmissionResponse(*normal, Admit(config, *normal, nullptr).mutation),
            EncodeAdmissionResponse(*dry_run, Admit(config, *dry_run, nullptr).mutation));
}

TEST(AdmissionTest, UnchangedResponseHasNoPatchFields) {
  const Config config;
  auto request = DecodeAdmissionReview(Review("admission.k8s.io/v1", kPodRequest));
  const json response = AdmissionResponseJson(*request, Admit(config, *request, nullptr).mutation);
  EXPECT_EQ(response["response"], json::parse(R"({"uid": "u-1", "allowed": true})"));
}

struct RoutingCase {
  const char* name;
  const char* request;
  Outcome outcome;
};

class AdmissionRoutingTest : public ::testing::TestWithParam<RoutingCase> {};

TEST_P(AdmissionRoutingTest, AllowedAlwaysPatchOnlyForHandledKinds) {
  const Config config = MakeConfig(kConfig);
  auto request = DecodeAdmissionReview(Review("admission.k8s.io/v1", GetParam().request));
  ASSERT_TRUE(request.ok()) << request.error();
  const AdmissionResult result = Admit(config, *request, nullptr);
  EXPECT_EQ(result.mutation.outcome, GetParam().outcome) << result.mutation.reason;
  EXPECT_EQ(AdmissionResponseJson(*request, result.mutation)["response"]["allowed"], true);
  if (GetParam().outcome != Outcome::kMutated) {
    EXPECT_TRUE(result.mutation.patch.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AdmissionRoutingTest,
    ::testing::Values(
        RoutingCase{"PodCreate", kPodRequest, Outcome::kMutated},
        RoutingCase{
            "PodUpdateIgnored",
            R"({"uid": "u", "kind": {"kind": "Pod"}, "namespace": "psmdb", "operation": "UPDATE",
                        "object": {"spec": {"containers": [{"name": "c"}]}}})",
            Outcome::kSkipped},
        RoutingCase{
            "PodSubresourceIgnored",
            R"({"uid": "u", "kind": {"kind": "Pod"}, "subResource": "ephemeralcontainers", "namespace": "psmdb",
                        "operation": "CREATE", "object": {"spec": {"containers": [{"name": "c"}]}}})",
            Outcome::kSkipped},
        RoutingCase{
            "DeleteNullObject",
            R"({"uid": "u", "kind": {"kind": "Pod"}, "namespace": "psmdb", "operation": "DELETE", "object": null})",
            Outcome::kSkipped},
        RoutingCase{
            "PodCreateNullObjectIsError",
            R"({"uid": "u", "kind": {"kind": "Pod"}, "namespace": "psmdb", "operation": "CREATE", "object": null})",
            Outcome::kError},
        RoutingCase{
            "PodWrongTypesIsError",
            R"({"uid": "u", "kind": {"kind": "Pod"}, "namespace": "psmdb", "operation": "CREATE",
                        "object": {"spec": {"containers": "everything"}}})",
            Outcome::kError},
        RoutingCase{
            "ServiceAccountUpdate",
            R"({"uid": "u", "kind": {"kind": "ServiceAccount"}, "namespace": "psmdb", "operation": "UPDATE",
                        "object": {"metadata": {"name": "default"}}})",
            Outcome::kMutated},
        RoutingCase{
            "ServiceAccountDelete",
            R"({"uid": "u", "kind": {"kind": "ServiceAccount"}, "namespace": "psmdb", "operation": "DELETE"})",
            Outcome::kSkipped},
        RoutingCase{
            "PodInOtherGroupIgnored",
            R"({"uid": "u", "kind": {"group": "example.com", "kind": "Pod"}, "namespace": "psmdb",
                        "operation": "CREATE", "object": {"spec": {"containers": [{"name": "c"}]}}})",
            Outcome::kSkipped},
        RoutingCase{
            "PerconaClusterNeverPatched",
            R"({"uid": "u", "kind": {"group": "psmdb.percona.com", "version": "v1", "kind": "PerconaServerMongoDB"},
                        "namespace": "psmdb", "operation": "CREATE", "object": {"spec": {}}})",
            Outcome::kSkipped}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AdmissionTest, ErrorsBecomeAWarningNotADenial) {
  const Config config = MakeConfig(kConfig);
  auto request =
      DecodeAdmissionReview(Review("admission.k8s.io/v1", R"({"uid": "u", "kind": {"kind": "Pod"},
      "namespace": "psmdb", "operation": "CREATE", "object": {"spec": {"containers": [{"name": 7}]}}})"));
  const json response = AdmissionResponseJson(*request, Admit(config, *request, nullptr).mutation);
  EXPECT_EQ(response["response"]["allowed"], true);
  EXPECT_EQ(response["response"]["warnings"][0],
            "irsa-webhook: Pod not mutated: spec.containers[0].name: must be a string");
}

struct EnvelopeCase {
  const char* name;
  std::string body;
  const char* message;
};

class AdmissionEnvelopeTest : public ::testing::TestWithParam<EnvelopeCase> {};

TEST_P(AdmissionEnvelopeTest, RejectedAsTransportError) {
  auto request = DecodeAdmissionReview(GetParam().body);
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.error().find(GetParam().message), std::string::npos) << request.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, AdmissionEnvelopeTest,
    ::testing::Values(
        EnvelopeCase{"NotJson", "hello", "parse error"},
        EnvelopeCase{"Truncated", R"({"apiVersion": "admission.k8s.io/v1", "kind": "Adm)",
                     "parse error"},
        EnvelopeCase{"NotObject", "[]", "must be an AdmissionReview object"},
        EnvelopeCase{"MissingRequest",
                     R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})",
                     "request: required"},
        EnvelopeCase{"NullRequest", Review("admission.k8s.io/v1", "null"), "request: required"},
        EnvelopeCase{
            "MissingUid",
            Review("admission.k8s.io/v1", R"({"kind": {"kind": "Pod"}, "operation": "CREATE"})"),
            "request.uid: required"},
        EnvelopeCase{"UidNumber", Review("admission.k8s.io/v1", R"({"uid": 5})"),
                     "request.uid: must be a string"},
        EnvelopeCase{
            "KindString",
            Review("admission.k8s.io/v1", R"({"uid": "u", "operation": "CREATE", "kind": "Pod"})"),
            "request.kind: must be an object"},
        EnvelopeCase{
            "DryRunString",
            Review(
                "admission.k8s.io/v1",
                R"({"uid": "u", "operation": "CREATE", "kind": {"kind": "Pod"}, "dryRun": "yes"})"),
            "request.dryRun: must be true or false"},
        EnvelopeCase{"UnknownVersion", Review("admission.k8s.io/v2", kPodRequest),
                     "apiVersion: \"admission.k8s.io/v2\""},
        EnvelopeCase{"WrongKind",
                     R"({"apiVersion": "admission.k8s.io/v1", "kind": "Pod", "request": {}})",
                     "kind: \"Pod\" is not AdmissionReview"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AdmissionTest, DuplicateKeysTakeTheLastValue) {
  auto request = DecodeAdmissionReview(
      R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "a", "uid": "b",
          "kind": {"kind": "Pod"}, "operation": "CREATE"}})");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->uid, "b");
}

TEST(AdmissionTest, ManifestWrapping) {
  auto pod = RequestFromManifest(
      json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "a"}})"), "");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->ns, "a");
  EXPECT_EQ(pod->operation, "CREATE");
  EXPECT_EQ(RequestFromManifest(json::parse(R"({"apiVersion": "v1", "kind": "Pod"})"), "b")->ns,
            "b");
  EXPECT_EQ(RequestFromManifest(json::parse(R"({"apiVersion": "v1", "kind": "Pod"})"), "")->ns,
            "default");
  auto psmdb = RequestFromManifest(
      json::parse(R"({"apiVersion": "psmdb.percona.com/v1", "kind": "PerconaServerMongoDB"})"), "");
  ASSERT_TRUE(psmdb.ok());
  EXPECT_EQ(psmdb->group, "psmdb.percona.com");
  EXPECT_NE(
      RequestFromManifest(json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment"})"), "")
          .error()
          .find("unknown kind apps/v1/Deployment"),
      std::string::npos);
  EXPECT_FALSE(RequestFromManifest(json::parse("[]"), "").ok());
  EXPECT_FALSE(RequestFromManifest(json::parse("{}"), "").ok());
}

}  // namespace
}  // namespace irsa
