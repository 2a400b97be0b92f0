#include "in_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <plist/plist.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <thread>

#include "proto/usbmuxd/client.hpp"

namespace tether::daemon::test {

test_client::test_client(int fd) : fd_(fd) { ::fcntl(fd_, F_SETFL, O_NONBLOCK); }
test_client::~test_client() { close(); }

void test_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void test_client::send(std::span<const std::byte> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
  pump();
}

void test_client::send(const std::string& s) { send(std::as_bytes(std::span(s))); }

void test_client::request(std::uint32_t tag, const std::string& message_type,
                          const std::vector<std::pair<std::string, std::uint64_t>>& numbers) {
  plist_t dict = plist_new_dict();
  plist_dict_set_item(dict, "MessageType", plist_new_string(message_type.c_str()));
  for (const auto& [key, value] : numbers)
    plist_dict_set_item(dict, key.c_str(), plist_new_uint(value));
  send(proto::usbmuxd::encode_client_request(tag, dict, "daemon-test"));
}

bool test_client::pump() {
  if (fd_ < 0) return true;
  while (!out_.empty()) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // full (EAGAIN), or the daemon has gone: reading says which
    out_.erase(out_.begin(), out_.begin() + n);
  }
  std::byte buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.insert(in_.end(), buf, buf + n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) eof_ = true;
    break;
  }
  return eof_;
}

std::optional<std::string> test_client::next_message() {
  if (in_.size() < 16) return std::nullopt;
  std::uint32_t length = 0;
  std::memcpy(&length, in_.data(), 4);  // little-endian on every host tether runs on
  if (length < 16 || in_.size() < length) return std::nullopt;
  std::string body(reinterpret_cast<const char*>(in_.data()) + 16, length - 16);
  in_.erase(in_.begin(), in_.begin() + length);
  return body;
}

long number_in(const std::string& xml) {
  static const std::regex re("<key>Number</key>\\s*<integer>(-?[0-9]+)</integer>");
  std::smatch m;
  return std::regex_search(xml, m, re) ? std::stol(m[1]) : -1;
}

bool has_string(const std::string& xml, const std::string& value) {
  return xml.find("<string>" + value + "</string>") != std::string::npos;
}

world::world()
    : dir(std::filesystem::temp_directory_path() /
          ("tether-daemon-test-" + std::to_string(::getpid()))),
      records(dir),
      forwards(io, devices, false, retry_policy{10ms, 40ms, 500ms}),
      ctx{devices, records, "00000000-0000-0000-0000-000000000000", forwards, repeats} {
  std::filesystem::create_directories(dir);
}

world::~world() {
  if (listener) {
    listener->close_clients();
    listener->close();
  }
  for (const auto& w : sessions)
    if (auto s = w.lock()) s->close();
  forwards.stop_all();
  for (auto& p : phones)
    if (!p->gone()) p->shut_down(usbmux::link_errc::shut_down, "test over");
  settle(5ms);
  clients.clear();
  io.restart();
  io.poll();
  phones.clear();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

bool world::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto& c : clients) c->pump();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    if (io.poll() == 0) std::this_thread::sleep_for(100us);
  }
}

void world::settle(std::chrono::milliseconds quiet) {
  run_until([] { return false; }, quiet);
}

memory_phone& world::plug(const std::string& udid, std::optional<std::uint64_t> fail_at) {
  usbmux::phone_facts f;
  f.udid = udid;
  f.product_id = 0x12a8;
  f.bus = 1;
  f.address = static_cast<std::uint8_t>(phones.size() + 2);
  f.location = (1u << 16) | f.address;
  f.speed_bps = 480'000'000;
  f.configuration = 4;
  auto p = std::make_unique<memory_phone>(io, devices, f);
  p->serve(1000, memory_phone::app::echo);
  p->serve(2000, memory_phone::app::hold);
  if (fail_at) p->fail_at(*fail_at);
  p->start();
  phones.push_back(std::move(p));
  auto& phone = *phones.back();
  run_until([&] { return devices.find_udid(udid) != 0 || phone.gone(); });
  return phone;
}

void world::unplug(memory_phone& p) {
  p.unplug();
  run_until([&] { return p.gone() && devices.id_of(p) == 0; });
}

test_client& world::client() {
  asio::local::stream_protocol::socket ours(io), theirs(io);
  asio::local::connect_pair(ours, theirs);
  client_session::socket_type s(io, asio::generic::stream_protocol(AF_UNIX, 0), theirs.release());
  auto session = std::make_shared<client_session>(std::move(s), ctx, next_client++);
  sessions.push_back(session);
  session->start();
  clients.push_back(std::make_unique<test_client>(ours.release()));
  return *clients.back();
}

test_client& world::socket_client() {
  const auto path = dir / "usbmuxd";
  if (!listener) {
    listener.emplace(io, ctx);
    if (auto r = listener->listen_unix(path.string(), ""); !r) ADD_FAILURE() << r.describe();
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    ADD_FAILURE() << "connect";
  clients.push_back(std::make_unique<test_client>(fd));
  return *clients.back();
}

test_client& world::tcp_client(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Blocking, but loopback completes it from the listen backlog at once.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    ADD_FAILURE() << "connect";
  clients.push_back(std::make_unique<test_client>(fd));
  return *clients.back();
}

std::optional<std::string> world::wait_message(test_client& c, std::chrono::milliseconds timeout) {
  std::optional<std::string> m;
  run_until([&] { return (m = c.next_message()) || c.closed(); }, timeout);
  return m;
}

std::optional<std::string> world::ask(test_client& c, std::uint32_t tag, const std::string& type,
                                      const std::vector<std::pair<std::string, std::uint64_t>>& n) {
  c.request(tag, type, n);
  return wait_message(c);
}

}  // namespace tether::daemon::test
