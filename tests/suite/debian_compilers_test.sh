#!/usr/bin/env bash
# The C++ stages use Debian's compilers, whatever PATH says: these machines also carry
# Swift's toolchain (/opt/swift, with a clang 21 of its own) for TetherKit. With Swift's
# bin first in PATH, a plain configure still picks a compiler from a Debian package, the
# presets' compilers (g++ 12, clang 14 for the fuzzers and sanitizers) are Debian's, and
# Swift's clang given by hand is refused with words.
#
#   debian_compilers_test.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
debian() { dpkg -S "$(readlink -f "$1")" >/dev/null 2>&1; }

swift_bin=/opt/swift/usr/bin
env -u CXX -u CC PATH="$swift_bin:$PATH" cmake -S "$src" -B "$work/plain" -G Ninja \
  -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_BENCHMARKS=OFF >"$work/plain.log" 2>&1 ||
  { echo "FAILED: a plain configure with $swift_bin first in PATH failed"; cat "$work/plain.log"; exit 1; }
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$work/plain/CMakeCache.txt")
if debian "$cxx"; then echo "ok: with Swift first in PATH, cmake picks $cxx ($(readlink -f "$cxx")), from a Debian package"
else echo "FAILED: with Swift first in PATH, cmake picks $cxx ($(readlink -f "$cxx")), not a Debian compiler"; failed=1; fi

for c in $(grep -o '"CMAKE_CXX_COMPILER": "[^"]*"' "$src/CMakePresets.json" | cut -d'"' -f4 | sort -u); do
  if debian "$c"; then echo "ok: the presets' $c is $(readlink -f "$c"), from $(dpkg -S "$(readlink -f "$c")" | cut -d: -f1)"
  else echo "FAILED: the presets name $c, which is not from a Debian package"; failed=1; fi
done

if [ -x "$swift_bin/clang++" ]; then
  if cmake -S "$src" -B "$work/swift" -G Ninja -DCMAKE_CXX_COMPILER="$swift_bin/clang++" \
    >"$work/swift.log" 2>&1; then
    echo "FAILED: configuring with Swift's clang++ was accepted"; failed=1
  elif grep -q "the C++ compiler is Swift's" "$work/swift.log"; then
    echo "ok: Swift's clang++ is refused: $(grep -A1 "the C++ compiler is Swift's" "$work/swift.log" | tr -s ' \n' ' ')"
  else
    echo "FAILED: configuring with Swift's clang++ failed, but not with the refusal"; cat "$work/swift.log"; failed=1
  fi
else
  echo "ok: no Swift toolchain at $swift_bin here, nothing to confuse"
fi
exit $failed
