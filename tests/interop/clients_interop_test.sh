#!/usr/bin/env bash
# Debian's own clients (idevice_id, iproxy, inetcat, ideviceinfo), unmodified, against
# a daemon serving tether-sim's virtual iPhones. The same checks run against both
# daemons:
#
#   clients_interop_test.sh PATH/TO/tether-sim                   the reference usbmuxd
#   clients_interop_test.sh PATH/TO/tether-sim PATH/TO/tetherd   tether's daemon
#
# Passing with the reference shows the virtual phone is faithful; passing with tetherd
# shows tetherd is a drop-in usbmuxd. usbmuxd 1.1.1 hard-codes /var/run/usbmuxd, so it
# runs in a private mount namespace, which needs root (exit 77, skipped, otherwise).
set -uo pipefail
sim=$1
tetherd=${2:-}
if [ -z "$tetherd" ] && [ "$(id -u)" != 0 ]; then
  echo "skipped: the reference usbmuxd needs root for a private mount namespace (it hard-codes /run)"
  exit 77
fi
for tool in usbmuxd idevice_id iproxy inetcat ideviceinfo python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps"; exit 1; }
done

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/run"
export USBMUXD_SOCKET_ADDRESS="UNIX:$dir/run/usbmuxd"
# The sim may be an ASan build; the umockdev preload then comes before libasan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# A TCP server on this machine plays an iOS app on phone port 5000 (--app): it
# answers everything in upper case.
app_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$app_port" <<'PY' &
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen()
def serve(c):
    while (d := c.recv(65536)):
        c.sendall(d.upper())
    c.close()
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)

sim_args=(--phones 2 --source-bytes 1000000 --app "5000=127.0.0.1:$app_port" --control "$dir/ctl")
if [ -n "$tetherd" ]; then
  "$sim" "${sim_args[@]}" -- "$tetherd" -f --socket "$dir/run/usbmuxd" --config-dir "$dir/lockdown" --pidfile "$dir/tetherd.pid" --state-dir "$dir" \
    >"$dir/usbmuxd.log" 2>&1 &
else
  unshare -m sh -c "mount --bind '$dir/run' /run && exec '$sim' ${sim_args[*]} -- usbmuxd -f -p" \
    >"$dir/usbmuxd.log" 2>&1 &
fi
sim_pid=$!
pids+=($sim_pid)
for _ in $(seq 50); do [ -S "$dir/run/usbmuxd" ] && [ -S "$dir/ctl" ] && break; sleep 0.1; done

passed=0
failed=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; passed=$((passed + 1))
  else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
