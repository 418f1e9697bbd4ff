// Golden policies: tests/testdata/policies/<case>/{args, config.yaml?, expected.json,
// expected-stderr.txt}. `args` holds the arguments after `irsa-webhook policy`, one per line;
// when config.yaml exists, "--config <its path>" is appended. The command runs in-process
// through the same RunPolicy the binary calls; stdout must equal expected.json byte for byte
// (2-space indent, key order) and stderr expected-stderr.txt. Every document on stdout is also
// checked structurally (policy_test_support.h). UPDATE_GOLDEN=1 rewrites both files for review.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy_command.h"
#include "policy_test_support.h"

namespace irsa {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kCases = fs::path(IRSA_TESTDATA_DIR) / "policies";

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kCases)) {
    if (entry.is_directory() && fs::exists(entry.path() / "args"))
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> CaseArgs(const fs::path& dir) {
  std::vector<std::string> args;
  std::istringstream lines(ReadFile(dir / "args"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') args.push_back(line);
  }
  if (fs::exists(dir / "config.yaml")) {
    args.push_back("--config");
    args.push_back((dir / "config.yaml").string());
  }
  return args;
}

class PolicyGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PolicyGoldenTest, MatchesExpected) {
  const fs::path dir = kCases / GetParam();
  const std::vector<std::string> args = CaseArgs(dir);
  std::ostringstream out, err;
  const cli::CommandStatus status = cli::RunPolicy(args, out, err);
  ASSERT_EQ(status.kind, cli::CommandStatus::Kind::kOk) << status.message;
  // The config path is machine-specific; keep the golden stderr portable.
  std::string stderr_text = err.str();
  for (std::size_t at; (at = stderr_text.find(dir.string() + "/")) != std::string::npos;) {
    stderr_text.erase(at, dir.string().size() + 1);
  }
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(dir / "expected.json", std::ios::binary) << out.str();
    std::ofstream(dir / "expected-stderr.txt", std::ios::binary) << stderr_text;
  }
  ASSERT_TRUE(fs::exists(dir / "expected.json"))
      << "missing expected.json (run with UPDATE_GOLDEN=1)";
  const std::string expected = ReadFile(dir / "expected.json");
  const json expected_json = json::parse(expected);
  const json actual_json = json::parse(out.str());
  EXPECT_EQ(actual_json, expected_json) << json::diff(expected_json, actual_json).dump(2);
  EXPECT_EQ(out.str(), expected) << "same JSON, different text (indentation or key order)";
  EXPECT_EQ(stderr_text, ReadFile(dir / "expected-stderr.txt"));
  EXPECT_EQ(out.str().find("Warning"), std::string::npos) << "notes belong on stderr";
}

// The shape IAM requires, for every document the case prints.
TEST_P(PolicyGoldenTest, DocumentsHaveIamShape) {
  const fs::path dir = kCases / GetParam();
  const std::vector<std::string> args = CaseArgs(dir);
  std::ostringstream out, err;
  ASSERT_EQ(cli::RunPolicy(args, out, err).kind, cli::CommandStatus::Kind::kOk);
  const json printed = json::parse(out.str());
  const bool trust = args.front() == "trust";
  std::vector<json> documents;
  if (!trust || printed.contains("Version")) {
    documents.push_back(printed);
  } else {
    ASSERT_TRUE(printed.is_object() && printed.size() >= 2)
        << "several roles print an object of documents";
    for (const auto& [role_arn, document] : printed.items()) {
      EXPECT_EQ(role_arn.rfind("arn:aws", 0), 0u) << role_arn;
      EXPECT_NE(role_arn.find(":role/"), std::string::npos) << role_arn;
      // stderr says which role each document is for.
      EXPECT_NE(err.str().find("trust policy for " + role_arn), std::string::npos) << err.str();
      documents.push_back(document);
    }
  }
  for (const auto& document : documents) {
    const auto problems = testing::PolicyShapeProblems(
        document, trust ? testing::PolicyKind::kTrust : testing::PolicyKind::kPermission);
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << document.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PolicyGoldenTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace irsa
