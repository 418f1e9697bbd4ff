// What the listeners hand to the endpoints and get back: an HTTP/1.1 request head with the
// headers the endpoints decide on, and a response. Plain data: no sockets, no parsing.
//
// Owns: nothing but the values. RequestHead holds views into the transport's parser, valid for
// the duration of one endpoint call.
// Never: carries the request body (it is passed separately, once read) or connection state
// beyond `keep_alive` (the transport decides when a connection ends).
// Thread-safety: values; share nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace irsa::server {

struct RequestHead {
  std::string_view method;
  std::string_view target;  // as sent: path and query
  // The raw values of the headers the endpoints check; nullopt when absent.
  std::optional<std::string_view> content_length;
  std::optional<std::string_view> transfer_encoding;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> content_encoding;
  std::string_view remote;  // "address:port" of the client, for logs

  // The path without the query string.
  std::string_view path() const { return target.substr(0, target.find('?')); }
  // True when a body follows the head (a Content-Length above 0 or a transfer coding).
  bool has_body() const {
    return transfer_encoding.has_value() || (content_length.has_value() && *content_length != "0");
  }
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // the Allow header of a 405; empty otherwise
};

// Content-Length as a number: nullopt for anything but 1 to 19 decimal digits, spaces around
// allowed (RFC 9110 section 8.6: no sign, no list). 19 digits always fit in 64 bits.
std::optional<std::uint64_t> ParseContentLength(std::string_view value);

// True for "application/json", with any parameters ("application/json; charset=utf-8"),
// case-insensitive.
bool IsJsonContentType(std::string_view content_type);

// The reason phrase of a status code ("Not Found"); "Unknown" for codes without one here.
std::string_view ReasonPhrase(int status);

// The bytes of a response: status line, Content-Type, Content-Length, Allow when set,
// "Connection: close" when `close`, then the body (none for HEAD requests).
std::string RenderResponse(const Response& response, bool close, bool head_request);

}  // namespace irsa::server
