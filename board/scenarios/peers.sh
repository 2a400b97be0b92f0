#!/bin/bash
# Debian's clients through tetherd as udev started it, forwards from the configuration
# file and from `tether forward add`, and the camera main job: tether-camera from its
# .deb (test pattern) serving the controller app on the phone, live view and a capture.
here=$(dirname "$0")
. "$here/lib.sh"

install_debs tether tether-camera tether-gadget && ok "dpkg -i tether tether-camera tether-gadget"
# A forward in the configuration file, as the README shows.
cat >>/etc/tether/tetherd.conf <<'CONF'

[forward echo]
local = 9350
phone-port = 2345
CONF

gadget_modules || finish
start_gadget --app 2350=controller --record /share/out/rec || finish
wait_until 30 "systemd to start tetherd (udev rule)" tetherd_active && ok "udev started tetherd"
udid=$(gadget list | awk '$1 == 1 {print $2}')
usbmuxd_checks "$udid" tetherd
iproxy_stop

wait_until 10 "the configured forward to listen" sh -c "ss -ltn | grep -q ':9350 '"
if r=$(echo_check 127.0.0.1 9350 $((1 << 20))); then ok "the forward from tetherd.conf: $r"; else fail "forward from tetherd.conf: $r"; fi
tether forward add 9351 2345 >/dev/null && ok "tether forward add 9351 2345"
if r=$(echo_check 127.0.0.1 9351 $((1 << 20))); then ok "tether forward add: $r"; else fail "tether forward add: $r"; fi
tether forward list | sed 's/^/  /'

# The main job. The packaged service drives a real camera (libgphoto2) by default; a
# board without one says so with a drop-in, as its README shows.
mkdir -p /etc/systemd/system/tether-camera.service.d
cat >/etc/systemd/system/tether-camera.service.d/test-pattern.conf <<'UNIT'
[Service]
ExecStart=
ExecStart=/usr/bin/tether-camera --listen /run/tether/camera.sock --group plugdev --backend test-pattern --size 640x360
UNIT
systemctl daemon-reload
job_start=$(date +%s.%N)
systemctl start tether-camera && ok "systemctl start tether-camera (test pattern)" || fail "systemctl start tether-camera"
report=/share/out/rec/$udid/report.json
wait_until 120 "the phone's controller app to finish its job (report.json done)" \
  python3 -c "import json,sys; sys.exit(0 if json.load(open('$report')).get('done') else 1)"
r=$(python3 - "$report" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
d = os.path.dirname(sys.argv[1])
c = r.get("capture", {})
path = os.path.join(d, c.get("file", "-"))
data = open(path, "rb").read() if os.path.exists(path) else b""
jpeg = data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
print(f"{r.get('frames')} live-view frames at {r.get('fps', 0):.1f} fps, "
      f"{len(r.get('set', []))} properties set and read back, capture {c.get('file')} "
      f"{len(data)} bytes {'(a complete JPEG)' if jpeg else '(NOT a JPEG)'}"
      + (f", errors: {r['errors']}" if r.get("errors") else ""))
sys.exit(0 if r.get("done") and r.get("frames", 0) > 0 and jpeg and len(data) == c.get("size")
         and not r.get("errors") else 1)
PY
) && ok "the camera job, $(since "$job_start") s: $r" || fail "the camera job: $r"
systemctl stop tether-camera
finish
