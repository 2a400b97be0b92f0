// Reads the virtual phone's source app (port 2346) and prints the payload rate.
//
//   source_throughput tether BYTES [IN_TRANSFERS]  tether's libusb transport and engine,
//                                                   in this process (run under tether-sim)
//   source_throughput tcp PORT BYTES               a TCP stream, e.g. iproxy in front of
//                                                   the reference usbmuxd
//
// Output, one line: "<path> <bytes> bytes in <seconds> s = <MB/s> MB/s".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "usbmux/usb/usb_host.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

void report(const char* path, std::uint64_t bytes, clock_type::duration took) {
  const double s = std::chrono::duration<double>(took).count();
  std::printf("%s %llu bytes in %.3f s = %.1f MB/s\n", path, static_cast<unsigned long long>(bytes),
              s, static_cast<double>(bytes) / s / 1e6);
}

int run_tcp(int port, std::uint64_t want) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  std::vector<char> buf(1 << 20);
  std::uint64_t got = 0;
  // The clock starts at the first byte, as for tether: connection setup is not payload rate.
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  const auto start = clock_type::now();
  while (n > 0) {
    got += static_cast<std::uint64_t>(n);
    if (got >= want) break;
    n = ::recv(fd, buf.data(), buf.size(), 0);
  }
  report("daemon+iproxy", got, clock_type::now() - start);
  ::close(fd);
  return got >= want ? 0 : 1;
}

struct tether_reader : tether::usb::usb_host::listener {
  std::uint64_t want = 0, got = 0;
  tether::usbmux::conn_id id = 0;
  tether::usb::device_link* link = nullptr;
  clock_type::time_point start{};
  bool failed = false;
  void on_ready(tether::usb::device_link& l) override {
    if (link) return;
    link = &l;
    id = *l.session().connect(2346, clock_type::now());
    l.flush();
  }
  void on_event(tether::usb::device_link& l, const tether::usbmux::event& e) override {
    if (std::holds_alternative<tether::usbmux::events::closed>(e)) failed = true;
    if (!std::holds_alternative<tether::usbmux::events::readable>(e)) return;
    if (got == 0) start = clock_type::now();
    // Drain everything that is there; the ACK goes out with the next flush.
    for (auto in = l.session().received(id); !in.empty(); in = l.session().received(id)) {
      got += in.size();
      l.session().consume(id, in.size());
    }
    l.flush();
  }
  void on_gone(tether::usb::device_link&, std::error_code why, const std::string& detail) override {
    if (got < want) {
      std::fprintf(stderr, "phone gone before the end: %s\n",
                   tether::base::describe(why, detail).c_str());
      failed = true;
    }
    link = nullptr;
  }
  void on_attach_failed(std::uint8_t, std::uint8_t, const std::string& what,
                        std::error_code ec) override {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), ec.message().c_str());
    failed = true;
  }
};

int run_tether(std::uint64_t want, int in_transfers) {
  asio::io_context io;
  tether::usb::event_loop loop(io);
  tether_reader r;
  r.want = want;
  tether::usb::link_options opts;
  opts.in_transfers = in_transfers;
  tether::usb::usb_host host(loop, opts, r);
  if (loop.start() || host.start()) {
    std::fprintf(stderr, "cannot start libusb\n");
    return 1;
  }
  const auto give_up = clock_type::now() + std::chrono::seconds(120);
  while (r.got < want && !r.failed && clock_type::now() < give_up)
    io.run_for(std::chrono::milliseconds(10));
  const auto took = clock_type::now() - r.start;
  const std::string path = "tether-transport(" + std::to_string(in_transfers) + " IN)";
  report(path.c_str(), r.got, took);
  host.shut_down_all("done");
  while (host.link_count() > 0) io.run_for(std::chrono::milliseconds(5));
  return r.got >= want ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "tether" && argc >= 3)
    return run_tether(std::stoull(argv[2]), argc > 3 ? std::atoi(argv[3]) : 3);
  if (mode == "tcp" && argc == 4) return run_tcp(std::atoi(argv[2]), std::stoull(argv[3]));
  std::fprintf(stderr,
               "usage: source_throughput tether BYTES [IN_TRANSFERS]\n"
               "       source_throughput tcp PORT BYTES\n");
  return 2;
}
