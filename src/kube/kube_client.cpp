#include "kube/kube_client.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "irsa/document.h"
#include "irsa/text.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

// Trusting only the kubeconfig's CA: httplib adds the system CA paths unless a CA file or
// directory is set. A directory that does not exist adds nothing, so with an in-memory store
// only certificate-authority-data is trusted, as kubectl does.
constexpr const char* kNoSystemCaDir = "/nonexistent/irsa-webhook/no-system-ca";
// Largest error body kept for a message; Status objects are small.
constexpr std::size_t kMaxErrorBodyBytes = std::size_t{64} * 1024;
constexpr std::chrono::milliseconds kMaxConnectTimeout{5000};

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PKeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyDeleter>;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

Result<std::vector<X509Ptr>> ParseCertificates(const std::string& pem, std::string_view what) {
  std::vector<X509Ptr> certs;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(cert);
  ERR_clear_error();  // the loop ends on "no start line"
  if (certs.empty()) return Status::Error(std::string(what) + ": no PEM certificate found");
  return certs;
}

Result<PKeyPtr> ParsePrivateKey(const std::string& pem, std::string_view what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  PKeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return Status::Error(std::string(what) + ": not a PEM private key (" + OpenSslError() + ")");
  return key;
}

std::string ErrorHint(httplib::Error error) {
  switch (error) {
    case httplib::Error::SSLServerVerification:
      return " (the server certificate is not trusted for this address: check "
             "certificate-authority in the "
             "kubeconfig, or the in-cluster ca.crt)";
    case httplib::Error::SSLLoadingCerts:
      return " (cannot load the certificate authority file)";
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return " (is the API server address reachable from here?)";
    default:
      return "";
  }
}

std::string DescribeHttpStatus(int status) {
  const char* text = "";
  switch (status) {
    case 400:
      text = " Bad Request";
      break;
    case 401:
      text = " Unauthorized";
      break;
    case 403:
      text = " Forbidden";
      break;
    case 404:
      text = " Not Found";
      break;
    case 405:
      text = " Method Not Allowed";
      break;
    case 409:
      text = " Conflict";
      break;
    case 410:
      text = " Gone";
      break;
    case 415:
      text = " Unsupported Media Type";
      break;
    case 422:
      text = " Unprocessable Entity";
      break;
    case 429:
      text = " Too Many Requests";
      break;
    case 500:
      text = " Internal Server Error";
      break;
    case 503:
      text = " Service Unavailable";
      break;
    case 504:
      text = " Gateway Timeout";
      break;
    default:
      break;
  }
  return std::to_string(status) + text;
}

// The code of a non-2xx answer. The API server's Status object repeats the HTTP status in its
// `code`, so the HTTP status alone decides.
StatusCode CodeOfHttpStatus(int status) {
  switch (status) {
    case 401:
      return StatusCode::kUnauthorized;
    case 403:
      return StatusCode::kForbidden;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kConflict;
    case 410:
      return StatusCode::kGone;
    default:
      return StatusCode::kFailed;
  }
}

// A non-2xx answer: the Status object's message when there is one, else the start of the body.
Status HttpError(std::string_view method, std::string_view path, int status,
                 const std::string& body) {
  std::string detail;
  if (auto parsed = ParseJson(body); parsed.ok() && parsed->is_object()) {
    const json& s = *parsed;
    if (const auto message = s.find("message"); message != s.end() && message->is_string()) {
      detail = message->get<std::string>();
    }
  }
  if (detail.empty() && !body.empty()) detail = body.substr(0, 200);
  detail = std::string(Trim(detail));
  std::string message = std::string(method) + " " + std::string(path) + ": " +
                        DescribeHttpStatus(status) + (detail.empty() ? "" : ": " + detail);
  if (status == 401)
    message += " (the credentials were refused: check the token or client certificate)";
  return Status::Error(CodeOfHttpStatus(status), std::move(message));
}

// No HTTP answer: connection, TLS or timeout.
Status TransportError(std::string_view method, std::string_view url, httplib::Error error) {
  return Status::Error(StatusCode::kUnavailable, std::string(method) + " " + std::string(url) +
                                                     ": " + httplib::to_string(error) +
                                                     ErrorHint(error));
}

Status Cancelled(std::string_view what) {
  return Status::Error(StatusCode::kCancelled, std::string(what) + " cancelled");
}

}  // namespace

struct KubeClient::Endpoint {
  bool tls = true;
  std::string host;
  int port = 443;
  std::string path_prefix;        // e.g. "/k8s/clusters/c-1" behind a proxy; usually empty
  std::vector<X509Ptr> ca_certs;  // certificate-authority-data
  X509Ptr client_cert;
  PKeyPtr client_key;

