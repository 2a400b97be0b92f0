#include "phone/chat_app.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <utility>

#include "phone/app_options.hpp"
#include "phone/virtual_phone.hpp"
#include "usbmux/core/host_session.hpp"

namespace tether::sim {
namespace {

using namespace usbmux;

constexpr std::uint16_t chat_port = 7000;

std::string chat_text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// One virtual phone with the chat app on chat_port, driven in memory by tether's host
// session as tetherd's reverse channel drives it: the host's connections stand for the
// lines tetherd joins to the board's chat server.
struct phone_rig {
  explicit phone_rig(std::string serial = iphone_identity{}.serial)
      : phone(identity(std::move(serial)), {}) {
    phone.add_app(chat_port, make_chat_app("alice", udid_from_serial(phone.identity().serial),
                                           [this](log::level l, const std::string& line) {
                                             (l == log::level::info ? heard : said).push_back(line);
                                           }));
    EXPECT_TRUE(phone.control({0x00, 9, 4, 0, 0}, {}));  // SET_CONFIGURATION 4: mux
    start_host();
  }
  static iphone_identity identity(std::string serial) {
    iphone_identity id;
    id.serial = std::move(serial);
    return id;
  }

  // A new host session (tetherd started, or the phone came back after a replug).
  void start_host() {
    host = std::make_unique<host_session>();
    host->start({});
    pump();
    EXPECT_TRUE(host->ready());
  }

  void pump() {
    for (int guard = 0; guard < 100000; ++guard) {
      bool moved = false;
      while (std::size_t n = host->pull_packet(out)) {
        EXPECT_TRUE(phone.bulk_out(usbmux_out_endpoint, std::span(out).first(n), n % 512 == 0));
        moved = true;
      }
      while (auto n = phone.bulk_in(usbmux_in_endpoint, in)) {
        EXPECT_FALSE(host->receive(std::span(in).first(*n)));
        moved = true;
      }
      while (host->poll_event()) {
      }
      if (!moved) return;
    }
    ADD_FAILURE() << "link never went idle";
  }

  conn_id connect() {
    auto id = host->connect(chat_port, {});
    EXPECT_TRUE(id);
    pump();
    return *id;
  }
  // What the app said on `id` since the last take.
  std::string take(conn_id id) {
    const std::string s = chat_text(host->received(id));
    host->consume(id, s.size());
    pump();
    return s;
  }
  // The board's server says `text` on `id`. Sends it all, however long.
  void tell(conn_id id, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
      auto took = host->send(id, std::as_bytes(std::span(text).subspan(done)));
      ASSERT_TRUE(took);
      done += *took;
      pump();
    }
  }
  // Bytes the phone has not acknowledged on `id`: what the app left unread.
  std::uint32_t unread_by_app(conn_id id) const { return host->info(id)->in_flight; }

