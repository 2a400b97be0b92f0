#pragma once
// A group chat room in the line protocol of the Twisted chat server tether began from,
// sans I/O: connections are member ids, bytes go in with received() and come out with
// take_output(); no sockets, no clocks. `tether chat` is a thin Asio adapter on it, and
// phones join it through a reverse channel.
//
// A line ends with "\n" ("\r\n" is accepted: the "\r" is stripped). Empty lines are
// ignored. What a client says:
//
//   iam:NAME    join as NAME (1 to 32 letters, digits, '-', '_' or '.'; unique, whatever
//               the case). Said again once joined, it renames.
//   msg:TEXT    say TEXT to everyone. Control characters in TEXT are sent as '?'.
//
// What every joined member hears, the sender included, in one order for all:
//
//   NAME has joined
//   NAME: TEXT
//   OLD is now NEW                       a rename (iam: from a joined member)
//   NAME has left                        the connection closed
//   NAME has left (too slow to read)     the room dropped it; likewise "(line too long)",
//                                        "(too many bad lines)"
//
// A bad line is answered to its sender alone, with one line starting "error: ":
//
//   error: say iam:NAME first
//   error: unknown command 'x' (iam:NAME or msg:TEXT)
//   error: a name is 1 to 32 letters, digits, '-', '_' or '.' (e.g. iam:alice)
//   error: the name 'bob' is taken
//   error: you are already bob
//   error: say something after msg:
//
// and the room drops a connection (after one last error line to it, where it can read):
//
//   error: the room is full (64 members)                         the 65th connection
//   error: a line is at most 1024 bytes; disconnecting           a longer line
//   error: too many bad lines in a row (16); disconnecting       16 errors, no good line
//   (nothing)                                                    its unwritten output
//                                                                passed 64 KiB
//
// Memory is bounded: per connection one partial line (max_line + 1 bytes) and its
// unwritten output (max_backlog), for at most max_members connections. A client that
// does not read is dropped when its backlog would pass the bound, never waited for, so
// one slow reader never stalls the others.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tether::proto::chat {

struct limits {
  std::size_t max_line = 1024;          // bytes in a line, without its "\n" or "\r\n"
  std::size_t max_name = 32;            // bytes in a name
  std::size_t max_members = 64;         // connections at once, joined or not yet
  std::size_t max_backlog = 64 * 1024;  // unwritten output per connection
  std::size_t max_bad_lines = 16;       // bad lines in a row before the room drops one
};

// One connection. Never reused, so a late call with an old id does nothing.
enum class member_id : std::uint64_t {};

// A connection the room decided to end. The adapter logs it, writes what
// take_output(id) still gives (a last error line, or nothing) and closes the socket.
struct dropped {
  member_id id{};
  std::string name;  // empty when it had not joined
  std::string why;  // "too slow to read", "line too long", "too many bad lines", "the room is full"
  bool operator==(const dropped&) const = default;
};

class chat_room {
 public:
  explicit chat_room(limits l = {}) : limits_(l) {}

  // A connection arrived. Past max_members it is dropped at once ("the room is full"),
  // with that error line as its output.
  member_id join();
  // Bytes from that connection, split anywhere.
  void received(member_id id, std::string_view bytes);
  // The connection closed (or the adapter gave up on it). Joined members are announced
  // as "NAME has left". Also how the adapter lets go of a dropped one (optional: the
  // room forgets a dropped member once its last output is taken).
  void left(member_id id);

  // What to write to that connection now; drains. The bytes count against its backlog
  // until written() says they reached the socket, so an adapter may keep one write in
  // flight and the bound still covers it.
  std::string take_output(member_id id);
  void written(member_id id, std::size_t n);
  // The connections dropped since the last call, in order.
  std::vector<dropped> take_dropped();

  // Live connections (joined or not; not counting dropped ones whose last output waits).
  std::size_t members() const { return live_; }
  // Output not yet written: queued plus taken and not yet written(). 0 for unknown ids.
  std::size_t backlog(member_id id) const;
  // The member's name, or empty before iam: (and for unknown or dropped ids).
  std::string_view name(member_id id) const;
  // Whether the id is a live connection.
  bool connected(member_id id) const;
  const limits& bounds() const { return limits_; }

 private:
  struct member {
    std::string name;           // empty until iam:
    std::string partial;        // the line being received, at most max_line + 1 bytes
    std::string out;            // queued output, not yet taken
    std::size_t in_flight = 0;  // taken, not yet written()
    std::size_t bad_lines = 0;  // in a row
    bool closing = false;       // dropped: only `out` (its last words) remains
  };

  void line(member_id id, std::string_view text);
  void command_iam(member_id id, member& m, std::string_view name);
  void command_msg(member_id id, member& m, std::string_view text);
  void bad_line(member_id id, member& m, std::string_view error);
  // Queues one line to one member; false when that would pass its backlog bound.
  bool deliver(member& m, std::string_view text);
  // Sends a line to every joined member; drops those it would overflow (and says so).
  void broadcast(const std::string& text);
  // Ends a live member. Its last words (an error line) follow its unread output, or
  // replace it when they would not fit; without last words its output is discarded.
  // Everyone is told when it had joined.
  void drop(member_id id, const std::string& why, std::string_view last_words);
  bool name_taken(std::string_view name, member_id except) const;

  limits limits_;
  std::map<member_id, member> members_;  // by id, which is join order
  std::size_t live_ = 0;
  std::uint64_t next_id_ = 1;
  std::vector<dropped> dropped_;
};

}  // namespace tether::proto::chat
