#!/usr/bin/env python3
"""What real iPhones do that a plain virtual phone did not (issue 15), through a daemon
on tether-sim: a locked phone (attached, silent) and one in USB Restricted Mode (off the
bus), CONTROL type 7 texts, the vendor requests a host may send, a host restart with
the old session's packets before or after the VERSION reply, and the 65535-byte limit.

    phone_behaviours_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tether
    phone_behaviours_test.py PATH/TO/tether-sim          (the reference usbmuxd; root)

The user-facing words are checked word for word. The reference run records what
Debian's usbmuxd 1.1.1 does with the same phone; see docs/real-phone-behaviours.md.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muxclient as mc  # noqa: E402
from daemons import Checks, Daemon, Skip, TMP, wait_for  # noqa: E402

SIM = sys.argv[1]
TETHERD = sys.argv[2] if len(sys.argv) > 2 else None
TETHER = sys.argv[3] if len(sys.argv) > 3 else None
check = Checks()
tetherd_checks = []


def later(name, fn):
    tetherd_checks.append((name, fn))

LOCKED = ("phone at {where} ({udid}) is attached but answers nothing: is it locked? "
          "waiting for it to be unlocked")
UNLOCKED = "{udid} answers after {s} s of silence: unlocked, it is served now"
SILENT = ("no phone served: {udid} is attached but answers nothing: is it locked? tetherd waits for "
          "it to be unlocked\n")
NO_PHONE = ("no phone attached (is it plugged in? a locked iPhone may stay off USB until it is "
            "unlocked)\n")


def stats(d):
    """The phone's counters (tether-sim's `stats 1`) as a dict of ints."""
    line = d.sim("stats 1").splitlines()[0]
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split())}


def echo(sock_path, device_id, n=100_000):
    """n bytes through the phone's echo app, 64 KiB at a time (whole packets of 49152
    bytes and more go out; neither side's buffers fill)."""
    s = mc.open_stream(sock_path, device_id, 2345)
    s.settimeout(15)
    for at in range(0, n, 65536):
        data = os.urandom(min(65536, n - at))
        s.sendall(data)
        assert mc.recv_exact(s, len(data)) == data, "echo differs"
    s.close()


def tether_list(d):
    return subprocess.run([TETHER, "--socket", d.sock, "list"], capture_output=True, text=True, timeout=20)


# --- tetherd ------------------------------------------------------------------------------

