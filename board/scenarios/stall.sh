#!/bin/bash
# A bulk stall in the middle of the stream, on a real kernel, Debian's usbmuxd beside
# tetherd. tether-gadget halts its bulk IN or OUT endpoint through FunctionFS, so the
# host's transfer in flight ends with a stall (EPIPE), as on real phones (usbmuxd#215).
# - Debian's usbmuxd treats any failed transfer as a dead phone and drops it. What
#   brings it back is tried in the order device farms use: a port reset (USBDEVFS_RESET,
#   as `usbreset`), unbind and bind the device, and a replug.
# - tetherd clears the halt and sends again, with one line that says so; the stream goes
#   on with no reset. A phone that keeps stalling (4 times in 10 s) is opened afresh.
# Each recovery is timed.
here=$(dirname "$0")
. "$here/lib.sh"
ms() { echo $(($(date +%s%N) / 1000000)); }
# within SECONDS COMMAND...: like wait_until, but a timeout is an answer, not a failure.
within() {
  local limit=$1 start
  shift
  start=$(ms)
  while ! "$@" >/dev/null 2>&1; do
    [ $(($(ms) - start)) -ge $((limit * 1000)) ] && return 1
    sleep 0.2
  done
}

# port_reset: USBDEVFS_RESET on the phone's node, what `usbreset` does.
port_reset() {
  python3 - "$(lsusb -d 05ac:12a8 | awk '{sub(":", "", $4); printf "/dev/bus/usb/%s/%s", $2, $4}')" <<'PY'
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    fcntl.ioctl(fd, 0x5514)  # USBDEVFS_RESET = _IO('U', 20)
finally:
    os.close(fd)
PY
}
# rebind: the device unbound from its driver and bound again (libimobiledevice#693). The
# driver is not always the USB core's generic one: where apple-mfi-fastcharge is loaded it
# claims every Apple phone, and the generic driver then refuses the bind (ENODEV).
rebind() {
  local dev driver
  dev=$(basename "$(dirname "$(grep -l '^12a8$' /sys/bus/usb/devices/*/idProduct | head -1)")")
  driver=$(readlink -f "/sys/bus/usb/devices/$dev/driver")
  note "unbind and bind $dev from ${driver##*/}"
  echo "$dev" >"$driver/unbind" && sleep 0.5 && echo "$dev" >"$driver/bind"
}
listed() { idevice_id -l | grep -qx "$udid"; }
unlisted() { ! idevice_id -l | grep -qx "$udid"; }

gadget_modules || finish
install_debs tether-gadget && ok "dpkg -i tether-gadget (tether not installed yet)"
start_gadget || finish
udid=$(gadget list | awk '$1 == 1 {print $2}')

# --- Debian's usbmuxd -------------------------------------------------------------------
wait_until 30 "udev to start Debian's usbmuxd" systemctl is-active --quiet usbmuxd &&
  wait_until 15 "usbmuxd to list the phone" listed && ok "usbmuxd serves the phone"
port=$(iproxy_start 2345) || finish
r=$(echo_check 127.0.0.1 "$port" 65536) && ok "usbmuxd: echo before the stall: $r" || fail "usbmuxd: echo: $r"
gadget stall 1 in >/dev/null
t=$(ms)
if wait_until 15 "usbmuxd to drop the stalled phone" unlisted; then
  ok "usbmuxd: a stall on bulk IN drops the phone ($(($(ms) - t)) ms): $(journalctl -u usbmuxd --no-pager -o cat | grep -i 'stall' | tail -1)"
fi
# Debian's unit runs usbmuxd with --systemd, which implies --exit: with its only phone
# dropped it exits, and only an arrival ("add") starts it again.
within 5 sh -c "! systemctl is-active --quiet usbmuxd" &&
  note "usbmuxd exited with its last phone gone ($(systemctl show -p Result --value usbmuxd))"
back=""
t=$(ms)
port_reset && note "port reset (USBDEVFS_RESET) done" || note "port reset failed"
if within 10 listed; then
  back="the port reset ($(($(ms) - t)) ms)"
else
  note "the port reset did not bring it back: the device stays, so there is no arrival event"
  t=$(ms)
  rebind
  if within 10 listed; then
    back="unbind and bind ($(($(ms) - t)) ms)"
  else
    note "unbind and bind did not bring it back either (a bind is not an arrival); a replug"
    t=$(ms)
    gadget unplug 1 >/dev/null && sleep 0.5 && gadget plug 1 >/dev/null
    if within 20 listed; then
      back="only a replug ($(($(ms) - t)) ms)"
    else
      fail "usbmuxd to list the phone after a replug: not within 20 s; usbmuxd $(systemctl is-active usbmuxd), its last words:"
      journalctl -u usbmuxd --no-pager -o cat | tail -8 | sed 's/^/    /'
    fi
  fi
fi
[ -n "$back" ] && ok "usbmuxd: what brought the stalled phone back: $back"
iproxy_stop
port=$(iproxy_start 2345) || finish
r=$(echo_check 127.0.0.1 "$port" 65536) && ok "usbmuxd: echo after the recovery: $r" || fail "usbmuxd: echo after recovery: $r"
iproxy_stop
gadget unplug 1 >/dev/null
wait_until 15 "usbmuxd to exit after the unplug" sh -c "! systemctl is-active --quiet usbmuxd"

# --- tetherd ----------------------------------------------------------------------------
install_debs tether && ok "dpkg -i tether"
gadget plug 1 >/dev/null
wait_until 30 "udev to start tetherd" tetherd_active && wait_until 15 "tetherd to list the phone" listed &&
  ok "tetherd serves the phone"
tether forward add 9345 2345 >/dev/null || fail "tether forward add 9345 2345"
r=$(echo_check 127.0.0.1 9345 65536) && ok "tetherd: echo before the stall: $r" || fail "tetherd: echo: $r"
for ep in in out; do
  gadget stall 1 $ep >/dev/null
  t=$(ms)
  # A stall on OUT shows at the next transfer the host sends: the echo sends one.
  r=$(echo_check 127.0.0.1 9345 65536) && ok "tetherd: echo across a stall on bulk ${ep^^} ($(($(ms) - t)) ms, no reset): $r" ||
    fail "tetherd: echo across a stall on bulk ${ep^^}: $r"
  line=$(journalctl -u tetherd --no-pager -o cat | grep "the phone stalled its bulk ${ep^^} endpoint" | tail -1)
  case "$line" in *"the halt was cleared and the transfer sent again"*) ok "tetherd says: $line" ;;
    *) fail "tetherd did not say it cleared the ${ep^^} halt (journal: $(journalctl -u tetherd --no-pager -o cat | tail -3))" ;;
  esac
done
listed && ok "the phone stayed listed through both stalls: no departure, no new DeviceID" || fail "the phone left"
# Stalls that keep coming: clearing does not help, so the phone is opened afresh.
t=$(ms)
for _ in 1 2 3 4; do gadget stall 1 in >/dev/null; sleep 0.3; done
wait_until 15 "tetherd to report a phone that keeps stalling" sh -c \
  "journalctl -u tetherd --no-pager -o cat | grep -q 'keeps stalling its bulk IN endpoint'" &&
  ok "tetherd: $(journalctl -u tetherd --no-pager -o cat | grep 'keeps stalling' | tail -1)"
wait_until 20 "the phone served again" listed &&
  r=$(echo_check 127.0.0.1 9345 65536) && ok "tetherd: echo after opening it afresh ($(($(ms) - t)) ms from the first stall): $r" ||
  fail "tetherd: after repeated stalls: ${r:-not listed}"
finish
