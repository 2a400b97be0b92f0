#include "proto/chat/chat_room.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace tether::proto::chat {
namespace {

// One connection as an adapter sees it: says bytes, reads (and writes at once) its output.
struct client {
  chat_room& room;
  member_id id;
  void say(std::string_view bytes) { room.received(id, bytes); }
  std::string read() {
    std::string s = room.take_output(id);
    room.written(id, s.size());
    return s;
  }
};

client join(chat_room& room) { return {room, room.join()}; }

client joined(chat_room& room, std::string_view name) {
  client c = join(room);
  c.say("iam:" + std::string(name) + "\n");
  return c;
}

TEST(ChatRoom, JoinSpeakLeaveInOneOrderForThree) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  a.say("msg:hi\n");
  client c = joined(room, "carol");
  b.say("msg:hello all\n");
  c.say("msg:bye\n");
  EXPECT_EQ(c.read(), "carol has joined\nbob: hello all\ncarol: bye\n");
  room.left(c.id);
  a.say("msg:see you\n");
  room.left(b.id);
  EXPECT_EQ(a.read(),
            "alice has joined\nbob has joined\nalice: hi\ncarol has joined\nbob: hello all\n"
            "carol: bye\ncarol has left\nalice: see you\nbob has left\n");
  EXPECT_EQ(b.read(), "");  // gone: nothing more for it
  EXPECT_EQ(room.members(), 1u);
  EXPECT_TRUE(room.take_dropped().empty());
}

TEST(ChatRoom, SaysWhoJoinedAndNames) {
  chat_room room;
  client a = join(room);
  EXPECT_TRUE(room.connected(a.id));
  EXPECT_EQ(room.name(a.id), "");
  a.say("iam:alice\n");
  EXPECT_EQ(room.name(a.id), "alice");
  EXPECT_EQ(room.members(), 1u);
  room.left(a.id);
  EXPECT_FALSE(room.connected(a.id));
  EXPECT_EQ(room.members(), 0u);
}

// What three members see for a fixed script, fed whole.
std::vector<std::string> script_seen(const std::vector<std::string>& pieces_for_a) {
  chat_room room;
  client a = join(room);
  client b = joined(room, "bob");
  for (const auto& p : pieces_for_a) a.say(p);
  b.say("msg:ok\n");
  return {a.read(), b.read()};
}

TEST(ChatRoom, EveryByteSplitGivesTheSameLines) {
  const std::string script =
      "iam:alice\r\nmsg:hello there\nbad\r\n\nmsg:two: colons\r\niam:al\nmsg:x\n";
  const auto whole = script_seen({script});
  EXPECT_EQ(whole[0],
            "alice has joined\nalice: hello there\n"
            "error: unknown command 'bad' (iam:NAME or msg:TEXT)\n"
            "alice: two: colons\nalice is now al\nal: x\nbob: ok\n");
  EXPECT_EQ(whole[1],
            "bob has joined\nalice has joined\nalice: hello there\nalice: two: colons\n"
            "alice is now al\nal: x\nbob: ok\n");
  for (std::size_t at = 0; at <= script.size(); ++at)
    EXPECT_EQ(script_seen({script.substr(0, at), script.substr(at)}), whole) << "split at " << at;
  std::vector<std::string> bytes;
  for (const char c : script) bytes.emplace_back(1, c);
  EXPECT_EQ(script_seen(bytes), whole);
}

TEST(ChatRoom, CrLfAndLfAlikeControlCharactersShownAsQuestionMarks) {
  chat_room room;
  client a = joined(room, "alice");
  a.say("msg:crlf\r\nmsg:lf\nmsg:bell\a and \x1b[2J\r\r\nmsg:tab\tok, caf\xc3\xa9\n");
  EXPECT_EQ(a.read(),
            "alice has joined\nalice: crlf\nalice: lf\nalice: bell? and ?[2J?\n"
            "alice: tab\tok, caf\xc3\xa9\n");
}

