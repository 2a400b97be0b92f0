#!/usr/bin/env bash
# scripts/ctest_tally.py against a ctest run of known outcomes: one pass, one failure,
# one skip (exit 77 with SKIP_RETURN_CODE), one program that does not exist and one
# timeout. The tally must say 1 passed, 3 failed, 1 skipped, with the skip's reason:
# ctest's own summary line calls that run "40% tests passed", counting the skip as a
# pass, which is what scripts/test used to add up. A failure is followed by the lines of
# its output that say what failed (a CI log is often kept only by its end).
#
#   tally_test.sh PATH/TO/scripts/ctest_tally.py
set -euo pipefail
tally=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(tally NONE)
enable_testing()
add_test(NAME passes COMMAND true)
add_test(NAME fails COMMAND sh -c "echo 'ok: first check'; echo 'FAILED: the second check'; echo 'ok: third'; exit 1")
add_test(NAME skips COMMAND sh -c "echo 'skipped: needs root'; exit 77")
set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME no_such_program COMMAND /nonexistent/program)
add_test(NAME times_out COMMAND sleep 10)
set_tests_properties(times_out PROPERTIES TIMEOUT 1)
CMAKE
cmake -S "$dir" -B "$dir/b" >/dev/null
(cd "$dir/b" && ctest --output-junit "$dir/j.xml" >/dev/null 2>&1) || true
out=$(python3 "$tally" "$dir/j.xml")
echo "$out"
failed=0
expect() {
  if grep -qxF -- "$1" <<<"$out"; then echo "ok: $2"; else echo "FAILED: $2 (no line '$1')"; failed=1; fi
}
expect "1 3 1" "1 passed, 3 failed, 1 skipped"
expect "skipped: skips: skipped: needs root" "the skip is named with the test's own reason"
expect "failed: no_such_program (Unable to find executable)" "a program ctest cannot find is a failure"
expect "failed: times_out (fail)" "a timeout is a failure"
expect "  FAILED: the second check" "a failure is followed by the line of its output that says what failed"
if grep -q "ok: first check" <<<"$out"; then
  echo "FAILED: a failure's passing checks were printed with it"; failed=1
else
  echo "ok: only the lines that say what failed are printed"
fi
# No tests selected is an error, not an empty pass.
if (cd "$dir/b" && ctest -L no-such-label --no-tests=error >/dev/null 2>&1); then
  echo "FAILED: ctest --no-tests=error passed with no test selected"; failed=1
else
  echo "ok: a label that selects nothing fails the stage"
fi
exit $failed
