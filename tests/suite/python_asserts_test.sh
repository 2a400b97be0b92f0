#!/usr/bin/env bash
# Python checks written as assert statements vanish under python -O (PYTHONOPTIMIZE),
# and a test would then pass having checked nothing. Every test file that uses assert
# must refuse to run optimised: run with -O, it must exit non-zero and say why before it
# does anything else.
#
#   python_asserts_test.sh TESTS_DIR
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1  # nothing written into the source tree
failed=0 checked=0
while IFS= read -r f; do
  checked=$((checked + 1))
  err=$(cd "$(dirname "$f")" && timeout 20 python3 -O "$(basename "$f")" 2>&1 >/dev/null </dev/null)
  rc=$?
  if [ "$rc" -eq 0 ] || ! grep -q PYTHONOPTIMIZE <<<"$err"; then
    echo "FAILED: $f runs under python -O (exit $rc) although its checks are asserts"
    failed=1
  fi
done < <(grep -rlE '^\s*assert\b' --include='*.py' "$1")
[ "$checked" -gt 0 ] || { echo "FAILED: no Python test with assert found under $1"; exit 1; }
[ "$failed" = 0 ] && echo "ok: all $checked Python files with assert statements refuse python -O"
exit $failed