  std::string Url(std::string_view path) const {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port) +
           path_prefix + std::string(path);
  }
};

// --- CancelToken ---

void CancelToken::Cancel() {
  std::unique_lock<std::mutex> lock(mu_);
  cancelled_ = true;
  // An interrupt can land before the call has opened its socket; repeat until the call is gone.
  while (interrupt_) {
    interrupt_();
    cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool CancelToken::Register(std::function<void()> interrupt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  interrupt_ = std::move(interrupt);
  return true;
}

void CancelToken::Unregister() {
  std::lock_guard<std::mutex> lock(mu_);
  interrupt_ = nullptr;
  cv_.notify_all();
}

// --- KubeClient ---

Result<std::unique_ptr<KubeClient>> KubeClient::Create(const KubeConfig& config) {
  auto endpoint = std::make_unique<Endpoint>();
  std::string rest;
  if (config.server.rfind("https://", 0) == 0) {
    rest = config.server.substr(8);
  } else if (config.server.rfind("http://", 0) == 0) {
    endpoint->tls = false;
    endpoint->port = 80;
    rest = config.server.substr(7);
  } else {
    return Status::Error(config.source + ": server " + config.server +
                         " must start with https:// or http://");
  }
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) endpoint->path_prefix = rest.substr(slash);
  while (!endpoint->path_prefix.empty() && endpoint->path_prefix.back() == '/')
    endpoint->path_prefix.pop_back();
  std::size_t port_colon = std::string::npos;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string::npos)
      return Status::Error(config.source + ": server " + config.server + ": bad IPv6 address");
    endpoint->host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_colon = close + 1;
  } else {
    port_colon = authority.rfind(':');
    endpoint->host = authority.substr(0, port_colon);
  }
  if (port_colon != std::string::npos) {
    const std::string port = authority.substr(port_colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
        std::stoi(port) > 65535) {
      return Status::Error(config.source + ": server " + config.server + ": bad port");
    }
    endpoint->port = std::stoi(port);
  }
  if (endpoint->host.empty())
    return Status::Error(config.source + ": server " + config.server + ": no host");

  if (!config.ca_data.empty()) {
    IRSA_ASSIGN_OR_RETURN(
        endpoint->ca_certs,
        ParseCertificates(config.ca_data, config.source + ": certificate-authority-data"));
  }
  if (!config.client_cert_pem.empty()) {
    std::vector<X509Ptr> certs;
    IRSA_ASSIGN_OR_RETURN(
        certs, ParseCertificates(config.client_cert_pem, config.source + ": client certificate"));
    endpoint->client_cert = std::move(certs.front());
    IRSA_ASSIGN_OR_RETURN(endpoint->client_key,
                          ParsePrivateKey(config.client_key_pem, config.source + ": client key"));
    if (X509_check_private_key(endpoint->client_cert.get(), endpoint->client_key.get()) != 1) {
      ERR_clear_error();
      return Status::Error(config.source +
                           ": the client key does not match the client certificate");
    }
  }
  return std::unique_ptr<KubeClient>(new KubeClient(config, std::move(endpoint)));
}

KubeClient::KubeClient(KubeConfig config, std::unique_ptr<Endpoint> endpoint)
    : config_(std::move(config)), endpoint_(std::move(endpoint)) {
  if (config_.exec) {
    token_ = TokenSource::Exec(*config_.exec);
  } else {
    token_ = config_.token_file.empty() ? TokenSource::Static(config_.token)
                                        : TokenSource::File(config_.token_file);
  }
}

KubeClient::~KubeClient() = default;

struct KubeClient::Call {
  std::unique_ptr<httplib::ClientImpl> http;
  httplib::Headers headers;
  std::string token;  // the bearer token sent, to drop it when the API server refuses it
};

void KubeClient::NoteStatus(const Call& call, int http_status) const {
  if (http_status == 401) token_.Invalidate(call.token);
}

