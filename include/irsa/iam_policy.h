// Least-privilege IAM documents for the configured bindings (docs/reference.md section 2 `policy`):
// the trust policy of each role (which ServiceAccounts may call
// sts:AssumeRoleWithWebIdentity) and the S3/KMS permission policy Percona Backup for MongoDB needs
// for its bucket. The justification of every action is in docs/iam-policies.md.
//
// Owns: validation of the AWS inputs (OIDC provider ARN, issuer URL, account ID, partition,
// bucket name, prefix, KMS key ARN) with messages an admin can act on, the exact shape of both
// documents, and the notes and warnings that explain them (which role a document is for, who a
// wildcard lets in).
// Never: performs I/O, prints, or calls AWS; never widens a document to make an input fit (what
// cannot be expressed exactly is an error, and every wildcard comes with a warning).
// Thread-safety: pure functions of their arguments.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/config.h"
#include "irsa/status.h"

namespace irsa {

// An IAM policy document. Keys keep the order of AWS's own examples (Version before Statement,
// Effect before Action before Resource), so the printed JSON reads like the IAM docs.
using PolicyDocument = nlohmann::ordered_json;

// The current IAM policy language version; the only one that supports policy variables.
inline constexpr std::string_view kIamPolicyVersion = "2012-10-17";
// The partitions `policy s3 --partition` accepts (standard, China, GovCloud (US)).
inline constexpr std::string_view kKnownPartitions[] = {"aws", "aws-cn", "aws-us-gov"};
// IAM's default quota for a role trust policy, counted without whitespace; raisable to 4096
// through Service Quotas.
inline constexpr std::size_t kTrustPolicyQuotaChars = 2048;

// Something the admin should read next to a document; printed on stderr, never in the JSON.
struct PolicyNote {
  enum class Level { kNote, kWarning };
  Level level = Level::kNote;
  std::string message;
};

// An IAM OpenID Connect identity provider: the cluster's service account issuer as registered
// in an account (EKS: `aws iam list-open-id-connect-providers`).
struct OidcProvider {
  std::string arn;         // arn:<partition>:iam::<account>:oidc-provider/<issuer>
  std::string partition;   // aws, aws-cn, aws-us-gov, ...
  std::string account_id;  // 12 digits
  std::string issuer;      // host[/path] without https://: the prefix of the condition keys
};

// Parses arn:<partition>:iam::<12-digit account>:oidc-provider/<host>[/<path>].
Result<OidcProvider> ParseOidcProviderArn(std::string_view arn);
// The provider an issuer URL (https://host[/path], as `aws eks describe-cluster` prints it) is
// registered as in `account_id` of `partition`.
Result<OidcProvider> OidcProviderFromIssuer(std::string_view partition, std::string_view account_id,
                                            std::string_view issuer_url);

// Inputs of `policy trust`. The provider is named either by its ARN or by account + issuer.
struct TrustPolicyOptions {
  std::string oidc_provider_arn;
  std::string account_id;
  std::string oidc_issuer_url;
  std::string role_arn;  // empty: every distinct roleArn of the config
};

struct RoleTrustPolicy {
  std::string role_arn;
  std::vector<std::string> bindings;  // names of the bindings that give this role, config order
  PolicyDocument document;
};

struct TrustPolicies {
  std::vector<RoleTrustPolicy> roles;  // sorted by role ARN
  std::vector<PolicyNote> notes;       // one note per role saying which it is, then warnings
};

// One trust policy per distinct roleArn of the config (or only options.role_arn's): the
// federated provider may call sts:AssumeRoleWithWebIdentity when `<issuer>:aud` is the config's
// audience and `<issuer>:sub` is `system:serviceaccount:<ns>:<sa>` for a (namespace,
// ServiceAccount) pair the role's bindings name. `sub` is always a list. Without wildcards both
// conditions sit under StringEquals; a "*" namespace or ServiceAccount turns the whole `sub`
// list into StringLike patterns (exact names still match exactly there), because conditions
// under different operators are ANDed, and adds a warning.
Result<TrustPolicies> BuildTrustPolicies(const Config& config, const TrustPolicyOptions& options);

// What `policy trust` prints: the document itself when there is exactly one role, otherwise an
// object mapping each role ARN to its document.
PolicyDocument TrustPolicyOutput(const TrustPolicies& policies);

// Inputs of `policy s3`.
struct S3PolicyOptions {
  std::string bucket;
  std::string prefix;       // empty: the whole bucket; a trailing "/" is dropped
  std::string kms_key_arn;  // empty: no KMS statement
  std::string partition;    // empty: the KMS key's partition, else "aws"
};

struct S3Policy {
  PolicyDocument document;
  std::vector<PolicyNote> notes;
};

// The permissions PBM's S3 storage uses: s3:ListBucket (limited by s3:prefix to "<prefix>/*"
// when a prefix is given) and s3:GetBucketLocation on the bucket; s3:GetObject, s3:PutObject,
// s3:DeleteObject, s3:AbortMultipartUpload and s3:ListMultipartUploadParts on the objects
// (under the prefix); kms:Decrypt and kms:GenerateDataKey on the key when one is given.
Result<S3Policy> BuildS3Policy(const S3PolicyOptions& options);

// Syntax checks, exposed for tests and for messages elsewhere.
// S3 general purpose bucket naming rules (3-63 of [a-z0-9.-], no "..", not an IP address, no
// reserved prefix or suffix). Returns the first rule broken, or an empty string when valid.
std::string BucketNameProblem(std::string_view bucket);
bool IsValidAccountId(std::string_view account_id);

// The document pretty-printed with a 2-space indent and a final newline, as the CLI prints it
// (`aws iam create-policy --policy-document file://...` reads it as is).
std::string FormatPolicyDocument(const PolicyDocument& document);

}  // namespace irsa
