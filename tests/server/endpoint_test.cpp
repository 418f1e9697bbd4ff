// The endpoints of both ports as functions (src/server/webhook_endpoint.h): every transport check
// with its status and message, and the review, without a socket. The black-box suites send the
// same cases over TLS through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "harness.h"
#include "server/config_store.h"
#include "server/http_message.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/webhook_endpoint.h"

namespace irsa::server {
namespace {

using nlohmann::json;

// The --max-request-bytes of the endpoint under test.
constexpr std::size_t kLimit = 1000;

class EndpointTest : public ::testing::Test {
 protected:
  EndpointTest() : config_(""), metrics_("test"), logger_(LogFormat::kJson, LogLevel::kError) {
    EXPECT_TRUE(config_.Reload().ok());
    endpoint_ = std::make_unique<WebhookEndpoint>(kLimit, config_, nullptr, metrics_, logger_);
  }

  static RequestHead Post(std::string_view target, std::string_view length = "10") {
    RequestHead head;
    head.method = "POST";
    head.target = target;
    head.content_type = "application/json";
    head.content_length = length;
    return head;
  }

  ConfigStore config_;
  Metrics metrics_;
  Logger logger_;
  std::unique_ptr<WebhookEndpoint> endpoint_;
};

// A status and the start of the body, for table cases.
struct Refusal {
  const char* name;
  RequestHead head;
  int status;
  std::string message_start;
  std::string allow;
};

TEST_F(EndpointTest, ScreensEveryHeadBeforeTheBody) {
  auto with = [](RequestHead head, auto change) {
    change(head);
    return head;
  };
  const std::vector<Refusal> cases = {
      {"unknown path", Post("/validate"), 404, "404 not found: /validate", ""},
      {"unknown path with a query", Post("/nope?x=1"), 404, "404 not found: /nope", ""},
      {"GET /mutate", with(Post("/mutate"), [](auto& h) { h.method = "GET"; }), 405,
       "405 method GET not allowed on /mutate (allowed: POST)", "POST"},
      {"PUT /mutate", with(Post("/mutate"), [](auto& h) { h.method = "PUT"; }), 405,
       "405 method PUT", "POST"},
      {"TRACE /mutate", with(Post("/mutate"), [](auto& h) { h.method = "TRACE"; }), 405,
       "405 method TRACE", "POST"},
      {"POST /healthz", Post("/healthz"), 405,
       "405 method POST not allowed on /healthz (allowed: GET, HEAD)", "GET, HEAD"},
      {"no length", with(Post("/mutate"), [](auto& h) { h.content_length.reset(); }), 411,
       "411 POST /mutate needs a Content-Length", ""},
      {"over the limit", Post("/mutate", "1001"), 413,
       "413 request body larger than 1000 bytes (--max-request-bytes)", ""},
      {"negative length", Post("/mutate", "-1"), 400, "400 malformed Content-Length \"-1\"", ""},
      {"length with a sign", Post("/mutate", "+10"), 400, "400 malformed Content-Length", ""},
      {"length in hex", Post("/mutate", "0x10"), 400, "400 malformed Content-Length", ""},
      {"length as a list", Post("/mutate", "10, 10"), 400, "400 malformed Content-Length", ""},
      {"empty length", Post("/mutate", ""), 400, "400 malformed Content-Length", ""},
      {"length beyond 2^64", Post("/mutate", "18446744073709551616"), 400,
       "400 malformed Content-Length", ""},
      {"malformed length on an unknown path", Post("/other", "x"), 400,
       "400 malformed Content-Length", ""},
      {"text/plain", with(Post("/mutate"), [](auto& h) { h.content_type = "text/plain"; }), 415,
       "415 Content-Type must be application/json, not \"text/plain\"", ""},
      {"no Content-Type", with(Post("/mutate"), [](auto& h) { h.content_type.reset(); }), 415,
       "415 Content-Type must be application/json, not \"\"", ""},
      {"gzip body", with(Post("/mutate"), [](auto& h) { h.content_encoding = "gzip"; }), 415,
       "415 Content-Encoding \"gzip\" not supported", ""},
      {"gzip transfer coding",
       with(Post("/mutate"), [](auto& h) { h.transfer_encoding = "gzip, chunked"; }), 501,
       "501 Transfer-Encoding \"gzip, chunked\" not implemented", ""},
      {"identity transfer coding",
       with(Post("/mutate"), [](auto& h) { h.transfer_encoding = "identity"; }), 501,
       "501 Transfer-Encoding", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto refusal = endpoint_->Screen(c.head);
    ASSERT_TRUE(refusal.has_value());
    EXPECT_EQ(refusal->status, c.status);
    EXPECT_EQ(refusal->body.rfind(c.message_start, 0), 0U) << refusal->body;
    EXPECT_EQ(refusal->body.back(), '\n');
    EXPECT_EQ(refusal->allow, c.allow);
    // Handle() refuses the same way, whatever the body.
    EXPECT_EQ(endpoint_->Handle(c.head, "{}").status, c.status);
  }
}

TEST_F(EndpointTest, LetsAcceptableHeadsThrough) {
  EXPECT_FALSE(endpoint_->Screen(Post("/mutate", "1000")));
  EXPECT_FALSE(endpoint_->Screen(Post("/mutate", " 0 ")));
  RequestHead chunked = Post("/mutate");
  chunked.content_length.reset();
  chunked.transfer_encoding = "Chunked";
  EXPECT_FALSE(endpoint_->Screen(chunked));
  RequestHead identity = Post("/mutate");
  identity.content_encoding = "identity";
  identity.content_type = "Application/JSON; charset=utf-8";
  EXPECT_FALSE(endpoint_->Screen(identity));
  for (const char* method : {"GET", "HEAD"}) {
    RequestHead healthz;
    healthz.method = method;
    healthz.target = "/healthz";
    EXPECT_FALSE(endpoint_->Screen(healthz)) << method;
    const Response ok = endpoint_->Handle(healthz, "");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "ok\n");
  }
}

TEST_F(EndpointTest, ReviewsAnAdmissionReviewAndRefusesAnythingElse) {
  const json review = test::Review("admission.k8s.io/v1", "uid-1",
                                   {{"apiVersion", "v1"},
                                    {"kind", "ServiceAccount"},
                                    {"metadata", {{"name", "default"}, {"namespace", "psmdb"}}}},
                                   "ServiceAccount");
  const std::string body = review.dump();
  const Response answer = endpoint_->Handle(Post("/mutate", std::to_string(body.size())), body);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.content_type, "application/json");
  EXPECT_EQ(json::parse(answer.body)["response"]["uid"], "uid-1");

