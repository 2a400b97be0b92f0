#!/bin/bash
# The short scenario, run by default: tether installed from its .debs as a user installs
# it, a phone plugged in (tether-gadget on the kernel's dummy_hcd), udev and systemd start
# tetherd, `tether list` shows the phone, an echo through a forward, the cable pulled.
here=$(dirname "$0")
. "$here/lib.sh"

# --- install ---------------------------------------------------------------------------
install_debs tether tether-gadget && ok "dpkg -i tether tether-gadget"
getent passwd tether >/dev/null && getent group tether >/dev/null &&
  ok "the tether user and group exist" || fail "no tether user or group after dpkg -i"
for f in /lib/udev/rules.d/39-tetherd.rules /lib/systemd/system/tetherd.service \
  /lib/systemd/system/tetherd.socket /etc/tether/tetherd.conf /usr/sbin/tetherd /usr/bin/tether; do
  [ -e "$f" ] || fail "$f is not installed"
done

# --- before any phone: the socket is systemd's, and a client starts tetherd on it --------
systemctl is-active --quiet tetherd.socket &&
  [ "$(stat -c %U:%G:%a /run/usbmuxd 2>/dev/null)" = root:plugdev:660 ] &&
  ok "the install left tetherd.socket listening on /run/usbmuxd (root:plugdev, 0660)" ||
  fail "tetherd.socket: $(systemctl is-active tetherd.socket), /run/usbmuxd $(stat -c %U:%G:%a /run/usbmuxd 2>&1)"
tetherd_inactive || fail "tetherd runs before any phone or client"
r=$(tether list 2>&1) && case "$r" in "no phone attached ("*"locked iPhone"*) ;; *) false ;; esac &&
  journalctl -b -u tetherd | grep -q "listening on /run/usbmuxd (socket from systemd)" &&
  ok "tether list with no phone: '$r', from a tetherd the socket started" ||
  fail "tether list with no phone: '$r' (exit $?)"
wait_until 10 "tetherd to exit once idle after the client" tetherd_inactive &&
  [ -S /run/usbmuxd ] && ok "the client gone, tetherd exited after ${waited_ms} ms; the socket stays"

# --- plug ------------------------------------------------------------------------------
gadget_modules || finish
plug_start=$(date +%s.%N)
start_gadget || finish
wait_until 20 "the phone on the bus (lsusb)" phone_on_bus && note "on the bus after $(since "$plug_start") s"
wait_until 20 "systemd to start tetherd (udev rule)" tetherd_active &&
  ok "udev started tetherd through systemd, $(since "$plug_start") s after the plug"
# Debian's usbmuxd is installed in the image too: tether's package diverted its rule.
systemctl is-active --quiet usbmuxd.service && fail "Debian's usbmuxd started too, beside tetherd"
dev=$(lsusb -d 05ac:12a8 | awk '{print "/dev/bus/usb/" $2 "/" substr($4, 1, 3); exit}')
[ "$(stat -c %U:%G "$dev" 2>/dev/null)" = tether:tether ] && ok "the rule gave $dev to tether" ||
  fail "$dev belongs to $(stat -c %U:%G "$dev" 2>&1), not tether:tether"
rules=$(udevadm test --action=add "$(udevadm info -q path -n "$dev")" 2>&1)
if grep -q '^TETHER_USBMUX=1' <<<"$rules" && grep -q '^SYSTEMD_WANTS=.*tetherd.service' <<<"$rules"; then
  ok "udevadm test on the phone: 39-tetherd.rules matches (TETHER_USBMUX=1, SYSTEMD_WANTS=tetherd.service)"
else
  fail "udevadm test on the phone: the rule did not match"; grep -E '^[A-Z_]+=' <<<"$rules" | sed 's/^/  /'
fi
[ "$(systemctl show -p Type --value tetherd)" = notify ] || fail "tetherd.service is not Type=notify"
pid=$(systemctl show -p MainPID --value tetherd)
user=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
[ "$user" = tether ] && ok "tetherd runs as tether (pid $pid)" || fail "tetherd (pid $pid) runs as '$user', not tether"

udid=$(gadget list | awk '$1 == 1 {print $2}')
wait_until 15 "tether list to show $udid" sh -c "tether list | grep -q '$udid'" &&
  ok "tether list shows $udid"
tether list | sed 's/^/  /'

# A user not in plugdev gets told why, then can once added (the mistake people make).
useradd -m alice 2>/dev/null
msg=$(su alice -c 'tether list' 2>&1); rc=$?
case "$msg" in
  *plugdev*) ok "a user outside plugdev is told to join it (exit $rc)" ;;
  *) fail "a user outside plugdev got: $msg (exit $rc)" ;;
esac
usermod -aG plugdev alice
su alice -c 'tether list' | grep -q "$udid" && ok "after joining plugdev, alice sees the phone" ||
  fail "alice in plugdev does not see the phone"

# --- echo through a forward kept by tetherd ---------------------------------------------
tether forward add 9345 2345 >/dev/null && ok "tether forward add 9345 2345"
if r=$(echo_check 127.0.0.1 9345 $((4 * 1024 * 1024 + 512 * 8))); then ok "echo: $r"; else fail "echo: $r"; fi

# --- unplug: the phone leaves, the forward stays; replug: it works again -----------------
gadget unplug 1 >/dev/null
wait_until 10 "the phone to leave tether list" sh -c "! tether list | grep -q '$udid'" &&
  ok "unplugged: gone from tether list after ${waited_ms} ms"
gadget plug 1 >/dev/null
wait_until 20 "the phone to come back" sh -c "tether list | grep -q '$udid'" &&
  ok "replugged: back after ${waited_ms} ms"
if r=$(echo_check 127.0.0.1 9345 65536); then ok "the forward works after the replug: $r"; else fail "after the replug: $r"; fi

# --- the last phone leaves with nothing set up: tetherd exits, as designed --------------
tether forward remove 9345 >/dev/null || fail "tether forward remove 9345"
gadget unplug 1 >/dev/null
wait_until 15 "tetherd to exit once idle" tetherd_inactive &&
  ok "the last phone left: tetherd exited after ${waited_ms} ms"
systemctl is-active --quiet tetherd.socket && [ -S /run/usbmuxd ] &&
  ok "tetherd.socket still listens for the next client" || fail "the socket went with tetherd"
finish
