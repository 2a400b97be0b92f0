#!/usr/bin/env bash
# tether.1 (help2man) must carry every subcommand's options, not only the top-level
# ones, and its NAME line must say what the command does, camera included; groff must
# format it without a warning.
#
#   cli_man_page_test.sh TETHER TETHER_1
set -euo pipefail
tether=$1 page=$2
failed=0
text=$(sed 's/\\-/-/g' "$page")
grep -A1 '^\.SH NAME' "$page" | grep -q camera || { echo "FAILED: the NAME line leaves out the camera"; failed=1; }
count=0
for c in "list" "watch" "connect" "forward add" "forward list" "forward remove" "forward run" \
  "reverse add" "reverse list" "reverse remove" "info" "pair" "log-level" \
  "cam props" "cam set" "cam focus" "cam capture" "cam liveview" "cam view" "chat"; do
  grep -qF "tether $c" <<<"$text" || { echo "FAILED: tether.1 has no section for 'tether $c'"; failed=1; }
  # shellcheck disable=SC2086
  for o in $("$tether" $c --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    count=$((count + 1))
    grep -qF -- "$o" <<<"$text" || { echo "FAILED: tether.1 does not mention $o of 'tether $c'"; failed=1; }
  done
done
[ "$failed" = 0 ] && echo "ok: tether.1 names all 20 subcommands and their $count options"
warnings=$(groff -man -ww -z "$page" 2>&1 || true)
if [ -n "$warnings" ]; then echo "FAILED: groff warns:"; echo "$warnings"; failed=1
else echo "ok: groff formats tether.1 without warnings"; fi
exit $failed
