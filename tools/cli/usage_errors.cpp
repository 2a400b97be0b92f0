#include "tools/cli/usage_errors.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <vector>

namespace tether::cli {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// neighbours each cost one ("lsit" is one from "list").
std::size_t edits(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The option `name` as the command `at` (or one it falls through to) knows it.
const CLI::Option* find_option(const CLI::App* at, const std::string& name) {
  for (; at != nullptr; at = at->get_parent())
    if (const auto* o = at->get_option_no_throw(name)) return o;
  return nullptr;
}

struct walked {
  const CLI::App* command;           // the deepest command named
  std::string path;                  // "tether cam props"
  std::optional<std::string> stray;  // a word where a command was needed
};

walked walk(const CLI::App& app, int argc, const char* const* argv) {
  walked w{&app, app.get_name(), {}};
  for (int i = 1; i < argc; ++i) {
    const std::string t = argv[i];
    if (t == "--") break;
    if (t.size() > 1 && t[0] == '-') {
      // An option that takes a value swallows the next word (unless given as --x=v).
      const auto* o = t.find('=') == std::string::npos ? find_option(w.command, t) : nullptr;
      if (o != nullptr && o->get_items_expected_min() > 0) ++i;
      continue;
    }
    const auto names = command_names(*w.command);
    if (names.empty()) break;  // a leaf: the rest are its arguments
    if (std::find(names.begin(), names.end(), t) == names.end()) {
      if (w.command->get_require_subcommand_min() > 0) w.stray = t;
      break;
    }
    w.command = w.command->get_subcommand(t);
    w.path += " " + t;
  }
  return w;
}

}  // namespace

std::optional<std::string> likely(const std::string& word,
                                  const std::vector<std::string>& choices) {
  std::optional<std::string> best;
  std::size_t fewest = 3;  // more than two edits is not a typo
  for (const auto& c : choices)
    if (const std::size_t e = edits(word, c); e < fewest) {
      best = c;
      fewest = e;
    }
  if (best || word.size() < 2) return best;
  // A beginning that fits one command only ("for" for "forward").
  for (const auto& c : choices) {
    if (c.rfind(word, 0) != 0) continue;
    if (best) return std::nullopt;
    best = c;
  }
  return best;
}

std::optional<std::string> command_mistake(const CLI::App& app, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string t = argv[i];
    if (t == "--help" || t == "-h" || t == "--version") return std::nullopt;
  }
  const walked w = walk(app, argc, argv);
  const auto names = command_names(*w.command);
  if (w.stray) {
    std::string text = "unknown command '" + *w.stray + "'";
    if (w.command != &app) text += " for " + w.path;
    if (const auto guess = likely(*w.stray, names))
      return text + ": did you mean '" + *guess + "'?";
    return text + " (" + w.path + " takes: " + joined(names) + ")";
  }
  if (w.command->get_require_subcommand_min() > 0 && !names.empty())
    return w.path + " needs a command: " + joined(names) + " (" + w.path +
           " --help says what each does)";
  return std::nullopt;
}

std::string explain(const CLI::App& app, int argc, const char* const* argv,
                    const CLI::ParseError& e) {
  const walked w = walk(app, argc, argv);
  const std::string help = " (" + w.path + " --help shows what it takes)";
  std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    // "The following argument(s) were not expected: Y X" -> the words themselves, in
    // the order they were typed (CLI11 lists them last first).
    const auto colon = what.find(": ");
    if (colon == std::string::npos) return w.path + ": " + what + help;
    std::vector<std::string> words;
    std::istringstream in(what.substr(colon + 2));
    for (std::string word; in >> word;) words.insert(words.begin(), word);
    std::string typed;
    for (const auto& word : words) typed += (typed.empty() ? "" : " ") + word;
    return w.path + ": unexpected '" + typed + "'" + help;
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    // "Could not convert: NAME = VALUE": every converted option of tether is a number.
    const auto colon = what.find(": "), eq = what.find(" = ");
    if (colon != std::string::npos && eq != std::string::npos && eq > colon)
      return w.path + ": " + what.substr(colon + 2, eq - colon - 2) + " takes a number, not '" +
             what.substr(eq + 3) + "'";
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) return w.path + ": " + what + help;
  return w.path + ": " + what;
}

CLI::Validator one_of(std::vector<std::string> choices) {
  return CLI::Validator(
      [choices](std::string& s) -> std::string {
        if (std::find(choices.begin(), choices.end(), s) != choices.end()) return {};
        std::string text = "one of " + joined(choices) + ", not '" + s + "'";
        if (const auto guess = likely(s, choices)) text += ": did you mean '" + *guess + "'?";
        return text;
      },
      "{" + joined(choices) + "}");
}

CLI::Validator port_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && end == s.data() + s.size() && v >= 1 && v <= 65535) return {};
        return "a port is a number from 1 to 65535, not '" + s + "'";
      },
      "1-65535");
}

}  // namespace tether::cli
