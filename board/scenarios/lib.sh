# What the board's scenarios share. Sourced by each; runs in the guest as root, in /share.
# The host's test (tests/board/board_test.sh) puts tether's .debs in /share/debs.
set -uo pipefail
failed=0
t0=$(date +%s.%N)
since() { awk -v a="$(date +%s.%N)" -v b="${1:-$t0}" 'BEGIN { printf "%.1f", a - b }'; }
ok() { echo "ok: $*"; }
fail() { echo "FAILED: $*"; failed=1; }
note() { echo "  $*"; }
out=/share/out
mkdir -p "$out"

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds; false,
# with WHAT in the failure, once SECONDS have passed.
wait_until() {
  local limit=$1 what=$2 start
  shift 2
  start=$(date +%s%N)
  while ! "$@" >/dev/null 2>&1; do
    if [ $(( ($(date +%s%N) - start) / 1000000 )) -ge $((limit * 1000)) ]; then
      fail "$what: not within $limit s"
      return 1
    fi
    sleep 0.2
  done
  waited_ms=$(( ($(date +%s%N) - start) / 1000000 ))
}

# The test phone: tether-gadget on dummy_hcd (the kernel's virtual cable).
gadget_modules() {
  modprobe dummy_hcd && modprobe libcomposite && modprobe usb_f_fs ||
    { fail "cannot load dummy_hcd, libcomposite and usb_f_fs"; return 1; }
}
start_gadget() {
  tether-gadget "$@" >"$out/gadget.log" 2>&1 &
  gadget_pid=$!
  wait_until 15 "tether-gadget's control socket" test -S /run/tether-gadget/control
}
gadget() {  # gadget COMMAND...: one line to the gadget's control socket, its reply printed
  python3 - "$*" "${gadget_control:-/run/tether-gadget/control}" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[2])
s.sendall(sys.argv[1].encode() + b"\n")
reply = b""
while not reply.endswith(b"ok\n") and b"error" not in reply:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
sys.stdout.write(reply.decode())
sys.exit(0 if reply.endswith(b"ok\n") else 1)
EOF
}
phone_on_bus() { lsusb -d 05ac:12a8 >/dev/null; }
phone_off_bus() { ! lsusb -d 05ac:12a8 >/dev/null; }

# echo_check HOST PORT BYTES: sends BYTES of a pattern to an echo service and checks what
# comes back; prints the round trip of a 64-byte message and the stream's rate.
echo_check() {
  python3 - "$@" <<'EOF'
import socket, sys, time, threading
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=20)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rtts = []
for _ in range(20):
    t = time.monotonic()
    s.sendall(b"x" * 64)
    got = b""
    while len(got) < 64:
        got += s.recv(64 - len(got))
    rtts.append(time.monotonic() - t)
data = bytes((i * 131 + (i >> 8)) & 0xff for i in range(total))
back = bytearray()
def reader():
    while len(back) < total:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        back.extend(chunk)
t = time.monotonic()
th = threading.Thread(target=reader)
th.start()
s.sendall(data)
th.join(60)
took = time.monotonic() - t
if bytes(back) != data:
    print(f"echo: {len(back)} of {total} bytes came back" + (" (different)" if len(back) == total else ""))
    sys.exit(1)
rtts.sort()
print(f"{total} bytes echoed intact; 64-byte round trip median {rtts[10]*1000:.2f} ms; "
      f"{total / took / 1e6:.1f} MB/s each way")
EOF
}

# Which daemon serves /run/usbmuxd, and whether systemd runs tetherd.
tetherd_active() { systemctl is-active --quiet tetherd.service; }
# Stopped for good: not "deactivating", which still runs ExecStopPost.
tetherd_inactive() { case $(systemctl show -p ActiveState --value tetherd) in inactive | failed) ;; *) false ;; esac; }

install_debs() {  # install_debs NAME...: dpkg -i the named packages from /share/debs
  local files=() n
  for n in "$@"; do files+=(/share/debs/"${n}"_*.deb); done
  dpkg -i "${files[@]}" >"$out/dpkg.log" 2>&1 ||
    { cat "$out/dpkg.log"; fail "dpkg -i ${files[*]##*/}"; return 1; }
}

finish() {
  [ -n "${gadget_pid:-}" ] && kill "$gadget_pid" 2>/dev/null && wait "$gadget_pid" 2>/dev/null
  if [ $failed = 0 ]; then echo "scenario passed in $(since) s"; else
    echo "--- journal (tetherd, udev) ---"
    journalctl -b --no-pager -o short-monotonic -u tetherd -u systemd-udevd | tail -150
    echo "--- tether-gadget's log ---"; tail -30 "$out/gadget.log" 2>/dev/null
    echo "scenario FAILED after $(since) s"
  fi
  exit $failed
}

# --- usbmuxd-level checks, the same against tetherd and Debian's usbmuxd ---------------
# usbmuxd_checks UDID: Debian's clients (idevice_id, ideviceinfo, iproxy, inetcat) against
# whichever daemon serves /run/usbmuxd.
usbmuxd_checks() {
  local udid=$1 who=$2 port r
  wait_until 15 "$who: idevice_id -l to list $udid" sh -c "idevice_id -l | grep -qx '$udid'" &&
    ok "$who: idevice_id -l lists $udid"
  r=$(ideviceinfo -u "$udid" -s -k ProductType 2>&1) && [ -n "$r" ] &&
    ok "$who: ideviceinfo reads ProductType ($r) from the phone's lockdownd" ||
    fail "$who: ideviceinfo -s -k ProductType: $r"
  port=$(iproxy_start 2345) || { fail "$who: iproxy did not listen"; return; }
  if r=$(echo_check 127.0.0.1 "$port" $((1000000 + 512 * 16))); then ok "$who: iproxy echo: $r"; else fail "$who: iproxy echo: $r"; fi
  r=$(python3 - "$(iproxy_start 2346)" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(20)
got = bytearray()
while len(got) < 1_000_000:
    chunk = s.recv(1 << 16)
    if not chunk: break
    got += chunk
ok = len(got) >= 1_000_000 and all(b == ((i * 131 + (i >> 8)) & 0xff) for i, b in enumerate(got[:1_000_000]))
print(f"{len(got)} bytes from the source app, {'in order' if ok else 'NOT the pattern'}")
sys.exit(0 if ok else 1)
PY
) && ok "$who: $r" || fail "$who: source app: $r"
  ! inetcat -u "$udid" 9999 </dev/null >/dev/null 2>&1 && ok "$who: a closed phone port is refused (inetcat fails)" ||
    fail "$who: inetcat to a closed port succeeded"
  [ "$( (printf ping; sleep 0.5) | timeout 10 inetcat -u "$udid" 2345)" = ping ] &&
    ok "$who: inetcat echoes after the refusal" || fail "$who: inetcat echo after the refusal"
}

# iproxy_start PHONE_PORT: iproxy from a free local port; prints the port.
iproxy_start() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  iproxy "$port" "$1" >>"$out/iproxy.log" 2>&1 &
  wait_until 10 "iproxy on $port" sh -c "ss -ltn | grep -q ':$port '" || return 1
  echo "$port"
}
iproxy_stop() { pkill -x iproxy; sleep 0.2; return 0; }

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
