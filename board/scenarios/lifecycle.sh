#!/bin/bash
# The packaged lifecycle under real udev and systemd: a forward added before any phone
# (the socket starts tetherd; the forward is saved), a cable pulled with connections
# open, a phone reboot (back within the grace), a long unplug with a forward set up (it
# stays), a restart and a crash (the saved forward comes back), the last phone leaving
# with nothing set up (tetherd exits, the socket stays) and the next plug (systemd
# starts it again).
here=$(dirname "$0")
. "$here/lib.sh"

install_debs tether tether-gadget && ok "dpkg -i tether tether-gadget"
[ "$(systemctl is-enabled tetherd.socket) $(systemctl is-enabled tetherd.service)" = "enabled enabled" ] &&
  ok "the install enabled tetherd.socket and tetherd.service (the socket and the saved forwards come back at boot)" ||
  fail "enabled: socket $(systemctl is-enabled tetherd.socket), service $(systemctl is-enabled tetherd.service)"

# Before any phone, a user in plugdev sets a forward up: the socket starts tetherd, which
# saves the forward and stays for it.
useradd -m bob 2>/dev/null
usermod -aG plugdev bob
r=$(su bob -c 'tether forward add 9345 2345' 2>&1) && ok "tether forward add 9345 2345 with no phone, as bob (plugdev): $r" ||
  fail "forward add with no phone: $r"
grep -qx '\[forward 9345\]' /var/lib/tether/forwards 2>/dev/null &&
  ok "saved in /var/lib/tether/forwards (owner $(stat -c %U /var/lib/tether/forwards))" ||
  fail "not saved: $(cat /var/lib/tether/forwards 2>&1)"
sleep 3
tetherd_active && ok "tetherd stays for the forward with no phone" || fail "tetherd left although a forward was set up"

gadget_modules || finish
start_gadget || finish
udid=$(gadget list | awk '$1 == 1 {print $2}')
wait_until 15 "tether list to show the phone" sh -c "tether list | grep -q '$udid'" && ok "the phone plugged: listed"
pid=$(systemctl show -p MainPID --value tetherd)

# Faults the gadget makes at this level: the apps reset their connections (as when iOS
# kills them), and a slow bus (every bulk transfer 100 ms late).
python3 - >"$out/reset-conn.log" 2>&1 <<'PY' &
import socket, time
s = socket.create_connection(("127.0.0.1", 9345), 10)
s.sendall(b"hello"); assert s.recv(5) == b"hello"
print("connected", flush=True)
s.settimeout(20)
try:
    r = s.recv(10)
    print("closed" if not r else f"got {r}")
except OSError as e:
    print(f"ended: {e}")
PY
conn=$!
wait_until 10 "a connection through the forward" grep -q connected "$out/reset-conn.log"
gadget reset 1 >/dev/null
wait_until 10 "the reset to end the connection" sh -c "! kill -0 $conn" &&
  ok "the phone's apps reset their connections: the forward's client saw '$(tail -1 "$out/reset-conn.log")'"
if r=$(echo_check 127.0.0.1 9345 65536); then ok "a new connection works after the reset: $r"; else fail "after the reset: $r"; fi
gadget delay 1 100 >/dev/null
r=$(echo_check 127.0.0.1 9345 4096) && case "$r" in *"median "[1-9][0-9][0-9]*) true ;; *) false ;; esac &&
  ok "bulk transfers 100 ms late: still intact, $r" || fail "with 100 ms of bus delay: $r"
gadget delay 1 0 >/dev/null

# A connection open through the forward when the cable is pulled: it ends (the phone is
# gone), in bounded time, and says so by closing; nothing hangs.
python3 - >"$out/open-conn.log" 2>&1 <<'PY' &
import socket, time
s = socket.create_connection(("127.0.0.1", 9345), 10)
s.sendall(b"hello"); assert s.recv(5) == b"hello"
print("connected", flush=True)
s.settimeout(20)
t = time.monotonic()
try:
    r = s.recv(10)
    print(f"closed after {time.monotonic() - t:.2f} s ({'EOF' if not r else r})")
