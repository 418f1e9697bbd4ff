#include "irsa/mutation.h"

namespace irsa {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kMutated:
      return "mutated";
    case Outcome::kUnchanged:
      return "unchanged";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kError:
      return "error";
  }
  return "error";
}

}  // namespace irsa
