#include "tools/cli/cam_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/phone_port.hpp"

namespace tether::cli {

namespace cam = proto::camera;

namespace {

int connect_local(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw cli_error(usage, "camera socket path too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw cli_error(no_daemon,
                    "cannot reach tether-camera at " + path + ": " + std::strerror(err) +
                        " (start tether-camera first, or choose its socket with --camera)");
  }
  return fd;
}

}  // namespace

cam_client::cam_client(const std::string& path) : fd_(connect_local(path)) { say_hello(); }

cam_client::cam_client(const cam_options& o) {
  if (o.phone_port == 0) {
    fd_ = connect_local(o.socket);
  } else {
    peer_ = "the camera app on the phone (port " + std::to_string(o.phone_port) + ")";
    fd_ = open_phone_port(o.daemon.socket, o.daemon.udid, o.phone_port);
  }
  say_hello();
}

void cam_client::say_hello() {
  send(cam::messages::hello{cam::protocol_version, cam::role::controller, "tether cam", {}}, 0);
  auto [m, tag] = next();
  const auto* h = std::get_if<cam::messages::hello>(&m);
  if (h == nullptr) throw cli_error(failed, peer_ + " did not say hello first");
  camera_name_ = h->name;
}

cam_client::~cam_client() {
  if (fd_ >= 0) ::close(fd_);
}

void cam_client::send(const cam::message& m, std::uint32_t tag) {
  const auto bytes = cam::encode(m, tag);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw cli_error(no_daemon, "lost the connection to " + peer_);
    sent += static_cast<std::size_t>(n);
  }
}

std::optional<std::pair<cam::message, std::uint32_t>> cam_client::take_buffered() {
  auto f = reader_.next();
  if (!f) return std::nullopt;
  auto decoded = cam::decode(*f);
  if (auto* e = std::get_if<cam::decode_error>(&decoded))
    throw cli_error(failed, peer_ + " sent a frame that cannot be read: " + e->text);
  return std::pair{std::get<cam::message>(std::move(decoded)), f->tag};
}

void cam_client::receive() {
  std::byte buf[65536];
  ssize_t n;
  do n = ::recv(fd_, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) throw cli_error(no_daemon, peer_ + " closed the connection");
  if (auto ec = reader_.feed(std::span(buf, static_cast<std::size_t>(n))))
    throw cli_error(failed, peer_ + "'s stream cannot be read: " + reader_.error_text());
}

std::pair<cam::message, std::uint32_t> cam_client::next() {
  for (;;) {
    if (auto m = take_buffered()) return std::move(*m);
    receive();
  }
}

std::optional<std::pair<cam::message, std::uint32_t>> cam_client::next_unless(int wake_fd) {
  for (;;) {
    if (auto m = take_buffered()) return m;
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw cli_error(failed, std::string("poll: ") + std::strerror(errno));
    }
    if (fds[1].revents != 0) return std::nullopt;
    receive();
  }
}

std::uint32_t cam_client::send_request(const cam::message& m) {
  const std::uint32_t tag = ++tag_;
  send(m, tag);
  return tag;
}

cam::message cam_client::request(const cam::message& m, const on_other& other) {
  const std::uint32_t tag = send_request(m);
  for (;;) {
    auto [reply, t] = next();
    if (t != tag) {
      if (other) other(reply, t);
      continue;
    }
    if (const auto* e = std::get_if<cam::messages::error>(&reply))
      throw cli_error(e->code == cam::error_code::no_camera ? no_phone : failed,
                      "the camera refused: " + e->message + " (" + cam::to_string(e->code) + ")");
    return reply;
  }
}

}  // namespace tether::cli
