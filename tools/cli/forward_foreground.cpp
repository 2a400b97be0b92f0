// tether forward run LOCAL PHONE: this process listens on LOCAL and joins every client
// to the phone's port through the daemon's Connect, like iproxy, so it works with the
// reference usbmuxd too. On a terminal a status line shows connections and rates;
// otherwise one line per connection, for logs and scripts.
#include <sys/socket.h>

#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <memory>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/phone_port.hpp"

namespace tether::cli {
namespace {

struct totals {
  std::uint64_t open = 0, accepted = 0, failed = 0, up = 0, down = 0;
};

// Two sockets joined both ways; either side ending ends both.
class bridge : public std::enable_shared_from_this<bridge> {
 public:
  bridge(asio::ip::tcp::socket local, asio::generic::stream_protocol::socket phone, totals& t,
         std::string who, bool quiet)
      : local_(std::move(local)),
        phone_(std::move(phone)),
        t_(t),
        who_(std::move(who)),
        quiet_(quiet) {
    ++t_.open;
  }
  void start() {
    pump(local_, phone_, up_buf_, t_.up, mine_up_);
    pump(phone_, local_, down_buf_, t_.down, mine_down_);
  }

 private:
  template <class From, class To>
  void pump(From& from, To& to, std::array<char, 65536>& buf, std::uint64_t& total,
            std::uint64_t& mine) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf, &total,
                                             &mine](std::error_code ec, std::size_t n) {
      if (ec) return self->end();
      asio::async_write(
          to, asio::buffer(buf.data(), n),
          [self, &from, &to, &buf, &total, &mine](std::error_code wec, std::size_t w) {
            if (wec) return self->end();
            total += w;
            mine += w;
            self->pump(from, to, buf, total, mine);
          });
    });
  }
  void end() {
    if (ended_) return;
    ended_ = true;
    --t_.open;
    std::error_code ignored;
    local_.close(ignored);
    phone_.close(ignored);
    if (!quiet_)
      std::printf("%s: closed, %s to the phone, %s from it\n", who_.c_str(),
                  bytes_text(mine_up_).c_str(), bytes_text(mine_down_).c_str());
    std::fflush(stdout);
  }

  asio::ip::tcp::socket local_;
  asio::generic::stream_protocol::socket phone_;
  totals& t_;
  std::string who_;
  bool quiet_;
  bool ended_ = false;
  std::uint64_t mine_up_ = 0, mine_down_ = 0;
  std::array<char, 65536> up_buf_{}, down_buf_{};
};

asio::generic::stream_protocol::socket adopt(asio::io_context& io, int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return {io, asio::generic::stream_protocol(ss.ss_family, 0), fd};
}

}  // namespace

int run_forward_foreground(const global_options& o, const forward_args& f) {
  asio::io_context io;
  std::error_code ec;
  const auto address = asio::ip::make_address(f.address, ec);
  if (ec) throw cli_error(usage, "'" + f.address + "' is not an IP address");
  asio::ip::tcp::acceptor acceptor(io);
  const asio::ip::tcp::endpoint at(address, f.local_port);
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw cli_error(failed, "cannot listen on " + f.address + ":" + std::to_string(f.local_port) +
                                ": " + ec.message());
  const auto port = acceptor.local_endpoint().port();
  const std::string daemon = o.socket;
  std::printf("forwarding %s:%u -> phone port %u on %s\n", f.address.c_str(), port, f.phone_port,
              o.udid.empty() ? "the only phone attached" : o.udid.c_str());
  std::fflush(stdout);

  const bool live = stderr_is_terminal();
  totals t;
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](std::error_code aec, asio::ip::tcp::socket s) {
      if (aec == asio::error::operation_aborted) return;
      if (!aec) {
        s.set_option(asio::ip::tcp::no_delay(true), aec);
        const auto peer = s.remote_endpoint(aec);
        const std::string who =
            aec ? std::string("client")
                : peer.address().to_string() + ":" + std::to_string(peer.port());
        ++t.accepted;
        try {
          const int fd = open_phone_port(daemon, o.udid, f.phone_port);
          if (!live) std::printf("%s: connected to phone port %u\n", who.c_str(), f.phone_port);
          std::make_shared<bridge>(std::move(s), adopt(io, fd), t, who, live)->start();
        } catch (const cli_error& e) {
          ++t.failed;
          std::fprintf(stderr, "%s%s: %s\n", live ? "\r\033[K" : "", who.c_str(), e.what());
        }
        std::fflush(stdout);
      }
      accept();
    });
  };
  accept();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });

  asio::steady_timer tick(io);
  std::uint64_t last_up = 0, last_down = 0;
  std::function<void()> status = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](std::error_code tec) {
      if (tec) return;
      std::fprintf(stderr, "\r\033[K%llu open, %llu served, %llu refused | up %s/s down %s/s",
                   static_cast<unsigned long long>(t.open),
                   static_cast<unsigned long long>(t.accepted - t.failed),
                   static_cast<unsigned long long>(t.failed), bytes_text(t.up - last_up).c_str(),
                   bytes_text(t.down - last_down).c_str());
      last_up = t.up;
      last_down = t.down;
      status();
    });
  };
  if (live) status();
  io.run();
  if (live) std::fputs("\n", stderr);
  return ok;
}

}  // namespace tether::cli