  virtual_phone phone;
  std::unique_ptr<host_session> host;
  std::vector<std::byte> out = std::vector<std::byte>(49152);
  std::vector<std::byte> in = std::vector<std::byte>(16384);
  std::vector<std::string> heard;  // info lines
  std::vector<std::string> said;   // debug lines
};

// The default identity's serial is 00008120000A2D910EDB401E: UDID ...-000A2D910EDB401E.
const std::string me = "alice-401E";
std::string heard(const std::string& line, const std::string& who = me) {
  return "chat " + who + " heard: " + line;
}
std::string hello(unsigned n, const std::string& who = me) {
  return "hello " + std::to_string(n) + " from " + who;
}

TEST(ChatApp, MemberNameEndsWithTheLastFourCharactersOfTheUdid) {
  EXPECT_EQ(chat_member_name("alice", udid_from_serial(iphone_identity{}.serial)), me);
  EXPECT_EQ(chat_member_name("alice", "00008120-7E7E000000000001"), "alice-0001");
  EXPECT_EQ(chat_member_name("bob", "000000000000000000000000000000007e7e0002"), "bob-0002");
  EXPECT_EQ(chat_member_name("bob", "ab"), "bob-ab");
  EXPECT_EQ(chat_member_name("bob", ""), "bob");
}

TEST(ChatApp, SaysIamOnTheFirstConnectionItHoldsOnly) {
  phone_rig r;
  const conn_id first = r.connect();
  const conn_id spare = r.connect();
  EXPECT_EQ(r.take(first), "iam:" + me + "\n");
  EXPECT_EQ(r.take(spare), "") << "a spare is left alone";
  EXPECT_EQ(r.said, std::vector<std::string>{"chat " + me + " said: iam:" + me});
  EXPECT_TRUE(r.heard.empty());
}

TEST(ChatApp, SaysThreeLinesOneAtATimeAfterHearingItsJoin) {
  phone_rig r;
  const conn_id c = r.connect();
  ASSERT_EQ(r.take(c), "iam:" + me + "\n");
  r.tell(c, "bob-0001 has joined\n");
  EXPECT_EQ(r.take(c), "") << "someone else's join";
  r.tell(c, me + " has joined\n");
  EXPECT_EQ(r.take(c), "msg:" + hello(1) + "\n");
  r.tell(c, "bob-0001: hi\n");
  EXPECT_EQ(r.take(c), "") << "the next line waits for the echo of the last";
  for (unsigned n = 1; n <= 3; ++n) {
    r.tell(c, me + ": " + hello(n) + "\n");
    EXPECT_EQ(r.take(c), n < 3 ? "msg:" + hello(n + 1) + "\n" : "") << n;
  }
  r.tell(c, "error: say something\nbob-0001 has left (quit)\n");
  EXPECT_EQ(r.take(c), "");
  EXPECT_EQ(r.heard, (std::vector<std::string>{
                         heard("bob-0001 has joined"), heard(me + " has joined"),
                         heard("bob-0001: hi"), heard(me + ": " + hello(1)),
                         heard(me + ": " + hello(2)), heard(me + ": " + hello(3)),
                         heard("error: say something"), heard("bob-0001 has left (quit)")}));
}

TEST(ChatApp, LinesSplitAcrossPacketsAreHeardWhole) {
  phone_rig r;
  const conn_id c = r.connect();
  r.take(c);
  r.tell(c, me + " has ");
  EXPECT_TRUE(r.heard.empty());
  r.tell(c, "joined\n" + me + ": " + hello(1) + "\nbob-");
  EXPECT_EQ(r.take(c), "msg:" + hello(1) + "\nmsg:" + hello(2) + "\n");
  EXPECT_EQ(r.heard,
            (std::vector<std::string>{heard(me + " has joined"), heard(me + ": " + hello(1))}));
}

TEST(ChatApp, ASpareStaysUnreadAndBlocksNothing) {
  phone_rig r;
  const conn_id used = r.connect();
  const conn_id spare = r.connect();
  r.take(used);
  r.tell(spare, "stray\n");  // nothing should come on a spare; if it does, it waits
  EXPECT_EQ(r.unread_by_app(spare), 6u);
  r.tell(used, me + " has joined\n");
  EXPECT_EQ(r.take(used), "msg:" + hello(1) + "\n") << "the spare's bytes hold up nothing";
  EXPECT_EQ(r.heard, std::vector<std::string>{heard(me + " has joined")});
  EXPECT_EQ(r.unread_by_app(spare), 6u);
  EXPECT_EQ(r.take(spare), "");
  // A spare that ends changes nothing either.
  const conn_id third = r.connect();
  ASSERT_FALSE(r.host->close(third, {}));
  r.pump();
  r.tell(used, me + ": " + hello(1) + "\n");
  EXPECT_EQ(r.take(used), "msg:" + hello(2) + "\n");
}

TEST(ChatApp, RejoinsOnTheSpareWhenItsConnectionEndsAndNumbersOn) {
  phone_rig r;
  const conn_id first = r.connect();
  const conn_id spare = r.connect();
  r.take(first);
  r.tell(spare, "stray\n");
  r.tell(first, me + " has joined\n");
  for (unsigned n = 1; n <= 3; ++n) r.tell(first, me + ": " + hello(n) + "\n");
  EXPECT_EQ(r.take(first), "msg:" + hello(1) + "\nmsg:" + hello(2) + "\nmsg:" + hello(3) + "\n");
  r.heard.clear();
  ASSERT_FALSE(r.host->close(first, {}));  // the board's server dropped it: tetherd resets
  r.pump();
  EXPECT_EQ(r.take(spare), "iam:" + me + "\n") << "at once, on the spare it holds";
  EXPECT_EQ(r.heard, std::vector<std::string>{heard("stray")}) << "read when taken into use";
  r.tell(spare, me + " has joined\n");
  EXPECT_EQ(r.take(spare), "msg:" + hello(4) + "\n");
  // With no spare left, it waits for the next connection tetherd's pool opens.
  ASSERT_FALSE(r.host->close(spare, {}));
  r.pump();
  const conn_id next = r.connect();
  EXPECT_EQ(r.take(next), "iam:" + me + "\n");
  r.tell(next, me + " has joined\n");
  EXPECT_EQ(r.take(next), "msg:" + hello(5) + "\n") << "hello 4 was said, unanswered";
}

TEST(ChatApp, RejoinsAfterAReplugAndAfterANewHost) {
  phone_rig r;
  const conn_id c = r.connect();
  r.take(c);
  r.tell(c, me + " has joined\n");
  EXPECT_EQ(r.take(c), "msg:" + hello(1) + "\n");
  ASSERT_TRUE(r.phone.set_configuration(4));  // a replug: the mux starts over
  r.start_host();
  const conn_id after_replug = r.connect();
  EXPECT_EQ(r.take(after_replug), "iam:" + me + "\n");
  r.start_host();  // tetherd restarted: its VERSION restarts the phone's mux
  const conn_id after_restart = r.connect();
  EXPECT_EQ(r.take(after_restart), "iam:" + me + "\n");
  r.tell(after_restart, me + " has joined\n");
  EXPECT_EQ(r.take(after_restart), "msg:" + hello(2) + "\n");
}

TEST(ChatApp, LongLinesAreCutAndCounted) {
  phone_rig r;
  const conn_id c = r.connect();
  r.take(c);
  const std::string prefix = std::string(chat_max_line, 'x');
  r.tell(c, std::string(10000, 'x') + "\n" + prefix + "\n" + me + " has joined\n");
  // Far more than the mux's window (128 KiB) in one line: read and dropped as it comes.
  r.tell(c, std::string(1 << 20, 'y'));
  r.tell(c, "\n");
  EXPECT_EQ(r.unread_by_app(c), 0u);
  EXPECT_EQ(r.heard, (std::vector<std::string>{heard(prefix) + " [cut: 10000 bytes; lines cut: 1]",
                                               heard(prefix),  // exactly the limit: whole
                                               heard(me + " has joined"),
                                               heard(std::string(chat_max_line, 'y')) +
                                                   " [cut: 1048576 bytes; lines cut: 2]"}));
  EXPECT_EQ(r.take(c), "msg:" + hello(1) + "\n");
}

TEST(ChatApp, SuspendedItNeitherReadsNorWrites) {
  phone_rig r;
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::suspended));
  const conn_id c = r.connect();  // the kernel's backlog takes it
  EXPECT_EQ(r.take(c), "");
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::running));
  r.pump();
  EXPECT_EQ(r.take(c), "iam:" + me + "\n");

  const conn_id spare = r.connect();
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::suspended));
  r.tell(c, me + " has joined\n");
  EXPECT_EQ(r.take(c), "");
  EXPECT_GT(r.unread_by_app(c), 0u);
  EXPECT_TRUE(r.heard.empty());
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::running));
  r.pump();
  EXPECT_EQ(r.take(c), "msg:" + hello(1) + "\n");

  // Its connection ends while it is suspended: it takes the spare when it comes back.
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::suspended));
  ASSERT_FALSE(r.host->close(c, {}));
  r.pump();
  EXPECT_EQ(r.take(spare), "");
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::running));
  r.pump();
  EXPECT_EQ(r.take(spare), "iam:" + me + "\n");
}

