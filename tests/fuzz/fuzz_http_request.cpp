// Fuzz target: the HTTP request parser of `tether cam view` as the server feeds it,
// in pieces whose size the first byte picks, one request after another (keep-alive).
// It must reject bad input with a status code and a reason, never hold more than the
// bounds, always make progress, and whatever it accepts must obey the bounds too.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "viewer/http_request.hpp"

using namespace tether::viewer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const auto in = std::span(reinterpret_cast<const char*>(data) + 1, size - 1);
  const http_limits limits{512, 8, 256};  // small, so every bound is reachable
  http_request_parser parser(limits);
  std::size_t at = 0;
  while (at < in.size()) {
    const auto chunk = in.subspan(at, std::min(piece, in.size() - at));
    const std::size_t used = parser.feed(chunk);
    if (used > chunk.size()) std::abort();
    if (parser.buffered() > limits.max_head + limits.max_body) std::abort();
    at += used;
    switch (parser.state()) {
      case http_request_parser::status::incomplete:
        if (used != chunk.size()) std::abort();  // it takes all it is given
        break;
      case http_request_parser::status::failed: {
        const int s = parser.error_status();
        if ((s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505) ||
            parser.error_text().empty())
          std::abort();
        if (parser.feed(in.subspan(at)) != 0) std::abort();  // nothing more once failed
        return 0;                                            // the server answers and closes
      }
      case http_request_parser::status::complete: {
        const http_request r = parser.take();
        if (r.method.empty() || r.method.size() > 16 || r.target.empty() ||
            r.target.front() != '/' || r.body.size() > limits.max_body ||
            r.headers.size() > limits.max_headers ||
            r.target != r.path + (r.target.find('?') == std::string::npos ? "" : "?" + r.query) ||
            (r.minor_version != 0 && r.minor_version != 1))
          std::abort();
        for (const auto& h : r.headers)
          if (h.first.empty() || std::any_of(h.first.begin(), h.first.end(),
                                             [](char c) { return c >= 'A' && c <= 'Z'; }))
            std::abort();
        if (parser.buffered() != 0) std::abort();
        break;
      }
    }
  }
  return 0;
}