// One connection per call: calls from different threads never share a socket, and the token is
// read afresh for each.
Result<KubeClient::Call> KubeClient::NewCall(std::chrono::milliseconds timeout) const {
  const Endpoint& endpoint = *endpoint_;
  const KubeConfig& config = config_;
  const TokenSource& token_source = token_;
  Call call;
  if (endpoint.tls) {
    auto ssl = std::make_unique<httplib::SSLClient>(
        endpoint.host, endpoint.port, endpoint.client_cert.get(), endpoint.client_key.get());
    if (!ssl->is_valid())
      return Status::Error(StatusCode::kUnavailable,
                           endpoint.Url("") + ": cannot set up TLS: " + OpenSslError());
    if (config.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else if (!config.ca_file.empty()) {
      ssl->set_ca_cert_path(config.ca_file);
    } else if (!endpoint.ca_certs.empty()) {
      X509_STORE* store = X509_STORE_new();
      for (const auto& cert : endpoint.ca_certs) X509_STORE_add_cert(store, cert.get());
      ssl->set_ca_cert_store(store);  // the SSL context takes ownership
      ssl->set_ca_cert_path("", kNoSystemCaDir);
    }
    call.http = std::move(ssl);
  } else {
    call.http = std::make_unique<httplib::ClientImpl>(endpoint.host, endpoint.port);
  }
  const auto connect = std::min(timeout, kMaxConnectTimeout);
  call.http->set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(connect));
  call.http->set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  call.http->set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  call.http->set_tcp_nodelay(true);
  call.http->set_keep_alive(false);
  call.http->set_follow_location(false);
  std::string token;
  if (auto t = token_source.Token(); t.ok()) {
    token = std::move(t).value();
  } else {
    return Status::Error(config.source + ": " + t.error());
  }
  if (!token.empty()) call.headers.emplace("Authorization", "Bearer " + token);
  call.token = std::move(token);
  call.headers.emplace("Accept", "application/json");
  call.headers.emplace("User-Agent", "irsa-webhook");
  return call;
}

Result<json> KubeClient::Get(std::string_view path, std::chrono::milliseconds timeout,
                             CancelToken* cancel) const {
  auto call = NewCall(timeout);
  if (!call.ok()) return call.status();
  const std::string full = endpoint_->path_prefix + std::string(path);
  httplib::ClientImpl* http = call->http.get();
  if (cancel != nullptr && !cancel->Register([http] { http->stop(); })) return Cancelled("GET");
  const auto res = http->Get(full, call->headers);
  if (cancel != nullptr) {
    cancel->Unregister();
    if (cancel->cancelled()) return Cancelled("GET");
  }
  if (!res) return TransportError("GET", endpoint_->Url(path), res.error());
  NoteStatus(*call, res->status);
  if (res->status < 200 || res->status > 299) return HttpError("GET", path, res->status, res->body);
  auto parsed = ParseJson(res->body);
  if (!parsed.ok())
    return Status::Error("GET " + std::string(path) + ": invalid JSON: " + parsed.error());
  return std::move(parsed).value();
}

Result<std::string> KubeClient::List(std::string_view path,
                                     const std::function<void(json&& item)>& on_item,
                                     const ListOptions& options, CancelToken* cancel) const {
  std::string continue_token;
  std::string resource_version;
  const char separator = path.find('?') == std::string_view::npos ? '?' : '&';
  do {
    std::string page_path =
        std::string(path) + separator + "limit=" + std::to_string(options.page_size);
    if (!options.label_selector.empty())
      page_path += "&labelSelector=" + QueryEscape(options.label_selector);
    if (!continue_token.empty()) page_path += "&continue=" + QueryEscape(continue_token);
    auto page = Get(page_path, options.timeout, cancel);
    if (!page.ok()) return page.status();
    json& list = page.value();
    if (!list.is_object()) return Status::Error("GET " + page_path + ": not a list");
    continue_token.clear();
    if (const auto metadata = list.find("metadata");
        metadata != list.end() && metadata->is_object()) {
      // The first page's version is the snapshot every page belongs to; a watch from it replays
      // anything that changed while the later pages were read.
      if (const auto rv = metadata->find("resourceVersion");
          resource_version.empty() && rv != metadata->end() && rv->is_string()) {
        resource_version = rv->get<std::string>();
      }
      if (const auto next = metadata->find("continue");
          next != metadata->end() && next->is_string()) {
        continue_token = next->get<std::string>();
      }
    }
    if (const auto items = list.find("items"); items != list.end() && items->is_array()) {
      for (auto& item : *items) on_item(std::move(item));
    }
  } while (!continue_token.empty());
  return resource_version;
}

