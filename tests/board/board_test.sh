#!/usr/bin/env bash
# One virtual-board scenario: packs tether's .debs with cpack, boots the board (board/run)
# with them in /share/debs and runs board/scenarios/SCENARIO.sh there.
#
#   board_test.sh SOURCE_DIR BUILD_DIR SCENARIO [ARCH]
#
# ARCH (amd64 by default) is the board's: an arm64 build's .debs go on the arm64 board.
set -uo pipefail
src=$1 build=$2 scenario=$3 arch=${4:-amd64}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: building the board's image needs root (debootstrap)"; exit 77; }
qemu=qemu-system-x86_64
[ "$arch" = arm64 ] && qemu=qemu-system-aarch64
for tool in cpack $qemu debootstrap mkfs.ext4; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is missing (scripts/install-deps installs it)"; exit 77; }
done
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ "$prefix" = /usr ] || { echo "SKIP: the build's prefix is $prefix; packages need -DCMAKE_INSTALL_PREFIX=/usr"; exit 77; }

share=$(mktemp -d /tmp/tether-board.XXXXXX)
trap 'rm -rf "$share"' EXIT
start=$(date +%s)
if ! (cd "$share" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$share/cpack" >"$share/cpack.log" 2>&1); then
  cat "$share/cpack.log"; echo "FAILED: cpack"; exit 1
fi
mkdir -p "$share/debs"
mv "$share"/cpack/*.deb "$share/debs/"
rm -rf "$share/cpack"
echo "packed $(cd "$share/debs" && ls | tr '\n' ' ')in $(( $(date +%s) - start )) s"
cp -r "$src/board/scenarios" "$share/scenarios"
cp "$src/tests/interop/muxclient.py" "$share/scenarios/"  # a usbmuxd client for the scenarios' checks
rc=0
"$src/board/run" --arch "$arch" --share "$share" --timeout 900 --console "$share/console.log" -- \
  bash /share/scenarios/"$scenario".sh || rc=$?
if [ $rc -ne 0 ]; then
  echo "--- the board's console (end) ---"
  tail -40 "$share/console.log"
fi
exit $rc
