#!/usr/bin/env bash
# The Debian packages, for real: cpack builds tether, tether-dev and tether-camera,
# dpkg installs them, the files are where they should be, /usr/sbin/tetherd runs, the
# tether user exists, the libraries build a program through pkg-config (tether-dev),
# tether-camera runs, the maintainer scripts pass sh -n (and shellcheck), usbmuxd's rule
# and unit are diverted while tether is installed, removing tether stops a running
# tetherd, gives usbmuxd's files back and keeps the conffile, and purging leaves the
# system as it was (a tether user this test made is deleted again).
#
#   deb_package_test.sh BUILD_DIR TETHER_SIM
set -uo pipefail
build=$(cd "$1" && pwd) sim=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: dpkg -i needs root"; exit 77; }
for p in cpack dpkg dpkg-deb dpkg-shlibdeps; do
  command -v $p >/dev/null || { echo "SKIP: $p missing"; exit 77; }
done
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ "$prefix" = /usr ] || { echo "SKIP: the build's prefix is $prefix; packages need -DCMAKE_INSTALL_PREFIX=/usr"; exit 77; }
for p in tether tether-dev tether-camera; do
  if dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'installed\|config-files'; then
    echo "SKIP: a $p package is already on this system; not touching it"; exit 77
  fi
done

failed=0
ok() { echo "ok: $*"; }
fail() { echo "FAILED: $*"; failed=1; }
tmp=$(mktemp -d)
had_user=0; getent passwd tether >/dev/null && had_user=1
had_group=0; getent group tether >/dev/null && had_group=1
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null
  dpkg -P tether-camera tether-dev tether >/dev/null 2>&1
  [ $had_user = 0 ] && getent passwd tether >/dev/null && userdel tether
  [ $had_group = 0 ] && getent group tether >/dev/null && groupdel tether
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------------------------
if ! (cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log"; echo "FAILED: cpack"; exit 1
fi
deb=$(ls "$tmp"/out/tether_*.deb 2>/dev/null | head -1)
dev_deb=$(ls "$tmp"/out/tether-dev_*.deb 2>/dev/null | head -1)
camera_deb=$(ls "$tmp"/out/tether-camera_*.deb 2>/dev/null | head -1)
[ -f "$deb" ] && [ -f "$dev_deb" ] || { cat "$tmp/cpack.log"; echo "FAILED: no tether and tether-dev .debs from cpack"; exit 1; }
have_camera=0
[ -x "$build/tools/camera/tether-camera" ] && have_camera=1
if [ $have_camera = 1 ] && [ ! -f "$camera_deb" ]; then fail "no tether-camera .deb"; have_camera=0; fi
ok "cpack built $(cd "$tmp/out" && ls ./*.deb | xargs -n1 basename | tr '\n' ' ')"
dpkg-deb -c "$deb" | grep -q 'libtether\|include/tether\|tether-camera' &&
  fail "tether.deb carries what belongs to tether-dev or tether-camera"
if [ $have_camera = 1 ]; then
  cdep=$(dpkg-deb -f "$camera_deb" Depends)
  for lib in libgphoto2 libturbojpeg "tether (= $(dpkg-deb -f "$deb" Version))"; do
    case "$cdep" in *"$lib"*) ;; *) fail "tether-camera's Depends lacks $lib: $cdep" ;; esac
  done
  ok "tether-camera depends on tether and its own libraries: $cdep"
fi

depends=$(dpkg-deb -f "$deb" Depends)
case "$depends" in *gphoto*|*turbojpeg*) fail "tether depends on the camera's libraries: $depends" ;; esac
for lib in libusb-1.0 libplist libinih libstdc++ libc6 passwd; do
  case "$depends" in *"$lib"*) ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
ok "Depends (from dpkg-shlibdeps): $depends"
dpkg-deb -e "$deb" "$tmp/control"
for f in preinst postinst prerm postrm conffiles; do
  [ -f "$tmp/control/$f" ] || fail "no $f in the package"
done
grep -qx /etc/tether/tetherd.conf "$tmp/control/conffiles" || fail "tetherd.conf is not a conffile"
# The maintainer scripts are POSIX sh (dpkg runs them with /bin/sh), and where the
# program is installed, shellcheck finds nothing in them.
for f in preinst postinst prerm postrm; do
  sh -n "$tmp/control/$f" || fail "$f: sh -n finds a syntax error"
  if command -v shellcheck >/dev/null; then
    r=$(shellcheck -s sh "$tmp/control/$f" 2>&1) || fail "$f: shellcheck: $r"
  fi
done
command -v shellcheck >/dev/null || echo "  (shellcheck is not installed: sh -n only)"
# tether takes usbmuxd's place: it provides usbmuxd (libimobiledevice6 recommends it)
# and diverts usbmuxd's rule and unit while it is installed, but does not conflict with
# it, so that an installed usbmuxd gets the phones back when tether goes.
provides=$(dpkg-deb -f "$deb" Provides)
[ "$provides" = usbmuxd ] || fail "Provides is '$provides', not usbmuxd"
for field in Conflicts Breaks Replaces; do
  v=$(dpkg-deb -f "$deb" $field)
  case "$v" in *usbmuxd*) fail "$field names usbmuxd: $v" ;; esac
