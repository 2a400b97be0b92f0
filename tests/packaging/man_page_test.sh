#!/usr/bin/env bash
# tetherd.8 is written by hand: it must name every option `tetherd --help` lists, and
# groff must format it without a warning.
#
#   man_page_test.sh TETHERD MAN_PAGE
set -euo pipefail
tetherd=$1 page=$2
failed=0
# Long options of the help text, and the short ones written as "-x,".
opts=$("$tetherd" --help | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,]*//' | sort -u)
# The page writes a dash as \-.
text=$(sed 's/\\-/-/g' "$page")
for o in $opts; do
  grep -qF -- "$o" <<<"$text" || { echo "FAILED: tetherd.8 does not mention $o"; failed=1; }
done
[ $failed = 0 ] && echo "ok: tetherd.8 mentions all $(wc -w <<<"$opts") options of tetherd --help"
if command -v groff >/dev/null; then
  warnings=$(groff -man -ww -z "$page" 2>&1 || true)
  if [ -n "$warnings" ]; then echo "FAILED: groff warns:"; echo "$warnings"; failed=1
  else echo "ok: groff formats tetherd.8 without warnings"; fi
fi
exit $failed
