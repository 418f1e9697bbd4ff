// Core admission cost against the floor. Run: build/release/bench/core_bench
//   BM_Floor/<input>      json::parse(body).dump(): reading and writing the bytes, nothing else
//   BM_Admission/<input>  DecodeAdmissionReview + Admit + EncodeAdmissionResponse: `mutate`'s
//                         path (request.object held as nlohmann::json between the two)
//   BM_Reviewer/<input>   AdmissionReviewer::Review: what `serve` runs per request (minus HTTP),
//                         on a body with spare capacity, as serve reads it (parsed in place)
//   BM_Stage/<stage>/rs0  the reviewer's stages on the rs0 review, one at a time: parse (the
//                         body into a DOM), read (envelope + pod view), rules (MutatePodView:
//                         the patch as text), base64 (the patch), response (the whole response
//                         body: patch serialized, base64, envelope)
// Inputs: the ~10 KB rs0 Percona review (bench/data), the operator pod, a 50-container pod, an
// already-mutated rs0 pod (empty patch), and a ServiceAccount.
//
// `core_bench --reviews=N` runs exactly N rs0 reviews as BM_Reviewer does and exits, for
// counting instructions (the clock of a shared VM drifts; an instruction count does not):
//   for n in 100 200; do valgrind --tool=callgrind --callgrind-out-file=/dev/null
//     build/release/bench/core_bench --reviews=$n; done          (one line)
// then (Collected at 200 - Collected at 100) / 100 is the instructions of one review.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string_view>

#include "admission_dom.h"
#include "irsa/admission.h"
#include "irsa/document.h"
#include "irsa/text.h"
#include "json_dom.h"
#include "pod_view.h"

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
  // As serve holds it: with room for the parser to read past the end (parsed in place).
  std::string body = f.bodies.at(input);
  body.reserve(body.size() + irsa::kReviewBodyPadding);
  irsa::AdmissionReviewer reviewer;
  for (auto _ : state) {
    auto reviewed = reviewer.Review(f.config, body, nullptr, irsa::ReadablePastEnd(body));
    benchmark::DoNotOptimize(reviewed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

// The reviewer's stages on the rs0 review (internal core APIs: src/core is on the include path).
void BM_Stage(benchmark::State& state, const std::string& stage) {
  const Fixtures& f = GetFixtures();
  std::string body = f.bodies.at("rs0");
  body.reserve(body.size() + irsa::kReviewBodyPadding);  // parsed in place, as serve's
  irsa::internal::JsonDom dom;
  const auto parse = [&] { return dom.Parse(body, irsa::ReadablePastEnd(body)); };
  const auto read = [&](irsa::AdmissionRequest& request) {
    auto root = parse();
    std::optional<simdjson::dom::element> object;
    if (!root.ok() || !irsa::internal::DecodeEnvelope(*root, request, object).ok() || !object)
      std::exit(1);
    auto view = irsa::internal::ReadPod(*object);
    if (!view.ok()) std::exit(1);
    return std::move(view).value();
  };
  irsa::AdmissionRequest request;
  const irsa::internal::PodView view = read(request);
  const irsa::Mutation mutation = irsa::internal::MutatePodView(f.config, view, "psmdb", nullptr);
  for (auto _ : state) {
    if (stage == "parse") {
      auto root = parse();
      benchmark::DoNotOptimize(root);
    } else if (stage == "read") {
      irsa::AdmissionRequest r;
      auto v = read(r);
      benchmark::DoNotOptimize(v);
    } else if (stage == "rules") {
      auto m = irsa::internal::MutatePodView(f.config, view, "psmdb", nullptr);
      benchmark::DoNotOptimize(m);
    } else if (stage == "base64") {
      auto text = irsa::Base64Encode(mutation.patch.Serialize());
      benchmark::DoNotOptimize(text);
    } else {
      auto text = irsa::EncodeAdmissionResponse(request, mutation);
      benchmark::DoNotOptimize(text);
    }
  }
}

// --reviews=N: N rs0 reviews, nothing else (see the top of this file).
int RunReviews(long count) {
  const Fixtures& f = GetFixtures();
  std::string body = f.bodies.at("rs0");
  body.reserve(body.size() + irsa::kReviewBodyPadding);
  irsa::AdmissionReviewer reviewer;
  std::size_t answered = 0;
  for (long i = 0; i < count; ++i) {
    auto reviewed = reviewer.Review(f.config, body, nullptr, irsa::ReadablePastEnd(body));
    if (!reviewed.ok()) return 1;
    answered += reviewed->response.size();
  }
  std::cout << count << " rs0 reviews, " << answered << " response bytes\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr std::string_view kReviews = "--reviews=";
  if (argc == 2 && std::string_view(argv[1]).starts_with(kReviews))
    return RunReviews(std::strtol(argv[1] + kReviews.size(), nullptr, 10));
  for (const char* input :
       {"rs0", "operator", "50-containers", "already-mutated", "serviceaccount"}) {
    benchmark::RegisterBenchmark((std::string("BM_Floor/") + input).c_str(), BM_Floor,
                                 std::string(input));
    benchmark::RegisterBenchmark((std::string("BM_Admission/") + input).c_str(), BM_Admission,
                                 std::string(input));
    benchmark::RegisterBenchmark((std::string("BM_Reviewer/") + input).c_str(), BM_Reviewer,
                                 std::string(input));
  }
  for (const char* stage : {"parse", "read", "rules", "base64", "response"}) {
    benchmark::RegisterBenchmark((std::string("BM_Stage/") + stage + "/rs0").c_str(), BM_Stage,
                                 std::string(stage));
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
