#include "irsa/iam_policy.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "irsa/kube_names.h"
#include "irsa/text.h"

namespace irsa {
namespace {

// Prefix of the `sub` claim of a Kubernetes ServiceAccount token.
constexpr std::string_view kSubjectPrefix = "system:serviceaccount:";
// The only action a web-identity trust policy grants.
constexpr std::string_view kAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity";
// Config wildcard for "every namespace" / "any ServiceAccount"; also IAM's StringLike wildcard.
constexpr std::string_view kWildcard = "*";
// Longest S3 object key; a prefix cannot be longer.
constexpr std::size_t kMaxObjectKeyBytes = 1024;
// Example issuer for messages (the shape `aws eks describe-cluster` prints).
constexpr std::string_view kExampleIssuer =
    "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || IsDigit(c); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = s.find(separator);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Partition names as ARNs spell them: aws, aws-cn, aws-us-gov, aws-iso-b, ...
bool IsPartition(std::string_view p) {
  return StartsWith(p, "aws") &&
         std::all_of(p.begin() + 3, p.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsKnownPartition(std::string_view p) {
  return std::find(std::begin(kKnownPartitions), std::end(kKnownPartitions), p) !=
         std::end(kKnownPartitions);
}

std::string KnownPartitionList() {
  std::vector<std::string> names(std::begin(kKnownPartitions), std::end(kKnownPartitions));
  return Join(names, ", ");
}

// IAM glob: '*' any run of characters (also empty), '?' exactly one.
bool GlobMatches(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// host[/path] of an issuer, without scheme: what IAM stores and uses as condition-key prefix.
Status CheckIssuer(std::string_view issuer, std::string_view what) {
  const std::string where = std::string(what) + " " + Quote(issuer) + ": ";
  if (issuer.empty()) return Status::Error(std::string(what) + ": the issuer host is missing");
  if (issuer.find_first_of("?#") != std::string_view::npos) {
    return Status::Error(where + "an OIDC issuer has no query or fragment");
  }
  const std::size_t slash = issuer.find('/');
  const std::string_view host = issuer.substr(0, slash);
  if (host.find(':') != std::string_view::npos) {
    return Status::Error(where + "IAM OIDC providers cannot have a port number");
  }
  if (host.find('@') != std::string_view::npos) {
    return Status::Error(where + "an OIDC issuer has no user name");
  }
  const bool host_ok = !host.empty() && IsAlnum(host.front()) && IsAlnum(host.back()) &&
                       host.find("..") == std::string_view::npos &&
                       std::all_of(host.begin(), host.end(),
                                   [](char c) { return IsAlnum(c) || c == '.' || c == '-'; });
  if (!host_ok) return Status::Error(where + "the issuer host is not a DNS name");
  if (slash == std::string_view::npos) return Status::Ok();
  const std::string_view path = issuer.substr(slash + 1);
  for (const std::string_view segment : Split(path, '/')) {
    const bool segment_ok =
        !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) {
          return IsAlnum(c) || c == '.' || c == '_' || c == '~' || c == '-';
        });
    if (!segment_ok) {
      return Status::Error(where +
                           "the issuer path must be segments of [A-Za-z0-9._~-] "
                           "(EKS: /id/<hex>), without empty segments or a trailing \"/\"");
    }
  }
  return Status::Ok();
}

struct RoleArnParts {
  std::string partition;
  std::string account_id;
};

// Only called on ARNs that passed IsValidRoleArn: arn:<partition>:iam::<account>:role/<name>.
RoleArnParts SplitRoleArn(std::string_view arn) {
  const std::vector<std::string_view> fields = Split(arn, ':');
  return RoleArnParts{std::string(fields[1]), std::string(fields[4])};
}

std::string Subject(std::string_view ns, std::string_view sa) {
  return std::string(kSubjectPrefix) + std::string(ns) + ":" + std::string(sa);
}

// Characters IAM counts against the trust policy quota (it ignores whitespace).
std::size_t QuotaLength(const PolicyDocument& document) {
  const std::string compact =
      document.dump(-1, ' ', false, PolicyDocument::error_handler_t::replace);
  return static_cast<std::size_t>(std::count_if(compact.begin(), compact.end(), [](char c) {
    return c != ' ' && c != '\n' && c != '\t' && c != '\r';
  }));
}

Result<OidcProvider> ResolveProvider(const TrustPolicyOptions& options) {
  const bool by_arn = !options.oidc_provider_arn.empty();
  const bool by_issuer = !options.account_id.empty() || !options.oidc_issuer_url.empty();
  if (by_arn && by_issuer) {
    return Status::Error(
        "name the OIDC provider either by its ARN or by account ID and issuer URL, not both");
  }
  if (by_arn) return ParseOidcProviderArn(options.oidc_provider_arn);
  if (options.account_id.empty() || options.oidc_issuer_url.empty()) {
    return Status::Error(
        "the OIDC provider needs its ARN, or both an account ID and an issuer URL");
  }
  // The partition comes from each role; "aws" here only validates the other inputs early.
  return OidcProviderFromIssuer("aws", options.account_id, options.oidc_issuer_url);
}

// Warnings for one subject pattern; `binding` is the first binding that produced it.
std::string WildcardWarning(std::string_view role_arn, std::string_view ns, std::string_view sa,
                            std::string_view binding) {
  const std::string origin = " (binding " + Quote(binding) + ": " + Subject(ns, sa) + ")";
  if (ns == kWildcard && sa == kWildcard) {
    return std::string(role_arn) + " is assumable by every ServiceAccount in every namespace" +
           origin + ": any pod in the cluster can take the role";
  }
  if (ns == kWildcard && sa == "default") {
    return std::string(role_arn) +
           " is assumable by the \"default\" ServiceAccount of every namespace" + origin +
           ": almost any pod in the cluster can take the role";
  }
  if (ns == kWildcard) {
    return std::string(role_arn) + " is assumable by a ServiceAccount named " + Quote(sa) +
           " in any namespace" + origin +
           ": whoever can create that ServiceAccount in some namespace can take the role";
  }
  return std::string(role_arn) + " is assumable by every ServiceAccount in namespace " + Quote(ns) +
         origin + ": any pod in that namespace can take the role";
}

// Role ARN -> the bindings that give it, in config order; std::map keeps the roles sorted.
using RoleBindings = std::map<std::string, std::vector<const Binding*>>;

// The roles of the config's bindings, or only `only_role` when it is not empty.
Result<RoleBindings> BindingsByRole(const Config& config, const std::string& only_role) {
  RoleBindings roles;
  for (const auto& b : config.bindings) roles[b.role_arn].push_back(&b);
  if (roles.empty()) {
    return Status::Error(
        "the config has no bindings, so there is no role to write a trust policy for");
  }
  if (only_role.empty()) return roles;
  if (!IsValidRoleArn(only_role)) {
    return Status::Error(
        "role ARN " + Quote(only_role) +
        " is not a valid IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)");
  }
  const auto it = roles.find(only_role);
  if (it == roles.end()) {
    std::vector<std::string> known;
    for (const auto& [arn, unused] : roles) known.push_back(arn);
    return Status::Error(
        "role " + only_role +
        " is not the roleArn of any binding (the config's roles: " + Join(known, ", ") + ")");
  }
  return RoleBindings{*it};
}

// The provider `role_arn` trusts: `given` itself when named by ARN (it must be in the role's
// partition), else the issuer registered in the role's partition. Either way it must be in the
// role's account.
Result<OidcProvider> ProviderForRole(const OidcProvider& given, bool by_arn,
                                     const std::string& role_arn) {
  const RoleArnParts role = SplitRoleArn(role_arn);
  OidcProvider provider = given;
  if (by_arn && provider.partition != role.partition) {
    return Status::Error("role " + role_arn + " is in partition " + role.partition +
                         " but OIDC provider " + provider.arn + " is in " + provider.partition +
                         ": a role can only trust a provider of its own partition");
  }
  if (!by_arn) {
    provider.partition = role.partition;
    provider.arn = "arn:" + role.partition + ":iam::" + provider.account_id + ":oidc-provider/" +
                   provider.issuer;
  }
  if (provider.account_id != role.account_id) {
    return Status::Error(
        "role " + role_arn + " is in account " + role.account_id +
        " but the OIDC provider is in account " + provider.account_id +
        ": a role trusts only OIDC providers registered in its own account (register the "
        "cluster's issuer there with `aws iam create-open-id-connect-provider`, or pick "
        "another role with --role-arn)");
  }
  return provider;
}

// The `sub` values of one role's trust policy. A subject that a wider pattern already matches
// adds nothing and is left out (only whole "*" segments occur, so matching the text of a
// narrower pattern means covering it).
struct RoleSubjects {
  // Subject -> the first binding that names it (for the warnings), without covered subjects.
  std::map<std::string, const Binding*> exact, patterns;
  // Whether any binding names a "*" (the whole `sub` list is then StringLike).
  bool wildcards = false;
  // Every subject kept, sorted.
  std::vector<std::string> sorted;
};

RoleSubjects CollectSubjects(const std::vector<const Binding*>& bindings) {
  RoleSubjects out;
  for (const Binding* b : bindings) {
    for (const auto& ns : b->namespaces) {
      for (const auto& sa : b->service_accounts) {
        const bool wild = ns == kWildcard || sa == kWildcard;
        (wild ? out.patterns : out.exact).emplace(Subject(ns, sa), b);
      }
    }
  }
  out.wildcards = !out.patterns.empty();
  const std::map<std::string, const Binding*> all_patterns = out.patterns;
  auto covered = [&](const std::string& subject) {
    return std::any_of(all_patterns.begin(), all_patterns.end(), [&](const auto& p) {
      return p.first != subject && GlobMatches(p.first, subject);
    });
  };
  std::erase_if(out.patterns, [&](const auto& entry) { return covered(entry.first); });
  std::erase_if(out.exact, [&](const auto& entry) { return covered(entry.first); });
  for (const auto& [subject, unused] : out.patterns) out.sorted.push_back(subject);
  for (const auto& [subject, unused] : out.exact) out.sorted.push_back(subject);
  std::sort(out.sorted.begin(), out.sorted.end());
  return out;
}

// The trust policy document: `provider` may call sts:AssumeRoleWithWebIdentity for `audience`
// and the subjects.
PolicyDocument TrustPolicyDocument(const OidcProvider& provider, const std::string& audience,
                                   const RoleSubjects& subjects) {
  PolicyDocument condition;
  condition["StringEquals"][provider.issuer + ":aud"] = audience;
  // All subjects under one operator: conditions under different operators are ANDed, so
  // exact names under StringEquals next to patterns under StringLike would match nothing.
  condition[subjects.wildcards ? "StringLike" : "StringEquals"][provider.issuer + ":sub"] =
      subjects.sorted;

  PolicyDocument statement;
  statement["Effect"] = "Allow";
  statement["Principal"]["Federated"] = provider.arn;
  statement["Action"] = kAssumeRoleWithWebIdentity;
  statement["Condition"] = std::move(condition);
  PolicyDocument document;
  document["Version"] = kIamPolicyVersion;
  document["Statement"] = PolicyDocument::array({std::move(statement)});
  return document;
}

// What a user should know about one role's policy: who besides the intended pods can take the
// role (wildcards, "default" ServiceAccounts, bindings narrower than a ServiceAccount) and
// whether the document fits IAM's quota.
void AddRoleWarnings(const std::string& role_arn, const std::string& audience,
                     const std::vector<const Binding*>& bindings, const RoleSubjects& subjects,
                     const PolicyDocument& document, std::vector<PolicyNote>& notes) {
  for (const auto& [subject, b] : subjects.patterns) {
    const std::vector<std::string_view> parts =
        Split(std::string_view(subject).substr(kSubjectPrefix.size()), ':');
    notes.push_back(
        {PolicyNote::Level::kWarning, WildcardWarning(role_arn, parts[0], parts[1], b->name)});
  }
  for (const auto& [subject, b] : subjects.exact) {
    if (!EndsWith(subject, ":default")) continue;
    notes.push_back(
        {PolicyNote::Level::kWarning,
         role_arn + " is assumable by the \"default\" ServiceAccount (binding " + Quote(b->name) +
             ": " + subject +
             "): every pod of that namespace that names no ServiceAccount can take the role; "
             "prefer a dedicated ServiceAccount (PerconaServerMongoDB: serviceAccountName)"});
  }
  for (const Binding* b : bindings) {
    if (b->preset == Preset::kNone && !b->pod_selector && b->containers.empty()) continue;
    notes.push_back(
        {PolicyNote::Level::kNote,
         "binding " + Quote(b->name) +
             " narrows which pods get the role injected (preset, podSelector or containers), "
             "but a trust policy names whole ServiceAccounts: any pod running as one of them "
             "can mount a token for audience " +
             Quote(audience) + " and assume " + role_arn});
  }
  if (const std::size_t length = QuotaLength(document); length > kTrustPolicyQuotaChars) {
    notes.push_back({PolicyNote::Level::kWarning,
                     "the trust policy for " + role_arn + " has " + std::to_string(length) +
                         " characters without whitespace, over IAM's default quota of " +
                         std::to_string(kTrustPolicyQuotaChars) +
                         " for a role trust policy: raise \"Role trust policy length\" in Service "
                         "Quotas (up to 4096) or name fewer ServiceAccounts"});
  }
}

}  // namespace

bool IsValidAccountId(std::string_view account_id) {
  return account_id.size() == 12 && std::all_of(account_id.begin(), account_id.end(), IsDigit);
}

Result<OidcProvider> ParseOidcProviderArn(std::string_view arn) {
  const std::string expected =
      " is not an IAM OIDC provider ARN (expected arn:aws:iam::<12-digit account>:oidc-provider/"
      "<issuer host and path>, e.g. arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1."
      "amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE; list them with "
      "`aws iam list-open-id-connect-providers`)";
  if (StartsWith(arn, "https://") || StartsWith(arn, "http://")) {
    return Status::Error("OIDC provider ARN " + Quote(arn) +
                         " is an issuer URL, not an ARN: pass it as the issuer together with the "
                         "account ID, or give the provider's ARN");
  }
  constexpr std::string_view kMarker = ":oidc-provider/";
  const std::size_t marker = arn.find(kMarker);
  if (!StartsWith(arn, "arn:") || marker == std::string_view::npos) {
    return Status::Error("OIDC provider ARN " + Quote(arn) + expected);
  }
  const std::vector<std::string_view> fields = Split(arn.substr(0, marker), ':');
  // arn : <partition> : iam : <empty region> : <account>
  if (fields.size() != 5 || !IsPartition(fields[1]) || fields[2] != "iam" || !fields[3].empty() ||
      !IsValidAccountId(fields[4])) {
    return Status::Error("OIDC provider ARN " + Quote(arn) + expected);
  }
  OidcProvider provider;
  provider.arn = std::string(arn);
  provider.partition = std::string(fields[1]);
  provider.account_id = std::string(fields[4]);
  provider.issuer = std::string(arn.substr(marker + kMarker.size()));
  if (auto s = CheckIssuer(provider.issuer, "OIDC provider ARN"); !s.ok()) return s;
  return provider;
}

Result<OidcProvider> OidcProviderFromIssuer(std::string_view partition, std::string_view account_id,
                                            std::string_view issuer_url) {
  if (!IsValidAccountId(account_id)) {
    return Status::Error(
        "account ID " + Quote(account_id) +
        " is not a 12-digit AWS account ID (the account of the IAM role and its OIDC "
        "provider; `aws sts get-caller-identity --query Account --output text`)");
  }
  if (!IsPartition(partition))
    return Status::Error("partition " + Quote(partition) + " is not an AWS partition");
  std::string lower_scheme(issuer_url.substr(0, 8));
  std::transform(lower_scheme.begin(), lower_scheme.end(), lower_scheme.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  if (lower_scheme != "https://") {
    return Status::Error(
        "OIDC issuer " + Quote(issuer_url) + " must be an https:// URL such as " +
        std::string(kExampleIssuer) +
        " (`aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer "
        "--output text`)");
  }
  std::string_view issuer = issuer_url.substr(8);
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  if (auto s = CheckIssuer(issuer, "OIDC issuer"); !s.ok()) return s;
  OidcProvider provider;
  provider.partition = std::string(partition);
  provider.account_id = std::string(account_id);
  provider.issuer = std::string(issuer);
  provider.arn = "arn:" + provider.partition + ":iam::" + provider.account_id + ":oidc-provider/" +
                 provider.issuer;
  return provider;
}

Result<TrustPolicies> BuildTrustPolicies(const Config& config, const TrustPolicyOptions& options) {
  OidcProvider given;
  IRSA_ASSIGN_OR_RETURN(given, ResolveProvider(options));
  const bool by_arn = !options.oidc_provider_arn.empty();
  RoleBindings roles;
  IRSA_ASSIGN_OR_RETURN(roles, BindingsByRole(config, options.role_arn));

  TrustPolicies out;
  for (const auto& [role_arn, bindings] : roles) {
    OidcProvider provider;
    IRSA_ASSIGN_OR_RETURN(provider, ProviderForRole(given, by_arn, role_arn));
    const RoleSubjects subjects = CollectSubjects(bindings);

    RoleTrustPolicy policy;
    policy.role_arn = role_arn;
    for (const Binding* b : bindings) policy.bindings.push_back(b->name);
    policy.document = TrustPolicyDocument(provider, config.audience, subjects);

    out.notes.push_back({PolicyNote::Level::kNote, "trust policy for " + role_arn + " (binding" +
                                                       (bindings.size() > 1 ? "s " : " ") +
                                                       Join(policy.bindings, ", ") + "; provider " +
                                                       provider.arn + ")"});
    AddRoleWarnings(role_arn, config.audience, bindings, subjects, policy.document, out.notes);
    out.roles.push_back(std::move(policy));
  }
  return out;
}

PolicyDocument TrustPolicyOutput(const TrustPolicies& policies) {
  if (policies.roles.size() == 1) return policies.roles.front().document;
  PolicyDocument by_role = PolicyDocument::object();
  for (const auto& role : policies.roles) by_role[role.role_arn] = role.document;
  return by_role;
}

std::string BucketNameProblem(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return "must be 3 to 63 characters long";
  if (!std::all_of(bucket.begin(), bucket.end(),
                   [](char c) { return IsLowerAlnum(c) || c == '.' || c == '-'; })) {
    return "may contain only lowercase letters, digits, dots and hyphens";
  }
  if (!IsLowerAlnum(bucket.front()) || !IsLowerAlnum(bucket.back())) {
    return "must begin and end with a lowercase letter or a digit";
  }
  if (bucket.find("..") != std::string_view::npos) return "must not contain two adjacent periods";
  const std::vector<std::string_view> labels = Split(bucket, '.');
  if (labels.size() == 4 && std::all_of(labels.begin(), labels.end(), [](std::string_view label) {
        return !label.empty() && std::all_of(label.begin(), label.end(), IsDigit);
      })) {
    return "must not be formatted as an IP address";
  }
  for (const std::string_view reserved : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (StartsWith(bucket, reserved))
      return "must not start with the reserved prefix " + Quote(reserved);
  }
  for (const std::string_view reserved : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    if (EndsWith(bucket, reserved))
      return "must not end with the reserved suffix " + Quote(reserved);
  }
  return {};
}

namespace {

Result<std::string> NormalizePrefix(std::string_view prefix) {
  const std::string where = "prefix " + Quote(prefix) + ": ";
  if (prefix.empty()) return std::string();
  if (prefix.front() == '/') {
    return Status::Error(where +
                         "must not start with \"/\" (PBM joins it to object names, so write e.g. "
                         "\"psmdb/backups\", as in the storage's s3.prefix)");
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.size() > kMaxObjectKeyBytes)
    return Status::Error(where + "longer than an S3 object key can be");
  for (const char c : prefix) {
    if (c < 0x20 || c > 0x7e) {
      return Status::Error(where + "only printable ASCII characters are supported");
    }
    if (c == '*' || c == '?' || c == '$') {
      return Status::Error(where +
                           "must not contain '*', '?' or '$', which IAM reads as wildcards or "
                           "policy variables");
    }
  }
  for (const std::string_view segment : Split(prefix, '/')) {
    if (segment.empty()) return Status::Error(where + "must not contain an empty segment (\"//\")");
    if (segment == "." || segment == "..") {
      return Status::Error(where +
                           "must not contain \".\" or \"..\" segments (PBM's path.Join would "
                           "rewrite them, so the policy would not match its object names)");
    }
  }
  return std::string(prefix);
}

struct KmsKey {
  std::string arn;
  std::string partition;
};

Result<KmsKey> ParseKmsKeyArn(std::string_view arn) {
  const std::string expected =
      "expected arn:aws:kms:<region>:<12-digit account>:key/<key-id>, e.g. "
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  if (!StartsWith(arn, "arn:")) {
    return Status::Error("KMS key " + Quote(arn) + ": IAM policies need the key's full ARN (" +
                         expected + "; `aws kms describe-key --key-id " + std::string(arn) +
                         " --query KeyMetadata.Arn --output text`)");
  }
  const std::vector<std::string_view> fields = Split(arn, ':');
  if (fields.size() == 6 && StartsWith(fields[5], "alias/")) {
    return Status::Error(
        "KMS key ARN " + Quote(arn) +
        " names an alias: IAM policies must name the key itself (find it with `aws kms "
        "describe-key --key-id " +
        std::string(fields[5]) + " --region " + std::string(fields[3]) +
        " --query KeyMetadata.Arn --output text`)");
  }
  const bool ok = fields.size() == 6 && IsPartition(fields[1]) && fields[2] == "kms" &&
                  IsValidRegion(fields[3]) && IsValidAccountId(fields[4]) &&
                  StartsWith(fields[5], "key/") && fields[5].size() > 4 &&
                  std::all_of(fields[5].begin() + 4, fields[5].end(),
                              [](char c) { return IsAlnum(c) || c == '-'; });
  if (!ok)
    return Status::Error("KMS key ARN " + Quote(arn) + " is not a KMS key ARN (" + expected + ")");
  return KmsKey{std::string(arn), std::string(fields[1])};
}

}  // namespace

Result<S3Policy> BuildS3Policy(const S3PolicyOptions& options) {
  if (StartsWith(options.bucket, "s3://") || StartsWith(options.bucket, "arn:")) {
    return Status::Error("bucket " + Quote(options.bucket) +
                         ": give the bucket name only (e.g. psmdb-backups), not a URL or an ARN");
  }
  if (const std::string problem = BucketNameProblem(options.bucket); !problem.empty()) {
    return Status::Error("bucket " + Quote(options.bucket) + " is not a valid S3 bucket name: it " +
                         problem);
  }
  std::string prefix;
  IRSA_ASSIGN_OR_RETURN(prefix, NormalizePrefix(options.prefix));
  std::string partition = options.partition;
  if (!partition.empty() && !IsKnownPartition(partition)) {
    return Status::Error("partition " + Quote(partition) + " is not one of " +
                         KnownPartitionList());
  }
  KmsKey key;
  if (!options.kms_key_arn.empty()) {
    IRSA_ASSIGN_OR_RETURN(key, ParseKmsKeyArn(options.kms_key_arn));
    if (partition.empty()) partition = key.partition;
    if (key.partition != partition) {
      return Status::Error("KMS key " + key.arn + " is in partition " + key.partition +
                           " but the partition is " + partition +
                           ": the bucket and its key live in one partition");
    }
  }
  if (partition.empty()) partition = "aws";

  const std::string bucket_arn = "arn:" + partition + ":s3:::" + options.bucket;
  S3Policy out;
  PolicyDocument statements = PolicyDocument::array();

  // PBM lists its storage (ListObjectsV2) always with a "<prefix>/..." prefix.
  PolicyDocument list;
  list["Sid"] = "ListBackups";
  list["Effect"] = "Allow";
  list["Action"] = "s3:ListBucket";
  list["Resource"] = bucket_arn;
  if (!prefix.empty())
    list["Condition"]["StringLike"]["s3:prefix"] = PolicyDocument::array({prefix + "/*"});
  statements.push_back(std::move(list));

  // Separate from ListBucket: a GetBucketLocation request carries no s3:prefix, so the
  // condition above would refuse it.
  PolicyDocument locate;
  locate["Sid"] = "LocateBucket";
  locate["Effect"] = "Allow";
  locate["Action"] = "s3:GetBucketLocation";
  locate["Resource"] = bucket_arn;
  statements.push_back(std::move(locate));

  PolicyDocument objects;
  objects["Sid"] = "ReadWriteBackups";
  objects["Effect"] = "Allow";
  objects["Action"] = {"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                       "s3:ListMultipartUploadParts", "s3:PutObject"};
  objects["Resource"] = bucket_arn + "/" + (prefix.empty() ? std::string("*") : prefix + "/*");
  statements.push_back(std::move(objects));

  if (!key.arn.empty()) {
    PolicyDocument kms;
    kms["Sid"] = "UseBackupKey";
    kms["Effect"] = "Allow";
    kms["Action"] = {"kms:Decrypt", "kms:GenerateDataKey"};
    kms["Resource"] = key.arn;
    statements.push_back(std::move(kms));
    out.notes.push_back(
        {PolicyNote::Level::kNote,
         "the key policy of " + key.arn +
             " must also let this role use the key (the default key policy delegates to IAM "
             "policies); set the storage's s3.serverSideEncryption to {sseAlgorithm: aws:kms, "
             "kmsKeyID: <that ARN>}"});
  } else {
    out.notes.push_back(
        {PolicyNote::Level::kNote,
         "no KMS statement: if the bucket's default encryption or the storage's "
         "serverSideEncryption uses a customer managed KMS key, add --kms-key-arn"});
  }
  if (prefix.empty()) {
    out.notes.push_back(
        {PolicyNote::Level::kNote,
         "no prefix: the role may read, overwrite and delete every object of bucket " +
             options.bucket + "; give the storage's s3.prefix to confine it"});
  }
  out.document["Version"] = kIamPolicyVersion;
  out.document["Statement"] = std::move(statements);
  return out;
}

std::string FormatPolicyDocument(const PolicyDocument& document) {
  return document.dump(2, ' ', false, PolicyDocument::error_handler_t::replace) + "\n";
}

}  // namespace irsa