done
diverted="/lib/udev/rules.d/39-usbmuxd.rules /lib/systemd/system/usbmuxd.service"
for path in $diverted; do
  grep -q "$path" "$tmp/control/preinst" && grep -q "$path" "$tmp/control/postrm" ||
    fail "preinst and postrm do not both name $path"
done
# udev resolves OWNER and GROUP when it loads the rule, which may be as soon as it is
# unpacked: the user must exist before (on the board, a rule loaded first kept the
# phone's node root's).
grep -q 'useradd --system' "$tmp/control/preinst" || fail "preinst does not make the tether user"
grep -q 'dpkg-divert --package tether --rename .*--add' "$tmp/control/preinst" ||
  fail "preinst adds no renaming diversion"
grep -q 'dpkg-divert --package tether --rename .*--remove' "$tmp/control/postrm" ||
  fail "postrm removes no diversion"
ok "scripts: sh -n$(command -v shellcheck >/dev/null && echo ', shellcheck'); Provides: usbmuxd, no Conflicts; usbmuxd's rule and unit diverted and given back"
# usbmuxd's files as this system has them (the test puts them back as they were).
usbmuxd_files=""
for path in $diverted; do [ -e "$path" ] && usbmuxd_files="$usbmuxd_files $path"; done

# --- install -------------------------------------------------------------------------------
debs=("$deb" "$dev_deb")
[ $have_camera = 1 ] && debs+=("$camera_deb")
# tether-camera's Depends names libgphoto2 and libturbojpeg, which are on this machine
# (install-deps); dpkg installs the three together.
if ! dpkg -i "${debs[@]}" >"$tmp/dpkg-i.log" 2>&1; then
  cat "$tmp/dpkg-i.log"; fail "dpkg -i"; exit 1
fi
ok "dpkg -i ${#debs[@]} packages"
if [ $have_camera = 1 ]; then
  for f in /usr/bin/tether-camera /usr/lib/systemd/system/tether-camera.service \
    /usr/share/man/man1/tether-camera.1; do
    [ -e "$f" ] || fail "$f is missing"
  done
  v=$(/usr/bin/tether-camera --version 2>&1) || fail "/usr/bin/tether-camera --version: $v"
  grep -q '^ExecStart=/usr/bin/tether-camera ' /usr/lib/systemd/system/tether-camera.service ||
    fail "tether-camera's unit names another program"
  ok "tether-camera installed and runs: $v"
fi
for f in /usr/sbin/tetherd /usr/lib/udev/rules.d/39-tetherd.rules \
  /usr/lib/systemd/system/tetherd.service /usr/lib/systemd/system/tetherd.socket \
  /etc/init.d/tetherd /etc/tether/tetherd.conf \
  /usr/share/man/man8/tetherd.8 /usr/include/tether/usbmux/core/session.hpp \
  /usr/include/tether/proto/usbmuxd/wire.hpp; do
  [ -e "$f" ] || fail "$f is missing"
done
libdir=$(sed -n 's/^libdir=//p' "$build/packaging/tether-usbmux.pc")
for f in "$libdir/libtether_usbmux_core.a" "$libdir/libtether_proto.a" \
  "$libdir/pkgconfig/tether-usbmux.pc" "$libdir/pkgconfig/tether-proto.pc"; do
  [ -e "$f" ] || fail "$f is missing"
done
[ -x /etc/init.d/tetherd ] || fail "/etc/init.d/tetherd is not executable"
[ -x "$build/tools/cli/tether" ] && { [ -x /usr/bin/tether ] || fail "/usr/bin/tether is missing"; }
ok "files are in place"
grep -q 'RUN+="/usr/sbin/tetherd -x"' /usr/lib/udev/rules.d/39-tetherd.rules || fail "rules name another tetherd"
grep -q '^ExecStart=/usr/sbin/tetherd ' /usr/lib/systemd/system/tetherd.service || fail "unit names another tetherd"
grep -qx 'ListenStream=/run/usbmuxd' /usr/lib/systemd/system/tetherd.socket || fail "the socket unit holds another path"
# A first install enables the socket (clients always find a daemon) and the service (the
# forwards listen from boot), as debhelper's packages do, through deb-systemd-helper.
if command -v deb-systemd-helper >/dev/null; then
  for link in sockets.target.wants/tetherd.socket multi-user.target.wants/tetherd.service; do
    [ -L "/etc/systemd/system/$link" ] || fail "dpkg -i did not enable ${link#*/} ($link)"
  done
  ok "tetherd.socket and tetherd.service enabled by the install"
fi

