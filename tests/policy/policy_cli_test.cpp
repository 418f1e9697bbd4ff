// Black-box tests of `irsa-webhook policy`: the built binary, its exit codes (0 ok, 1 bad input
// with one line on stderr, 2 usage), and the stream contract: stdout is exactly one JSON value
// (or nothing on error), every note and warning is on stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "policy_test_support.h"

namespace irsa {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kProviderArn =
    "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/"
    "EXAMPLED539D4633E53DE1B71EXAMPLE";

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ShellQuote(const std::string& s) {
  std::string quoted = "'";
  for (const char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class PolicyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("irsa-policy-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    WriteConfig("one-role.yaml", R"(bindings:
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: [psmdb]
    serviceAccounts: [percona-server-mongodb-operator, default]
    preset: percona-server-mongodb
)");
    WriteConfig("two-roles.yaml", R"(bindings:
  - {name: a, roleArn: "arn:aws:iam::111122223333:role/a", namespaces: [a], serviceAccounts: [s]}
  - {name: b, roleArn: "arn:aws:iam::111122223333:role/b", namespaces: ["*"], serviceAccounts: [s]}
)");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteConfig(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs the binary with stdin closed, stdout and stderr into separate files.
  CliRun Exec(const std::vector<std::string>& args) const {
    std::string command = ShellQuote(IRSA_WEBHOOK_BINARY);
    for (const auto& a : args) command += " " + ShellQuote(a);
    command += " </dev/null >" + ShellQuote(Path("stdout")) + " 2>" + ShellQuote(Path("stderr"));
    const int status = std::system(command.c_str());
    CliRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(dir_ / "stdout");
    run.err = ReadFile(dir_ / "stderr");
    return run;
  }

  fs::path dir_;
};

std::size_t Lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Every stderr line of a successful run is a note or a warning.
void ExpectOnlyNotes(const std::string& err) {
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("Note: ", 0) == 0 || line.rfind("Warning: ", 0) == 0) << line;
  }
}

TEST_F(PolicyCliTest, TrustOneRolePrintsOneDocumentAndNotesOnStderr) {
  const CliRun run = Exec(
      {"policy", "trust", "--config", Path("one-role.yaml"), "--oidc-provider-arn", kProviderArn});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json doc = json::parse(run.out);  // throws (fails the test) unless stdout is exactly JSON
  EXPECT_EQ(doc["Version"], "2012-10-17");
  EXPECT_TRUE(testing::PolicyShapeProblems(doc, testing::PolicyKind::kTrust).empty());
  EXPECT_EQ(run.out.find("Note"), std::string::npos);
  EXPECT_EQ(run.out.find("Warning"), std::string::npos);
  EXPECT_NE(run.err.find("Note: trust policy for arn:aws:iam::111122223333:role/psmdb-backup"),
            std::string::npos)
      << run.err;
  EXPECT_NE(
      run.err.find(
          "Warning: arn:aws:iam::111122223333:role/psmdb-backup is assumable by the \"default\""),
      std::string::npos)
      << run.err;
  ExpectOnlyNotes(run.err);
}

TEST_F(PolicyCliTest, TrustSeveralRolesPrintsObjectKeyedByRoleArn) {
  const CliRun run =
      Exec({"policy", "trust", "--config", Path("two-roles.yaml"), "--account-id", "111122223333",
            "--oidc-issuer",
            "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out.contains("arn:aws:iam::111122223333:role/a"));
  EXPECT_EQ(out["arn:aws:iam::111122223333:role/b"]["Statement"][0]["Principal"]["Federated"],
            kProviderArn);
  EXPECT_NE(run.err.find("Warning: arn:aws:iam::111122223333:role/b is assumable by a "
                         "ServiceAccount named \"s\" in any"),
            std::string::npos)
      << run.err;
  ExpectOnlyNotes(run.err);

  const CliRun one =
      Exec({"policy", "trust", "--config", Path("two-roles.yaml"), "--oidc-provider-arn",
            kProviderArn, "--role-arn", "arn:aws:iam::111122223333:role/a"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(json::parse(one.out)["Version"], "2012-10-17");
  EXPECT_EQ(one.err.find("role/b"), std::string::npos) << "only the selected role is reported";
}

TEST_F(PolicyCliTest, S3PrintsOneDocument) {
  const CliRun run =
      Exec({"policy", "s3", "--bucket", "psmdb-backups", "--prefix", "pbm/", "--kms-key-arn",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json doc = json::parse(run.out);
  EXPECT_TRUE(testing::PolicyShapeProblems(doc, testing::PolicyKind::kPermission).empty());
  EXPECT_TRUE(testing::Allows(doc, "s3:PutObject", "arn:aws:s3:::psmdb-backups/pbm/x", {}));
  EXPECT_EQ(run.out.substr(0, 4), "{\n  ");
  ExpectOnlyNotes(run.err);
}

struct ExitCase {
  std::string name;
  std::vector<std::string> args;  // "@one-role" is replaced by the config path
  int exit_code;
  std::string stderr_has;
};

class PolicyCliExitTest : public PolicyCliTest, public ::testing::WithParamInterface<ExitCase> {};

TEST_P(PolicyCliExitTest, ExitCodeAndStreams) {
  const auto& c = GetParam();
  std::vector<std::string> args = {"policy"};
  for (const auto& a : c.args) args.push_back(a == "@one-role" ? Path("one-role.yaml") : a);
  const CliRun run = Exec(args);
  EXPECT_EQ(run.exit_code, c.exit_code) << run.err;
  EXPECT_NE(run.err.find(c.stderr_has), std::string::npos) << run.err;
  if (c.exit_code != 0) {
    EXPECT_EQ(run.out, "") << "nothing on stdout on error";
  }
  if (c.exit_code == 1) {
    EXPECT_EQ(Lines(run.err), 1u) << "bad input: one clear line\n" << run.err;
    EXPECT_EQ(run.err.rfind("irsa-webhook policy: ", 0), 0u) << run.err;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicyCliExitTest,
    ::testing::Values(
        ExitCase{"PolicyHelp", {"--help"}, 0, ""},
        ExitCase{"TrustHelp", {"trust", "--help"}, 0, ""}, ExitCase{"S3Help", {"s3", "-h"}, 0, ""},
        ExitCase{"NoCommand", {}, 2, "missing command: trust or s3"},
        ExitCase{"UnknownCommand", {"kms"}, 2, "unknown command \"kms\""},
        ExitCase{"TrustWithoutConfig",
                 {"trust", "--oidc-provider-arn", kProviderArn},
                 2,
                 "--config FILE is required"},
        ExitCase{"TrustWithoutProvider",
                 {"trust", "--config", "@one-role"},
                 2,
                 "the OIDC provider is required"},
        ExitCase{"TrustBothProviderForms",
                 {"trust", "--config", "@one-role", "--oidc-provider-arn", kProviderArn,
                  "--account-id", "111122223333"},
                 2,
                 "not both"},
        ExitCase{"TrustAccountWithoutIssuer",
                 {"trust", "--config", "@one-role", "--account-id", "111122223333"},
                 2,
                 "go together"},
        ExitCase{"TrustUnknownFlag",
                 {"trust", "--config", "@one-role", "--oidc-provider", "x"},
                 2,
                 "unknown flag"},
        ExitCase{"TrustStrayArgument",
                 {"trust", "extra", "--config", "@one-role"},
                 2,
                 "unexpected argument extra"},
        ExitCase{"S3WithoutBucket", {"s3", "--prefix", "pbm"}, 2, "--bucket BUCKET is required"},
        ExitCase{"S3BadPartition",
                 {"s3", "--bucket", "b-1", "--partition", "aws-iso"},
                 2,
                 "--partition must be"},
        ExitCase{"S3MissingValue", {"s3", "--bucket"}, 2, "needs a value"},
        ExitCase{
            "TrustMissingConfigFile",
            {"trust", "--config", "/nonexistent/irsa.yaml", "--oidc-provider-arn", kProviderArn},
            1,
            "/nonexistent/irsa.yaml"},
        ExitCase{"TrustBadProviderArn",
                 {"trust", "--config", "@one-role", "--oidc-provider-arn", "oidc.eks.example.com"},
                 1,
                 "not an IAM OIDC provider ARN"},
        ExitCase{"TrustBadAccount",
                 {"trust", "--config", "@one-role", "--account-id", "1234", "--oidc-issuer",
                  "https://issuer.example.com"},
                 1,
                 "12-digit"},
        ExitCase{"TrustHttpIssuer",
                 {"trust", "--config", "@one-role", "--account-id", "111122223333", "--oidc-issuer",
                  "http://issuer.example.com"},
                 1,
                 "https://"},
        ExitCase{"TrustRoleNotInConfig",
                 {"trust", "--config", "@one-role", "--oidc-provider-arn", kProviderArn,
                  "--role-arn", "arn:aws:iam::111122223333:role/other"},
                 1,
                 "not the roleArn of any binding"},
        ExitCase{"S3BadBucket", {"s3", "--bucket", "Bad_Bucket"}, 1, "not a valid S3 bucket name"},
        ExitCase{"S3LeadingSlashPrefix",
                 {"s3", "--bucket", "b-1", "--prefix", "/pbm"},
                 1,
                 "must not start with \"/\""},
        ExitCase{"S3KmsAlias",
                 {"s3", "--bucket", "b-1", "--kms-key-arn",
                  "arn:aws:kms:us-east-1:111122223333:alias/x"},
                 1,
                 "names an alias"}),
    [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace irsa
