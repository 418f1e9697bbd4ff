// Properties of the Pod rules on arbitrary JSON: no crash; a patch only has add operations and
// applies to the pod; mutating the patched pod again yields an empty patch (idempotency, which
// reinvocationPolicy: IfNeeded relies on).
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "fuzz_support.h"
#include "irsa/admission.h"
#include "irsa/document.h"

namespace {

const irsa::Config& FuzzConfig() {
  static const irsa::Config config = irsa::fuzzing::ConfigFromYaml(R"(
region: eu-west-1
stsRegionalEndpoints: true
roleSessionName: true
bindings:
  - {name: psmdb, roleArn: "arn:aws:iam::111122223333:role/psmdb", namespaces: ["*"], serviceAccounts: ["*"],
     containers: [mongod, backup-agent, c]}
  - {name: any, roleArn: "arn:aws:iam::111122223333:role/any", namespaces: ["*"], serviceAccounts: ["*"]}
)");
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pod = irsa::ParseJson(text);
  if (!pod.ok()) return 0;
  auto first = irsa::MutatePod(FuzzConfig(), *pod, "psmdb", nullptr);
  if (!first.ok()) return 0;
  const nlohmann::json ops = first->patch.operations();
  for (const auto& op : ops) {
    if (op["op"] != "add") irsa::fuzzing::Fail("non-add operation " + op.dump(), text);
  }
  nlohmann::json patched;
  try {
    patched = pod->patch(ops);
  } catch (const nlohmann::json::exception& e) {
    irsa::fuzzing::Fail(std::string("patch does not apply: ") + e.what() + "\n" + ops.dump(), text);
  }
  auto second = irsa::MutatePod(FuzzConfig(), patched, "psmdb", nullptr);
  if (!second.ok()) irsa::fuzzing::Fail("patched pod unreadable: " + second.error(), text);
  if (!second->patch.empty())
    irsa::fuzzing::Fail("not idempotent: " + second->patch.Serialize(), text);
  return 0;
}
