// tether chat: the group chat room of proto/chat/chat_room.hpp on a TCP port, for
// `nc localhost 12345` on the board and for phone apps through a reverse channel. A thin
// Asio adapter: one thread; per connection one read of up to 4 KiB at a time and one
// write in flight (what take_output gave, counted against the backlog until written);
// the room decides the rest. A connection the room drops gets its last words (at most
// 2 s to take them) and is closed. One log line per event on stderr.
#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "proto/chat/chat_room.hpp"
#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"

namespace tether::cli {
namespace {

using asio::ip::tcp;
namespace chat = proto::chat;

constexpr std::size_t read_size = 4096;
// Small, so a client that stops reading shows in the room's backlog soon (Linux doubles it).
constexpr int send_buffer = 64 * 1024;
constexpr auto last_words_grace = std::chrono::seconds(2);
constexpr auto accept_retry = std::chrono::milliseconds(100);

std::string endpoint_text(const tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

void say(const std::string& line) { std::fprintf(stderr, "chat: %s\n", line.c_str()); }

class chat_server {
 public:
  chat_server(asio::io_context& io, tcp::acceptor acceptor)
      : acceptor_(std::move(acceptor)), retry_(io) {}

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void start() { accept(); }

  // Stops accepting and closes every connection; the loop then runs out of work.
  void stop() {
    std::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    while (!connections_.empty()) {
      const connection_ptr c = connections_.begin()->second;
      close(c);
    }
  }

  std::size_t members() const { return room_.members(); }

 private:
  struct connection {
    explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;  // the grace for a dropped connection's last words
    chat::member_id id{};
    std::string peer;  // ADDRESS:PORT
    std::string name;  // as last logged
    std::array<char, read_size> in{};
    std::string out;         // the write in flight
    std::string last_words;  // a dropped connection's, waiting for `out`
    bool writing = false;
    bool dropped = false;  // the room let go: last words, then close
    bool last_words_sent = false;
    bool closed = false;
  };
  using connection_ptr = std::shared_ptr<connection>;

  void accept() {
    acceptor_.async_accept([this](std::error_code ec, tcp::socket s) {
      if (!acceptor_.is_open()) return;
      if (ec) {
        // Out of descriptors, most likely: say it and try again shortly, not in a spin.
        say("cannot accept a connection: " + ec.message());
        retry_.expires_after(accept_retry);
        retry_.async_wait([this](std::error_code tec) {
          if (!tec) accept();
        });
        return;
      }
      auto c = std::make_shared<connection>(std::move(s));
      std::error_code ignored;
      c->peer = endpoint_text(c->socket.remote_endpoint(ignored));
      c->socket.set_option(tcp::no_delay(true), ignored);
      c->socket.set_option(asio::socket_base::send_buffer_size(send_buffer), ignored);
      c->id = room_.join();
      connections_.emplace(c->id, c);
      read(c);
      settle();
      accept();
    });
  }

  void read(const connection_ptr& c) {
    c->socket.async_read_some(asio::buffer(c->in), [this, c](std::error_code ec, std::size_t n) {
      if (c->closed) return;
      if (c->dropped) {
        // What it says no longer counts: reading on only lets its last words arrive
        // whole (closing on unread input would reset the connection) and sees it go.
        if (ec) return close(c);
        return read(c);
      }
      if (ec) return gone(c);
      room_.received(c->id, std::string_view(c->in.data(), n));
      settle();
      if (!c->closed) read(c);
    });
  }

  void write(const connection_ptr& c) {
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(c->out),
                      [this, c](std::error_code ec, std::size_t n) { wrote(c, ec, n); });
  }

  void wrote(const connection_ptr& c, std::error_code ec, std::size_t n) {
    c->writing = false;
    c->out.clear();
    if (c->closed) return;
    if (ec) return gone(c);
    if (c->dropped) {
      if (!c->last_words_sent) return flush(c);
      // Said: end our side, and wait (within the grace) for the peer to end its own.
      std::error_code ignored;
      c->socket.shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    room_.written(c->id, n);
    flush(c);
  }

  // The peer closed, or its socket failed.
  void gone(const connection_ptr& c) {
    if (c->closed) return;
    if (!c->dropped && !c->name.empty()) say(c->name + " left");
    close(c);
    settle();
  }

  void close(const connection_ptr& c) {
    if (c->closed) return;
    c->closed = true;
    std::error_code ignored;
    c->socket.close(ignored);
    c->timer.cancel();
    const chat::member_id id = c->id;
    connections_.erase(id);
    room_.left(id);  // "NAME has left" to the others; nothing for a dropped one
  }

  // After anything the room was told: log who joined, was renamed or dropped, and start
  // the writes its output calls for.
  void settle() {
    for (auto& [id, c] : connections_) {
      if (c->dropped) continue;
      const std::string_view now = room_.name(id);
      if (now.empty() || now == c->name) continue;
      if (c->name.empty())
        say(std::string(now) + " joined from " + c->peer);
      else
        say(c->name + " is now " + std::string(now));
      c->name = now;
    }
    for (const auto& d : room_.take_dropped()) {
      const auto it = connections_.find(d.id);
      if (it == connections_.end()) continue;
      const connection_ptr c = it->second;
      say("dropped " + (d.name.empty() ? c->peer : d.name) + ": " + d.why);
      c->dropped = true;
      c->last_words = room_.take_output(d.id);  // the room forgets it now
      if (c->last_words.empty()) {
        close(c);  // a slow reader: nothing more to say, and its write in flight is dropped
        continue;
      }
      c->timer.expires_after(last_words_grace);
      c->timer.async_wait([this, c](std::error_code ec) {
        if (!ec) close(c);
      });
    }
    for (auto it = connections_.begin(); it != connections_.end();) {
      const connection_ptr c = (it++)->second;  // flush may close (and erase) it
      flush(c);
    }
  }

  void flush(const connection_ptr& c) {
    if (c->closed || c->writing) return;
    if (c->dropped) {
      if (c->last_words_sent) return;
      c->out = std::move(c->last_words);
      c->last_words.clear();
      c->last_words_sent = true;
      return write(c);
    }
    c->out = room_.take_output(c->id);
    if (!c->out.empty()) write(c);
  }

  chat::chat_room room_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::map<chat::member_id, connection_ptr> connections_;
};

tcp::acceptor listen_on(asio::io_context& io, const tcp::endpoint& at) {
  tcp::acceptor acceptor(io);
  std::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec == asio::error::address_in_use)
    throw cli_error(failed, "port " + std::to_string(at.port()) +
                                " is in use: is another chat server running? use --port");
  if (ec == asio::error::access_denied)
    throw cli_error(failed, "cannot listen on port " + std::to_string(at.port()) +
                                ": ports below 1024 need root; use --port");
  if (ec == std::errc::address_not_available)
    throw cli_error(failed, "cannot listen on " + at.address().to_string() +
                                ": no interface of this machine has that address");
  if (ec) throw cli_error(failed, "cannot listen on " + endpoint_text(at) + ": " + ec.message());
  return acceptor;
}

}  // namespace

int run_chat(const chat_options& o) {
  std::string host = o.address;
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec)
    throw cli_error(
        usage, "--address takes an IP address, e.g. 127.0.0.1 or ::1, not '" + o.address + "'");
  if (!address.is_loopback() && !o.allow_remote)
    throw cli_error(usage, "not listening on " + o.address +
                               ": the chat has no login, so anyone who can reach that address "
                               "could join and read along. Add --allow-remote if that is what "
                               "you want");
  asio::io_context io;
  chat_server server(io, listen_on(io, tcp::endpoint(address, o.port)));
  say("listening on " + endpoint_text(server.local_endpoint()));  // --port 0: the one chosen
  server.start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code sec, int) {
    if (sec) return;
    signals.clear();  // a second Ctrl-C ends the process at once
    say("stopping (" + std::to_string(server.members()) + " connected)");
    server.stop();
  });
  io.run();
  return ok;
}

}  // namespace tether::cli