Result<Done> KubeClient::Watch(std::string_view path, const WatchOptions& options,
                               const std::function<bool(json&& event)>& on_event,
                               CancelToken* cancel) const {
  auto call = NewCall(std::chrono::duration_cast<std::chrono::milliseconds>(options.idle_timeout));
  if (!call.ok()) return call.status();
  std::string watch_path =
      std::string(path) + (path.find('?') == std::string_view::npos ? '?' : '&') + "watch=1";
  if (!options.resource_version.empty())
    watch_path += "&resourceVersion=" + QueryEscape(options.resource_version);
  if (options.allow_bookmarks) watch_path += "&allowWatchBookmarks=true";
  if (options.timeout_seconds > 0)
    watch_path += "&timeoutSeconds=" + std::to_string(options.timeout_seconds);

  httplib::ClientImpl* http = call->http.get();
  if (cancel != nullptr && !cancel->Register([http] { http->stop(); })) return Cancelled("watch");
  int status = 0;
  std::string buffer;   // a partial line, or the error body
  std::string failure;  // a malformed stream
  bool stopped_by_caller = false;
  const auto res = http->Get(
      endpoint_->path_prefix + watch_path, call->headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, std::size_t length) {
        if (cancel != nullptr && cancel->cancelled()) return false;
        if (status < 200 || status > 299) {
          if (buffer.size() < kMaxErrorBodyBytes)
            buffer.append(data, std::min(length, kMaxErrorBodyBytes));
          return true;
        }
        std::size_t scanned = buffer.size();
        buffer.append(data, length);
        std::size_t line_start = 0;
        // The API server writes one JSON object per line.
        for (std::size_t newline; (newline = buffer.find('\n', scanned)) != std::string::npos;
             scanned = newline + 1) {
          const std::string_view line(buffer.data() + line_start, newline - line_start);
          line_start = newline + 1;
          if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
          auto event = ParseJson(line);
          if (!event.ok() || !event->is_object()) {
            failure = "malformed watch event: " +
                      (event.ok() ? std::string("not an object") : event.error());
            return false;
          }
          if (!on_event(std::move(event).value())) {
            stopped_by_caller = true;
            return false;
          }
        }
        buffer.erase(0, line_start);
        if (buffer.size() > kMaxWatchLineBytes) {
          failure = "watch event larger than " + std::to_string(kMaxWatchLineBytes) + " bytes";
          return false;
        }
        return true;
      });
  if (cancel != nullptr) cancel->Unregister();
  if (stopped_by_caller) return Done{};
  if (cancel != nullptr && cancel->cancelled()) return Cancelled("watch");
  if (!failure.empty()) return Status::Error("WATCH " + watch_path + ": " + failure);
  NoteStatus(*call, status);
  if (status != 0 && (status < 200 || status > 299))
    return HttpError("WATCH", watch_path, status, buffer);
  if (!res) return TransportError("WATCH", endpoint_->Url(watch_path), res.error());
  return Done{};
}

Result<json> KubeClient::Patch(std::string_view path, const json& body, PatchType type,
                               std::chrono::milliseconds timeout) const {
  const char* content_type = type == PatchType::kMerge   ? "application/merge-patch+json"
                             : type == PatchType::kApply ? "application/apply-patch+yaml"
                                                         : "application/strategic-merge-patch+json";
  return Send("PATCH", path, body, content_type, timeout);
}

Result<json> KubeClient::Create(std::string_view path, const json& body,
                                std::chrono::milliseconds timeout) const {
  return Send("POST", path, body, "application/json", timeout);
}

Result<json> KubeClient::Send(std::string_view method, std::string_view path, const json& body,
                              const char* content_type, std::chrono::milliseconds timeout) const {
  auto call = NewCall(timeout);
  if (!call.ok()) return call.status();
  const std::string full = endpoint_->path_prefix + std::string(path);
  const auto res = method == "POST"
                       ? call->http->Post(full, call->headers, body.dump(), content_type)
                       : call->http->Patch(full, call->headers, body.dump(), content_type);
  if (!res) return TransportError(method, endpoint_->Url(path), res.error());
  NoteStatus(*call, res->status);
  if (res->status < 200 || res->status > 299)
    return HttpError(method, path, res->status, res->body);
  auto parsed = ParseJson(res->body);
  if (!parsed.ok())
    return Status::Error(std::string(method) + " " + std::string(path) +
                         ": invalid JSON: " + parsed.error());
  return std::move(parsed).value();
}

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

std::string ResourcePath(std::string_view group_version, std::string_view resource,
                         std::string_view ns, std::string_view name) {
  std::string path = group_version.find('/') == std::string_view::npos ? "/api/" : "/apis/";
  path += group_version;
  if (!ns.empty()) path += "/namespaces/" + std::string(ns);
  path += "/" + std::string(resource);
  if (!name.empty()) path += "/" + std::string(name);
  return path;
}

}  // namespace irsa::kube
