#include "daemon/config.hpp"

#include <ini.h>

#include <asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

#include "base/log.hpp"
#include "base/small_file.hpp"
#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

constexpr std::size_t max_config_bytes = 1 << 20;

std::optional<long> number(const std::string& v, long lo, long hi) {
  long n = 0;
  const auto* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, n);
  if (ec != std::errc() || p != end || n < lo || n > hi) return std::nullopt;
  return n;
}

std::optional<bool> boolean(const std::string& v) {
  if (v == "yes" || v == "true" || v == "1" || v == "on") return true;
  if (v == "no" || v == "false" || v == "0" || v == "off") return false;
  return std::nullopt;
}

// "2222", "127.0.0.1:2222" or "[::1]:2222", into an address (kept when only a port is
// given) and a port.
bool parse_local(const std::string& v, std::string& address, std::uint16_t& port_out) {
  std::string port = v;
  if (const auto colon = v.rfind(':'); colon != std::string::npos) {
    std::string host = v.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    // An address, not a name: what the listener binds to, and short enough that the
    // saved line stays within the parser's 200 characters.
    std::error_code ec;
    (void)asio::ip::make_address(host, ec);
    if (host.empty() || host.size() > 64 || ec) return false;
    address = host;
    port = v.substr(colon + 1);
  }
  const auto p = number(port, 0, 65535);
  if (!p) return false;
  port_out = static_cast<std::uint16_t>(*p);
  return true;
}

std::string format_local(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

struct parser {
  bool saved_only = false;
  config out;
  std::map<std::string, proto::tetherd::forward_spec> forwards;
  std::map<std::string, proto::tetherd::reverse_spec> reverses;
  std::set<std::string> seen;  // "section/key": each key once
  std::string error;

  bool fail(const std::string& section, const std::string& msg) {
    error = "[" + section + "]: " + msg;
    return false;
  }

  bool handle(const std::string& section, const std::string& key, const std::string& value) {
    if (!seen.insert(section + "/" + key).second)
      return fail(section, "'" + key + "' is given twice");
    if (section == "tetherd" && !saved_only) return daemon_key(key, value);
    if (section.rfind("forward ", 0) == 0) return forward_key(section, key, value);
    if (section.rfind("reverse ", 0) == 0) return reverse_key(section, key, value);
    return fail(section, saved_only ? "unknown section (expected [forward NAME] or [reverse NAME])"
                                    : "unknown section (expected [tetherd], [forward NAME] or "
                                      "[reverse NAME])");
  }

  bool daemon_key(const std::string& key, const std::string& value) {
    const std::string s = "tetherd";
    if (key == "group") {
      out.group = value;
    } else if (key == "user") {
      out.user = value;
    } else if (key == "log-level") {
      if (!log::parse_level(value)) return fail(s, "log-level must be error, warn, info or debug");
      out.log_level = value;
    } else if (key == "allow-remote-forwards") {
      const auto b = boolean(value);
      if (!b) return fail(s, "allow-remote-forwards must be yes or no");
      out.allow_remote_forwards = *b;
    } else if (key == "forward-give-up") {
      const auto n = number(value, 1, 86400);
      if (!n) return fail(s, "forward-give-up must be seconds, 1 to 86400");
      out.forward_give_up_seconds = static_cast<int>(*n);
    } else if (key == "pair") {
      const auto b = boolean(value);
      if (!b) return fail(s, "pair must be yes (pair each phone that arrives) or no");
      out.pair_automatically = *b;
    } else if (key == "trust-wait") {
      const auto n = number(value, 10, 3600);
      if (!n) return fail(s, "trust-wait must be seconds, 10 to 3600");
      out.trust_wait_seconds = static_cast<int>(*n);
    } else if (key == "max-clients") {
      const auto n = number(value, 1, 65536);
      if (!n) return fail(s, "max-clients must be 1 to 65536");
      out.max_clients = static_cast<std::size_t>(*n);
    } else {
      return fail(s, "unknown key '" + key + "'");
    }
    return true;
  }

  // The entry a "[KIND NAME]" section fills (made on its first key), or nullptr when the
  // name is not plain or there are `most` already; `fail` has said which.
  template <class Spec>
  Spec* entry(std::map<std::string, Spec>& all, std::size_t most, const std::string& section,
              const std::string& kind, const std::string& example) {
    const std::string name = section.substr(kind.size() + 1);
    if (!proto::tetherd::plain_name(name)) {
      fail(section, "a " + kind + "'s name is 1 to 64 letters, digits, - _ . or :, as in [" + kind +
                        " " + example + "]");
      return nullptr;
    }
    if (!all.count(name)) {
      if (all.size() >= most) {
        fail(section, "more than " + std::to_string(most) + " " + kind + "s");
        return nullptr;
      }
      all[name].name = name;
    }
    return &all[name];
  }

  bool forward_key(const std::string& section, const std::string& key, const std::string& value) {
    auto* found = entry(forwards, max_config_forwards, section, "forward", "ssh");
    if (found == nullptr) return false;
    auto& f = *found;
    if (key == "local") {
      if (!parse_local(value, f.bind_address, f.local_port))
        return fail(section,
                    "local must be PORT or ADDRESS:PORT (an IP address), not '" + value + "'");
    } else if (key == "phone-port") {
      const auto p = number(value, 1, 65535);
      if (!p) return fail(section, "phone-port must be 1-65535, not '" + value + "'");
      f.phone_port = static_cast<std::uint16_t>(*p);
    } else if (key == "udid") {
      if (!proto::tetherd::plausible_udid(value))
        return fail(section, "udid must be the phone's UDID (hex digits and hyphens, at most 64)");
      f.udid = value;
    } else {
      return fail(section, "unknown key '" + key + "' (expected local, phone-port, udid)");
    }
    return true;
  }

  bool reverse_key(const std::string& section, const std::string& key, const std::string& value) {
    auto* found = entry(reverses, max_config_reverses, section, "reverse", "chat");
    if (found == nullptr) return false;
    auto& r = *found;
    if (key == "local") {
      if (!parse_local(value, r.local_address, r.local_port) || r.local_port == 0)
        return fail(section,
                    "local must be the board's service, PORT or ADDRESS:PORT (an IP "
                    "address), not '" +
                        value + "'");
    } else if (key == "phone-port") {
      const auto p = number(value, 1, 65535);
      if (!p) return fail(section, "phone-port must be 1-65535, not '" + value + "'");
      r.phone_port = static_cast<std::uint16_t>(*p);
    } else if (key == "udid") {
      if (!proto::tetherd::plausible_udid(value))
        return fail(section, "udid must be the phone's UDID (hex digits and hyphens, at most 64)");
      r.udid = value;
    } else if (key == "spares") {
      const auto n = number(value, 1, proto::tetherd::max_reverse_spares);
      if (!n)
        return fail(section, "spares must be 1 to " +
                                 std::to_string(proto::tetherd::max_reverse_spares) + ", not '" +
                                 value + "'");
      r.spares = static_cast<std::uint32_t>(*n);
    } else {
      return fail(section, "unknown key '" + key + "' (expected phone-port, local, udid, spares)");
    }
    return true;
  }

  static int callback(void* self, const char* section, const char* key, const char* value) {
    return static_cast<parser*>(self)->handle(section, key, value) ? 1 : 0;
  }
};

}  // namespace

