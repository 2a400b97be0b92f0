#!/bin/bash
# tether-gadget itself in a real kernel, before any tether package is involved: the
# guest's own kernel enumerates it through dummy_hcd; Debian's usbmuxd (started by hand,
# its udev rule masked) and libimobiledevice's tools talk to it. Checks: enumeration, the
# descriptors lsusb reads, idevice_id, ideviceinfo, an echo byte for byte at sizes that
# need a ZLP each way, a cable pull and re-plug through the control socket, a clean
# SIGTERM, and a second run. Prints the figures it measured.
#
#   scenarios/gadget.sh [TETHER-GADGET]   (default: the one tether-gadget's .deb installs)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if [ -n "${1:-}" ]; then gadget_bin=$1; else
  install_debs tether-gadget && ok "dpkg -i tether-gadget"
  gadget_bin=tether-gadget
fi
work=$(mktemp -d)
gadget_control=$work/control
control=$gadget_control
ms() { echo $(($(date +%s%N) / 1000000)); }

finish() {
  [ -n "${usbmuxd_pid:-}" ] && kill "$usbmuxd_pid" 2>/dev/null
  if [ -n "${gadget_pid:-}" ] && kill -0 "$gadget_pid" 2>/dev/null; then
    kill "$gadget_pid"
    wait "$gadget_pid"
  fi
  if [ "$failed" != 0 ]; then
    echo "--- tether-gadget's log"
    cat "$work/gadget.log"
    echo "--- usbmuxd's log (last 40 lines)"
    tail -n 40 "$work/usbmuxd.log" 2>/dev/null
    echo "--- kernel (last 30 lines)"
    dmesg | tail -n 30
    echo "scenario FAILED after $(since) s"
    exit 1
  fi
  echo "scenario passed in $(since) s"
  exit 0
}

control() { gadget "$@"; }

listed() { idevice_id -l | grep -qx "$udid"; }
unlisted() { ! idevice_id -l | grep -qx "$udid"; }

modprobe dummy_hcd && modprobe libcomposite && modprobe usb_f_fs ||
  { fail "cannot load dummy_hcd, libcomposite and usb_f_fs"; finish; }

