// `irsa-webhook policy trust` and `irsa-webhook policy s3`: print least-privilege IAM documents
// (the rules live in the core, include/irsa/iam_policy.h).
//
// Owns: the flags of both sub-subcommands and the stream contract: exactly one JSON value on
// stdout (a document, or for several roles an object keyed by role ARN), and every note,
// warning and "which role is this" line on stderr, so `> trust.json` is always valid input for
// `aws iam create-role --assume-role-policy-document file://trust.json`.
// Never: exits the process or picks an exit code (main does); writes nothing to stdout on error.
// Thread-safety: single-threaded use.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

// The subcommand-table entry: writes to std::cout / std::cerr.
CommandStatus RunPolicy(const std::vector<std::string>& args);

// Same, with the streams given (tests run it in-process).
CommandStatus RunPolicy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace irsa::cli