base::result<config> parse_config(const std::string& text, sections which) {
  if (text.size() > max_config_bytes) return {daemon_errc::bad_config, "larger than 1 MiB"};
  if (text.find('\0') != std::string::npos) return {daemon_errc::bad_config, "contains a NUL byte"};
  parser p;
  p.saved_only = which == sections::saved_only;
  const int line = ini_parse_string(text.c_str(), &parser::callback, &p);
  if (line != 0) {
    if (line < 0) return {std::make_error_code(std::errc::not_enough_memory), "out of memory"};
    return {
        daemon_errc::bad_config,
        "line " + std::to_string(line) + ": " +
            (p.error.empty() ? "not 'key = value' or '[section]' (or longer than 200 characters)"
                             : p.error)};
  }
  for (auto& [name, f] : p.forwards) {
    if (f.phone_port == 0)
      return {daemon_errc::bad_config, "[forward " + name + "]: phone-port is missing"};
    p.out.forwards.push_back(std::move(f));
  }
  for (auto& [name, r] : p.reverses) {
    if (r.phone_port == 0)
      return {daemon_errc::bad_config, "[reverse " + name + "]: phone-port is missing"};
    if (r.local_port == 0)
      return {
          daemon_errc::bad_config,
          "[reverse " + name + "]: local is missing (the board's service, PORT or ADDRESS:PORT)"};
    p.out.reverses.push_back(std::move(r));
  }
  return std::move(p.out);
}

base::result<config> load_config(const std::string& path, bool optional) {
  std::string text;  // never more than the limit and a byte, whatever the file
  if (const int e = base::read_file(path, max_config_bytes + 1, text)) {
    if (optional && e == ENOENT) return config{};
    return {errno_code(e), "cannot read " + path + ": " + std::strerror(e)};
  }
  auto parsed = parse_config(text);
  if (!parsed) return {parsed.error(), path + ": " + parsed.describe()};
  return parsed;
}

std::string format_forwards(const std::vector<proto::tetherd::forward_spec>& forwards) {
  std::string out;
  for (const auto& f : forwards) {
    out += "\n[forward " + f.name + "]\n";
    out += "local = " + format_local(f.bind_address, f.local_port) + "\n";
    out += "phone-port = " + std::to_string(f.phone_port) + "\n";
    if (!f.udid.empty()) out += "udid = " + f.udid + "\n";
  }
  return out;
}

std::string format_reverses(const std::vector<proto::tetherd::reverse_spec>& reverses) {
  std::string out;
  for (const auto& r : reverses) {
    out += "\n[reverse " + r.name + "]\n";
    out += "phone-port = " + std::to_string(r.phone_port) + "\n";
    out += "local = " + format_local(r.local_address, r.local_port) + "\n";
    out += "spares = " + std::to_string(r.spares) + "\n";
    if (!r.udid.empty()) out += "udid = " + r.udid + "\n";
  }
  return out;
}

}  // namespace tether::daemon
