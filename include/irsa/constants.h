// Names and defaults of the product contract (docs/reference.md): annotations, env names,
// volume name, limits. One constant each, so the rules read in Kubernetes terms.
//
// Never: holds state. Thread-safety: compile-time constants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace irsa {

// --- Config defaults (docs/reference.md section 3) ---
// Annotation and label prefix, as aws/amazon-eks-pod-identity-webhook uses it.
inline constexpr std::string_view kDefaultAnnotationPrefix = "eks.amazonaws.com";
// Token audience AWS STS expects for AssumeRoleWithWebIdentity.
inline constexpr std::string_view kDefaultAudience = "sts.amazonaws.com";
// Default lifetime of the projected token (one day, as on EKS).
inline constexpr std::int64_t kDefaultTokenExpirationSeconds = 86400;
// Kubernetes rejects projected token lifetimes below ten minutes; we raise lower values to it.
inline constexpr std::int64_t kMinTokenExpirationSeconds = 600;
// Kubernetes rejects expirationSeconds above 2^32 seconds; larger values are treated as invalid.
inline constexpr std::int64_t kMaxTokenExpirationSeconds = 4294967296;
// Where the token volume is mounted in each container (same path as EKS).
inline constexpr std::string_view kDefaultTokenMountPath =
    "/var/run/secrets/eks.amazonaws.com/serviceaccount";

// ServiceAccount: the role-arn value this webhook (or `reconcile`) added, written in the same
// patch; `reconcile --revert` removes a role-arn annotation only while it still equals this, so
// an admin's own annotation is never taken away. Not under "<prefix>/": found whatever the prefix.
inline constexpr std::string_view kManagedRoleArnAnnotation = "irsa-webhook.io/managed-role-arn";

// --- Annotation and label suffixes, appended to "<prefix>/" ---
// ServiceAccount: IAM role the pods of this SA assume.
inline constexpr std::string_view kRoleArnSuffix = "role-arn";
// ServiceAccount: token audience override.
inline constexpr std::string_view kAudienceSuffix = "audience";
// ServiceAccount: "true"/"false" override of regional STS endpoints.
inline constexpr std::string_view kStsRegionalEndpointsSuffix = "sts-regional-endpoints";
// Pod or ServiceAccount: token lifetime override in seconds.
inline constexpr std::string_view kTokenExpirationSuffix = "token-expiration";
// Pod: comma-separated container names never injected.
inline constexpr std::string_view kSkipContainersSuffix = "skip-containers";
// Pod label: when present (any value), the pod is never mutated.
inline constexpr std::string_view kSkipPodLabelSuffix = "skip-pod-identity-webhook";

// --- What a mutated pod gets (docs/reference.md section 4; wire-compatible with EKS) ---
// Name of the projected token volume.
inline constexpr std::string_view kTokenVolumeName = "aws-iam-token";
// File name of the token inside the volume.
inline constexpr std::string_view kTokenFileName = "token";
inline constexpr std::string_view kEnvRoleArn = "AWS_ROLE_ARN";
inline constexpr std::string_view kEnvWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE";
inline constexpr std::string_view kEnvStsRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS";
inline constexpr std::string_view kEnvDefaultRegion = "AWS_DEFAULT_REGION";
inline constexpr std::string_view kEnvRegion = "AWS_REGION";
inline constexpr std::string_view kEnvRoleSessionName = "AWS_ROLE_SESSION_NAME";
// Static credentials: warned about, because SDKs prefer them over web identity.
inline constexpr std::string_view kEnvAccessKeyId = "AWS_ACCESS_KEY_ID";
// Value of AWS_STS_REGIONAL_ENDPOINTS when regional STS is on.
inline constexpr std::string_view kStsRegionalValue = "regional";

// --- Pod OS detection for Windows token paths ---
inline constexpr std::string_view kNodeSelectorOs = "kubernetes.io/os";
inline constexpr std::string_view kNodeSelectorOsBeta = "beta.kubernetes.io/os";
inline constexpr std::string_view kWindowsOs = "windows";

// --- Percona preset (docs/reference.md section 3) ---
inline constexpr std::string_view kPresetPerconaServerMongoDB = "percona-server-mongodb";
inline constexpr std::string_view kLabelAppName = "app.kubernetes.io/name";
inline constexpr std::string_view kLabelAppComponent = "app.kubernetes.io/component";
// app.kubernetes.io/name of the operator pod: plain manifests (deploy/bundle.yaml).
inline constexpr std::string_view kPerconaOperatorName = "percona-server-mongodb-operator";
// app.kubernetes.io/name of the operator pod installed by Percona's Helm chart psmdb-operator.
inline constexpr std::string_view kPerconaOperatorHelmName = "psmdb-operator";
// app.kubernetes.io/name of every database pod the operator creates (pkg/naming/labels.go).
inline constexpr std::string_view kPerconaDatabaseName = "percona-server-mongodb";
// app.kubernetes.io/component of a replica-set member that holds data.
inline constexpr std::string_view kComponentMongod = "mongod";
// app.kubernetes.io/component of the config-server replica set of a sharded cluster.
inline constexpr std::string_view kComponentConfigServer = "cfg";
// app.kubernetes.io/component of a non-voting member (it holds data).
inline constexpr std::string_view kComponentNonVoting = "nonVoting";
// app.kubernetes.io/component of a hidden member (it holds data).
inline constexpr std::string_view kComponentHidden = "hidden";

// --- Admission protocol (docs/reference.md section 6) ---
inline constexpr std::string_view kAdmissionV1 = "admission.k8s.io/v1";
inline constexpr std::string_view kAdmissionV1beta1 = "admission.k8s.io/v1beta1";
inline constexpr std::string_view kAdmissionReviewKind = "AdmissionReview";
inline constexpr std::string_view kPerconaGroup = "psmdb.percona.com";
inline constexpr std::string_view kPerconaKind = "PerconaServerMongoDB";

// --- Limits ---
// Most warnings one response carries; kubectl prints each on its own line.
inline constexpr std::size_t kMaxWarnings = 5;
// Deepest JSON/YAML nesting accepted; real Kubernetes objects stay far below it, and a limit
// keeps recursive code (serializers, converters) safe from hostile input.
inline constexpr std::size_t kMaxNestingDepth = 512;
// Spare bytes after a body that let the parser read it in place (it reads up to this far past
// the end, and ignores what it finds there). A server that reserves this much beyond
// Content-Length saves a copy of every body (AdmissionReviewer::Review, ReadablePastEnd).
inline constexpr std::size_t kReviewBodyPadding = 64;

}  // namespace irsa