  const Response broken = endpoint_->Handle(Post("/mutate", "9"), "{\"apiVers");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(broken.body.rfind("400 not a valid AdmissionReview: ", 0), 0U) << broken.body;

  // A chunked body has no length to screen: the size is checked once it is read.
  RequestHead chunked = Post("/mutate");
  chunked.content_length.reset();
  chunked.transfer_encoding = "chunked";
  EXPECT_EQ(endpoint_->Handle(chunked, std::string(kLimit + 1, ' ')).status, 413);
}

// Knows psmdb/annotated (with a role) at once; any other ServiceAccount would take a GET.
class PartlyCachedLookup final : public ServiceAccountLookup {
 public:
  std::optional<ServiceAccountInfo> Find(std::string_view ns,
                                         std::string_view name) const override {
    ++finds;
    return Known(ns, name);
  }
  ImmediateLookup FindWithoutWaiting(std::string_view ns, std::string_view name) const override {
    if (name != "annotated") return {false, std::nullopt};
    return {true, Known(ns, name)};
  }
  mutable int finds = 0;

 private:
  static std::optional<ServiceAccountInfo> Known(std::string_view ns, std::string_view name) {
    if (ns != "psmdb" || name != "annotated") return std::nullopt;
    ServiceAccountInfo info;
    info.ns = "psmdb";
    info.name = "annotated";
    info.annotations["eks.amazonaws.com/role-arn"] = "arn:aws:iam::111122223333:role/annotated";
    return info;
  }
};

// The admission series of a scrape (counters and the duration histogram), without the process
// gauges, which move on their own.
std::string AdmissionSeries(const std::string& scrape) {
  std::string out;
  std::size_t start = 0;
  while (start < scrape.size()) {
    std::size_t end = scrape.find('\n', start);
    if (end == std::string::npos) end = scrape.size();
    const std::string_view line(scrape.data() + start, end - start);
    if (line.starts_with("irsa_webhook_admission_")) out.append(line).push_back('\n');
    start = end + 1;
  }
  return out;
}

TEST_F(EndpointTest, ReviewsWithoutWaitingOnlyWhatTheLookupHoldsAlready) {
  PartlyCachedLookup lookup;
  WebhookEndpoint endpoint(kLimit * 10, config_, &lookup, metrics_, logger_);
  const auto body_for = [](std::string_view service_account) {
    return test::Review("admission.k8s.io/v1", "uid-2",
                        {{"apiVersion", "v1"},
                         {"kind", "Pod"},
                         {"metadata", {{"name", "p"}, {"namespace", "psmdb"}}},
                         {"spec",
                          {{"serviceAccountName", service_account},
                           {"containers", {{{"name", "c"}, {"image", "i"}}}}}}},
                        "Pod")
        .dump();
  };

  // Held: answered at once, as Handle() answers it (the SA's role is injected).
  const std::string cached = body_for("annotated");
  const auto at_once =
      endpoint.HandleWithoutWaiting(Post("/mutate", std::to_string(cached.size())), cached);
  ASSERT_TRUE(at_once.has_value());
  EXPECT_EQ(at_once->status, 200);
  EXPECT_NE(at_once->body.find("\"patch\""), std::string::npos) << at_once->body;
  EXPECT_EQ(lookup.finds, 0);  // Find(), which may wait, was not called
  EXPECT_EQ(at_once->body,
            endpoint.Handle(Post("/mutate", std::to_string(cached.size())), cached).body);

  // Not held: no answer, nothing counted; Handle() then looks it up (and may wait).
  const std::string missing = body_for("elsewhere");
  const std::string metrics_before = AdmissionSeries(metrics_.Render());
  ASSERT_NE(metrics_before.find("irsa_webhook_admission_requests_total{"), std::string::npos);
  EXPECT_FALSE(
      endpoint.HandleWithoutWaiting(Post("/mutate", std::to_string(missing.size())), missing));
  EXPECT_EQ(AdmissionSeries(metrics_.Render()), metrics_before);
  const int finds_before = lookup.finds;
  const Response waited = endpoint.Handle(Post("/mutate", std::to_string(missing.size())), missing);
  EXPECT_EQ(waited.status, 200);
  EXPECT_EQ(lookup.finds, finds_before + 1);
  EXPECT_NE(AdmissionSeries(metrics_.Render()), metrics_before);

  // Refusals and probes never wait.
  EXPECT_EQ(endpoint.HandleWithoutWaiting(Post("/validate"), "{}")->status, 404);
}

TEST_F(EndpointTest, TransportAnswersHaveTheirStatus) {
  EXPECT_EQ(WebhookEndpoint::Malformed("bad method").status, 400);
  EXPECT_EQ(WebhookEndpoint::Malformed("bad method").body,
            "400 malformed HTTP request: bad method\n");
  EXPECT_EQ(WebhookEndpoint::HeadTooLarge(65536).status, 431);
  EXPECT_EQ(endpoint_->BodyTooLarge().status, 413);
}

TEST(OperationsEndpoint, ServesProbesAndMetricsOnly) {
  Metrics metrics("test");
  bool healthy = true;
  std::optional<std::string> unready = "ServiceAccount cache not synced";
  OperationsState state{&metrics, [&] { return healthy; }, [&] { return unready; }};
  auto get = [&](std::string_view method, std::string_view target) {
    RequestHead head;
    head.method = method;
    head.target = target;
    return AnswerOperations(state, head);
  };
  EXPECT_EQ(get("GET", "/healthz").status, 200);
  const Response not_ready = get("GET", "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "503 not ready: ServiceAccount cache not synced\n");
  unready.reset();
  EXPECT_EQ(get("HEAD", "/readyz").status, 200);
  healthy = false;
  EXPECT_EQ(get("GET", "/healthz").body, "503 a listener stopped\n");
  const Response scrape = get("GET", "/metrics?x=1");
  EXPECT_EQ(scrape.status, 200);
  EXPECT_EQ(scrape.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(scrape.body.find("irsa_webhook_build_info"), std::string::npos);
  EXPECT_EQ(get("GET", "/mutate").status, 404);
  const Response post = get("POST", "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  RequestHead with_body;
  with_body.method = "GET";
  with_body.target = "/metrics";
  with_body.content_length = "5";
  EXPECT_EQ(AnswerOperations(state, with_body).status, 405);
}

TEST(HttpMessage, ParsesContentLengthStrictly) {
  EXPECT_EQ(ParseContentLength("0"), 0U);
  EXPECT_EQ(ParseContentLength(" 42\t"), 42U);
  EXPECT_EQ(ParseContentLength("9223372036854775807"), 9223372036854775807ULL);
  for (const char* bad : {"", " ", "-1", "+1", "1 2", "1,1", "0x1", "1e3", "12345678901234567890"})
    EXPECT_FALSE(ParseContentLength(bad)) << bad;
}

TEST(HttpMessage, RendersResponses) {
  Response res;
  res.status = 405;
  res.body = "no\n";
  res.allow = "POST";
  EXPECT_EQ(RenderResponse(res, /*close=*/true, /*head_request=*/false),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nAllow: POST\r\nConnection: close\r\n\r\nno\n");
  res = Response{};
  res.body = "ok\n";
  EXPECT_EQ(RenderResponse(res, false, /*head_request=*/true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\n\r\n");
}

}  // namespace
}  // namespace irsa::server
