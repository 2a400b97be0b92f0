#!/usr/bin/env bash
# A systemd unit (tetherd.service or tether-camera.service): `systemd-analyze verify`
# with no complaint at all, in a scratch root holding the unit, the program where
# ExecStart names it and the host's own units (for sysinit.target and friends); the
# hardening score; no device policy fixed at start; and the keys that unit must have.
#
#   systemd_unit_test.sh UNIT PROGRAM
set -euo pipefail
unit=$1 tetherd=$2
name=$(basename "$unit")
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing (apt-get install systemd)"; exit 77; }
[ -d /lib/systemd/system ] || { echo "SKIP: no /lib/systemd/system to take the standard units from"; exit 77; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
mkdir -p "$root/usr/lib/systemd/system" "$root$(dirname "$exec_path")"
cp -a /lib/systemd/system/. "$root/usr/lib/systemd/system/"
cp "$unit" "$root/usr/lib/systemd/system/$name"
cp "$tetherd" "$root$exec_path"
# tetherd.service requires its socket unit, which lies beside it.
units=("$name")
if [ "$name" = tetherd.service ]; then
  socket_unit=$(dirname "$unit")/tetherd.socket
  [ -f "$socket_unit" ] || { echo "FAILED: no tetherd.socket beside $unit"; exit 1; }
  cp "$socket_unit" "$root/usr/lib/systemd/system/"
  units+=(tetherd.socket)
fi

out=$(systemd-analyze verify --man=no --root="$root" "${units[@]}" 2>&1) || {
  echo "FAILED: systemd-analyze verify: $out"; exit 1; }
if [ -n "$out" ]; then echo "FAILED: systemd-analyze verify complains:"; echo "$out"; exit 1; fi
echo "ok: systemd-analyze verify ${units[*]}: no complaint"

score=$(systemd-analyze security --offline=yes --root="$root" "$name" 2>&1 |
  sed -n "s/.*Overall exposure level for $name: \([0-9.]*\).*/\1/p")
[ -n "$score" ] || { echo "FAILED: no exposure score from systemd-analyze security"; exit 1; }
if awk -v s="$score" 'BEGIN { exit !(s <= 3.5) }'; then
  echo "ok: systemd-analyze security: exposure $score (at most 3.5)"
else
  echo "FAILED: systemd-analyze security: exposure $score, more than 3.5"; exit 1
fi

# A device policy resolved at start (char-usb_device) denies every USB device to a
# daemon started before the USB core module loads (seen on the virtual board).
if grep -q '^DevicePolicy=\|^DeviceAllow=\|^PrivateDevices=yes' "$unit"; then
  echo "FAILED: a device policy would lock out phones and cameras that appear after the start"; exit 1
fi
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes; do
  grep -qx "$key" "$unit" || { echo "FAILED: the unit lacks $key"; exit 1; }
done
if [ "$name" = tetherd.service ]; then
  for key in Type=notify 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'; do
    grep -qx "$key" "$unit" || { echo "FAILED: the unit lacks $key"; exit 1; }
  done
  for opt in --systemd '--user '; do
    grep -q -- "$opt" "$unit" || { echo "FAILED: ExecStart lacks $opt"; exit 1; }
  done
  echo "ok: Type=notify, tetherd --systemd --user, and the hardening keys are there"
  # Clients always find a daemon: the socket is systemd's from boot, on usbmuxd's path,
  # for root and plugdev only, and the service starts from it and at boot.
  for key in ListenStream=/run/usbmuxd SocketGroup=plugdev SocketMode=0660 RemoveOnStop=yes \
    WantedBy=sockets.target Conflicts=usbmuxd.service; do
    grep -qx "$key" "$socket_unit" || { echo "FAILED: tetherd.socket lacks $key"; exit 1; }
  done
  for key in Requires=tetherd.socket WantedBy=multi-user.target StateDirectory='lockdown tether'; do
    grep -qx "$key" "$unit" || { echo "FAILED: the unit lacks $key"; exit 1; }
  done
  grep -q ExecStopPost "$unit" && { echo "FAILED: ExecStopPost would remove the socket systemd holds"; exit 1; }
  echo "ok: tetherd.socket holds /run/usbmuxd (0660, plugdev) from boot and starts the service"
else
  # The camera service never needs the network or root: its sockets are unix ones.
  # One group for users: the local socket's is tetherd's (plugdev, packaging/tetherd.conf).
  grep -q -- '--group plugdev' "$unit" || { echo "FAILED: camera.sock's group is not plugdev"; exit 1; }
  for key in 'RestrictAddressFamilies=AF_UNIX AF_NETLINK' IPAddressDeny=any CapabilityBoundingSet= \
    'User=tether' 'WantedBy=multi-user.target'; do
    grep -qx "$key" "$unit" || { echo "FAILED: the unit lacks $key"; exit 1; }
  done
  echo "ok: no network, no capabilities, runs as tether, starts at boot"
fi
