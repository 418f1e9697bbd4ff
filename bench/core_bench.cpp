// Core admission cost against the floor. Run: build/release/bench/core_bench
//   BM_Floor/<input>      json::parse(body).dump(): reading and writing the bytes, nothing else
//   BM_Admission/<input>  DecodeAdmissionReview + Admit + EncodeAdmissionResponse: the reference
//                         path (`mutate`, and the server's fallback for non-pod kinds)
//   BM_Reviewer/<input>   AdmissionReviewer::Review: what `serve` runs per request (minus HTTP);
//                         simdjson for Pod CREATE
// Inputs: the ~10 KB rs0 Percona review (bench/data), the operator pod, a 50-container pod, an
// already-mutated rs0 pod (empty patch), and a ServiceAccount.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <map>

#include "irsa/admission.h"
#include "irsa/document.h"

namespace {

using nlohmann::json;
const std::string kSource = IRSA_SOURCE_DIR;

json LoadOrDie(const std::string& path) {
  auto doc = irsa::LoadDocumentFile(path);
  if (!doc.ok()) {
    std::cerr << doc.error() << "\n";
    std::exit(1);
  }
  return *doc;
}

std::string Review(const std::string& kind, const json& object) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", "b7c1e2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"},
                {"kind", {{"group", ""}, {"version", "v1"}, {"kind", kind}}},
                {"namespace", "psmdb"},
                {"operation", "CREATE"},
                {"object", object}}}}
      .dump();
}

struct Fixtures {
  irsa::Config config;
  std::map<std::string, std::string> bodies;

  Fixtures() {
    auto loaded = irsa::LoadConfigFile(kSource + "/examples/config.yaml");
    if (!loaded.ok()) std::exit(1);
    config = *loaded;
    const json rs0_review = LoadOrDie(kSource + "/bench/data/psmdb-rs0-review.json");
    bodies["rs0"] = rs0_review.dump();
    bodies["operator"] = Review(
        "Pod", LoadOrDie(kSource + "/tests/testdata/operator-pod-plain-manifest/input.yaml"));
    json wide = rs0_review["request"]["object"];
    json containers = json::array();
    for (int i = 0; i < 50; ++i) {
      json c = wide["spec"]["containers"][static_cast<std::size_t>(i % 4)];
      c["name"] = "sidecar-" + std::to_string(i);
      containers.push_back(std::move(c));
    }
    wide["spec"]["containers"] = std::move(containers);
    bodies["50-containers"] = Review("Pod", wide);
    auto request = irsa::DecodeAdmissionReview(bodies["rs0"]);
    const auto result = irsa::Admit(config, *request, nullptr);
    bodies["already-mutated"] =
        Review("Pod", request->object.patch(result.mutation.patch.operations()));
    bodies["serviceaccount"] = Review(
        "ServiceAccount", LoadOrDie(kSource + "/tests/testdata/serviceaccount-create/input.yaml"));
  }
};

const Fixtures& GetFixtures() {
  static const Fixtures fixtures;
  return fixtures;
}

void BM_Floor(benchmark::State& state, const std::string& input) {
  const std::string& body = GetFixtures().bodies.at(input);
  for (auto _ : state) {
    std::string out = json::parse(body).dump();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_Admission(benchmark::State& state, const std::string& input) {
  const Fixtures& f = GetFixtures();
  const std::string& body = f.bodies.at(input);
  for (auto _ : state) {
    auto request = irsa::DecodeAdmissionReview(body);
    const irsa::AdmissionResult result = irsa::Admit(f.config, *request, nullptr);
    std::string out = irsa::EncodeAdmissionResponse(*request, result.mutation);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

// The server's path: simdjson for Pod CREATE, the reference path for the rest.
void BM_Reviewer(benchmark::State& state, const std::string& input) {
  const Fixtures& f = GetFixtures();
  const std::string& body = f.bodies.at(input);
  irsa::AdmissionReviewer reviewer;
  for (auto _ : state) {
    auto reviewed = reviewer.Review(f.config, body, nullptr);
    benchmark::DoNotOptimize(reviewed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* input :
       {"rs0", "operator", "50-containers", "already-mutated", "serviceaccount"}) {
    benchmark::RegisterBenchmark((std::string("BM_Floor/") + input).c_str(), BM_Floor,
                                 std::string(input));
    benchmark::RegisterBenchmark((std::string("BM_Admission/") + input).c_str(), BM_Admission,
                                 std::string(input));
    benchmark::RegisterBenchmark((std::string("BM_Reviewer/") + input).c_str(), BM_Reviewer,
                                 std::string(input));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::cout << "input sizes:";
  for (const auto& [name, body] : GetFixtures().bodies)
    std::cout << " " << name << "=" << body.size() << "B";
  std::cout << "\n";
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