except OSError as e:
    print(f"ended after {time.monotonic() - t:.2f} s: {e}")
PY
conn=$!
wait_until 10 "the open connection" grep -q connected "$out/open-conn.log"
gadget unplug 1 >/dev/null
wait_until 10 "the open connection to end at the unplug" sh -c "! kill -0 $conn"
ok "cable pulled with a connection open: $(tail -1 "$out/open-conn.log")"

# A reboot: back within the grace, the same tetherd.
sleep 0.5
gadget plug 1 >/dev/null
wait_until 20 "the phone back" sh -c "tether list | grep -q '$udid'"
[ "$(systemctl show -p MainPID --value tetherd)" = "$pid" ] &&
  ok "a phone reboot (back in 0.5 s) keeps the same tetherd (pid $pid)" || fail "tetherd changed on a reboot"

# Away longer than the grace, with a forward set up: tetherd stays, the forward too.
gadget unplug 1 >/dev/null
sleep 5
tetherd_active && [ "$(systemctl show -p MainPID --value tetherd)" = "$pid" ] &&
  ok "5 s unplugged with a forward set up: tetherd stays" || fail "tetherd left although a forward was set up"
gadget plug 1 >/dev/null
wait_until 20 "the phone back after 5 s" sh -c "tether list | grep -q '$udid'"
if r=$(echo_check 127.0.0.1 9345 65536); then ok "the forward works after the long unplug: $r"; else fail "forward after the long unplug: $r"; fi

# The saved forward comes back after a restart and after a crash (SIGKILL: nothing is
# written at exit, and systemd restarts a failed tetherd).
forward_back() {  # forward_back WHAT: the forward listed and echoing after WHAT
  wait_until 20 "the phone after $1" sh -c "tether list | grep -q '$udid'" &&
    tether forward list | grep -q 9345 && r=$(echo_check 127.0.0.1 9345 65536) &&
    ok "after $1, the saved forward serves again: $r" || fail "the forward after $1: ${r:-not listed}"
}
systemctl restart tetherd
forward_back "systemctl restart tetherd"
old=$(systemctl show -p MainPID --value tetherd)
systemctl kill -s KILL tetherd
wait_until 20 "systemd to restart tetherd after the crash" sh -c \
  "[ \"\$(systemctl show -p MainPID --value tetherd)\" != $old ] && systemctl is-active --quiet tetherd"
forward_back "a crash (SIGKILL)"

# Nothing set up: the last phone leaving stops tetherd; the socket stays, and the next
# client or plug starts it again.
tether forward remove 9345 >/dev/null
grep -q 9345 /var/lib/tether/forwards && fail "the removed forward is still saved"
gadget unplug 1 >/dev/null
wait_until 15 "tetherd to exit once idle" tetherd_inactive && ok "idle and no phone: tetherd exited after ${waited_ms} ms"
result=$(systemctl show -p Result --value tetherd)
[ "$result" = success ] && ok "it exited cleanly (Result=success)" || fail "tetherd's Result=$result"
[ -S /run/usbmuxd ] && systemctl is-active --quiet tetherd.socket && ok "the socket stays with systemd" ||
  fail "no socket after the exit: $(ls -l /run/usbmuxd 2>&1)"
tether list >"$out/list-none.txt" 2>&1 && grep -q "^no phone attached (is it plugged in?" "$out/list-none.txt" &&
  ok "tether list, no phone, tetherd not running: '$(head -1 "$out/list-none.txt")' from a tetherd the socket started" ||
  fail "tether list with no daemon: $(cat "$out/list-none.txt") ($(ls -l /run/usbmuxd 2>&1))"
wait_until 10 "tetherd to exit again after the client" tetherd_inactive
plug_start=$(date +%s.%N)
gadget plug 1 >/dev/null
wait_until 30 "systemd to start tetherd again" tetherd_active &&
  wait_until 15 "the phone in tether list" sh -c "tether list | grep -q '$udid'" &&
  ok "the next plug started tetherd again: the phone listed $(since "$plug_start") s after the plug"
finish
