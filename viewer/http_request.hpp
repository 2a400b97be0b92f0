#pragma once
// An HTTP/1.x request parser for the viewer's small server (`tether cam view`). It reads
// what a browser, curl or a script sends: a request line, header fields and a body with
// Content-Length. Everything is bounded: the head (request line and headers), the
// number of header fields and the body; input beyond a bound, or that is not HTTP/1.0
// or 1.1, fails with the status code to answer and a reason. It never holds more than
// one request: feed() stops at the end of the request and says how much it consumed.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::viewer {

struct http_request {
  std::string method;     // "GET", "POST", ... (a token, as sent)
  std::string target;     // "/api/stats?x=1", as sent (origin form: starts with '/')
  std::string path;       // the target before '?'
  std::string query;      // after '?', without it (not decoded)
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive

  // The first field of that name (lower case), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct http_limits {
  std::size_t max_head = 8192;   // request line and header fields, with their line ends
  std::size_t max_headers = 64;  // header fields
  std::size_t max_body = 16384;  // Content-Length
};

class http_request_parser {
 public:
  enum class status { incomplete, complete, failed };

  explicit http_request_parser(http_limits limits = {}) : limits_(limits) {}

  // Takes bytes of the request being read and returns how many it used: all of them
  // until the request is complete; the rest belongs to the next request. Once complete
  // or failed it takes nothing more until take() or reset().
  std::size_t feed(std::span<const char> bytes);
  status state() const { return state_; }
  // When failed: the status code to answer (400, 413, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_text() const { return error_text_; }
  // The complete request; the parser is then ready for the next one.
  http_request take();
  void reset();
  // Bytes held for the request being read (head so far, or body so far).
  std::size_t buffered() const { return head_.size() + request_.body.size(); }
  const http_limits& limits() const { return limits_; }

 private:
  void fail(int status, std::string why);
  void parse_head();
  bool parse_request_line(std::string_view line);
  bool parse_header_line(std::string_view line);

  http_limits limits_;
  status state_ = status::incomplete;
  bool in_body_ = false;
  std::size_t body_length_ = 0;
  std::string head_;
  http_request request_;
  int error_status_ = 0;
  std::string error_text_;
};

}  // namespace tether::viewer
