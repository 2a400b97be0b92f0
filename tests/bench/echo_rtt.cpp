// Small-message round trips to the virtual phone's echo app (port 2345) through a local TCP
// port, e.g. an `iproxy LOCAL:2345` in front of a daemon: sends one message, waits until
// all of it has come back, sends the next.
//
//   echo_rtt PORT [ROUND_TRIPS] [MESSAGE_BYTES]     (defaults: 2000 round trips of 64 bytes)
//
// The first WARM_UP round trips (connection set-up through iproxy and the daemon) are not
// counted. Output, one line:
//   "echo_rtt rounds=<n> bytes=<b> median_us=<x> p99_us=<y> min_us=<z> max_us=<w>"
// p99 is the nearest-rank 99th percentile.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int warm_up = 20;

bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

bool recv_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

double percentile(const std::vector<double>& sorted, double p) {
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(p * n + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int run(int port, int rounds, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval timeout{};
  timeout.tv_sec = 10;  // a lost echo fails the run rather than hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  std::vector<char> out(size), in(size);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int i = -warm_up; i < rounds; ++i) {
    for (std::size_t j = 0; j < size; ++j)
      out[j] = static_cast<char>(
          'A' + static_cast<int>((j + static_cast<std::size_t>(i + warm_up)) % 26));
    const auto start = clock_type::now();
    if (!send_all(fd, out.data(), size) || !recv_all(fd, in.data(), size)) {
      std::fprintf(stderr, "echo_rtt: connection lost or timed out at round trip %d\n", i);
      ::close(fd);
      return 1;
    }
    const auto took = clock_type::now() - start;
    if (in != out) {
      std::fprintf(stderr, "echo_rtt: echo differs from the message at round trip %d\n", i);
      ::close(fd);
      return 1;
    }
    if (i >= 0) us.push_back(std::chrono::duration<double, std::micro>(took).count());
  }
  ::close(fd);
  std::sort(us.begin(), us.end());
  const std::size_t n = us.size();
  const double median = n % 2 == 1 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
  std::printf("echo_rtt rounds=%zu bytes=%zu median_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n",
              n, size, median, percentile(us, 0.99), us.front(), us.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: echo_rtt PORT [ROUND_TRIPS] [MESSAGE_BYTES]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 2000;
  const long size = argc > 3 ? std::atol(argv[3]) : 64;
  if (port <= 0 || port > 65535 || rounds <= 0 || size <= 0) {
    std::fprintf(stderr, "echo_rtt: bad arguments\n");
    return 2;
  }
  return run(port, rounds, static_cast<std::size_t>(size));
}