TEST(ChatRoom, BeforeJoiningOnlyTheSenderHearsItsErrors) {
  chat_room room;
  client a = joined(room, "alice");
  client x = join(room);
  x.say("msg:hi\n");
  x.say("hello\n");
  x.say("IAM:x\n");
  x.say("say:x\n");
  x.say("\n\r\n");  // empty lines: ignored
  EXPECT_EQ(x.read(),
            "error: say iam:NAME first\n"
            "error: unknown command 'hello' (iam:NAME or msg:TEXT)\n"
            "error: unknown command 'IAM' (iam:NAME or msg:TEXT)\n"
            "error: unknown command 'say' (iam:NAME or msg:TEXT)\n");
  EXPECT_EQ(a.read(), "alice has joined\n");
  x.say("iam:xavier\n");
  EXPECT_EQ(x.read(), "xavier has joined\n");
  EXPECT_EQ(a.read(), "xavier has joined\n");
}

TEST(ChatRoom, ErrorsQuoteOnlyAShortPrintableWord) {
  chat_room room;
  client x = join(room);
  x.say(std::string(40, 'w') + "\n");
  x.say(
      "b\x01\x1b"
      "d:x\n");
  EXPECT_EQ(x.read(), "error: unknown command '" + std::string(32, 'w') +
                          "...' (iam:NAME or msg:TEXT)\n"
                          "error: unknown command 'b??d' (iam:NAME or msg:TEXT)\n");
}

TEST(ChatRoom, NameRules) {
  chat_room room;
  client x = join(room);
  const std::string rule =
      "error: a name is 1 to 32 letters, digits, '-', '_' or '.' (e.g. iam:alice)\n";
  x.say("iam:\n");
  EXPECT_EQ(x.read(), rule);
  x.say("iam\n");
  EXPECT_EQ(x.read(), rule);
  x.say("iam:two words\n");
  EXPECT_EQ(x.read(), rule);
  x.say("iam:caf\xc3\xa9\n");
  EXPECT_EQ(x.read(), rule);
  x.say("iam:" + std::string(33, 'n') + "\n");
  EXPECT_EQ(x.read(), rule);
  x.say("iam:" + std::string(32, 'n') + "\n");
  EXPECT_EQ(x.read(), std::string(32, 'n') + " has joined\n");
  client y = join(room);
  y.say("iam:A-b_c.9\n");
  EXPECT_EQ(y.read(), "A-b_c.9 has joined\n");
  EXPECT_EQ(room.name(y.id), "A-b_c.9");
}

TEST(ChatRoom, NamesTakenWhateverTheCase) {
  chat_room room;
  client b = joined(room, "bob");
  client x = join(room);
  x.say("iam:bob\n");
  x.say("iam:BOB\n");
  EXPECT_EQ(x.read(), "error: the name 'bob' is taken\nerror: the name 'BOB' is taken\n");
  EXPECT_EQ(room.name(x.id), "");
  room.left(b.id);
  x.say("iam:Bob\n");
  EXPECT_EQ(x.read(), "Bob has joined\n");
}

TEST(ChatRoom, SecondIamRenames) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  a.say("iam:bob\n");
  a.say("iam:alice\n");
  a.say("iam:Alice\n");  // a change of case is a rename
  a.say("iam:al\n");
  EXPECT_EQ(a.read(),
            "alice has joined\nbob has joined\nerror: the name 'bob' is taken\n"
            "error: you are already alice\nalice is now Alice\nAlice is now al\n");
  EXPECT_EQ(b.read(), "bob has joined\nalice is now Alice\nAlice is now al\n");
  b.say("iam:alice\n");  // the old name is free again
  EXPECT_EQ(a.read(), "bob is now alice\n");
  room.left(a.id);
  EXPECT_EQ(b.read(), "bob is now alice\nal has left\n");
}

TEST(ChatRoom, EmptyMessageIsAnError) {
  chat_room room;
  client a = joined(room, "alice");
  a.say("msg:\nmsg\n");
  EXPECT_EQ(a.read(),
            "alice has joined\nerror: say something after msg:\nerror: say something after msg:\n");
}

