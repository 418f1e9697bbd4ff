// The server's AdmissionReviewer must answer exactly like DecodeAdmissionReview + Admit +
// EncodeAdmissionResponse, the path `mutate` and the golden cases use (which also carries the
// object through nlohmann::json and back to the pod reader): same response bytes, same errors.
#include <gtest/gtest.h>

#include "golden_cases.h"

namespace irsa {
namespace {

using nlohmann::json;

struct Reference {
  bool ok = false;
  std::string response_or_error;
};

Reference ReferenceAnswer(const Config& config, std::string_view body,
                          const ServiceAccountLookup* lookup) {
  auto request = DecodeAdmissionReview(body);
  if (!request.ok()) return {false, request.error()};
  return {true, EncodeAdmissionResponse(*request, Admit(config, *request, lookup).mutation)};
}

void ExpectParity(const Config& config, const std::string& body,
                  const ServiceAccountLookup* lookup) {
  AdmissionReviewer reviewer;
  const Reference reference = ReferenceAnswer(config, body, lookup);
  // As serve holds a body: with spare capacity for the parser to read it in place.
  std::string padded = body;
  padded.reserve(body.size() + kReviewBodyPadding);
  ASSERT_GE(ReadablePastEnd(padded), kReviewBodyPadding);
  // Round 0 copies the body into the parser; round 1 reuses the parser's buffers and reads the
  // padded body where it lies.
  for (int round = 0; round < 2; ++round) {
    auto reviewed = round == 0 ? reviewer.Review(config, body, lookup)
                               : reviewer.Review(config, padded, lookup, ReadablePastEnd(padded));
    ASSERT_EQ(reviewed.ok(), reference.ok) << body;
    if (!reviewed.ok()) {
      EXPECT_EQ(reviewed.error(), reference.response_or_error);
      continue;
    }
    EXPECT_EQ(reviewed->response, reference.response_or_error);
  }
}

class ReviewParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReviewParityTest, GoldenCaseSameAnswerOnBothPaths) {
  const auto c = testing::LoadGoldenCase(GetParam());
  ExpectParity(c->config, testing::ReviewBody(c->request), &c->service_accounts);
}

INSTANTIATE_TEST_SUITE_P(Cases, ReviewParityTest, ::testing::ValuesIn(testing::GoldenCaseNames()),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (auto& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

struct BodyCase {
  const char* name;
  std::string body;
};

const char* const kConfig = R"(
region: us-east-1
bindings:
  - {name: b, roleArn: "arn:aws:iam::111122223333:role/b", namespaces: [psmdb], serviceAccounts: [default]}
)";

std::string PodReview(const std::string& request_extra, const std::string& pod) {
  return R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u",
    "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE")" +
         request_extra + R"(, "object": )" + pod + "}}";
}

class ReviewParityBodyTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(ReviewParityBodyTest, SameAnswer) {
  auto config = ParseConfig(*ParseDocument(kConfig), "test");
  ASSERT_TRUE(config.ok());
  ExpectParity(*config, GetParam().body, nullptr);
}

const std::string kPod = R"({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})";

TEST(AdmissionReviewerMemory, ReleasesBuffersGrownForAHugeBody) {
  // Found by the hostile-input suite's review: a reviewer returned to the server's idle pool
  // after a 100 MB request kept its parser sized for 100 MB until its next use.
  auto config = ParseConfig(*ParseDocument(kConfig), "test");
  ASSERT_TRUE(config.ok());
  AdmissionReviewer reviewer;
  const std::string huge = PodReview(
      std::string(R"(, "namespace": "psmdb", "x": )") + '"' + std::string(8 << 20, 'a') + '"',
      kPod);
  auto reviewed = reviewer.Review(*config, huge, nullptr);
  ASSERT_TRUE(reviewed.ok()) << reviewed.error();
  EXPECT_NE(reviewed->response.find(R"("allowed":true)"), std::string::npos);
  EXPECT_LE(reviewer.parser_capacity(), std::size_t{1} << 20);
  // Still usable, and small bodies keep their buffers between reviews.
  const std::string small = PodReview(R"(, "namespace": "psmdb")", kPod);
  ASSERT_TRUE(reviewer.Review(*config, small, nullptr).ok());
  const std::size_t capacity = reviewer.parser_capacity();
  EXPECT_GE(capacity, small.size());
  ASSERT_TRUE(reviewer.Review(*config, small, nullptr).ok());
  EXPECT_EQ(reviewer.parser_capacity(), capacity);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReviewParityBodyTest,
    ::testing::Values(
        BodyCase{"Plain", PodReview(R"(, "namespace": "psmdb")", kPod)},
        BodyCase{
            "NamespaceFromMetadata",
            PodReview(
                "",
                R"({"metadata": {"namespace": "psmdb"}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{"DefaultNamespace", PodReview("", kPod)},
        BodyCase{"DryRun", PodReview(R"(, "namespace": "psmdb", "dryRun": true)", kPod)},
        BodyCase{
            "DuplicateKeysLastWins",
            PodReview(
                R"(, "namespace": "other", "namespace": "psmdb", "uid": "second")",
                R"({"spec": {"containers": [{"name": "x", "name": "c", "env": [{"name": "A", "name": "AWS_ROLE_ARN"}]}]},
                               "metadata": {"labels": {"a": "1", "a": "2"}, "name": "p"}})")},
        // Found by the hostile-input suite: a reader kept "3600" where the last duplicate (not a
        // string, so ignored) means no annotation.
        BodyCase{
            "DuplicateAnnotationLastNotString",
            PodReview(R"(, "namespace": "psmdb")",
                      R"({"metadata": {"annotations": {"eks.amazonaws.com/token-expiration": "3600",
                               "eks.amazonaws.com/token-expiration": 5}}, "spec": {"containers": [{"name": "c"}]}})")},
        // Labels: the last duplicate counts, and of several bad values the first key in key
        // order is named, as in the nlohmann::json object `mutate` holds.
        BodyCase{
            "DuplicateLabelLastNotString",
            PodReview(
                R"(, "namespace": "psmdb")",
                R"({"metadata": {"labels": {"a": "1", "a": 5}}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{
            "DuplicateLabelLastString",
            PodReview(
                R"(, "namespace": "psmdb")",
                R"({"metadata": {"labels": {"a": null, "a": "1"}}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{
            "BadLabelsFirstKeyNamed",
            PodReview(
                R"(, "namespace": "psmdb")",
                R"({"metadata": {"labels": {"z": 1, "b": [2], "m": "ok"}}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{
            "DuplicateAnnotationLastNull",
            PodReview(R"(, "namespace": "psmdb")",
                      R"({"metadata": {"annotations": {"eks.amazonaws.com/token-expiration": "3600",
                               "eks.amazonaws.com/token-expiration": null}}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{
            "DuplicateAnnotationStringAfterNumber",
            PodReview(R"(, "namespace": "psmdb")",
                      R"({"metadata": {"annotations": {"eks.amazonaws.com/token-expiration": [1],
                               "eks.amazonaws.com/token-expiration": "3600"}}, "spec": {"containers": [{"name": "c"}]}})")},
        BodyCase{"NullSpecAfterSpec",
                 PodReview("", R"({"spec": {"containers": [{"name": "c"}]}, "spec": null})")},
        BodyCase{"MalformedPod", PodReview("", R"({"spec": {"containers": [{"name": 1}]}})")},
        BodyCase{
            "NullEnvAndMounts",
            PodReview(
                R"(, "namespace": "psmdb")",
                R"({"spec": {"volumes": null, "containers": [{"name": "c", "env": null, "volumeMounts": null}]}})")},
        BodyCase{
            "ForeignTokenVolume",
            PodReview(
                R"(, "namespace": "psmdb")",
                R"({"spec": {"volumes": [{"name": "aws-iam-token", "emptyDir": {}}], "containers": [{"name": "c"}]}})")},
        BodyCase{"Subresource", PodReview(R"(, "subResource": "status")", kPod)},
        BodyCase{
            "OtherGroup",
            R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u",
                    "kind": {"group": "x.io", "kind": "Pod"}, "operation": "CREATE", "object": {}}})"},
        BodyCase{"UidNumberIsError", PodReview(R"(, "uid": 5)", kPod)},
        BodyCase{"NotJson", "{nope"},
        BodyCase{"BadUtf8", PodReview(R"(, "namespace": "ps\xffmdb")", kPod)},
        BodyCase{"LoneSurrogate", PodReview(R"(, "namespace": "\ud800")", kPod)},
        BodyCase{"DeepNesting", PodReview(R"(, "namespace": "psmdb", "extra": )" +
                                              std::string(600, '[') + std::string(600, ']'),
                                          kPod)},
        BodyCase{"DeepButAllowedNesting",
                 PodReview(R"(, "namespace": "psmdb", "extra": )" + std::string(400, '[') +
                               std::string(400, ']'),
                           kPod)}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace irsa