# Debian's usbmuxd runs here by hand, in the foreground: its udev rule would start a
# second one on plug and stop ours ('usbmuxd -x') on unplug, so the rules are masked.
systemctl stop usbmuxd.service usbmuxd.socket 2>/dev/null
for rule in /lib/udev/rules.d/*usbmuxd*.rules /lib/udev/rules.d/*tether*.rules; do
  [ -e "$rule" ] && ln -sf /dev/null "/etc/udev/rules.d/$(basename "$rule")"
done
udevadm control --reload

gadget_started=$(ms)
"$gadget_bin" -v --control "$control" >"$work/gadget.log" 2>&1 &
gadget_pid=$!
wait_until 20 "lsusb -d 05ac:12a8" lsusb -d 05ac:12a8 || finish
enumerated_ms=$(($(ms) - gadget_started))
ok "enumerated as $(lsusb -d 05ac:12a8 | cut -d' ' -f6-) $enumerated_ms ms after tether-gadget started"
udid=$(control list | awk '$1 == 1 {print $2}')
lsusb -v -d 05ac:12a8 2>/dev/null >"$work/lsusb.txt"
configs=$(grep -c "bConfigurationValue" "$work/lsusb.txt")
[ "$configs" = 4 ] && ok "4 configurations" || fail "lsusb -v shows $configs configurations, not 4"
grep -q "iSerial .*${udid//-/}" "$work/lsusb.txt" && ok "serial ${udid//-/}" ||
  fail "lsusb -v does not show serial ${udid//-/}"
grep -q "bInterfaceClass *255 Vendor Specific Class" "$work/lsusb.txt" &&
  grep -q "bInterfaceSubClass *254" "$work/lsusb.txt" && ok "usbmux interface 255/254/2" ||
  fail "no usbmux interface in lsusb -v"

usbmuxd -f -U root -v >"$work/usbmuxd.log" 2>&1 &
usbmuxd_pid=$!
wait_until 30 "idevice_id -l to list $udid" listed || finish
ok "idevice_id -l lists $udid after $waited_ms ms of usbmuxd"
# -s: without a session; the virtual lockdownd does not pair (lockdownd_app.hpp).
product=$(ideviceinfo -s -u "$udid" -k ProductType 2>&1)
[ "$product" = "iPhone14,2" ] && ok "ideviceinfo -s -k ProductType: $product" ||
  fail "ideviceinfo -s -k ProductType said '$product'"

# echo: 64-byte round trips, then payloads byte for byte. A mux packet is 16 + 20
# bytes of headers plus data, so 512k - 36 bytes of data make packets that end on a full
# USB packet (a ZLP each way); 512k bytes do so in the stream's own chunks.
echo_check() {
  python3 - "$udid" "$here" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
import muxclient
udid = sys.argv[1]
dev = next(d for d in muxclient.devices("/var/run/usbmuxd")
           if d["Properties"]["SerialNumber"] in (udid, udid.replace("-", "")))
s = muxclient.open_stream("/var/run/usbmuxd", dev["DeviceID"], 2345)
s.settimeout(20)
def echo(data):
    s.sendall(data)
    back = muxclient.recv_exact(s, len(data))
    assert back == data, f"{len(data)} bytes came back different"
rtts = []
for _ in range(50):
    t = time.monotonic(); echo(b"x" * 64); rtts.append(time.monotonic() - t)
rtts.sort()
sizes = [1, 476, 512, 988, 1024, 4060, 4096, 16348, 16384, 32732, 65536, 200000]
for n in sizes:
    echo(bytes((i * 131 + (i >> 8) + n) & 0xff for i in range(n)))
total = 8 << 20
block = bytes(range(256)) * 256
t = time.monotonic()
sent = 0
while sent < total:
    echo(block); sent += len(block)
rate = total / (time.monotonic() - t) / 1e6
print(f"64-byte round trip median {rtts[25]*1000:.2f} ms (min {rtts[0]*1000:.2f}, "
      f"max {rtts[-1]*1000:.2f}); sizes {sizes} byte for byte; "
      f"8 MiB in 64 KiB echoes at {rate:.1f} MB/s each way")
PY
}
if figures=$(echo_check 2>&1); then ok "echo on 2345: $figures"; else fail "echo on 2345: $figures"; fi
stats=$(control stats 1 | head -1)
echo "  gadget stats: $stats"
case "$stats" in
*" mismatched=0 "*) ok "every OUT read was one whole mux packet" ;;
*) fail "the phone saw reads that were not one packet: $stats" ;;
esac

t=$(ms)
control unplug 1 >/dev/null || fail "unplug 1 refused"
wait_until 15 "the phone to leave lsusb after unplug 1" sh -c '! lsusb -d 05ac:12a8' &&
  wait_until 15 "idevice_id -l to drop $udid after unplug 1" unlisted &&
  ok "unplug 1: gone from idevice_id after $(($(ms) - t)) ms"
t=$(ms)
control plug 1 >/dev/null || fail "plug 1 refused"
wait_until 30 "idevice_id -l to list $udid after plug 1" listed &&
  ok "plug 1: back in idevice_id after $(($(ms) - t)) ms"
if figures=$(echo_check 2>&1); then ok "echo after re-plug: $figures"; else fail "echo after re-plug: $figures"; fi

kill "$usbmuxd_pid"
wait "$usbmuxd_pid" 2>/dev/null
usbmuxd_pid=

kill -TERM "$gadget_pid"
wait "$gadget_pid"
rc=$?
gadget_pid=
[ "$rc" = 0 ] && ok "SIGTERM: tether-gadget exited 0" || fail "SIGTERM: tether-gadget exited $rc"
[ ! -e /sys/kernel/config/usb_gadget/tether_iphone ] && ok "configfs tree removed" ||
  fail "/sys/kernel/config/usb_gadget/tether_iphone is still there"
grep -q functionfs /proc/mounts && fail "FunctionFS still mounted: $(grep functionfs /proc/mounts)"

# A second run finds everything as the first did.
"$gadget_bin" --control "$control" >>"$work/gadget.log" 2>&1 &
gadget_pid=$!
wait_until 20 "lsusb -d 05ac:12a8 on a second run" lsusb -d 05ac:12a8 && ok "second run enumerates too"
kill -TERM "$gadget_pid"
wait "$gadget_pid"
rc=$?
gadget_pid=
[ "$rc" = 0 ] && ok "second run exited 0 on SIGTERM" || fail "second run exited $rc"
grep -E ": (error|warning):" "$work/gadget.log" && fail "tether-gadget logged errors or warnings"
echo "--- tether-gadget's log (info lines)"
grep -v ": debug:" "$work/gadget.log"
finish
