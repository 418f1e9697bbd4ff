#include "flags.h"

#include <sstream>

namespace irsa::cli {

const FlagSpec* Flags::Find(const std::string& token) const {
  for (const auto& spec : specs_) {
    if (token == "--" + spec.name || (!spec.alias.empty() && token == "-" + spec.alias))
      return &spec;
  }
  return nullptr;
}

std::optional<std::string> Flags::Parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string token = args[i];
    if (token == "--help" || token == "-h") {
      help_ = true;
      continue;
    }
    if (token.size() < 2 || token[0] != '-' || token == "-") {
      positional_.push_back(token);
      continue;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = token.find('='); eq != std::string::npos && token.rfind("--", 0) == 0) {
      inline_value = token.substr(eq + 1);
      token.resize(eq);
    }
    const FlagSpec* spec = Find(token);
    if (spec == nullptr) return "unknown flag " + token;
    if (spec->is_switch) {
      if (inline_value && *inline_value != "true" && *inline_value != "false") {
        return token + " takes no value (or =true/=false)";
      }
      values_[spec->name] = inline_value.value_or("true");
      continue;
    }
    if (inline_value) {
      values_[spec->name] = *inline_value;
    } else if (i + 1 < args.size()) {
      values_[spec->name] = args[++i];
    } else {
      return token + " needs a value" +
             (spec->value_name.empty() ? "" : " (" + spec->value_name + ")");
    }
  }
  return std::nullopt;
}

std::string Flags::Get(const std::string& name) const {
  if (const auto it = values_.find(name); it != values_.end()) return it->second;
  for (const auto& spec : specs_) {
    if (spec.name == name) return spec.default_value;
  }
  return {};
}

std::string Flags::Help() const {
  std::ostringstream out;
  out << "Usage: " << usage_ << "\n\nFlags:\n";
  for (const auto& spec : specs_) {
    std::string left = "  ";
    if (!spec.alias.empty()) left += "-" + spec.alias + ", ";
    left += "--" + spec.name;
    if (!spec.is_switch)
      left += " " + (spec.value_name.empty() ? std::string("VALUE") : spec.value_name);
    out << left;
    out << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << spec.help;
    if (!spec.default_value.empty()) out << " (default " << spec.default_value << ")";
    out << "\n";
  }
  out << "  -h, --help                        show this help\n";
  return out.str();
}

}  // namespace irsa::cli
