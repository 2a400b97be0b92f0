// The command line's mistakes, in words: typos of commands, a missing command, and
// CLI11's own refusals turned into the user's terms.
#include "tools/cli/usage_errors.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tether::cli {
namespace {

// A command tree shaped like tether's: options with values before and after commands.
struct commands {
  CLI::App app{"test", "tether"};
  std::string socket, camera;
  unsigned port = 0;
  commands() {
    app.require_subcommand(1);
    app.add_option("--socket", socket);
    app.add_subcommand("list")->fallthrough();
    app.add_subcommand("connect")
        ->fallthrough()
        ->add_option("PORT", port)
        ->required()
        ->check(port_number());
    auto* cam = app.add_subcommand("cam");
    cam->require_subcommand(1);
    cam->add_option("--camera", camera);
    cam->add_subcommand("props")->fallthrough()->add_option("NAME", socket);
    cam->add_subcommand("liveview")->fallthrough()->add_option("--frames", port);
  }
  std::optional<std::string> mistake(std::vector<const char*> words) {
    words.insert(words.begin(), "tether");
    return command_mistake(app, static_cast<int>(words.size()), words.data());
  }
  std::string refusal(std::vector<const char*> words) {
    words.insert(words.begin(), "tether");
    try {
      app.parse(static_cast<int>(words.size()), words.data());
    } catch (const CLI::ParseError& e) {
      return explain(app, static_cast<int>(words.size()), words.data(), e);
    }
    return "parsed";
  }
};

TEST(UsageErrors, LikelyCommandAllowsTwoEditsAndSwaps) {
  const std::vector<std::string> names{"list", "watch", "connect", "forward", "info", "cam"};
  EXPECT_EQ(likely("lsit", names), "list");       // a swap is one edit
  EXPECT_EQ(likely("forwrd", names), "forward");  // one left out
  EXPECT_EQ(likely("conect", names), "connect");
  EXPECT_EQ(likely("for", names), "forward");  // the only command it begins
  EXPECT_EQ(likely("zzzzzz", names), std::nullopt);
}

TEST(UsageErrors, UnknownAndMissingCommandsAreNamedWithTheChoices) {
  commands c;
  EXPECT_EQ(c.mistake({"lsit"}), "unknown command 'lsit': did you mean 'list'?");
  EXPECT_EQ(c.mistake({"--socket", "/x", "lst"}), "unknown command 'lst': did you mean 'list'?");
  EXPECT_EQ(c.mistake({"cam", "prop"}),
            "unknown command 'prop' for tether cam: did you mean 'props'?");
  EXPECT_EQ(c.mistake({"frobnicate"}),
            "unknown command 'frobnicate' (tether takes: list, connect, cam)");
  EXPECT_EQ(c.mistake({}),
            "tether needs a command: list, connect, cam (tether --help says what each does)");
  EXPECT_EQ(c.mistake({"cam", "--camera", "props"}),  // "props" is --camera's value
            "tether cam needs a command: props, liveview (tether cam --help says what each does)");
  EXPECT_EQ(c.mistake({"cam", "props", "iso"}), std::nullopt);
  EXPECT_EQ(c.mistake({"lsit", "--help"}), std::nullopt);  // help is CLI11's to give
}

TEST(UsageErrors, RefusalsSayWhatWasWrongInTheUsersTerms) {
  EXPECT_EQ(commands().refusal({"connect", "70000"}),
            "tether connect: PORT: a port is a number from 1 to 65535, not '70000'");
  EXPECT_EQ(commands().refusal({"connect"}),
            "tether connect: PORT is required (tether connect --help shows what it takes)");
  EXPECT_EQ(commands().refusal({"cam", "liveview", "--frames", "x"}),
            "tether cam liveview: --frames takes a number, not 'x'");
  EXPECT_EQ(
      commands().refusal({"cam", "props", "iso", "two", "more"}),
      "tether cam props: unexpected 'two more' (tether cam props --help shows what it takes)");
  // A parent's option after the command is taken, as people type it.
  EXPECT_EQ(commands().refusal({"cam", "props", "iso", "--camera", "/x"}), "parsed");
}

TEST(UsageErrors, OneOfSuggestsTheLikelyChoice) {
  CLI::App app{"test", "tether"};
  std::string how;
  app.add_option("HOW", how)->check(one_of({"auto", "near", "far"}));
  const char* words[] = {"tether", "fra"};
  try {
    app.parse(2, words);
    FAIL() << "'fra' was taken";
  } catch (const CLI::ParseError& e) {
    EXPECT_EQ(explain(app, 2, words, e),
              "tether: HOW: one of auto, near, far, not 'fra': did you mean 'far'?");
  }
}

}  // namespace
}  // namespace tether::cli
