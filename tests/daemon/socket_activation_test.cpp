#include "daemon/socket_activation.hpp"

#include <gtest/gtest.h>

#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

int count(const char* pid, const char* fds, long self = 42) {
  auto r = passed_socket_count(pid, fds, self);
  EXPECT_TRUE(r) << r.describe();
  return r ? *r : -1;
}

std::string error(const char* pid, const char* fds) {
  auto r = passed_socket_count(pid, fds, 42);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error(), daemon_errc::bad_activation);
  return r ? "" : r.detail();
}

TEST(SocketActivation, CountsSocketsPassedToThisProcess) {
  EXPECT_EQ(count("42", "1"), 1);
  EXPECT_EQ(count("42", "0"), 0);
  EXPECT_EQ(count("42", "3"), 3);
}

TEST(SocketActivation, NoneWithoutTheVariables) {
  EXPECT_EQ(count(nullptr, nullptr), 0);
  EXPECT_EQ(count("42", nullptr), 0);
  EXPECT_EQ(count(nullptr, "1"), 0);
}

// A parent's activation, inherited through the environment, is not ours: the sockets
// were passed to another process.
TEST(SocketActivation, AnotherProcessesSocketsAreNotOurs) { EXPECT_EQ(count("41", "1"), 0); }

TEST(SocketActivation, MalformedVariablesAreErrors) {
  EXPECT_EQ(error("", "1"), "LISTEN_PID is not a process id: ''");
  EXPECT_EQ(error("42x", "1"), "LISTEN_PID is not a process id: '42x'");
  EXPECT_EQ(error("42", "-1"), "LISTEN_FDS is not a small count of sockets: '-1'");
  EXPECT_EQ(error("42", "one"), "LISTEN_FDS is not a small count of sockets: 'one'");
  EXPECT_EQ(error("42", "100000"), "LISTEN_FDS is not a small count of sockets: '100000'");
}

}  // namespace
}  // namespace tether::daemon