TEST(ChatRoom, LineOfMaxLineIsFineOneMoreIsRefusedAndDropped) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  const std::string text(1024 - 4, 't');  // "msg:" + text: 1024 bytes
  a.say("msg:" + text + "\r\n");
  a.say("msg:" + text + "\n");
  EXPECT_EQ(b.read(), "bob has joined\nalice: " + text + "\nalice: " + text + "\n");
  // Whole, with its end in the same piece.
  b.say("msg:" + text + "x\n");
  EXPECT_FALSE(room.connected(b.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{b.id, "bob", "line too long"}}));
  EXPECT_EQ(room.take_output(b.id), "error: a line is at most 1024 bytes; disconnecting\n");
  EXPECT_EQ(room.take_output(b.id), "");  // forgotten once its last words are taken
  EXPECT_EQ(a.read(), "alice has joined\nbob has joined\nalice: " + text + "\nalice: " + text +
                          "\nbob has left (line too long)\n");
}

TEST(ChatRoom, LastWordsFollowUnreadLinesOrReplaceThemWhenTheyWouldNotFit) {
  chat_room room(limits{.max_line = 200, .max_backlog = 100});
  client a = joined(room, "a");
  client x = joined(room, "x");  // reads nothing: "x has joined\n" (13) waits
  client y = joined(room, "y");
  a.read();
  const std::string refusal = "error: a line is at most 200 bytes; disconnecting\n";  // 50
  y.say(std::string(201, 'n') + "\n");  // y: "y has joined\n" (13) + 50 fits
  EXPECT_EQ(room.take_output(y.id), "y has joined\n" + refusal);
  // x holds its join, y's join, y's leaving (27) and a 24-byte line: 77, and 50 more
  // would not fit.
  a.say("msg:" + std::string(20, 'm') + "\n");
  a.read();
  ASSERT_TRUE(room.connected(x.id));
  EXPECT_EQ(room.backlog(x.id), 77u);
  x.say(std::string(201, 'n') + "\n");
  EXPECT_EQ(room.take_output(x.id), refusal);  // its unread lines are gone
}

TEST(ChatRoom, LongLineRefusedBeforeItsEndArrives) {
  chat_room room;
  client a = joined(room, "alice");
  a.read();
  // 1024 bytes and a "\r": could still end well, so it waits.
  a.say(std::string(1024, 'x') + "\r");
  EXPECT_TRUE(room.connected(a.id));
  a.say("\n");  // 'xxx...': an unknown command, but not too long
  EXPECT_TRUE(room.connected(a.id));
  EXPECT_EQ(a.read(),
            "error: unknown command '" + std::string(32, 'x') + "...' (iam:NAME or msg:TEXT)\n");
  a.say(std::string(1025, 'x'));  // no end yet, but already too long
  EXPECT_FALSE(room.connected(a.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{a.id, "alice", "line too long"}}));
  EXPECT_EQ(room.take_output(a.id), "error: a line is at most 1024 bytes; disconnecting\n");
}

TEST(ChatRoom, LongLineByteByByte) {
  chat_room room;
  client a = join(room);
  for (int i = 0; i < 1024; ++i) a.say("y");
  a.say("\r");
  EXPECT_TRUE(room.connected(a.id));
  a.say("y");
  EXPECT_FALSE(room.connected(a.id));
  a.say("more bytes after the drop are ignored\n");
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{a.id, "", "line too long"}}));
}

TEST(ChatRoom, LinesAfterADropInTheSamePieceAreIgnored) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  a.say("msg:one\n" + std::string(2000, 'z') + "\nmsg:two\n");
  EXPECT_EQ(b.read(), "bob has joined\nalice: one\nalice has left (line too long)\n");
}

TEST(ChatRoom, The65thIsToldTheRoomIsFull) {
  chat_room room;
  std::vector<client> in;
  for (int i = 0; i < 64; ++i) in.push_back(join(room));
  EXPECT_EQ(room.members(), 64u);
  client late = join(room);
  EXPECT_EQ(room.members(), 64u);
  EXPECT_FALSE(room.connected(late.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{late.id, "", "the room is full"}}));
  late.say("iam:late\n");  // ignored
  EXPECT_EQ(room.take_output(late.id), "error: the room is full (64 members)\n");
  EXPECT_EQ(room.backlog(late.id), 0u);
  room.left(late.id);  // harmless
  EXPECT_EQ(room.members(), 64u);
  room.left(in[10].id);
  client next = joined(room, "next");
  EXPECT_TRUE(room.connected(next.id));
  EXPECT_EQ(next.read(), "next has joined\n");
  EXPECT_EQ(room.members(), 64u);
}

