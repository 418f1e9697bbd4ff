// A small command-line flag parser: "--name value", "--name=value", short aliases ("-f"),
// boolean switches, and --help. Unknown flags and missing values are usage errors.
//
// Never: exits the process (main picks exit codes). Thread-safety: single-threaded use.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace irsa::cli {

struct FlagSpec {
  std::string name;        // "config" for --config
  std::string alias;       // "f" for -f; empty when none
  bool is_switch = false;  // takes no value
  std::string value_name;  // for --help: "FILE"
  std::string help;
  std::string default_value;  // shown in --help; applied by the command
};

class Flags {
 public:
  Flags(std::string usage, std::vector<FlagSpec> specs)
      : usage_(std::move(usage)), specs_(std::move(specs)) {}

  // Parses args (after the subcommand). Returns an error message for usage errors.
  std::optional<std::string> Parse(const std::vector<std::string>& args);

  bool help_requested() const { return help_; }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The value given, else the spec's default.
  std::string Get(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Help() const;

 private:
  const FlagSpec* Find(const std::string& token) const;

  std::string usage_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace irsa::cli
