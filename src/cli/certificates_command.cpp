#include "certificates_command.h"

#include <arpa/inet.h>

#include <charconv>
#include <chrono>
#include <iostream>

#include "flags.h"
#include "irsa/text.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/webhook_certificates.h"

namespace irsa::cli {
namespace {

using nlohmann::json;

// Field manager of the server-side applies (shown in managedFields).
constexpr const char* kFieldManager = "irsa-webhook-certificates";
// Annotation on both Secrets: which tool keeps them (admins can tell them from their own).
constexpr const char* kManagedByAnnotation = "irsa-webhook.io/managed-by";

std::optional<std::string> DecodedKey(const json& secret, const char* key) {
  const json* data = secret.contains("data") ? &secret["data"] : nullptr;
  if (data == nullptr || !data->is_object() || !data->contains(key) || !(*data)[key].is_string()) {
    return std::nullopt;
  }
  return Base64Decode((*data)[key].get<std::string>());
}

// The certificate and key stored in a Secret, nullopt when the Secret or a key is missing.
std::optional<kube::CertificateAndKey> Stored(const json& secret) {
  auto cert = DecodedKey(secret, "tls.crt");
  auto key = DecodedKey(secret, "tls.key");
  if (!cert || !key) return std::nullopt;
  return kube::CertificateAndKey{*cert, *key};
}

// GET of a Secret: the object, null when it does not exist, or the error.
Result<json> GetSecret(const kube::KubeClient& client, const std::string& ns,
                       const std::string& name) {
  auto got = client.Get(kube::ResourcePath("v1", "secrets", ns, name));
  if (got.ok()) return std::move(got).value();
  if (got.code() == StatusCode::kNotFound) return json(nullptr);
  return got.status();
}

Status ApplySecret(const kube::KubeClient& client, const std::string& ns, const std::string& name,
                   const std::string& type, const std::map<std::string, std::string>& data) {
  json encoded = json::object();
  for (const auto& [key, value] : data) encoded[key] = Base64Encode(value);
  const json secret = {{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata",
                        {{"name", name},
                         {"namespace", ns},
                         {"annotations", {{kManagedByAnnotation, "irsa-webhook certificates"}}}}},
                       {"type", type},
                       {"data", encoded}};
  const auto applied = client.Patch(kube::ResourcePath("v1", "secrets", ns, name) +
                                        "?fieldManager=" + kFieldManager + "&force=true",
                                    secret, kube::PatchType::kApply);
  return applied.status();
}

Result<int> ParseDays(const Flags& flags, const std::string& flag) {
  const std::string text = flags.Get(flag);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 1 || value > 36500) {
    return Status::Error("--" + flag + " must be a number of days from 1 to 36500, not " +
                         Quote(text));
  }
  return value;
}

}  // namespace

