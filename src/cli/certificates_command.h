// `irsa-webhook certificates`: creates or renews the webhook's CA and serving certificate in
// their Secrets and keeps the webhook configuration's caBundle equal to the CA (the chart's
// default `self-signed` mode runs it as a Helm hook and from a CronJob). The plan is
// src/kube/webhook_certificates; this file does the API calls and prints what it did.
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

CommandStatus RunCertificates(const std::vector<std::string>& args);

}  // namespace irsa::cli