def t_reenumerate():
    # Tapping Trust has made phones leave the bus and come back with a new address.
    d = Daemon(SIM, TETHERD, "reenumerate", phones=1)
    watch = None
    try:
        udid = d.udids()[0]
        old = d.devices()[0]
        old_id, old_location = old["DeviceID"], old["Properties"]["LocationID"]
        r = subprocess.run([TETHER, "--socket", d.sock, "forward", "add", "0", "2345", "--udid", udid,
                            "--json"], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r
        local = d.forwards()[next(iter(d.forwards()))]["LocalPort"]
        watch = subprocess.Popen([TETHER, "--socket", d.sock, "watch"], stdout=subprocess.PIPE,
                                 text=True)
        wait_for(lambda: any(li["ID String"].endswith("tether") for li in
                             d.ask({"MessageType": "ListListeners"})["ListenerList"]), 10, "tether watch")
        listener = mc.Client(d.sock)
        listener.send_plist({"MessageType": "Listen"})
        assert listener.recv()[3]["Number"] == 0
        listener.sock.settimeout(15)
        assert listener.recv()[3]["MessageType"] == "Attached"
        held = mc.open_stream(d.sock, old_id, 2345)
        held.settimeout(10)
        assert d.sim("reenumerate 1") == "ok"
        ev = listener.recv()[3]
        assert ev == {"MessageType": "Detached", "DeviceID": old_id}, ev
        ev = listener.recv()[3]
        assert ev["MessageType"] == "Attached" and ev["DeviceID"] > old_id, ev
        assert ev["Properties"]["SerialNumber"] == udid
        assert ev["Properties"]["LocationID"] != old_location, (ev, old_location)
        assert held.recv(10) == b"", "a connection of the old enumeration ends, it does not hang"
        held.close()
        # Nothing waits on the old DeviceID: Connect answers at once, BADDEV.
        c = mc.Client(d.sock)
        t0 = time.monotonic()
        assert c.connect(old_id, 2345) == 2
        assert time.monotonic() - t0 < 1
        c.close()
        with socket.create_connection(("127.0.0.1", local), timeout=10) as s:  # the forward serves
            s.sendall(b"ping")
            assert mc.recv_exact(s, 4) == b"ping"
        echo(d.sock, ev["DeviceID"])
        listener.close()
        watch.terminate()
        out = watch.communicate(timeout=10)[0]
        assert f"detached {udid} (device {old_id})" in out, out
        assert re.search(rf"attached {udid} .* \(device {ev['DeviceID']}\)", out), out
        d.stop()
    except BaseException:
        print(d.log()[-2500:])
        raise
    finally:
        if watch and watch.poll() is None:
            watch.kill()
        if d.proc.poll() is None:
            d.stop()


later("re-enumeration (as tapping Trust has done): a Listen client and `tether watch` see "
      "Detached then Attached with a new DeviceID and location; an open connection ends; "
      "Connect to the old DeviceID answers 2 at once; a `tether forward add` forward serves "
      "again", t_reenumerate)


def t_locked_phone():
    # Locked: the phone enumerates and answers USB requests; its mux is silent.
    d = Daemon(SIM, TETHERD, "locked", phones=1)
    try:
        udid = d.udids()[0]
        assert d.sim("lock 1") == "ok" and d.sim("replug 1") == "ok"
        wait_for(lambda: d.devices() == [], 10, "the replugged phone to leave the list")
        warning = wait_for(lambda: re.search(r"phone at (\d+-\d+) \(" + re.escape(udid) +
                                             r"\) is attached but answers nothing.*", d.log()),
                           20, "the locked phone's warning")
        assert warning.group(0) == LOCKED.format(where=warning.group(1), udid=udid), warning.group(0)
        r = tether_list(d)
        assert r.returncode == 0 and r.stderr == SILENT.format(udid=udid), r
        time.sleep(12)  # two more tries at least: retried, not said again, no flood
        log = d.log()
        assert log.count("answers nothing") == 1, log[-2000:]
        tries = stats(d)["reads_while_locked"]
        assert 2 <= tries <= 6, f"{tries} VERSIONs in 17 s: the retry should be every 2 s + 5 s"
        assert stats(d)["set_mode"] == 0
        t0 = time.monotonic()
        assert d.sim("unlock 1") == "ok"
        wait_for(lambda: len(d.devices()) == 1, 15, "the unlocked phone to be served")
        took = time.monotonic() - t0
        assert took < 9, f"served {took:.1f} s after the unlock (at most 2 s + 5 s wanted)"
        m = re.search(re.escape(udid) + r" answers after (\d+) s of silence.*", d.log())
        assert m and m.group(0) == UNLOCKED.format(udid=udid, s=m.group(1)), d.log()[-1500:]
        echo(d.sock, d.device_id(udid))
        d.stop()
    except BaseException:
        print(d.log()[-3000:])
        raise
    finally:
        if d.proc.poll() is None:
            d.stop()


later("a locked phone: attached but silent; tetherd says so once in words, retries every few "
      "seconds without a log flood, `tether list` names it, and the phone is served within 7 s of "
      "the unlock, without a replug", t_locked_phone)


def t_locked_then_unplugged():
    # A silent phone pulled out (during a handshake try, or between two) is not named
    # by `tether list` any more.
    d = Daemon(SIM, TETHERD, "locked-unplugged", phones=1)
    try:
        udid = d.udids()[0]
        assert d.sim("lock 1") == "ok" and d.sim("replug 1") == "ok"
        # The cable is pulled at two moments of the 7-second cycle: right after a try
        # failed (no link open: 2 s until the next), and 3 s later, inside a try.
        for wait in (0, 3):
            n = d.log().count("answers nothing")
            wait_for(lambda: d.log().count("answers nothing") > n, 20, "the locked phone's warning")
            assert tether_list(d).stderr == SILENT.format(udid=udid)
            time.sleep(wait)
            assert d.sim("unplug 1") == "ok"
            wait_for(lambda: tether_list(d).stderr == NO_PHONE, 10, "the unplugged phone forgotten")
            assert d.sim("plug 1") == "ok"
        d.stop()
    finally:
        if d.proc.poll() is None:
            d.stop()


later("a locked phone pulled out is forgotten: `tether list` no longer names it", t_locked_then_unplugged)


def t_hidden_phone():
    # USB Restricted Mode: the phone leaves the bus until it is unlocked.
    d = Daemon(SIM, TETHERD, "hidden", phones=1)
    try:
        udid = d.udids()[0]
        first = d.device_id(udid)
        listener = mc.Client(d.sock)
        listener.send_plist({"MessageType": "Listen"})
        assert listener.recv()[3]["Number"] == 0
        listener.sock.settimeout(15)
        attached = listener.recv()[3]  # the phone already there
        assert attached["MessageType"] == "Attached", attached
        assert d.sim("lock 1 hidden") == "ok"
        ev = listener.recv()[3]
        assert ev == {"MessageType": "Detached", "DeviceID": first}, ev
        r = tether_list(d)
        assert r.returncode == 0 and r.stderr == NO_PHONE, r
        assert d.sim("unlock 1") == "ok"
        ev = listener.recv()[3]
        assert ev["MessageType"] == "Attached" and ev["DeviceID"] > first, ev
        assert "answers nothing" not in d.log(), "a phone off the bus is not a silent one"
        echo(d.sock, ev["DeviceID"])
        listener.close()
        d.stop()
    finally:
        if d.proc.poll() is None:
            d.stop()


later("USB Restricted Mode: the phone leaves the bus (Detached), `tether list` hints at it, and "
      "it comes back on unlock (Attached, new DeviceID) and serves", t_hidden_phone)


def t_control_texts():
    for verbose in (False, True):
        d = Daemon(SIM, TETHERD, f"texts-{verbose}", phones=1, extra=["-v"] if verbose else [])
        try:
            assert d.sim("texts 1 on") == "ok"
            udid = d.udids()[0]
            echo(d.sock, d.device_id(udid), 1000)
            wait_for(lambda: stats(d)["control_texts_sent"] == 2, 10, "the phone's two texts")
            time.sleep(0.5)
            log = d.log()
            opened = re.search(re.escape(udid) + r" says \(CONTROL type 7\): "
                               r"AppleUSBDeviceMux::handleConnectResult new session 0x[0-9a-f]{8} "
                               r"established 2345<-lo0->\d+ 2345<-usb->\d+\n", log)
            closed = re.search(re.escape(udid) + r" says \(CONTROL type 7\): "
                               r"AppleUSBDeviceMux::sessionUpcall socket is closed, session "
                               r"0x[0-9a-f]{8}\n", log)
            if verbose:
                assert opened and closed, log[-2000:]
            else:
                assert "AppleUSBDeviceMux" not in log, "type 7 texts are for -v only"
            d.stop()
        finally:
            if d.proc.poll() is None:
                d.stop()


later("CONTROL type 7 texts from the phone are logged at debug (-v) word for word, and not "
      "at all without -v", t_control_texts)


def t_vendor_requests_and_sizes():
    d = Daemon(SIM, TETHERD, "vendor", phones=1)
    try:
        udid = d.udids()[0]
        echo(d.sock, d.device_id(udid), 3_000_000)
        d.sim("replug 1")
        wait_for(lambda: len(d.devices()) == 1, 15, "the replugged phone")
        echo(d.sock, d.device_id(udid), 3_000_000)
        st = stats(d)
        # tetherd never switches modes and needs no GET_MODE; it sends one mux packet per
        # transfer, never over usbmuxd's 49152 (the phone refuses reads over 65535).
        assert st["set_mode"] == 0 and st["get_mode"] == 0, st
        assert st["too_large"] == 0 and 0 < st["largest_packet"] <= 49152, st
        d.stop()
    finally:
        if d.proc.poll() is None:
            d.stop()


later("over a plug and a replug tetherd sends no SET_MODE (0x52) or GET_MODE (0x45), and no "
      "OUT transfer over 49152 bytes (the phone's too_large stays 0)", t_vendor_requests_and_sizes)


class Restartable:
    """tether-sim whose command runs tetherd again whenever it exits, so tetherd can be
    killed (-9) under a phone that stays plugged, as a crashed or restarted daemon is."""

    def __init__(self, name):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.ctl = os.path.join(self.dir, "ctl")
        self.sock = os.path.join(self.dir, "usbmuxd")
        self.pidfile = os.path.join(self.dir, "tetherd.pid")
        self.stop_file = os.path.join(self.dir, "stop")
        self.logfile = os.path.join(self.dir, "log")
        # tetherd's pairing off: the stale packets counted here are the echo's, and a
        # dialog polled every few seconds would keep tetherd from being killed idle.
        conf = os.path.join(self.dir, "tetherd.conf")
        with open(conf, "w") as f:
            f.write("[tetherd]\npair = no\n")
        tetherd = (f"'{TETHERD}' -f -v -S '{self.sock}' -C '{self.dir}/lockdown' -P '{self.pidfile}' "
                   f"-c '{conf}' --state-dir '{self.dir}'")
        loop = f"while [ ! -e '{self.stop_file}' ]; do {tetherd}; sleep 0.2; done"
        self.proc = subprocess.Popen([SIM, "--phones", "1", "--control", self.ctl, "--", "sh", "-c", loop],
                                     stdout=open(self.logfile, "w"), stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.ctl) and len(self.devices()) == 1, 20, "the phone")

    def devices(self):
        try:
            return mc.devices(self.sock)
        except OSError:
            return []

    def sim(self, command):
        from daemons import sim_control
        return sim_control(command, self.ctl, check=False).strip()

    def log(self):
        with open(self.logfile) as f:
            return f.read()

    def kill_tetherd(self):
        pid = int(open(self.pidfile).read())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                 open(f"/proc/{pid}/stat").read().split()[2] == "Z", 10, "tetherd to die")
        return pid

    def stop(self):
        open(self.stop_file, "w").close()
        try:
            os.kill(int(open(self.pidfile).read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        rc = self.proc.wait(timeout=20)
        assert rc == 0, f"exit status {rc}\n{self.log()[-2000:]}"
        assert "Sanitizer" not in self.log() and "runtime error" not in self.log()


def t_host_restart():
    for order in ("before", "after"):
        r = Restartable(f"restart-{order}")
        try:
            assert r.sim(f"restart-stale 1 {order}") == "ok"
            old = r.devices()[0]["DeviceID"]
            held = mc.open_stream(r.sock, old, 2345)  # open while tetherd dies
            held.sendall(b"x" * 10)
            assert mc.recv_exact(held, 10) == b"x" * 10
            # Killed while idle: umockdev 0.17 never notices a client that dies while
            # the answer to one of its ioctls is being written (its read loop is not
            # queued again), so the dead daemon would hold the interface for good.
            time.sleep(1)
            r.kill_tetherd()
            wait_for(lambda: r.devices() != [], 20, "the restarted tetherd to serve the phone")
            st = stats(r)
            assert st["stale_sent"] == 1, st
            assert st["set_mode"] == 0 and st["get_mode"] == 0, st  # a restart switches no mode
            log = r.log()
            udid = r.devices()[0]["Properties"]["SerialNumber"]
            dropped = f"{udid}: dropped 1 packet(s) that came before the VERSION reply (left from an earlier session)"
            if order == "before":
                assert dropped in log, log[-2000:]
            else:  # after: the new session answers it with an RST, which the phone ignores
                assert "dropped" not in log, log[-2000:]
                assert st["packets_ignored"] >= 1, st
            echo(r.sock, r.devices()[0]["DeviceID"])
            held.close()
        except BaseException:
            print("\n".join(line for line in r.log().splitlines()
                            if "ListDevices" not in line)[-3000:])
            raise
        finally:
            r.stop()


later("tetherd killed (-9) with a connection open and started again: the phone's old-session "
      "packets before the VERSION reply are dropped (said at debug), after it answered with an "
      "RST; the phone serves at once either way", t_host_restart)


def t_version_from_phone():
    d = Daemon(SIM, TETHERD, "phone-version", phones=1)
    try:
        udid = d.udids()[0]
        device = d.device_id(udid)
        for order in ("before", "after"):
            assert d.sim(f"restart-stale 1 {order}") == "ok"
            held = mc.open_stream(d.sock, device, 2345)
            held.settimeout(10)
            held.sendall(b"x" * 10)
            assert mc.recv_exact(held, 10) == b"x" * 10
            assert d.sim("version 1") == "ok"
            rest = b""
            while chunk := held.recv(100):  # ends: the connection is closed, not left hanging
                rest += chunk
            # Before: the old session's segment still reaches the client, then the end.
            assert rest == (b"stale" if order == "before" else b""), (order, rest)
            held.close()
            assert d.device_id(udid) == device, "the phone stays attached under its DeviceID"
            echo(d.sock, device)
        log = d.log()
        said = (f"{udid} (device {device}) restarted its mux session; its connections were "
                "closed, and it is served again")
        assert log.count(said) == 2, log[-2000:]
        assert "the phone restarted its mux session (VERSION inside a live session)" in log, log[-2000:]
        assert stats(d)["versions_sent"] == 2
        d.stop()
    finally:
        if d.proc.poll() is None:
            d.stop()


later("a VERSION from the phone inside a live session restarts it: the connection ends with "
      "the reason in words (the old session's segment first when it came before the VERSION), "
      "the phone stays attached under its DeviceID and serves again", t_version_from_phone)


def t_stalls():
    d = Daemon(SIM, TETHERD, "stalls", phones=1)
    try:
        udid = d.udids()[0]
        device = d.device_id(udid)
        for ep, name in (("in", "IN endpoint 0x85"), ("out", "OUT endpoint 0x04")):
            assert d.sim(f"stall 1 {ep}") == "ok"
            echo(d.sock, device)  # the pipe works again: the halt was cleared
            said = (f"{udid} (device {device}): the phone stalled its bulk {name}; the halt was "
                    "cleared and the transfer sent again")
            wait_for(lambda: said in d.log(), 5, f"the {ep} stall said")
            assert d.log().count(said) == 1, d.log()[-1500:]
        assert d.device_id(udid) == device, "a cleared stall keeps the phone attached"
        # A phone that stalls again and again is reported and opened afresh, not cleared
        # for ever.
        for _ in range(2):
            assert d.sim("stall 1 out") == "ok"
            echo(d.sock, device, 1000)
        assert d.sim("stall 1 out") == "ok"  # the fourth in 10 s: the next transfer stalls
        try:
            echo(d.sock, device, 1000)
        except (OSError, AssertionError):
            pass  # the phone may go while this connects or carries bytes
        said = (f"detached {udid} (device {device}): the phone keeps stalling its bulk OUT "
                "endpoint 0x04 (4 times in 10 s): clearing the halt does not help")
        wait_for(lambda: said in d.log(), 10, "the repeated stalls reported")
        wait_for(lambda: d.devices() and d.devices()[0]["DeviceID"] != device, 15,
                 "the phone opened afresh")
        echo(d.sock, d.devices()[0]["DeviceID"])
        d.stop()
    except BaseException:
        print(d.log()[-2500:])
        raise
    finally:
        if d.proc.poll() is None:
            d.stop()


later("a bulk stall is cleared and said once (IN and OUT); a phone that keeps stalling is "
      "reported in words and opened afresh", t_stalls)


# --- the reference usbmuxd ------------------------------------------------------------------

def reference_needs():
    if os.geteuid() != 0:
        raise Skip("the reference usbmuxd needs root for a private mount namespace")
    if shutil.which("usbmuxd") is None:
        raise Skip("usbmuxd (Debian's reference daemon) is not installed")


def t_reference_locked():
    reference_needs()
    d = Daemon(SIM, None, "ref-locked", phones=1, extra=["-v"])
    try:
        assert d.sim("lock 1") == "ok" and d.sim("replug 1") == "ok"
        time.sleep(8)
        # usbmuxd 1.1.1 waits for the VERSION reply forever: the phone stays unlisted and
        # nothing is said; it does not ask again, so an unlock alone does not bring it back.
        assert d.devices() == [], d.devices()
        assert stats(d)["reads_while_locked"] == 1, stats(d)
        assert d.sim("unlock 1") == "ok"
        time.sleep(5)
        print(f"reference, locked then unlocked: listed {len(d.devices())} phone(s) 5 s after "
              "the unlock", flush=True)
        assert d.devices() == [], "the reference does not retry the handshake"
        assert d.sim("replug 1") == "ok"
        wait_for(lambda: len(d.devices()) == 1, 15, "the replugged phone")
    finally:
        d.stop()


def t_reference_texts_and_vendor():
    reference_needs()
    d = Daemon(SIM, None, "ref-texts", phones=1, extra=["-v"])
    try:
        assert d.sim("texts 1 on") == "ok"
        echo(d.sock, d.devices()[0]["DeviceID"], 1000)
        wait_for(lambda: stats(d)["control_texts_sent"] == 2, 10, "the phone's two texts")
        time.sleep(0.5)
        st = stats(d)
        assert st["set_mode"] == 0, st  # 1.1.1 never switches modes either
        log = d.log()
        print("reference, type 7: " + "; ".join(
            line for line in log.splitlines() if "AppleUSBDeviceMux" in line)[:400], flush=True)
        assert "AppleUSBDeviceMux::handleConnectResult new session" in log, log[-2000:]
    finally:
        d.stop()


def t_reference_version_from_phone():
    reference_needs()
    d = Daemon(SIM, None, "ref-version", phones=1, extra=["-v"])
    try:
        device = d.devices()[0]["DeviceID"]
        held = mc.open_stream(d.sock, device, 2345)
        held.settimeout(5)
        assert d.sim("version 1") == "ok"
        try:
            got = held.recv(100)
            ended = "closed" if got == b"" else f"got {got!r}"
        except OSError:
            ended = "still open after 5 s"
        held.close()
        c = mc.Client(d.sock)
        c.sock.settimeout(8)
        try:
            result = f"Connect answered {c.connect(device, 2345)}"
        except OSError:
            result = "Connect got no answer in 8 s"
        c.close()
        log = [line for line in d.log().splitlines() if "ersion" in line][-3:]
        print(f"reference, VERSION from the phone in a live session: the open connection was "
              f"{ended}; a new {result}; log: {log}", flush=True)
    finally:
        d.stop()


def t_reference_stall():
    reference_needs()
    d = Daemon(SIM, None, "ref-stall", phones=1, extra=["-v"])
    try:
        assert d.sim("stall 1 in") == "ok"
        # usbmuxd 1.1.1 treats a stalled transfer as a dead device: it drops the phone and
        # does not take it back until it is plugged in again.
        wait_for(lambda: d.devices() == [], 10, "the reference to drop the stalled phone")
        time.sleep(3)
        assert d.devices() == []
        lines = [line for line in d.log().splitlines() if "stall" in line.lower()][:2]
        print(f"reference, bulk IN stall: phone dropped; log: {lines}", flush=True)
        assert d.sim("replug 1") == "ok"
        wait_for(lambda: len(d.devices()) == 1, 15, "the replugged phone")
    finally:
        d.stop()


def t_reference_reenumerate():
    reference_needs()
    d = Daemon(SIM, None, "ref-reenumerate", phones=1)
    try:
        old = d.devices()[0]["DeviceID"]
        listener = mc.Client(d.sock)
        listener.send_plist({"MessageType": "Listen"})
        assert listener.recv()[3]["Number"] == 0
        listener.sock.settimeout(15)
        assert listener.recv()[3]["MessageType"] == "Attached"
        assert d.sim("reenumerate 1") == "ok"
        ev = listener.recv()[3]
        assert ev == {"MessageType": "Detached", "DeviceID": old}, ev
        ev = listener.recv()[3]
        assert ev["MessageType"] == "Attached" and ev["DeviceID"] != old, ev
        c = mc.Client(d.sock)
        assert c.connect(old, 2345) == 2
        c.close()
        listener.close()
    finally:
        d.stop()


def t_reference_restart():
    reference_needs()
    base = os.path.join(TMP, "ref-restart")
    run = os.path.join(base, "run")
    os.makedirs(run)
    ctl, stop, logfile = (os.path.join(base, n) for n in ("ctl", "stop", "log"))
    sock = os.path.join(run, "usbmuxd")
    loop = f"while [ ! -e {stop} ]; do usbmuxd -f -v; sleep 0.2; done"
    inner = f"{SIM} --phones 1 --control {ctl} -- sh -c '{loop}'"
    proc = subprocess.Popen(["unshare", "-m", "sh", "-c", f"mount --bind '{run}' /run && exec {inner}"],
                            stdout=open(logfile, "w"), stderr=subprocess.STDOUT)
    from daemons import sim_control

    def devices():
        try:
            return mc.devices(sock)
        except OSError:
            return []
    try:
        wait_for(lambda: os.path.exists(ctl) and len(devices()) == 1, 20, "the reference's phone")
        for order in ("before", "after"):
            assert sim_control(f"restart-stale 1 {order}", ctl).startswith("ok")
            held = mc.open_stream(sock, devices()[0]["DeviceID"], 2345)
            held.settimeout(10)
            held.sendall(b"x" * 10)
            assert mc.recv_exact(held, 10) == b"x" * 10
            time.sleep(1)  # idle: see the tetherd case
            pid = int(open(os.path.join(run, "usbmuxd.pid")).read())
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                     open(f"/proc/{pid}/stat").read().split()[2] == "Z", 10, "usbmuxd to die")
            time.sleep(1)
            wait_for(lambda: len(devices()) == 1, 20, "the restarted reference to list the phone")
            echo(sock, devices()[0]["DeviceID"], 1000)
            held.close()
        log = open(logfile).read()
        discarded = [li for li in log.splitlines() if "isn't active yet" in li]
        print(f"reference, restarted under a phone with an open connection: serves again; "
              f"{len(discarded)} line(s) 'isn't active yet': {discarded[:1]}", flush=True)
        assert discarded, "the reference discards the old session's packet before the reply"
    finally:
        open(stop, "w").close()
        try:
            os.kill(int(open(os.path.join(run, "usbmuxd.pid")).read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        proc.wait(timeout=20)


if TETHERD is None:
    check("reference, locked: usbmuxd 1.1.1 waits for the VERSION reply without a word and "
          "does not ask again after the unlock; a replug brings the phone back", t_reference_locked)
    check("reference: type 7 texts logged, no SET_MODE", t_reference_texts_and_vendor)
    check("reference, bulk stall: usbmuxd 1.1.1 drops the phone until a replug", t_reference_stall)
    check("reference, killed (-9) under a phone with an open connection and started again: the "
          "old session's packet before the VERSION reply is discarded, the phone serves",
          t_reference_restart)
    check("reference, re-enumeration: Detached, then Attached with a new DeviceID; the old one "
          "answers 2", t_reference_reenumerate)
    check("reference: what usbmuxd 1.1.1 does with a VERSION from the phone (recorded)",
          t_reference_version_from_phone)
    what = "phone behaviours (reference usbmuxd)"
else:
    only = os.environ.get("PHONE_BEHAVIOURS_ONLY", "")  # a word of a check's name, to debug one
    for name, fn in tetherd_checks:
        if only in name:
            check(name, fn)
    what = "phone behaviours (tetherd)"
check.finish(what)
