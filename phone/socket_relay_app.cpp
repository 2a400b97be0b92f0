#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <map>
#include <string>

#include "phone/phone_apps.hpp"

namespace tether::sim {
namespace {

using usbmux::conn_id;
using usbmux::device_session;

class socket_relay_app;

// A GSource watching one socket, on the thread that runs the phone (umockdev's
// worker, whose context is the thread default when a connection is accepted). It names
// its app and connection itself: the connection's record may be erased by another
// thread (a control command's unplug) while a dispatch waits for the phone's lock, and
// GLib keeps the source alive through its dispatch.
struct socket_source {
  GSource base;
  gpointer tag;
  socket_relay_app* owner;
  conn_id id;
};

// A connected socket to the local server playing the app, or -1 when it is not there.
int connect_tcp(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) return -1;
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

class socket_relay_app final : public phone_app {
 public:
  explicit socket_relay_app(std::function<int()> open) : open_(std::move(open)) {}
  ~socket_relay_app() override {
    for (auto& [id, c] : conns_) drop(c);
    if (pending_fd_ >= 0) ::close(pending_fd_);
  }

  // Opening the socket decides whether the phone accepts: a loopback connect completes
  // (or is refused) at once.
  bool ready_to_accept() override {
    if (pending_fd_ < 0) pending_fd_ = open_();
    return pending_fd_ >= 0;  // no app there: the host's connection is refused
  }

  void on_accept(device_session& s, conn_id id) override {
    if (!ready_to_accept()) {
      (void)s.abort(id);
      return;
    }
    const int fd = pending_fd_;
    pending_fd_ = -1;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto& c = conns_[id];
    c.fd = fd;
    c.id = id;
    c.source = g_source_new(const_cast<GSourceFuncs*>(&funcs), sizeof(socket_source));
    auto* watch = reinterpret_cast<socket_source*>(c.source);
    watch->tag = g_source_add_unix_fd(c.source, fd, G_IO_OUT);
    watch->owner = this;
    watch->id = id;
    g_source_attach(c.source, g_main_context_get_thread_default());
  }

  void on_ready(device_session& s, conn_id id) override {
    auto it = conns_.find(id);
    if (it != conns_.end()) pump(s, it->second);
  }

  // In the background the app touches none of its sockets: a socket that becomes ready
  // meanwhile is parked (dispatch), and the phone's on_ready calls after the resume
  // start each one again.
  void on_suspended(bool suspended) override { suspended_ = suspended; }

  void on_closed(conn_id id) override {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    drop(it->second);
    conns_.erase(it);
  }

 private:
  struct conn {
    int fd = -1;
    conn_id id = 0;
    bool connected = false;
    GSource* source = nullptr;
  };

  static gboolean dispatch(GSource* src, GSourceFunc, gpointer) {
    auto* watch = reinterpret_cast<socket_source*>(src);
    const GIOCondition cond = g_source_query_unix_fd(src, watch->tag);
    socket_relay_app* self = watch->owner;
    const conn_id id = watch->id;
    self->host_->with_session([&](device_session* s) {
      auto it = self->conns_.find(id);
      if (it == self->conns_.end()) return;
      if (s == nullptr || !s->info(id)) {  // the mux restarted under us
        self->drop(it->second);
        self->conns_.erase(it);
        return;
      }
      if (self->suspended_) {  // parked until the phone's on_ready after the resume
        g_source_modify_unix_fd(src, watch->tag, GIOCondition{});
        return;
      }
      self->on_socket(*s, it->second, cond);
    });
    return G_SOURCE_CONTINUE;
  }
  static constexpr GSourceFuncs funcs = {nullptr, nullptr, &socket_relay_app::dispatch,
                                         nullptr, nullptr, nullptr};

  void on_socket(device_session& s, conn& c, GIOCondition cond) {
    if (!c.connected) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(s, c);
      c.connected = true;
    }
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
      // Socket -> phone, only as much as the mux will take now (backpressure).
      std::array<std::byte, 65536> buf;
      while (s.send_space(c.id) > 0) {
        const ssize_t n = ::recv(c.fd, buf.data(), std::min(buf.size(), s.send_space(c.id)), 0);
        if (n == 0) return finish(s, c);  // the app closed: flush, then RST
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          return fail(s, c);
        }
        (void)s.send(c.id, std::span(buf).first(static_cast<std::size_t>(n)));
      }
    }
    pump(s, c);
  }

  // Phone -> socket for what the host sent, then choose what to wait for next.
  void pump(device_session& s, conn& c) {
    if (!c.connected) return;
    for (auto data = s.received(c.id); !data.empty(); data = s.received(c.id)) {
      const ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return fail(s, c);
      }
      s.consume(c.id, static_cast<std::size_t>(n));
    }
    int cond = 0;
    if (s.send_space(c.id) > 0) {
      cond |= G_IO_IN;
    } else {
      s.notify_writable(c.id);  // we never send short, so ask to hear when space frees
    }
    if (!s.received(c.id).empty()) cond |= G_IO_OUT;
    g_source_modify_unix_fd(c.source, reinterpret_cast<socket_source*>(c.source)->tag,
                            static_cast<GIOCondition>(cond));
  }

  void finish(device_session& s, conn& c) {
    (void)s.close(c.id, {});
    const conn_id id = c.id;
    drop(c);
    conns_.erase(id);
  }
  void fail(device_session& s, conn& c) {
    (void)s.abort(c.id);
    const conn_id id = c.id;
    drop(c);
    conns_.erase(id);
  }
  static void drop(conn& c) {
    if (c.source != nullptr) {
      g_source_destroy(c.source);
      g_source_unref(c.source);
      c.source = nullptr;
    }
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
  }

  std::function<int()> open_;
  bool suspended_ = false;         // under the phone's lock (with_session)
  int pending_fd_ = -1;            // connected by ready_to_accept(), taken by on_accept()
  std::map<conn_id, conn> conns_;  // node-based: GSources keep pointers to the values
};

}  // namespace

std::unique_ptr<phone_app> make_tcp_relay_app(std::string host, std::uint16_t port) {
  return std::make_unique<socket_relay_app>(
      [host = std::move(host), port] { return connect_tcp(host, port); });
}

std::unique_ptr<phone_app> make_socket_relay_app(std::function<int()> open) {
  return std::make_unique<socket_relay_app>(std::move(open));
}

}  // namespace tether::sim
