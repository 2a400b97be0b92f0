#!/usr/bin/env bash
# The engine's CPU cost in instructions (valgrind --tool=callgrind), which repeat from run
# to run and do not depend on the machine's load, unlike times on a shared 2-core machine.
# engine_instructions does a fixed amount of work (host -> phone writes through the
# in-memory link, both ends' work counted); each size runs at two counts and the
# difference is divided, so start-up and the connection set-up cancel out.
#
#   engine_instructions.sh ENGINE_INSTRUCTIONS BUILD_TYPE
#
# Bounds, for a Release build (GCC 12, valgrind 3.19, Debian 12), measured at -O2 when they
# were set, with a 1.5x margin (-O3, a compiler update; a cost twice as high fails):
#   512-byte writes: 3256 instructions a write   -> bound 4900
#   64 KiB writes:   622k instructions a MB      -> bound 935k
# glibc picks memcpy by CPU features, and 64 KiB writes are mostly copies: the baseline
# x86-64 memcpy is pinned (GLIBC_TUNABLES) so another CPU counts the same. Other build
# types print the figures without bounds. Exit 77 without valgrind.
set -euo pipefail
bin=$1 build_type=${2:-}
command -v valgrind >/dev/null || { echo "skipped: needs valgrind"; exit 77; }
export GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX_Usable,-AVX2_Usable,-ERMS,-AVX512F_Usable,-AVX_Fast_Unaligned_Load,-Fast_Unaligned_Copy,-SSSE3,-SSE4_1,-SSE4_2"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() {  # count SIZE WRITES -> instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$1" "$2" 2>"$out/err" >/dev/null ||
    { cat "$out/err"; exit 1; }
  sed -nE 's/.*Collected : ([0-9]+).*/\1/p' "$out/err"
}
per_write_512=$(( ($(count 512 20000) - $(count 512 10000)) / 10000 ))
per_write_64k=$(( ($(count 65536 200) - $(count 65536 100)) / 100 ))
per_mb_64k=$(( per_write_64k * 1000000 / 65536 ))

failed=0
report() {  # report WHAT FIGURE BOUND MEASURED_WHEN_SET
  local verdict="not checked (a $build_type build; the bounds are for Release)"
  if [ "$build_type" = Release ]; then
    if [ "$2" -le "$3" ]; then verdict=met; else verdict=MISSED; failed=1; fi
  fi
  echo "$1: $2 instructions ($(awk -v a="$2" -v b="$4" 'BEGIN {printf "%.2f", a / b}') of the $4 measured" \
    "when the bound was set; bound $3): $verdict"
}
report "512-byte writes, per write" "$per_write_512" 4900 3256
report "64 KiB writes, per MB" "$per_mb_64k" 935000 622000
exit $failed
