#pragma once
// Command-line mistakes in the user's terms. CLI11's own texts name its internals ("A
// subcommand is required", "Could not convert: PORT = 70000"); these say what was wrong
// and what was probably meant ("unknown command 'lsit': did you mean 'list'?").
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tether::cli {

// Walks the command words before CLI11 parses them: an unknown command, or a command
// that needs one more word and got none, is said here with the choices (and the likely
// one). Nothing when the words are fine as far as commands go, or --help is asked for.
std::optional<std::string> command_mistake(const CLI::App& app, int argc, const char* const* argv);

// What CLI11 refused, in words: which command, what was wrong, where to look.
std::string explain(const CLI::App& app, int argc, const char* const* argv,
                    const CLI::ParseError& e);

// A port on the command line: 1 to 65535, said so when it is not.
CLI::Validator port_number();
// One of `choices`, with the likely one suggested when not.
CLI::Validator one_of(std::vector<std::string> choices);

// The name among `choices` that `word` is most likely a typo of (at most two edits,
// a swap of neighbours counting as one), or nothing.
std::optional<std::string> likely(const std::string& word, const std::vector<std::string>& choices);

}  // namespace tether::cli