TEST(ChatApp, KilledAndLaunchedAgainItJoinsOnItsNextConnection) {
  phone_rig r;
  const conn_id c = r.connect();
  r.connect();
  r.take(c);
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::killed));
  r.pump();
  ASSERT_TRUE(r.phone.set_app_state(chat_port, app_state::running));
  const conn_id next = r.connect();
  EXPECT_EQ(r.take(next), "iam:" + me + "\n");
}

// The board's chat server, as tetherd joins each pool connection of every phone to it:
// iam:NAME joins, msg:TEXT goes to every member as "NAME: TEXT".
struct chat_server {
  struct line_end {
    phone_rig* rig;
    conn_id id;
    auto operator<=>(const line_end&) const = default;
  };
  std::map<line_end, std::string> members;
  std::map<line_end, std::string> partial;
  std::vector<std::string> log;  // everything broadcast, in order

  void broadcast(const std::string& line) {
    log.push_back(line);
    const std::string sent = line + "\n";
    for (const auto& [end, name] : members) {
      (void)name;
      (void)end.rig->host->send(end.id, std::as_bytes(std::span(sent)));
    }
  }
  // Serves every connection until nobody says anything more.
  void serve(std::vector<std::pair<phone_rig*, std::vector<conn_id>>> pools) {
    for (bool more = true; more;) {
      more = false;
      for (auto& [rig, ids] : pools) {
        for (const conn_id id : ids) {
          const line_end end{rig, id};
          std::string& buf = partial[end];
          buf += chat_text(rig->host->received(id));
          rig->host->consume(id, rig->host->received(id).size());
          for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
            const std::string line = buf.substr(0, nl);
            buf.erase(0, nl + 1);
            more = true;
            if (line.starts_with("iam:")) {
              members[end] = line.substr(4);
              broadcast(line.substr(4) + " has joined");
            } else if (line.starts_with("msg:") && members.count(end)) {
              broadcast(members[end] + ": " + line.substr(4));
            }
          }
        }
        rig->pump();
      }
    }
  }
};