CommandStatus RunCertificates(const std::vector<std::string>& args) {
  Flags flags(
      "irsa-webhook certificates --namespace NS --service NAME --secret NAME --ca-secret NAME\n"
      "                          [--webhook-configuration NAME] [--kubeconfig F] [flags]\n\n"
      "Keeps the webhook's own CA (in --ca-secret, never mounted) and its serving certificate for\n"
      "the Service (in --secret, type kubernetes.io/tls: tls.crt, tls.key, ca.crt) valid: creates\n"
      "them when missing, renews what expires within --renew-before-days or no longer matches the\n"
      "Service's DNS names, and leaves valid ones alone (running it twice changes nothing). The\n"
      "server reloads a renewed certificate from its mount without a restart. With\n"
      "--webhook-configuration, sets the caBundle of each of its webhooks that calls the Service\n"
      "or a URL\n"
      "(the previous CA stays in the bundle until it expires). Exits 1 if an API call failed.",
      {{"namespace", "", false, "NS", "namespace of the Service and the Secrets (required)", ""},
       {"service", "", false, "NAME", "the webhook's Service (required)", ""},
       {"secret", "", false, "NAME", "Secret of the serving certificate (required)", ""},
       {"ca-secret", "", false, "NAME", "Secret of the CA certificate and key (required)", ""},
       {"webhook-configuration", "", false, "NAME",
        "MutatingWebhookConfiguration whose caBundle to keep equal to the CA", ""},
       {"cluster-domain", "", false, "DOMAIN", "cluster DNS domain", "cluster.local"},
       {"extra-name", "", false, "HOST",
        "one more name the serving certificate covers: an IP address or a DNS name (a webhook "
        "called by URL)",
        ""},
       {"ca-validity-days", "", false, "DAYS", "lifetime of a new CA", "3650"},
       {"validity-days", "", false, "DAYS", "lifetime of a new serving certificate", "365"},
       {"renew-before-days", "", false, "DAYS", "renew what expires within this many days", "30"},
       {"kubeconfig", "", false, "FILE", "kubeconfig to use (else in-cluster config)", ""}});
  if (auto done = ParseCommandLine(flags, args)) return *done;
  for (const char* required : {"namespace", "service", "secret", "ca-secret"}) {
    if (!flags.Has(required))
      return CommandStatus::Usage(std::string("--") + required + " is required");
  }
  kube::CertificatePolicy policy;
  for (auto [flag, target] : {std::pair{"ca-validity-days", &policy.ca_days},
                              std::pair{"validity-days", &policy.serving_days},
                              std::pair{"renew-before-days", &policy.renew_before_days}}) {
    auto days = ParseDays(flags, flag);
    if (!days.ok()) return CommandStatus::Usage(days.error());
    *target = *days;
  }
  if (policy.renew_before_days >= policy.serving_days ||
      policy.renew_before_days >= policy.ca_days) {
    return CommandStatus::Usage(
        "--renew-before-days must be less than --validity-days and --ca-validity-days, or every "
        "run renews");
  }
  const std::string ns = flags.Get("namespace");
  const std::string service = flags.Get("service");
  // How the kube-apiserver dials the Service (the first is the common name).
  policy.dns_names = {service + "." + ns + ".svc", service, service + "." + ns,
                      service + "." + ns + ".svc." + flags.Get("cluster-domain")};
  if (const std::string extra = flags.Get("extra-name"); !extra.empty()) {
    unsigned char address[16];
    const bool ip = ::inet_pton(AF_INET, extra.c_str(), address) == 1 ||
                    ::inet_pton(AF_INET6, extra.c_str(), address) == 1;
    (ip ? policy.ip_addresses : policy.dns_names).push_back(extra);
  }

  auto kube_config = kube::ResolveKubeConfigForCli(flags.Get("kubeconfig"));
  if (!kube_config.ok()) return CommandStatus::Runtime(kube_config.error());
  auto client = kube::KubeClient::Create(*kube_config);
  if (!client.ok()) return CommandStatus::Runtime(client.error());
  const kube::KubeClient& api = **client;

  auto ca_secret = GetSecret(api, ns, flags.Get("ca-secret"));
  if (!ca_secret.ok()) return CommandStatus::Runtime(ca_secret.error());
  auto serving_secret = GetSecret(api, ns, flags.Get("secret"));
  if (!serving_secret.ok()) return CommandStatus::Runtime(serving_secret.error());
  kube::StoredCertificates stored{Stored(*ca_secret), Stored(*serving_secret)};

  const auto now =
      static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  const kube::CertificatePlan plan = kube::PlanCertificates(stored, policy, now);

  // The CA bundle: the current CA, plus the previous one while it is valid (pods still serve a
  // certificate from it until they reload the renewed one).
  kube::CertificateAndKey ca = stored.ca.value_or(kube::CertificateAndKey{});
  std::string previous_ca = DecodedKey(*ca_secret, "previous.crt").value_or("");
  if (plan.new_ca) {
    if (stored.ca) previous_ca = stored.ca->cert_pem;
    auto made = kube::GenerateCa(service + "." + ns + "-ca", policy.ca_days, now);
    if (!made.ok()) return CommandStatus::Runtime(made.error());
    ca = std::move(made).value();
  }
  if (!previous_ca.empty()) {
    auto facts = kube::InspectCertificate(previous_ca);
    if (!facts.ok() || facts->not_after <= now || previous_ca == ca.cert_pem) previous_ca.clear();
  }
  const std::string bundle = ca.cert_pem + previous_ca;

  if (plan.new_ca) {
    std::map<std::string, std::string> data = {{"tls.crt", ca.cert_pem}, {"tls.key", ca.key_pem}};
    if (!previous_ca.empty()) data["previous.crt"] = previous_ca;
    if (auto s = ApplySecret(api, ns, flags.Get("ca-secret"), "Opaque", data); !s.ok())
      return CommandStatus::Runtime(s.message());
    std::cout << "Secret " << ns << "/" << flags.Get("ca-secret") << ": new CA (" << plan.reason
              << ")\n";
  }
  const std::string stored_bundle = DecodedKey(*serving_secret, "ca.crt").value_or("");
  if (plan.new_serving || stored_bundle != bundle) {
    kube::CertificateAndKey serving = stored.serving.value_or(kube::CertificateAndKey{});
    if (plan.new_serving) {
      auto issued = kube::IssueServingCertificate(ca, policy.dns_names, policy.serving_days, now,
                                                  policy.ip_addresses);
      if (!issued.ok()) return CommandStatus::Runtime(issued.error());
      serving = std::move(issued).value();
    }
    if (auto s = ApplySecret(
            api, ns, flags.Get("secret"), "kubernetes.io/tls",
            {{"tls.crt", serving.cert_pem}, {"tls.key", serving.key_pem}, {"ca.crt", bundle}});
        !s.ok()) {
      return CommandStatus::Runtime(s.message());
    }
    std::cout << "Secret " << ns << "/" << flags.Get("secret") << ": "
              << (plan.new_serving ? "new serving certificate (" + plan.reason + ")"
                                   : std::string("CA bundle updated"))
              << "\n";
  } else {
    std::cout << "Secret " << ns << "/" << flags.Get("secret") << ": unchanged, " << plan.reason
              << "\n";
  }

  if (!flags.Has("webhook-configuration")) return CommandStatus::Ok();
  const std::string configuration = flags.Get("webhook-configuration");
  const std::string path = kube::ResourcePath("admissionregistration.k8s.io/v1",
                                              "mutatingwebhookconfigurations", "", configuration);
  auto current = api.Get(path);
  if (current.code() == StatusCode::kNotFound) {
    // The pre-install run: the configuration is created after the Secrets.
    std::cout << "MutatingWebhookConfiguration " << configuration
              << ": not created yet; its caBundle is set by the next run\n";
    return CommandStatus::Ok();
  }
  if (!current.ok()) return CommandStatus::Runtime(current.error());
  const std::string encoded = Base64Encode(bundle);
  json webhooks = json::array();
  for (const auto& webhook : current->value("webhooks", json::array())) {
    const json client_config = webhook.value("clientConfig", json::object());
    const json service_ref = client_config.value("service", json());
    const bool ours = client_config.contains("url") ||
                      (service_ref.is_object() && service_ref.value("name", "") == service &&
                       service_ref.value("namespace", "") == ns);
    if (!ours) continue;
    if (webhook["clientConfig"].value("caBundle", "") == encoded) continue;
    // Strategic merge patch: webhooks merge by name, so only caBundle changes.
    webhooks.push_back(
        {{"name", webhook.value("name", "")}, {"clientConfig", {{"caBundle", encoded}}}});
  }
  if (webhooks.empty()) {
    std::cout << "MutatingWebhookConfiguration " << configuration << ": caBundle up to date\n";
    return CommandStatus::Ok();
  }
  const auto patched =
      api.Patch(path, json{{"webhooks", webhooks}}, kube::PatchType::kStrategicMerge);
  if (!patched.ok()) return CommandStatus::Runtime(patched.error());
  std::cout << "MutatingWebhookConfiguration " << configuration << ": caBundle set on "
            << webhooks.size() << " webhook(s)\n";
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
