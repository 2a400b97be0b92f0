#!/usr/bin/env bash
# The COMMANDS section of tether.1, for help2man --include: every subcommand's own
# --help (its arguments and options), which `tether --help` alone does not show.
#
#   tether_man_commands.sh TETHER OUTPUT
set -euo pipefail
tether=$1 out=$2
commands=("list" "watch" "connect" "forward add" "forward list" "forward remove" "forward run"
  "reverse add" "reverse list" "reverse remove" "info" "pair" "log-level"
  "cam props" "cam set" "cam focus" "cam capture" "cam liveview" "cam view" "chat")
{
  echo "[COMMANDS]"
  for c in "${commands[@]}"; do
    echo ".SS \"tether $c\""
    echo ".nf"
    # The footer (exit status, the daemon's address) is the same for all: once, below.
    # shellcheck disable=SC2086
    "$tether" $c --help | sed -e '/^Exit status:/,$d' -e 's/\\/\\\\/g' -e 's/^\./\\\&./'
    echo ".fi"
  done
} >"$out"