# While tether is installed, usbmuxd's rule and unit are diverted by tether to names
# that udev and systemd do not read.
for path in $diverted; do
  dpkg-divert --listpackage "$path" | grep -qx tether || fail "$path is not diverted by tether after dpkg -i"
  [ "$(dpkg-divert --truename "$path")" = "$path.tether-diverted" ] ||
    fail "$path is diverted to $(dpkg-divert --truename "$path")"
done
for path in $usbmuxd_files; do
  [ ! -e "$path" ] && [ -e "$path.tether-diverted" ] ||
    fail "$path was not moved aside to $path.tether-diverted"
done
ok "usbmuxd's rule and unit diverted by tether${usbmuxd_files:+ (and moved aside:$usbmuxd_files)}"

v=$(/usr/sbin/tetherd --version) && [ "$v" = "tetherd $(dpkg-deb -f "$deb" Version)" ] ||
  fail "/usr/sbin/tetherd --version says '$v'"
ok "/usr/sbin/tetherd --version: $v"
getent passwd tether | grep -q ':/usr/sbin/nologin$' || fail "no tether user with nologin"
[ "$(id -gn tether 2>/dev/null)" = tether ] || fail "tether's group is not tether"
ok "system user and group tether"
# The page itself, whether or not man-db is here to look it up.
compgen -G '/usr/share/man/man8/tetherd.8*' >/dev/null || fail "no tetherd.8 in /usr/share/man/man8"
if command -v man >/dev/null; then
  man -w tetherd >/dev/null 2>&1 || fail "man tetherd finds no page"
fi

cat >"$tmp/use.cpp" <<'CPP'
#include <cstdio>
#include "proto/usbmuxd/wire.hpp"
#include "usbmux/core/mux_header.hpp"
int main() {
  std::printf("%zu %zu\n", tether::usbmux::header_size(tether::usbmux::header_format::v2),
              tether::proto::usbmuxd::encode_result(1, {}, true).size());
}
CPP
# shellcheck disable=SC2046
if c++ -std=c++20 -o "$tmp/use" "$tmp/use.cpp" $(pkg-config --cflags --libs tether-proto tether-usbmux) \
  2>"$tmp/cc.log" && "$tmp/use" >/dev/null; then
  ok "a program builds and runs against the installed libraries via pkg-config"
else
  cat "$tmp/cc.log"; fail "building against tether-usbmux and tether-proto"
fi

# --- removal stops a running tetherd (started the way the init script or udev would) --------
"$sim" -- /usr/sbin/tetherd -f -u --user tether -S "$tmp/usbmuxd" -C "$tmp/lockdown" >"$tmp/run.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -S "$tmp/usbmuxd" ] && break; sleep 0.1; done
[ -S "$tmp/usbmuxd" ] || { cat "$tmp/run.log"; fail "the installed tetherd did not start"; }
echo "# changed by the test" >>/etc/tether/tetherd.conf
if dpkg -r tether-camera tether-dev tether >"$tmp/dpkg-r.log" 2>&1; then ok "dpkg -r"; else cat "$tmp/dpkg-r.log"; fail "dpkg -r"; fi
for _ in $(seq 100); do kill -0 $sim_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $sim_pid 2>/dev/null; then fail "tetherd still runs after dpkg -r"; else
  wait $sim_pid; rc=$?; [ $rc = 0 ] || fail "tetherd exited $rc after dpkg -r"
  ok "dpkg -r stopped the running tetherd (exit 0)"; fi
sim_pid=
[ -e /usr/sbin/tetherd ] && fail "/usr/sbin/tetherd survives dpkg -r"
grep -q "changed by the test" /etc/tether/tetherd.conf 2>/dev/null || fail "dpkg -r did not keep the conffile"
ok "dpkg -r removed the program and kept the changed conffile"
for path in $diverted; do
  [ -n "$(dpkg-divert --listpackage "$path")" ] && fail "$path is still diverted after dpkg -r"
  [ -e "$path.tether-diverted" ] && fail "$path.tether-diverted is left after dpkg -r"
done
for path in $usbmuxd_files; do
  [ -e "$path" ] || fail "$path did not come back after dpkg -r"
done
ok "dpkg -r gave usbmuxd's rule and unit back${usbmuxd_files:+ ($usbmuxd_files)}"

if dpkg -P tether-camera tether-dev tether >"$tmp/dpkg-p.log" 2>&1; then ok "dpkg -P"; else cat "$tmp/dpkg-p.log"; fail "dpkg -P"; fi
[ -e /etc/tether ] && fail "/etc/tether survives purging"
[ -e /var/lib/tether ] && fail "/var/lib/tether (saved forwards) survives purging"
for link in sockets.target.wants/tetherd.socket multi-user.target.wants/tetherd.service; do
  [ -e "/etc/systemd/system/$link" ] || [ -L "/etc/systemd/system/$link" ] && fail "$link survives purging"
done
for p in tether tether-dev tether-camera; do
  dpkg-query -W $p >/dev/null 2>&1 && fail "dpkg still knows $p after purging"
done
ok "purged: nothing of tether is left"
exit $failed
