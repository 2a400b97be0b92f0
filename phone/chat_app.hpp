#pragma once
// A scripted chat client on the phone (--app PORT=chat:NAME), for tetherd's reverse
// channel: tetherd keeps a pool of connections open to PORT and joins each to a chat
// server on the board, so every connection the app accepts is a line to that server.
// The server speaks "\n"-terminated lines: `iam:NAME` joins, `msg:TEXT` speaks, and it
// sends every member `NAME has joined`, `NAME: TEXT`, `NAME has left[ (why)]` and
// `error: ...`.
//
// The app accepts every connection but uses one at a time, the oldest it holds; the
// others (the pool's spares) stay accepted and unread until it needs them. On the one
// it uses it says `iam:NAME-XXXX` (XXXX: the last 4 characters of the phone's UDID, so
// two phones with the same NAME differ), and when it hears `NAME-XXXX has joined` it
// says `msg:hello N from NAME-XXXX` three times, each after hearing the previous one
// echoed back (`NAME-XXXX: hello N from NAME-XXXX`). N counts on over the app's life:
// after its connection ends (the server or tetherd went, a replug, a mux restart) it
// joins again on the next connection it holds or accepts and says 4, 5, 6, and so on.
// Every whole line it hears is logged at info level, `chat NAME-XXXX heard: LINE`; a
// line over chat_max_line bytes is cut to that and counted (" [cut: N bytes; lines
// cut: M]" follows it). What it says is logged at debug level, `chat NAME-XXXX said:
// LINE`. Suspended, it neither reads nor writes.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/log.hpp"
#include "phone/phone_apps.hpp"

namespace tether::sim {

inline constexpr std::size_t chat_max_line = 4096;
inline constexpr std::size_t chat_max_name = 24;
inline constexpr unsigned chat_lines_per_join = 3;

// 1 to chat_max_name letters, digits, '-' or '_'.
bool valid_chat_name(const std::string& name);
// NAME-XXXX, XXXX the last 4 characters of `udid` (all of it when shorter; NAME alone
// when it is empty).
std::string chat_member_name(const std::string& name, const std::string& udid);

// Where the app's log lines go; empty: tether's log (base/log.hpp).
using chat_log = std::function<void(log::level, const std::string&)>;

// `name` must be valid_chat_name; `udid` is the phone's.
std::unique_ptr<phone_app> make_chat_app(std::string name, const std::string& udid,
                                         chat_log log = {});

}  // namespace tether::sim
