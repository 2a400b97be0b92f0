#!/bin/bash
# The reference side by side: Debian's usbmuxd, started by its own udev rule, passes the
# usbmuxd-level checks against tether-gadget (so the gadget is faithful); then tether is
# installed in its place and passes the same checks. Both are measured in the same run:
# 64-byte round trip and throughput each way through iproxy, and the daemon's CPU time
# per MB. Under TCG the absolute figures mean little; the ratios do.
here=$(dirname "$0")
. "$here/lib.sh"

# measure WHO PID: prints "rtt_ms down_MBps up_MBps cpu_ms_per_MB"
measure() {
  local who=$1 pid=$2 echo_port down_port up_port t0c t1c
  echo_port=$(iproxy_start 2345); down_port=$(iproxy_start 2346); up_port=$(iproxy_start 2347)
  t0c=$(cpu_ticks "$pid")
  python3 - "$echo_port" "$down_port" "$up_port" "$((24 << 20))" <<'PY'
import socket, sys, time
echo_port, down_port, up_port, total = (int(a) for a in sys.argv[1:])
s = socket.create_connection(("127.0.0.1", echo_port), 10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rtts = []
for _ in range(50):
    t = time.monotonic(); s.sendall(b"x" * 64); got = b""
    while len(got) < 64: got += s.recv(64)
    rtts.append(time.monotonic() - t)
rtts.sort()
d = socket.create_connection(("127.0.0.1", down_port), 10); d.settimeout(60)
t = time.monotonic(); n = 0
while n < total:
    chunk = d.recv(1 << 18)
    if not chunk: break
    n += len(chunk)
down = n / (time.monotonic() - t) / 1e6
u = socket.create_connection(("127.0.0.1", up_port), 10)
buf = b"\0" * (1 << 18); t = time.monotonic(); n = 0
while n < total: n += u.send(buf)
u.shutdown(socket.SHUT_WR); u.settimeout(60)
try: u.recv(1)
except OSError: pass
up = n / (time.monotonic() - t) / 1e6
print(f"{rtts[25]*1000:.3f} {down:.2f} {up:.2f}")
PY
  t1c=$(cpu_ticks "$pid")
  echo " $(( (t1c - t0c) * 10 ))"   # ms of CPU (100 ticks a second) for 24+24 MB and the pings
  iproxy_stop
}

gadget_modules || finish
install_debs tether-gadget && ok "dpkg -i tether-gadget (tether not installed yet)"
start_gadget --source-bytes $((1 << 30)) || finish
udid=$(gadget list | awk '$1 == 1 {print $2}')
wait_until 30 "udev to start Debian's usbmuxd" systemctl is-active --quiet usbmuxd &&
  ok "Debian's usbmuxd started by its own udev rule"
usbmuxd_checks "$udid" usbmuxd
iproxy_stop
ref=$(measure usbmuxd "$(systemctl show -p MainPID --value usbmuxd)" | tr -d '\n')
note "usbmuxd: $ref (64-byte RTT ms, down MB/s, up MB/s, CPU ms for 48 MB)"
gadget unplug 1 >/dev/null
wait_until 15 "usbmuxd to exit after the unplug" sh -c "! systemctl is-active --quiet usbmuxd"

install_debs tether && ok "dpkg -i tether (it diverts usbmuxd's rule and unit: nothing masked by hand)"
gadget plug 1 >/dev/null
wait_until 30 "systemd to start tetherd" tetherd_active && ok "udev started tetherd"
usbmuxd_checks "$udid" tetherd
iproxy_stop
ours=$(measure tetherd "$(systemctl show -p MainPID --value tetherd)" | tr -d '\n')
note "tetherd: $ours"
python3 - "$ref" "$ours" <<'PY'
import sys
r = [float(x) for x in sys.argv[1].split()]
t = [float(x) for x in sys.argv[2].split()]
names = ["64-byte round trip (ms)", "phone to board (MB/s)", "board to phone (MB/s)", "daemon CPU for 48 MB (ms)"]
print("  figure                          usbmuxd   tetherd   tetherd/usbmuxd")
for n, a, b in zip(names, r, t):
    print(f"  {n:30s} {a:9.2f} {b:9.2f}   {b / a if a else float('nan'):.2f}")
PY
finish
