#!/bin/bash
# tether beside Debian's usbmuxd, which the image has installed (libimobiledevice6
# recommends it): installing tether's .deb takes usbmuxd's place (its rule and unit are
# diverted), so udev and systemd give the phone to tetherd; the phone's device keeps
# SYSTEMD_WANTS after the plug (bind); a phone already there when udev announces it
# (as at boot) starts tetherd; removing tether gives the phone back to usbmuxd at once,
# and reinstalling takes it back. Nothing is masked by hand.
here=$(dirname "$0")
. "$here/lib.sh"

rule=/lib/udev/rules.d/39-usbmuxd.rules unit=/lib/systemd/system/usbmuxd.service
usbmuxd_active() { systemctl is-active --quiet usbmuxd.service; }
usbmuxd_inactive() { ! systemctl is-active --quiet usbmuxd.service; }
# The phone's device: its node, its sysfs path and its systemd device unit.
phone_device() {
  dev=$(lsusb -d 05ac:12a8 | awk '{print "/dev/bus/usb/" $2 "/" substr($4, 1, 3); exit}')
  syspath=/sys$(udevadm info -q path -n "$dev" 2>/dev/null)
  devunit=$(systemd-escape -p --suffix=device "$syspath")
}
wants_of_device() { systemctl show -p Wants --value "$devunit"; }
# tetherd (not usbmuxd) serves the phone: tetherd.service active, usbmuxd not, the phone in
# `tether list`, and `tether forward list` answered (usbmuxd cannot answer it: exit 6).
tetherd_serves() {  # tetherd_serves WHEN
  local r
  wait_until 30 "$1: systemd to start tetherd" tetherd_active || return 1
  wait_until 15 "$1: tether list to show $udid" sh -c "tether list | grep -q '$udid'" || return 1
  usbmuxd_inactive || { fail "$1: usbmuxd is active beside tetherd"; return 1; }
  r=$(tether forward list 2>&1) || { fail "$1: tether forward list (a tetherd-only request): $r"; return 1; }
  ok "$1: tetherd serves the phone (tetherd.service active, usbmuxd inactive, tether list shows it, tether forward list answered)"
}
usbmuxd_serves() {  # usbmuxd_serves WHEN
  wait_until 30 "$1: systemd to start usbmuxd" usbmuxd_active || return 1
  wait_until 20 "$1: idevice_id -l to list $udid" sh -c "idevice_id -l | grep -qx '$udid'" || return 1
  tetherd_inactive || { fail "$1: tetherd runs beside usbmuxd"; return 1; }
  ok "$1: usbmuxd serves the phone (usbmuxd.service active after $(since "$2") s, idevice_id -l lists it)"
}

# --- usbmuxd first ------------------------------------------------------------------------
dpkg-query -W -f='${Status}' usbmuxd 2>/dev/null | grep -q 'install ok installed' && [ -e "$rule" ] ||
  { fail "the image has no Debian usbmuxd installed (board/guest/packages)"; finish; }
ok "Debian's usbmuxd $(dpkg-query -W -f='${Version}' usbmuxd) is installed, with $rule"
[ ! -e /etc/udev/rules.d/39-usbmuxd.rules ] && [ "$(systemctl is-enabled usbmuxd.service 2>&1)" != masked ] ||
  fail "usbmuxd is masked before the test: the scenario needs it as Debian installs it"

# --- install tether over it: usbmuxd's rule and unit are diverted --------------------------
install_debs tether tether-gadget && ok "dpkg -i tether tether-gadget"
for f in $rule $unit; do
  [ "$(dpkg-divert --listpackage "$f")" = tether ] && [ ! -e "$f" ] && [ -e "$f.tether-diverted" ] &&
    ok "$f diverted by tether to $f.tether-diverted" || fail "$f: diverted by '$(dpkg-divert --listpackage "$f")', $(ls -l "$f"* 2>&1)"
done
systemctl is-active --quiet tetherd.socket && ok "tetherd.socket listens" || fail "tetherd.socket: $(systemctl is-active tetherd.socket)"

# --- plug: tetherd, not usbmuxd -------------------------------------------------------------
gadget_modules || finish
plug_start=$(date +%s.%N)
start_gadget || finish
udid=$(gadget list | awk '$1 == 1 {print $2}')
tetherd_serves "first plug" && note "$(since "$plug_start") s after the plug"
phone_device
[ "$(stat -c %U:%G:%a "$dev" 2>/dev/null)" = tether:tether:660 ] && ok "the phone's node $dev is tether's (0660)" ||
  fail "the phone's node $dev: $(stat -c %U:%G:%a "$dev" 2>&1), not tether:tether:660"
