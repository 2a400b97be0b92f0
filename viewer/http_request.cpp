#include "viewer/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace tether::viewer {
namespace {

bool is_tchar(char c) {  // RFC 9110 token characters
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated list (Connection) hold this token, in any case?
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (lower(trim(list.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

const std::string* http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

void http_request_parser::reset() {
  state_ = status::incomplete;
  in_body_ = false;
  body_length_ = 0;
  head_.clear();
  request_ = {};
  error_status_ = 0;
  error_text_.clear();
}

http_request http_request_parser::take() {
  http_request r = std::move(request_);
  reset();
  return r;
}

void http_request_parser::fail(int status_code, std::string why) {
  state_ = status::failed;
  error_status_ = status_code;
  error_text_ = std::move(why);
  head_.clear();
  request_.body.clear();
}

std::size_t http_request_parser::feed(std::span<const char> bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && state_ == status::incomplete) {
    if (in_body_) {
      const std::size_t n = std::min(bytes.size() - used, body_length_ - request_.body.size());
      request_.body.append(bytes.data() + used, n);
      used += n;
      if (request_.body.size() == body_length_) state_ = status::complete;
      continue;
    }
    const char c = bytes[used++];
    // Empty lines before a request line are skipped (RFC 9112 section 2.2).
    if (head_.empty() && (c == '\r' || c == '\n')) continue;
    if (head_.size() >= limits_.max_head) {
      if (head_.find('\n') == std::string::npos)
        fail(414, "request line over " + std::to_string(limits_.max_head) + " bytes");
      else
        fail(431, "request head over " + std::to_string(limits_.max_head) + " bytes");
      break;
    }
    head_.push_back(c);
    if (c == '\n' && (head_.ends_with("\n\n") || head_.ends_with("\n\r\n"))) {
      parse_head();
      if (state_ == status::incomplete && body_length_ == 0) state_ = status::complete;
    }
  }
  return used;
}

void http_request_parser::parse_head() {
  std::string_view rest(head_);
  bool first = true;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) break;  // the end of the head
    if (line.find('\r') != std::string_view::npos)
      return fail(400, "a bare CR inside a line of the request head");
    if (first ? !parse_request_line(line) : !parse_header_line(line)) return;
    first = false;
  }
  head_.clear();
  if (request_.header("transfer-encoding") != nullptr)
    return fail(501, "Transfer-Encoding is not supported: send the body with Content-Length");
  const std::string* length = nullptr;
  for (const auto& [k, v] : request_.headers) {
    if (k != "content-length") continue;
    if (length != nullptr && *length != v) return fail(400, "two different Content-Length");
    length = &v;
  }
  if (length != nullptr) {
    if (length->empty() || length->size() > 18 ||
        !std::all_of(length->begin(), length->end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
      return fail(400, "Content-Length is not a number: " + length->substr(0, 32));
    body_length_ = std::stoull(*length);
    if (body_length_ > limits_.max_body)
      return fail(413, "body of " + *length + " bytes, over " + std::to_string(limits_.max_body));
  }
  const std::string* connection = request_.header("connection");
  request_.keep_alive = request_.minor_version == 1
                            ? !(connection != nullptr && has_token(*connection, "close"))
                            : connection != nullptr && has_token(*connection, "keep-alive");
  in_body_ = body_length_ > 0;
}

bool http_request_parser::parse_request_line(std::string_view line) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    fail(400, "the request line is not METHOD TARGET VERSION");
    return false;
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method) || method.size() > 16) {
    fail(400, "the method is not a token of at most 16 characters");
    return false;
  }
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    fail(400, "the target is not a path starting with '/' in visible ASCII");
    return false;
  }
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    request_.minor_version = version.back() - '0';
  } else if (version.size() == 8 && version.starts_with("HTTP/") &&
             std::isdigit(static_cast<unsigned char>(version[5])) != 0 && version[6] == '.' &&
             std::isdigit(static_cast<unsigned char>(version[7])) != 0) {
    fail(505, "HTTP version " + std::string(version.substr(5)) + " is not supported");
    return false;
  } else {
    fail(400, "the request line does not end with HTTP/1.1 or HTTP/1.0");
    return false;
  }
  request_.method = method;
  request_.target = target;
  const auto q = target.find('?');
  request_.path = target.substr(0, q);
  request_.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  return true;
}

bool http_request_parser::parse_header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail(400, "folded header lines are not accepted");
    return false;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    fail(400, "a header line is not NAME: VALUE");
    return false;
  }
  const auto value = trim(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
      })) {
    fail(400, "a control character in the value of " + std::string(line.substr(0, colon)));
    return false;
  }
  if (request_.headers.size() == limits_.max_headers) {
    fail(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
    return false;
  }
  request_.headers.emplace_back(lower(line.substr(0, colon)), value);
  return true;
}

}  // namespace tether::viewer
