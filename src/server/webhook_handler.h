// What the transport asks of the webhook port's answers: a verdict on a request head, the answer
// to a whole request, and the body limit it enforces while reading. WebhookEndpoint implements it
// for `serve`; bench/transport_spike.cpp gives a constant answer through it, so the transport can
// be measured without the rules.
//
// Owns: nothing (an interface).
// Never: touches a socket, reads the body itself or decides when a connection ends.
// Thread-safety: implementations are called from every event loop and the review threads at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http_message.h"

namespace irsa::server {

class WebhookHandler {
 public:
  virtual ~WebhookHandler() = default;

  // The answer the head alone decides, or nullopt: read the body (at most
  // max_request_bytes()) and call Handle().
  virtual std::optional<Response> Screen(const RequestHead& head) const = 0;
  // The answer to a whole request; Screen() first. A body with kReviewBodyPadding bytes of spare
  // capacity (irsa/admission.h) is reviewed where it lies.
  virtual Response Handle(const RequestHead& head, const std::string& body) = 0;
  // A body that turned out larger than the limit while it arrived (chunked).
  virtual Response BodyTooLarge() const = 0;
  // The most body bytes Handle() accepts.
  virtual std::size_t max_request_bytes() const = 0;
  // Handle()'s answer when it can be had without waiting (on the Kubernetes API: a ServiceAccount
  // the cache does not hold yet); nullopt when it cannot, and then the transport calls Handle()
  // where waiting blocks no other connection. Nothing is counted or logged for a nullopt.
  virtual std::optional<Response> HandleWithoutWaiting(const RequestHead& head,
                                                       const std::string& body) = 0;
};

}  // namespace irsa::server
