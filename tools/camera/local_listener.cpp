#include "tools/camera/local_listener.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/log.hpp"

namespace tether::camera {

local_listener::local_listener(session_hub& hub, std::string path, const std::string& group)
    : hub_(hub), path_(std::move(path)), acceptor_(hub.io()) {
  // A socket file left by a previous run that died blocks bind; a live one answers.
  {
    asio::local::stream_protocol::socket probe(hub.io());
    std::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path_), ec);
    if (!ec) throw std::runtime_error(path_ + " is in use: is another tether-camera running?");
    ::unlink(path_.c_str());
  }
  // The default, /run/tether/camera.sock, lives in the service's RuntimeDirectory. Run by
  // hand it may not exist yet: made here when this user may (root), said plainly if not.
  if (const auto slash = path_.rfind('/'); slash != std::string::npos && slash > 0) {
    const std::string dir = path_.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT && ::mkdir(dir.c_str(), 0755) != 0)
      throw std::runtime_error("cannot listen on " + path_ + ": " + dir +
                               " does not exist and cannot be made (" + std::strerror(errno) +
                               "): start the tether-camera service, which makes it, or choose "
                               "another socket with --listen PATH");
  }
  std::error_code ec;
  const mode_t old = ::umask(0117);  // the socket is born 0660, never briefly wider
  acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_.bind(asio::local::stream_protocol::endpoint(path_), ec);
  ::umask(old);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + path_ + ": " + ec.message() +
                             " (does its directory exist and may this user write there?)");
  if (!group.empty()) {
    const ::group* g = ::getgrnam(group.c_str());
    if (g == nullptr) throw std::runtime_error("no group called '" + group + "'");
    if (::chown(path_.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      throw std::runtime_error("cannot give " + path_ + " to group " + group + ": " +
                               std::strerror(errno));
  }
  ::chmod(path_.c_str(), 0660);
  log::info("local controllers: listening on " + path_);
  accept();
}

local_listener::~local_listener() {
  std::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

void local_listener::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      const int fd = s.release();
      stream_socket g(hub_.io(), asio::generic::stream_protocol(AF_UNIX, 0), fd);
      hub_.start_session(std::move(g), "local controller " + std::to_string(next_++), {}, {});
    } else {
      log::warn("local controllers: accept failed: " + ec.message());
    }
    accept();
  });
}

}  // namespace tether::camera
