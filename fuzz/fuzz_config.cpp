// Config parsing on arbitrary text (YAML or JSON): never crashes or hangs; a config that parses
// can drive a mutation.
#include <cstdint>
#include <string_view>

#include "irsa/config.h"
#include "irsa/document.h"
#include "irsa/mutation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = irsa::ParseDocument(text);
  if (!doc.ok()) return 0;
  auto config = irsa::ParseConfig(*doc, "fuzz.yaml");
  if (!config.ok()) return 0;
  (void)irsa::LintConfig(*config);
  static const nlohmann::json pod = nlohmann::json::parse(
      R"({"metadata": {"labels": {"app.kubernetes.io/name": "percona-server-mongodb", "app.kubernetes.io/component": "mongod"}},
          "spec": {"containers": [{"name": "mongod"}, {"name": "backup-agent", "env": []}]}})");
  auto m = irsa::MutatePod(*config, pod, "psmdb", nullptr);
  if (m.ok()) (void)m->patch.Serialize();
  (void)irsa::ToYaml(*doc);
  return 0;
}
