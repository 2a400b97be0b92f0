#pragma once
// A small HTTP/1.1 server on Asio for `tether cam view`. The io_context's one thread
// runs every connection, so nothing here needs a lock. Requests are read with
// http_request_parser (bounded); a handler answers at once or later, from any thread;
// an answer can also become a stream of parts where a newer part replaces one not yet
// sent (MJPEG live view), so a slow client gets fewer parts, never older ones, and
// holds at most two (one being written, one waiting).
//
// Bounds: connections (beyond: 503 and close), the request (http_limits), time to send
// a request head (idle timeout) and time for one write to finish (write timeout: a
// client that stops reading is closed, it cannot hold memory or stall the others).
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "viewer/http_request.hpp"

namespace tether::viewer {

struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more header fields
  std::filesystem::path file;  // when not empty: the body is this file, read as it is sent
};

// A response that goes on until the client leaves. Use it on the io thread only.
class http_stream {
 public:
  virtual ~http_stream() = default;
  // Sends `part` after the one being written; returns true when it replaced a part
  // that had been waiting (that one is never sent).
  virtual bool offer(std::shared_ptr<const std::string> part) = 0;
  virtual bool closed() const = 0;
};

class http_connection;

// How a handler answers one request: send() once, from any thread, or stream() in the
// handler itself.
class http_reply {
 public:
  explicit http_reply(std::shared_ptr<http_connection> c) : c_(std::move(c)) {}
  void send(http_response r) const;
  // Answers 200 with this Content-Type and no length; the body is the parts offered.
  std::shared_ptr<http_stream> stream(const std::string& content_type) const;

 private:
  std::shared_ptr<http_connection> c_;
};

struct http_server_options {
  std::size_t max_connections = 64;
  std::chrono::milliseconds idle_timeout{10000};   // to send a request head, or between
  std::chrono::milliseconds write_timeout{10000};  // for one write to complete
  http_limits limits;
};

class http_server {
 public:
  using handler = std::function<void(const http_request&, http_reply)>;
  // Binds and listens at once; throws std::system_error (EADDRINUSE, ...) from bind.
  http_server(asio::io_context& io, const asio::ip::tcp::endpoint& at, handler h,
              http_server_options o = {});
  ~http_server();
  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // Stops accepting and closes every connection (io thread).
  void close();

  struct shared;  // the handler and options, which connections share (http_server.cpp)

 private:
  void accept();
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<shared> shared_;
  std::vector<std::weak_ptr<http_connection>> connections_;
};

// "OK", "Not Found", ... for the status codes used here.
const char* http_reason(int status);

}  // namespace tether::viewer