# The udev database holds the last event's properties: after a plug that is bind.
props=$(udevadm info -q property -p "$syspath")
grep -qx 'SYSTEMD_WANTS=tetherd.service' <<<"$props" && ! grep -q 'usbmuxd' <<<"$props" &&
  ok "udevadm info after the plug (the bind event): SYSTEMD_WANTS=tetherd.service, nothing of usbmuxd" ||
  fail "udevadm info after the plug: $(grep -E 'SYSTEMD_WANTS|USBMUX|ACTION' <<<"$props" | tr '\n' ' ')"
[[ " $(wants_of_device) " == *" tetherd.service "* ]] &&
  ok "the device unit $devunit wants tetherd.service" || fail "$devunit: Wants=$(wants_of_device)"
systemctl daemon-reload
[[ " $(wants_of_device) " == *" tetherd.service "* ]] &&
  ok "after systemctl daemon-reload (the device read back from the udev database): still Wants=tetherd.service" ||
  fail "after daemon-reload, $devunit: Wants=$(wants_of_device)"

# --- a phone already there when udev announces it, as at boot ------------------------------
# The board cannot boot with the gadget bound before systemd (the scenario runs from a
# unit after the boot, and the disk is a snapshot): the nearest is systemd losing the
# device and udev announcing it again with tetherd and its socket stopped, as the
# coldplug at boot does (udevadm trigger --action=add).
systemctl stop tetherd.socket tetherd.service
wait_until 10 "tetherd and its socket to stop" sh -c "! systemctl is-active --quiet tetherd.socket" && tetherd_inactive
udevadm trigger --action=remove "$syspath" && udevadm settle -t 10
wait_until 10 "systemd to let the device go" sh -c "[ \"\$(systemctl show -p ActiveState --value '$devunit')\" = inactive ]"
coldplug=$(date +%s.%N)
udevadm trigger --action=add "$syspath" && udevadm settle -t 10
tetherd_serves "phone present at the announcement, tetherd and its socket stopped" &&
  note "tetherd started $(since "$coldplug") s after udevadm trigger --action=add"
systemctl is-active --quiet tetherd.socket && ok "the socket came back with tetherd (Requires=)" ||
  fail "tetherd.socket: $(systemctl is-active tetherd.socket) after the coldplug start"

# --- remove tether: usbmuxd gets the phone back at once --------------------------------------
remove_start=$(date +%s.%N)
dpkg -r tether >"$out/dpkg-r.log" 2>&1 && ok "dpkg -r tether (the phone plugged in), $(since "$remove_start") s" ||
  { cat "$out/dpkg-r.log"; fail "dpkg -r tether"; }
remove_start=$(date +%s.%N)
for f in $rule $unit; do
  [ -z "$(dpkg-divert --listpackage "$f")" ] && [ -e "$f" ] && [ ! -e "$f.tether-diverted" ] &&
    ok "$f is back in place, no longer diverted" ||
    fail "$f after dpkg -r: diverted by '$(dpkg-divert --listpackage "$f")', $(ls -l "$f"* 2>&1)"
done
usbmuxd_serves "after dpkg -r returned, the phone still plugged" "$remove_start"
gadget unplug 1 >/dev/null
wait_until 15 "the phone to leave the bus" phone_off_bus
wait_until 15 "usbmuxd to exit after the unplug (usbmuxd -x)" usbmuxd_inactive
plug_start=$(date +%s.%N)
gadget plug 1 >/dev/null
usbmuxd_serves "tether removed, plugged again" "$plug_start"
phone_device
udevadm info -q property -p "$syspath" | grep -qx 'SYSTEMD_WANTS=usbmuxd.service' &&
  ok "udevadm info: SYSTEMD_WANTS=usbmuxd.service (usbmuxd's own rule)" ||
  fail "udevadm info with tether removed: $(udevadm info -q property -p "$syspath" | grep -E 'SYSTEMD_WANTS' | tr '\n' ' ')"

# --- reinstall: tether takes the phone back ---------------------------------------------------
install_start=$(date +%s.%N)
install_debs tether && ok "dpkg -i tether again, usbmuxd serving the phone, $(since "$install_start") s"
install_start=$(date +%s.%N)
tetherd_serves "reinstalled, the phone still plugged" && note "$(since "$install_start") s after dpkg -i returned"
gadget unplug 1 >/dev/null
wait_until 15 "the phone to leave the bus" phone_off_bus
plug_start=$(date +%s.%N)
gadget plug 1 >/dev/null
wait_until 20 "the phone on the bus" phone_on_bus
tetherd_serves "reinstalled, plugged again" && note "$(since "$plug_start") s after the plug"
finish
