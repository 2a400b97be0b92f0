// The request parser of `tether cam view`: what browsers and curl send is read in any
// chunking; what breaks a bound or is not HTTP/1.x fails with the status to answer.
#include "viewer/http_request.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace tether::viewer;
using status = http_request_parser::status;

namespace {

// Feeds `text` in pieces of `piece` bytes; returns the bytes consumed.
std::size_t feed(http_request_parser& p, const std::string& text, std::size_t piece = 1000) {
  std::size_t at = 0;
  while (at < text.size() && p.state() == status::incomplete) {
    const std::size_t n = std::min(piece, text.size() - at);
    at += p.feed(std::span(text.data() + at, n));
  }
  return at;
}

}  // namespace

TEST(HttpRequest, ReadsAPostWithBodyInAnyChunking) {
  const std::string text =
      "POST /api/set?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type:  application/json \r\n"
      "Content-Length: 28\r\n\r\n{\"name\":\"iso\",\"value\":\"800\"}";
  for (std::size_t piece : {1u, 3u, 17u, 1000u}) {
    http_request_parser p;
    EXPECT_EQ(feed(p, text, piece), text.size());
    ASSERT_EQ(p.state(), status::complete) << piece;
    const auto r = p.take();
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/api/set");
    EXPECT_EQ(r.query, "x=1");
    ASSERT_NE(r.header("content-type"), nullptr);
    EXPECT_EQ(*r.header("content-type"), "application/json");
    EXPECT_EQ(r.body, "{\"name\":\"iso\",\"value\":\"800\"}");
    EXPECT_TRUE(r.keep_alive);
  }
}

TEST(HttpRequest, StopsAtTheEndOfOneRequestAndReadsTheNext) {
  const std::string text = "GET / HTTP/1.1\r\n\r\nGET /stream.mjpg HTTP/1.0\n\n";
  http_request_parser p;
  const std::size_t used = p.feed(text);
  EXPECT_EQ(used, 18u);
  ASSERT_EQ(p.state(), status::complete);
  EXPECT_EQ(p.take().path, "/");
  EXPECT_EQ(p.feed(std::span(text).subspan(used)), text.size() - used);
  ASSERT_EQ(p.state(), status::complete);
  const auto r = p.take();
  EXPECT_EQ(r.path, "/stream.mjpg");
  EXPECT_EQ(r.minor_version, 0);
  EXPECT_FALSE(r.keep_alive);  // HTTP/1.0 without Connection: keep-alive
}

TEST(HttpRequest, RejectsWithTheStatusToAnswer) {
  const std::pair<std::string, int> cases[] = {
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / FTP/1.0\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET http://x/ HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
  };
  for (const auto& [text, code] : cases) {
    http_request_parser p;
    feed(p, text);
    EXPECT_EQ(p.state(), status::failed) << text;
    EXPECT_EQ(p.error_status(), code) << text << ": " << p.error_text();
    EXPECT_FALSE(p.error_text().empty());
  }
}

TEST(HttpRequest, HoldsNoMoreThanTheBoundsWhateverComes) {
  http_request_parser line({1024, 4, 64});
  feed(line, "GET /" + std::string(1 << 20, 'a'), 4096);
  EXPECT_EQ(line.state(), status::failed);
  EXPECT_EQ(line.error_status(), 414);
  EXPECT_EQ(line.buffered(), 0u);

  http_request_parser many({1 << 20, 4, 64});
  std::string text = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) text += "X-" + std::to_string(i) + ": v\r\n";
  feed(many, text + "\r\n");
  EXPECT_EQ(many.state(), status::failed);
  EXPECT_EQ(many.error_status(), 431);

  http_request_parser head({1024, 64, 64});
  feed(head, "GET / HTTP/1.1\r\nX: " + std::string(1 << 20, 'b'), 4096);
  EXPECT_EQ(head.error_status(), 431);
}
