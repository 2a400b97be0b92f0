#include "tools/cli/cam_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/fd_io.hpp"
#include "tools/cli/phone_port.hpp"
#include "tools/cli/phones.hpp"

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

cam_client::cam_client(const cam_options& o) {
  if (o.phone_port == 0) {
    fd_ = connect_local(o.socket);
  } else {
    peer_ = "the app on port " + std::to_string(o.phone_port);
    phone chosen;
    fd_ = open_phone_port(o.daemon.socket, o.daemon.udid, o.phone_port, &chosen);
    daemon_ = o.daemon.socket;
    udid_ = chosen.udid;
  }
  say_hello();
}

void cam_client::say_hello() {
  send(cam::messages::hello{cam::protocol_version, cam::role::controller, "tether cam", {}}, 0);
  const bool app = peer_ != "tether-camera";
  const auto deadline = std::chrono::steady_clock::now() + hello_wait;
  std::optional<std::pair<cam::message, std::uint32_t>> first;
  while (!(first = take_buffered())) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readable(left)) {
      const std::string bound = std::to_string(hello_wait.count()) + " s";
      if (app)
        throw cli_error(failed, peer_ + " accepted the connection but did not say hello within " +
                                    bound + ": is it a tether camera app, and is it in the " +
                                    "foreground?");
      throw cli_error(failed, "tether-camera did not say hello within " + bound +
                                  ": is it stuck? (its log says why)");
    }
    if (!receive())
      throw cli_error(failed, peer_ + " does not speak tether's camera protocol (" +
                                  reader_.error_text() + "): is this the camera" +
                                  (app ? " app's port?" : "'s socket?"));
  }
  const auto* h = std::get_if<cam::messages::hello>(&first->first);
  if (h == nullptr)
    throw cli_error(
        failed, peer_ + " did not begin with hello: is it a tether camera" + (app ? " app?" : "?"));
  // An echo service hands our own hello back: that is no camera.
  if (h->sender != cam::role::camera)
    throw cli_error(failed, peer_ + " is not a camera: its hello says it is a controller" +
                                (app ? " (is this the camera app's port?)" : ""));
  camera_name_ = h->name;
}

cam_client::~cam_client() {
  if (fd_ >= 0) ::close(fd_);
}

void cam_client::send(const cam::message& m, std::uint32_t tag) {
  if (!send_all(fd_, cam::encode(m, tag))) connection_ended();
}

void cam_client::connection_ended() {
  if (udid_.empty()) throw cli_error(no_daemon, peer_ + " closed the connection");
  // Through the daemon, an unplugged phone and an app that quit look alike here: the
  // daemon's list tells them apart. The daemon may hear of the unplug a moment after
  // the connection broke, so the phone gets up to a second to leave the list.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    bool attached = true;
    try {
      mux_client c(daemon_);
      const auto phones = list_phones(c);
      attached = std::any_of(phones.begin(), phones.end(),
                             [&](const phone& p) { return p.udid == udid_; });
    } catch (const cli_error&) {
      throw cli_error(no_daemon, "lost " + peer_ + " and the daemon at " + daemon_ +
                                     " with it: did tetherd stop?");
    }
    if (!attached) throw cli_error(no_phone, "phone " + udid_ + " went away (unplugged?)");
    if (std::chrono::steady_clock::now() >= give_up)
      throw cli_error(failed, peer_ + " closed the connection: did the app quit, or go to the " +
                                  "background?");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
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

namespace {
volatile std::sig_atomic_t waits_interrupted = 0;
}  // namespace

void cam_client::interrupt_waits() { waits_interrupted = 1; }

bool cam_client::readable(std::chrono::milliseconds limit) {
  pollfd p{fd_, POLLIN, 0};
  int ready;
  do {
    if (waits_interrupted) throw cli_error(interrupted, "interrupted");
    ready = ::poll(&p, 1, static_cast<int>(limit.count()));
  } while (ready < 0 && errno == EINTR);
  return ready != 0;  // an error shows in the read that follows
}

bool cam_client::receive() {
  std::byte buf[65536];
  ssize_t n;
  do n = ::recv(fd_, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) connection_ended();
  return !reader_.feed(std::span(buf, static_cast<std::size_t>(n)));
}

void cam_client::receive_within(std::chrono::milliseconds limit) {
  if (!readable(limit))
    throw cli_error(failed, peer_ + " sent nothing for " + std::to_string(limit.count() / 1000) +
                                " s while an answer or a frame was due" +
                                (peer_ == "tether-camera" ? ": is the camera stuck?"
                                                          : ": is the app in the foreground?"));
  if (!receive())
    throw cli_error(failed, peer_ + "'s stream cannot be read: " + reader_.error_text());
}

std::pair<cam::message, std::uint32_t> cam_client::next() {
  for (;;) {
    if (auto m = take_buffered()) return std::move(*m);
    receive_within(silence_wait);
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
    receive_within(silence_wait);
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
      if (other) other(std::move(reply), t);
      continue;
    }
    if (const auto* e = std::get_if<cam::messages::error>(&reply))
      throw cli_error(e->code == cam::error_code::no_camera ? no_phone : failed,
                      "the camera refused: " + e->message + " (" + cam::to_string(e->code) + ")");
    return reply;
  }
}

saved_capture capture_to(cam_client& cl, const std::filesystem::path& dir,
                         const cam_client::on_other& other,
                         const std::function<void(const saved_capture&, std::uint64_t)>& progress) {
  namespace msg = cam::messages;
  cl.request(msg::capture{}, other);
  std::optional<msg::capture_done> done;
  while (!done) {  // capture_done is an event, after the reply
    auto [m, tag] = cl.next();
    if (auto* d = std::get_if<msg::capture_done>(&m))
      done = *d;
    else if (other)
      other(std::move(m), tag);
  }
  const std::string name = std::filesystem::path(done->file_name).filename().string();
  if (name.empty() || name == "." || name == "..")
    throw cli_error(failed, "the camera named its file oddly: " + done->file_name);
  std::filesystem::create_directories(dir);
  saved_capture out{dir / name, name, done->mime_type, 0};
  std::ofstream file(out.path, std::ios::binary | std::ios::trunc);
  if (!file) throw cli_error(failed, "cannot write " + out.path.string());
  const std::uint32_t tag = cl.send_request(msg::download{done->transfer_id, 0});
  while (out.size < done->size) {
    auto [m, t] = cl.next();
    if (t != tag) {
      if (other) other(std::move(m), t);
      continue;
    }
    if (const auto* e = std::get_if<msg::error>(&m))
      throw cli_error(failed, "download of " + name + " failed: " + e->message);
    const auto* chunk = std::get_if<msg::image_chunk>(&m);
    if (chunk == nullptr || chunk->offset != out.size)
      throw cli_error(failed, "download of " + name + " came out of order");
    file.write(reinterpret_cast<const char*>(chunk->data.data()),
               static_cast<std::streamsize>(chunk->data.size()));
    out.size += chunk->data.size();
    if (progress) progress(out, done->size);
  }
  if (!file.flush()) throw cli_error(failed, "cannot write " + out.path.string());
  return out;
}

}  // namespace tether::cli
