#pragma once
// Which apps listen on a virtual phone's ports: the --app, --source-bytes and --record
// options that tether-sim and tether-gadget share, parsed alike in both.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace tether::sim {

struct app_options {
  // port -> echo | sink | source | controller | camera | chat:NAME | HOST:PORT
  std::map<std::uint16_t, std::string> apps = {{2345, "echo"}, {2346, "source"}, {2347, "sink"}};
  std::uint64_t source_bytes = 1ull << 30;  // what the source app streams per connection
  std::string record;  // where controller apps (and tether-sim's camera) keep what they got
};

// The app part of --app PORT=chat:NAME (phone/chat_app.hpp).
inline constexpr std::string_view chat_prefix = "chat:";

// Takes one --app value, PORT=WHAT. False, with `error` saying what was wrong, when it
// does not parse.
bool parse_app_option(const std::string& value, app_options& o, std::string& error);

// The help text of --app, indented as the programs' option lists are.
extern const char* const app_option_help;
// The closing paragraph of both programs' help: what listens when --app says nothing.
extern const char* const default_apps_help;

}  // namespace tether::sim
