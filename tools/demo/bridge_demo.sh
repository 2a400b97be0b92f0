#!/usr/bin/env bash
# The main job, end to end on one machine: a virtual iPhone (tether-sim), tetherd
# serving it on a usbmuxd socket, and Debian's own usbmuxd clients using it unchanged.
#
#   bridge_demo.sh BUILD_DIR
set -euo pipefail
build=$1
sim=$build/tools/sim/tether-sim
tetherd=$build/daemon/tetherd
tool=$build/tests/bench/source_throughput
dir=$(mktemp -d)
cleanup() { [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null; pkill -P $$ 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
export USBMUXD_SOCKET_ADDRESS="UNIX:$dir/usbmuxd"
step() { printf '\n== %s\n' "$*"; }
fail() { echo "demo failed: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "1. A virtual iPhone on USB, and tetherd serving it on $dir/usbmuxd"
"$sim" --source-bytes 100000000 --control "$dir/ctl" -- "$tetherd" -f --socket "$dir/usbmuxd" \
  --pidfile "$dir/tetherd.pid" --config-dir "$dir/lockdown" 2>"$dir/tetherd.log" &
sim_pid=$!
for _ in $(seq 50); do idevice_id -l 2>/dev/null | grep -q . && break; sleep 0.1; done
grep -v 'libusb' "$dir/tetherd.log" | sed 's/^/   /'

step "2. Debian's idevice_id and ideviceinfo, unmodified, through tetherd"
echo "   idevice_id -l: $(idevice_id -l)"
ideviceinfo -s | grep -E 'DeviceName|ProductType|ProductVersion|UniqueDeviceID' | sed 's/^/   ideviceinfo: /'

step "3. iproxy forwards a local port to the phone's echo app (port 2345)"
port=$(free_port)
iproxy "$port:2345" >/dev/null 2>&1 &
sleep 0.5
reply=$(python3 -c "
import socket; s = socket.create_connection(('127.0.0.1', $port), 5); s.sendall(b'hello, phone')
print(s.recv(100).decode())")
echo "   sent 'hello, phone' to 127.0.0.1:$port, the phone's app answered '$reply'"
[ "$reply" = "hello, phone" ] || fail "the echo app did not answer"

step "4. Throughput from the phone's source app (port 2346) through tetherd and iproxy, 40 MB/s USB link"
port2=$(free_port)
iproxy "$port2:2346" >/dev/null 2>&1 &
sleep 0.5
"$tool" tcp "$port2" 32000000 | sed 's/^daemon+iproxy/   tetherd + iproxy:/' || fail "the stream stopped short"

step "5. Pull the cable, then plug it back in"
python3 -c "
import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect('$dir/ctl'); s.sendall(b'unplug 1\n'); s.recv(100)"
sleep 0.5
after_pull=$(idevice_id -l)
echo "   idevice_id -l after the pull: '$after_pull'"
[ -z "$after_pull" ] || fail "the pulled phone is still listed"
python3 -c "
import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect('$dir/ctl'); s.sendall(b'plug 1\n'); s.recv(100)"
for _ in $(seq 50); do idevice_id -l 2>/dev/null | grep -q . && break; sleep 0.1; done
after_plug=$(idevice_id -l)
echo "   idevice_id -l after replugging: '$after_plug'"
[ -n "$after_plug" ] || fail "the replugged phone did not come back"

step "6. SIGTERM: tetherd resets the phone's connections and stops"
kill -TERM "$sim_pid"
wait "$sim_pid" || fail "tetherd did not exit cleanly"
echo "   exited cleanly"
sim_pid=
echo
echo "tetherd's log:"
grep -v 'libusb' "$dir/tetherd.log" | sed 's/^/   /'
