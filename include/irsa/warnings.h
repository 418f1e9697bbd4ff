// The warnings one object gets back (AdmissionResponse `warnings`, the `mutate` preview,
// reconcile's and check's reports): kubectl prints each on its own line, so they stay few.
//
// Owns: the cap of kMaxWarnings per object. Past the cap, the last line shown says how many
// warnings were left out, so nothing is dropped silently.
// Never: reorders or rewrites the warnings it shows, other than that last line.
// Thread-safety: a value type; not shared between threads.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace irsa {

class Warnings {
 public:
  // Adds one warning; beyond the cap it is counted in the last line instead.
  void Add(std::string warning);

  // The lines to show: at most kMaxWarnings, the last one the overflow line when omitted() > 0.
  const std::vector<std::string>& lines() const { return lines_; }
  // How many warnings the overflow line stands for (0 when all are shown).
  std::size_t omitted() const { return omitted_; }

  bool empty() const { return lines_.empty(); }
  std::size_t size() const { return lines_.size(); }
  const std::string& front() const { return lines_.front(); }
  const std::string& operator[](std::size_t i) const { return lines_[i]; }
  std::vector<std::string>::const_iterator begin() const { return lines_.begin(); }
  std::vector<std::string>::const_iterator end() const { return lines_.end(); }

 private:
  std::vector<std::string> lines_;
  std::size_t omitted_ = 0;
};

// The overflow line, e.g. "... and 2 more warnings not shown".
std::string OmittedWarningsLine(std::size_t omitted);

// A JSON array of lines(). nlohmann::json finds it by this name (argument-dependent lookup).
void to_json(  // NOLINT(readability-identifier-naming)
    nlohmann::json& out, const Warnings& warnings);

}  // namespace irsa