TEST(ChatApp, TwoPhonesWithOneNameChatThroughTheBoardsServer) {
  phone_rig one;
  phone_rig two("00008120000A2D910EDB4077");
  const std::string other = "alice-4077";
  chat_server server;
  std::vector<std::pair<phone_rig*, std::vector<conn_id>>> pools;
  for (phone_rig* r : {&one, &two}) pools.push_back({r, {r->connect(), r->connect()}});
  server.serve(pools);
  // Each phone joined once and said its three lines, each after hearing the last.
  std::vector<std::string> mine, theirs;
  for (const auto& line : server.log) {
    if (line.starts_with(me + ":") || line == me + " has joined") mine.push_back(line);
    if (line.starts_with(other + ":") || line == other + " has joined") theirs.push_back(line);
  }
  EXPECT_EQ(mine, (std::vector<std::string>{me + " has joined", me + ": " + hello(1),
                                            me + ": " + hello(2), me + ": " + hello(3)}));
  EXPECT_EQ(theirs, (std::vector<std::string>{other + " has joined", other + ": " + hello(1, other),
                                              other + ": " + hello(2, other),
                                              other + ": " + hello(3, other)}));
  EXPECT_EQ(server.members.size(), 2u) << "one line in use per phone; the spares stay silent";
  // Each phone heard the whole conversation.
  std::vector<std::string> all_one, all_two;
  for (const auto& line : server.log) {
    all_one.push_back(heard(line));
    all_two.push_back(heard(line, other));
  }
  EXPECT_EQ(one.heard, all_one);
  // The second phone joined after the first one's join went out.
  EXPECT_EQ(two.heard, std::vector<std::string>(all_two.begin() + 1, all_two.end()));
}

TEST(ChatAppOption, TakesChatNamesAndRefusesBadOnes) {
  app_options o;
  std::string error;
  EXPECT_TRUE(parse_app_option("7000=chat:alice", o, error)) << error;
  EXPECT_EQ(o.apps.at(7000), "chat:alice");
  EXPECT_TRUE(parse_app_option("7001=chat:A_b-9", o, error)) << error;
  EXPECT_TRUE(parse_app_option("7002=chat:" + std::string(24, 'n'), o, error)) << error;
  EXPECT_TRUE(parse_app_option("7003=chat:1234", o, error)) << "a chat app, not host 'chat'";
  EXPECT_EQ(o.apps.at(7003), "chat:1234");
  for (const std::string& bad :
       {std::string("7000=chat:"), "7000=chat:" + std::string(25, 'n'),
        std::string("7000=chat:al ice"), std::string("7000=chat:al.ice"),
        std::string("7000=chat:al:ice"), std::string("7000=chat:\xc3\xa9")}) {
    error.clear();
    EXPECT_FALSE(parse_app_option(bad, o, error)) << bad;
    EXPECT_NE(error.find("1 to 24 letters, digits, '-' or '_', not '" + bad + "'"),
              std::string::npos)
        << error;
  }
  EXPECT_FALSE(parse_app_option("0=chat:alice", o, error));
  EXPECT_NE(error.find("chat:NAME"), std::string::npos) << error;
  EXPECT_NE(std::string(app_option_help).find("chat:NAME"), std::string::npos);
}

}  // namespace
}  // namespace tether::sim