sim_command() { python3 - "$dir/ctl" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
print(s.recv(4096).decode().strip())
PY
}
wait_for_list() {  # wait_for_list EXPECTED_COUNT
  for _ in $(seq 50); do
    [ "$(idevice_id -l 2>/dev/null | grep -c .)" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Whether a TCP listener is on 127.0.0.1:PORT, from /proc/net/tcp (state 0A). Not a
# probe connection: iproxy would dial the phone for it, and when that probe's thread
# closes its descriptors after iproxy accepted the next client, the next thread's
# usbmuxd socket can get a lower number than its client's, and iproxy's
# select(usbmuxd fd + 1) then never watches the client: its bytes are never forwarded
# (1 run in about 30 on a loaded machine here).
listening() { python3 - "$1" <<'PY'
import sys
port = int(sys.argv[1])
with open("/proc/net/tcp") as f:
    rows = [ln.split() for ln in f.readlines()[1:]]
sys.exit(0 if any(r[1].endswith(f":{port:04X}") and r[3] == "0A" for r in rows) else 1)
PY
}
forward() {  # forward PHONE_PORT -> prints local port; iproxy runs in the background
  local port; port=$(free_port)
  iproxy "$port:$1" >"$dir/iproxy-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do listening "$port" && break; sleep 0.1; done
  echo "$port"
}

udids=$(sim_command list | awk 'NF==3 {print $2}')
daemon=$([ -n "$tetherd" ] && echo tetherd || echo "the reference usbmuxd")
check "$daemon lists both virtual phones (idevice_id -l)" wait_for_list 2
check "the UDIDs are the phones' serials with the 8-16 hyphen" \
  test "$(idevice_id -l | sort)" = "$(echo "$udids" | sort)"

# round_trip LOCAL_PORT same|upper: 1 MB of random bytes there and back, byte for byte.
round_trip() { python3 - "$1" "$2" <<'PY'
import os, socket, sys
data = os.urandom(1_000_000)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(10)
got = bytearray()
sent = 0
while len(got) < len(data):
    if sent < len(data):
        sent += s.send(data[sent:sent + 65536])
    got += s.recv(65536)
sys.exit(0 if bytes(got) == (data.upper() if sys.argv[2] == "upper" else data) else 1)
PY
}

check "1 MB round-trips byte for byte through iproxy to the echo app" round_trip "$(forward 2345)" same

source_port=$(forward 2346)
check "the source app's 1,000,000 bytes arrive in order" python3 - "$source_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(10)
got = bytearray()
while len(got) < 1_000_000:
    chunk = s.recv(1 << 16)
    if not chunk: break
    got += chunk
ok = len(got) == 1_000_000 and all(b == ((i * 131 + (i >> 8)) & 0xff) for i, b in enumerate(got))
sys.exit(0 if ok else 1)
PY

check "a local TCP server plays the app (--app): 1 MB there and back through iproxy" \
  round_trip "$(forward 5000)" upper

refused() { ! inetcat -u "$(echo "$udids" | head -n1)" 9999 </dev/null >/dev/null 2>&1; }
check "a closed phone port is refused (inetcat fails)" refused
# inetcat exits when its stdin ends, so stdin stays open until the echo is back (10 s).
echoes_ping() { python3 - "$(echo "$udids" | head -n1)" <<'PY'
import subprocess, sys
cat = subprocess.Popen(["inetcat", "-u", sys.argv[1], "2345"], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
cat.stdin.write(b"ping"); cat.stdin.flush()
try:
    got = subprocess.run(["timeout", "10", "head", "-c", "4"], stdin=cat.stdout,
                         capture_output=True).stdout
finally:
    cat.kill(); cat.wait()
sys.exit(0 if got == b"ping" else f"the echo app answered {got!r}, not b'ping', in 10 s")
PY
}
check "the phone still works after the refusal" echoes_ping
check "ideviceinfo reaches the virtual lockdownd" \
  test "$(ideviceinfo -u "$(echo "$udids" | head -n1)" -s -k DeviceName)" = "tether virtual iPhone"

# A PeerTalk-style host: a plist Listen socket hears every phone, then the unplug.
python3 - "$dir/run/usbmuxd" >"$dir/listen.log" 2>&1 <<'PY' &
import plistlib, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
body = plistlib.dumps({"MessageType": "Listen", "ProgName": "peertalk-like", "ClientVersionString": "1"})
s.sendall(struct.pack("<IIII", 16 + len(body), 1, 8, 1) + body)
def read_msg():
    head = b""
    while len(head) < 16: head += s.recv(16 - len(head))
    length, version, msg, tag = struct.unpack("<IIII", head)
    data = b""
    while len(data) < length - 16: data += s.recv(length - 16 - len(data))
    assert version == 1 and msg == 8, "replies must be plist (version 1, message 8)"
    return tag, plistlib.loads(data)
tag, r = read_msg(); assert tag == 1 and r == {"MessageType": "Result", "Number": 0}, r
for _ in range(2):
    tag, r = read_msg(); assert tag == 0 and r["MessageType"] == "Attached", r
    assert r["Properties"]["ConnectionType"] == "USB" and r["Properties"]["SerialNumber"], r
print("attached"); sys.stdout.flush()
tag, r = read_msg(); assert r["MessageType"] == "Detached" and "DeviceID" in r, r
print("detached")
PY
pids+=($!)
for _ in $(seq 50); do grep -q attached "$dir/listen.log" 2>/dev/null && break; sleep 0.1; done
sim_command "unplug 1" >/dev/null
check "$daemon drops the unplugged phone" wait_for_list 1
heard_detach() {
  for _ in $(seq 50); do grep -q detached "$dir/listen.log" && return 0; sleep 0.1; done
  cat "$dir/listen.log"
  return 1
}
check "a Listen client hears Result, both phones Attached, then Detached" heard_detach
sim_command "plug 1" >/dev/null
check "a replugged phone comes back" wait_for_list 2

if [ -n "$tetherd" ]; then
  # Pair records (only against tetherd: the reference would write the real /var/lib/lockdown).
  check "pair records: saved as XML with mode 0600, read back, traversal refused, deleted" \
    python3 - "$dir/run/usbmuxd" "$dir/lockdown" "$(echo "$udids" | head -n1)" <<'PY'
import os, plistlib, socket, stat, struct, sys
path, store, udid = sys.argv[1:]
def ask(msg, tag):
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(5)
    body = plistlib.dumps(dict(msg, ProgName="pairtest"))
    s.sendall(struct.pack("<IIII", 16 + len(body), 1, 8, tag) + body)
    head = b""
    while len(head) < 16: head += s.recv(16 - len(head))
    length = struct.unpack("<I", head[:4])[0]
    data = b""
    while len(data) < length - 16: data += s.recv(length - 16 - len(data))
    return plistlib.loads(data)
record = plistlib.dumps({"HostID": "X", "SystemBUID": "Y"}, fmt=plistlib.FMT_BINARY)
assert ask({"MessageType": "SavePairRecord", "PairRecordID": udid, "PairRecordData": record}, 1)["Number"] == 0
file = os.path.join(store, udid + ".plist")
assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, oct(os.stat(file).st_mode)
got = ask({"MessageType": "ReadPairRecord", "PairRecordID": udid}, 2)
assert plistlib.loads(got["PairRecordData"])["HostID"] == "X" and got["PairRecordData"].startswith(b"<?xml"), got
assert ask({"MessageType": "SavePairRecord", "PairRecordID": "../escape", "PairRecordData": record}, 3)["Number"] == 22
assert not os.path.exists(os.path.join(os.path.dirname(store), "escape.plist"))
assert ask({"MessageType": "DeletePairRecord", "PairRecordID": udid}, 4)["Number"] == 0
assert ask({"MessageType": "ReadPairRecord", "PairRecordID": udid}, 5)["Number"] == 2
buid = ask({"MessageType": "ReadBUID"}, 6)["BUID"]
assert len(buid) == 36 and buid == ask({"MessageType": "ReadBUID"}, 7)["BUID"]
PY
  check "the socket is mode 0660 (usbmuxd's is 0666)" \
    test "$(stat -c %a "$dir/run/usbmuxd")" = 660
  check "ListListeners names a Listen client by its own number and program" \
    python3 - "$dir/run/usbmuxd" <<'PY'
import plistlib, socket, struct, sys
def request(s, msg, tag):
    body = plistlib.dumps(dict(msg, ProgName="listener-test", kLibUSBMuxVersion=3))
    s.sendall(struct.pack("<IIII", 16 + len(body), 1, 8, tag) + body)
    head = b""
    while len(head) < 16: head += s.recv(16 - len(head))
    want = struct.unpack("<I", head[:4])[0] - 16
    data = b""
    while len(data) < want: data += s.recv(want - len(data))  # events may follow: no more
    return plistlib.loads(data)
listener = socket.socket(socket.AF_UNIX); listener.connect(sys.argv[1]); listener.settimeout(5)
assert request(listener, {"MessageType": "Listen"}, 1)["Number"] == 0
asker = socket.socket(socket.AF_UNIX); asker.connect(sys.argv[1]); asker.settimeout(5)
entries = request(asker, {"MessageType": "ListListeners"}, 2)["ListenerList"]
mine = [e for e in entries if e["ProgName"] == "listener-test"]
assert len(mine) == 1 and mine[0]["ID String"].endswith("-listener-test"), entries
assert mine[0]["kLibUSBMuxVersion"] == 3 and mine[0]["Blacklisted"] is False, mine
PY
fi

stop_sim() {  # SIGTERM reaches usbmuxd through the sim; both must exit cleanly
  kill -TERM "$sim_pid"
  local rc=0
  wait "$sim_pid" || rc=$?
  # Both daemons exit 0 on SIGTERM; the sim passes the status on.
  [ "$rc" = 0 ] && ! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$dir/usbmuxd.log"
}
check "SIGTERM stops the sim and $daemon cleanly, no sanitizer reports" stop_sim

echo "interop with $daemon: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "--- daemon log"; grep -v 'libusb: debug' "$dir/usbmuxd.log" | tail -40
  exit 1
fi