TEST(ChatRoom, SlowReaderIsDroppedAndTheOthersGoOn) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  client slow = joined(room, "slow");
  a.read();
  b.read();
  const std::string text(1000, 'm');
  const std::string line = "alice: " + text + "\n";
  std::size_t sent = 0;
  while (room.connected(slow.id) && sent < 1000) {
    a.say("msg:" + text + "\n");
    ++sent;
    EXPECT_LE(room.backlog(slow.id), 64u * 1024);
    if (room.connected(slow.id)) {
      EXPECT_EQ(a.read(), line);
      EXPECT_EQ(b.read(), line);
    }
  }
  // "slow has joined\n" (16 bytes) and 65 lines of 1008 fit in 64 KiB; the 66th does not.
  EXPECT_EQ(sent, 66u);
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{slow.id, "slow", "too slow to read"}}));
  EXPECT_EQ(a.read(), line + "slow has left (too slow to read)\n");
  EXPECT_EQ(b.read(), line + "slow has left (too slow to read)\n");
  EXPECT_EQ(room.take_output(slow.id), "");  // its backlog is thrown away: close at once
  EXPECT_EQ(room.backlog(slow.id), 0u);
  for (int i = 0; i < 200; ++i) {
    a.say("msg:" + text + "\n");
    ASSERT_EQ(a.read(), line);
    ASSERT_EQ(b.read(), line);
  }
  EXPECT_EQ(room.members(), 2u);
}

TEST(ChatRoom, TakenButUnwrittenOutputCountsAgainstTheBacklog) {
  chat_room room(limits{.max_backlog = 100});
  client a = joined(room, "alice");
  client w = joined(room, "w");
  const std::string out = room.take_output(w.id);  // a write in flight, not finished
  EXPECT_EQ(out, "w has joined\n");
  EXPECT_EQ(room.backlog(w.id), out.size());
  a.read();
  a.say("msg:" + std::string(70, 'a') + "\n");  // 13 + 78 = 91: fits
  EXPECT_TRUE(room.connected(w.id));
  EXPECT_EQ(room.backlog(w.id), 91u);
  room.written(w.id, 5);
  EXPECT_EQ(room.backlog(w.id), 86u);
  room.written(w.id, 8);
  a.read();
  a.say("msg:" + std::string(9, 'b') + "\n");  // 78 + 17 = 95: fits
  EXPECT_TRUE(room.connected(w.id));
  a.read();
  a.say("msg:c\n");  // 95 + 9 = 104: does not
  EXPECT_FALSE(room.connected(w.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{w.id, "w", "too slow to read"}}));
  EXPECT_EQ(a.read(), "alice: c\nw has left (too slow to read)\n");
}

TEST(ChatRoom, SlowReadersDroppedInOneBroadcastAreAnnouncedInOneOrder) {
  chat_room room(limits{.max_backlog = 100});
  client a = joined(room, "a");
  client s1 = joined(room, "s1");
  client s2 = joined(room, "s2");
  client s3 = joined(room, "s3");
  for (client* c : {&a, &s1, &s2, &s3}) c->read();
  a.say("msg:" + std::string(66, '1') + "\n");  // "a: " + 66 + "\n": 70 to each
  a.read();
  s3.read();
  // 70 + 34 passes s1 and s2; a and s3 take the line and both leaving lines (34 + 2 * 31).
  a.say("msg:" + std::string(30, '2') + "\n");
  const std::string seen = "a: " + std::string(30, '2') +
                           "\ns1 has left (too slow to read)\ns2 has left (too slow to read)\n";
  EXPECT_EQ(a.read(), seen);
  EXPECT_EQ(s3.read(), seen);
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{s1.id, "s1", "too slow to read"},
                                                       {s2.id, "s2", "too slow to read"}}));
  EXPECT_EQ(room.members(), 2u);
}

