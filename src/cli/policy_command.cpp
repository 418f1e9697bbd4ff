#include "policy_command.h"

#include <iostream>

#include "flags.h"
#include "irsa/iam_policy.h"
#include "irsa/text.h"

namespace irsa::cli {
namespace {

constexpr const char* kPolicyUsage =
    "Usage: irsa-webhook policy <trust|s3> [flags]\n"
    "\n"
    "Prints least-privilege IAM policy documents (JSON, on stdout) for the configured bindings;\n"
    "notes and warnings go to stderr.\n"
    "\n"
    "Commands:\n"
    "  trust   the trust policy of each role in the config: which ServiceAccounts may assume it\n"
    "  s3      the S3 (and KMS) permissions Percona Backup for MongoDB needs for its bucket\n"
    "\n"
    "Run 'irsa-webhook policy <command> --help' for the flags of a command.\n";

void PrintNotes(const std::vector<PolicyNote>& notes, std::ostream& err) {
  for (const auto& note : notes) {
    err << (note.level == PolicyNote::Level::kWarning ? "Warning: " : "Note: ") << note.message
        << "\n";
  }
}

CommandStatus RunTrust(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "irsa-webhook policy trust --config FILE (--oidc-provider-arn ARN | --account-id ID "
      "--oidc-issuer URL) "
      "[--role-arn ARN]\n\n"
      "Prints the IAM trust policy of each distinct roleArn in the config: the cluster's OIDC "
      "provider may call\n"
      "sts:AssumeRoleWithWebIdentity for exactly the ServiceAccounts the role's bindings name, "
      "with the config's\n"
      "audience. One role (or --role-arn): one document. Several roles: a JSON object keyed by "
      "role ARN.\n"
      "Which role each document is for, and warnings about wildcards, go to stderr.",
      {{"config", "", false, "FILE",
        "injection config (YAML or JSON) whose bindings name the roles", ""},
       {"oidc-provider-arn", "", false, "ARN",
        "IAM OIDC provider of the cluster, arn:aws:iam::<account>:oidc-provider/<issuer>", ""},
       {"account-id", "", false, "ID", "12-digit account of the OIDC provider (with --oidc-issuer)",
        ""},
       {"oidc-issuer", "", false, "URL",
        "cluster's issuer URL, https://... (aws eks describe-cluster ... "
        "cluster.identity.oidc.issuer); the "
        "partition comes from each role ARN",
        ""},
       {"role-arn", "", false, "ARN",
        "print only this role's document (it must be a roleArn of the config)", ""}});
  if (auto done = ParseCommandLine(flags, args, out)) return *done;
  if (!flags.Has("config")) return CommandStatus::Usage("--config FILE is required");
  const bool by_arn = flags.Has("oidc-provider-arn");
  const bool by_issuer = flags.Has("account-id") || flags.Has("oidc-issuer");
  if (by_arn && by_issuer) {
    return CommandStatus::Usage(
        "give either --oidc-provider-arn or --account-id with --oidc-issuer, not both");
  }
  if (!by_arn && !by_issuer) {
    return CommandStatus::Usage(
        "the OIDC provider is required: --oidc-provider-arn ARN, or --account-id ID "
        "--oidc-issuer URL");
  }
  if (by_issuer && (!flags.Has("account-id") || !flags.Has("oidc-issuer"))) {
    return CommandStatus::Usage("--account-id and --oidc-issuer go together");
  }

  auto config = LoadConfigFile(flags.Get("config"));
  if (!config.ok()) return CommandStatus::Runtime(config.error());
  TrustPolicyOptions options;
  options.oidc_provider_arn = flags.Get("oidc-provider-arn");
  options.account_id = flags.Get("account-id");
  options.oidc_issuer_url = flags.Get("oidc-issuer");
  options.role_arn = flags.Get("role-arn");
  if (by_arn && options.oidc_provider_arn.empty())
    return CommandStatus::Runtime("--oidc-provider-arn is empty");
  if (flags.Has("role-arn") && options.role_arn.empty())
    return CommandStatus::Runtime("--role-arn is empty");
  auto policies = BuildTrustPolicies(*config, options);
  if (!policies.ok()) return CommandStatus::Runtime(policies.error());
  PrintNotes(policies->notes, err);
  out << FormatPolicyDocument(TrustPolicyOutput(*policies));
  return CommandStatus::Ok();
}

CommandStatus RunS3(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "irsa-webhook policy s3 --bucket BUCKET [--prefix PREFIX] [--kms-key-arn ARN] [--partition "
      "aws|aws-cn|aws-us-gov]\n\n"
      "Prints the least-privilege permission policy Percona Backup for MongoDB needs for one S3 "
      "backup storage:\n"
      "list (within the prefix) and locate the bucket, read/write/delete the objects under the "
      "prefix, and use\n"
      "the KMS key when one is given. Attach it to the role of `policy trust`. Notes go to stderr.",
      {{"bucket", "", false, "BUCKET", "bucket name (the storage's s3.bucket)", ""},
       {"prefix", "", false, "PREFIX",
        "object prefix (the storage's s3.prefix), no leading \"/\"; empty = whole bucket", ""},
       {"kms-key-arn", "", false, "ARN",
        "KMS key of SSE-KMS (the storage's s3.serverSideEncryption.kmsKeyID)", ""},
       {"partition", "", false, "PARTITION",
        "aws, aws-cn or aws-us-gov for the bucket ARN (default: the KMS key's partition, else aws)",
        ""}});
  if (auto done = ParseCommandLine(flags, args, out)) return *done;
  if (!flags.Has("bucket")) return CommandStatus::Usage("--bucket BUCKET is required");
  S3PolicyOptions options;
  options.bucket = flags.Get("bucket");
  options.prefix = flags.Get("prefix");
  options.kms_key_arn = flags.Get("kms-key-arn");
  options.partition = flags.Get("partition");
  if (flags.Has("partition")) {
    bool known = false;
    for (const auto p : kKnownPartitions) known = known || options.partition == p;
    if (!known) {
      return CommandStatus::Usage("--partition must be aws, aws-cn or aws-us-gov, not " +
                                  Quote(options.partition));
    }
  }
  if (flags.Has("kms-key-arn") && options.kms_key_arn.empty())
    return CommandStatus::Runtime("--kms-key-arn is empty");
  auto policy = BuildS3Policy(options);
  if (!policy.ok()) return CommandStatus::Runtime(policy.error());
  PrintNotes(policy->notes, err);
  out << FormatPolicyDocument(policy->document);
  return CommandStatus::Ok();
}

}  // namespace

CommandStatus RunPolicy(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
  if (args.empty())
    return CommandStatus::Usage("missing command: trust or s3\n\n" + std::string(kPolicyUsage));
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    out << kPolicyUsage;
    return CommandStatus::Ok();
  }
  if (command == "trust") return RunTrust(rest, out, err);
  if (command == "s3") return RunS3(rest, out, err);
  return CommandStatus::Usage("unknown command " + Quote(command) + " (expected trust or s3)\n\n" +
                              std::string(kPolicyUsage));
}

CommandStatus RunPolicy(const std::vector<std::string>& args) {
  return RunPolicy(args, std::cout, std::cerr);
}

}  // namespace irsa::cli