TEST(ChatRoom, LeavingLineCanDropAnotherSlowReader) {
  // The announcement of one drop overflows a second member: the cascade ends, in one
  // order for everyone still there.
  chat_room room(limits{.max_backlog = 100});
  client a = joined(room, "a");
  client s = joined(room, "s");
  client t = joined(room, "t");
  for (client* c : {&a, &s, &t}) c->read();
  a.say("msg:" + std::string(56, 'x') + "\n");  // 60 to each
  a.read();
  t.read();
  a.say("msg:" + std::string(36, 'y') + "\n");  // 40 more: s at 100 (fits), t at 40
  a.read();
  EXPECT_TRUE(room.connected(s.id));
  // 35 more: s passes 100 and goes; "s has left ..." (30) takes t from 75 past 100.
  a.say("msg:" + std::string(31, 'z') + "\n");
  EXPECT_FALSE(room.connected(s.id));
  EXPECT_FALSE(room.connected(t.id));
  EXPECT_EQ(a.read(), "a: " + std::string(31, 'z') +
                          "\ns has left (too slow to read)\nt has left (too slow to read)\n");
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{s.id, "s", "too slow to read"},
                                                       {t.id, "t", "too slow to read"}}));
  EXPECT_EQ(room.members(), 1u);
}

TEST(ChatRoom, SixteenBadLinesInARowDrop) {
  chat_room room;
  client a = joined(room, "alice");
  client x = joined(room, "x");
  a.read();
  x.read();
  const std::string unknown = "error: unknown command 'nope' (iam:NAME or msg:TEXT)\n";
  for (int i = 0; i < 15; ++i) x.say("nope\n");
  x.say("msg:good\n");  // a good line starts the count again
  for (int i = 0; i < 15; ++i) x.say("nope\n");
  EXPECT_TRUE(room.connected(x.id));
  std::string expected;
  for (int i = 0; i < 15; ++i) expected += unknown;
  expected += "x: good\n";
  for (int i = 0; i < 15; ++i) expected += unknown;
  EXPECT_EQ(x.read(), expected);
  x.say("iam:alice\n");  // the 16th: a taken name is a bad line too
  EXPECT_FALSE(room.connected(x.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{x.id, "x", "too many bad lines"}}));
  EXPECT_EQ(room.take_output(x.id),
            "error: the name 'alice' is taken\n"
            "error: too many bad lines in a row (16); disconnecting\n");
  EXPECT_EQ(a.read(), "x: good\nx has left (too many bad lines)\n");
}

TEST(ChatRoom, BadLinesWithoutReadingStayBounded) {
  // Without the count, the backlog bound still holds: the answers are output like any.
  chat_room room(limits{.max_bad_lines = 1u << 30});
  client x = join(room);
  const std::string bad = "x\n";
  std::size_t lines = 0;
  while (room.connected(x.id) && lines < 100000) {
    x.say(bad);
    ++lines;
    ASSERT_LE(room.backlog(x.id), 64u * 1024);
  }
  EXPECT_FALSE(room.connected(x.id));
  EXPECT_EQ(room.take_dropped(), (std::vector<dropped>{{x.id, "", "too slow to read"}}));
  // Each answer is 50 bytes: 1310 fit in 64 KiB.
  EXPECT_EQ(lines, 65536u / 50 + 1);
}

TEST(ChatRoom, UnknownIdsDoNothing) {
  chat_room room;
  const member_id ghost{12345};
  room.received(ghost, "iam:ghost\n");
  room.written(ghost, 10);
  room.left(ghost);
  EXPECT_EQ(room.take_output(ghost), "");
  EXPECT_EQ(room.backlog(ghost), 0u);
  EXPECT_EQ(room.name(ghost), "");
  EXPECT_FALSE(room.connected(ghost));
  EXPECT_EQ(room.members(), 0u);
}

TEST(ChatRoom, LeavingWithAPartialLineSaysNothingOfIt) {
  chat_room room;
  client a = joined(room, "alice");
  client b = joined(room, "bob");
  b.say("msg:unfinished");
  room.left(b.id);
  EXPECT_EQ(a.read(), "alice has joined\nbob has joined\nbob has left\n");
}

}  // namespace
}  // namespace tether::proto::chat
