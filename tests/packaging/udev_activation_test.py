#!/usr/bin/env python3
"""tetherd started and stopped the way udev, systemd and the init script drive it, on
tether-sim's virtual iPhones.

    udev_activation_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tetherd.init

The phones live in a tether-sim testbed whose environment (umockdev's LD_PRELOAD and
directory) this script copies, so every tetherd it starts sees them, as every tetherd
that udev starts sees the real bus. This script then plays udev:
  add    -> `tetherd --udev ...`   (the RUN rule: start, or poke the running one)
  remove -> `tetherd -x ...`       (exit once no phone is left)
and plugs, unplugs and replugs phones through the sim's control socket. tetherd forks
away from its starter; this process is a child subreaper, so the daemon becomes its
child and its exit status can be checked.

tetherd_features_test.py covers the basics of -x/-z and second starts under -f; this
covers the storms and timings around them.
"""
import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import muxclient as mc  # noqa: E402
from daemons import sim_control, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHERD, INIT = sys.argv[1:4]
TMP = tempfile.mkdtemp(prefix="tetherd-udev-")
failed = 0
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def check(name, fn):
    global failed
    t0 = time.monotonic()
    try:
        fn()
        print(f"ok: {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)
        failed += 1


def alive(pid):
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return os.path.exists(f"/proc/{pid}")


def wait_exit(pid, timeout):
    """The exit status of a daemon that became our child (subreaper)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    raise TimeoutError(f"tetherd (pid {pid}) still running after {timeout} s")


class Testbed:
    """Virtual phones, and everything udev would run for them."""

    def __init__(self, name, phones):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.ctl = os.path.join(self.dir, "ctl")
        self.sock = os.path.join(self.dir, "usbmuxd")
        self.pidfile = os.path.join(self.dir, "tetherd.pid")
        self.log = os.path.join(self.dir, "log")
        self.conf = os.path.join(self.dir, "tetherd.conf")
        open(self.conf, "w").close()
        envfile = os.path.join(self.dir, "env")
        self.sim_proc = subprocess.Popen(
            [SIM, "--phones", str(phones), "--control", self.ctl, "--", "sh", "-c",
             f"env -0 > {envfile}.tmp && mv {envfile}.tmp {envfile} && exec sleep 600"],
            stdout=open(os.path.join(self.dir, "sim.log"), "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for(lambda: os.path.exists(envfile) and os.path.exists(self.ctl), 15, "the testbed")
        self.env = dict(kv.split("=", 1) for kv in open(envfile).read().split("\0") if "=" in kv)
        self.env["ASAN_OPTIONS"] = "verify_asan_link_order=0"
        self.common = ["-S", self.sock, "-P", self.pidfile, "-C", os.path.join(self.dir, "lockdown"),
                       "-c", self.conf, "-l", self.log, "--state-dir", self.dir]
        self.helper_failures = []

    def run(self, *args):
        r = subprocess.run([TETHERD, *args], env=self.env, capture_output=True, text=True,
                           timeout=15)
        if r.returncode != 0:
            self.helper_failures.append(f"tetherd {' '.join(args)}: {r.returncode} {r.stderr}")
        return r

    def udev_add(self):  # the RUN rule of 39-tetherd-run.rules
        return self.run("--udev", *self.common)

    def udev_remove(self):
        return self.run("-x", "-P", self.pidfile)

    def sim(self, command):
        return sim_control(command, self.ctl, check=False).strip()

    def plug(self, n):
        self.sim(f"plug {n}")
        self.udev_add()

    def unplug(self, n):
        self.sim(f"unplug {n}")
        self.udev_remove()

    def devices(self):
        try:
            return mc.devices(self.sock)
        except OSError:
            return []

    def daemon_pid(self):
        try:
            return int(open(self.pidfile).read())
        except (OSError, ValueError):
            return None

    def close(self):
        try:
            os.killpg(self.sim_proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.sim_proc.wait(timeout=10)


# --- the RUN variant: udev starts tetherd --udev and runs tetherd -x ---------------------

tb = Testbed("run", phones=2)
state = {}


def t_two_adds_one_daemon():
    # Both phones are there at boot: udev runs two starters at once.
    starters = [threading.Thread(target=tb.udev_add) for _ in range(2)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert not tb.helper_failures, tb.helper_failures
    assert os.path.exists(tb.sock), "the socket must exist when the starter returns"
    state["pid"] = pid = tb.daemon_pid()
    assert pid and alive(pid)
    wait_for(lambda: len(tb.devices()) == 2, what="two phones")
    log = open(tb.log).read()
    assert log.count("listening on") == 1 and "already running" in log, log[-2000:]


def t_storm_keeps_one_daemon():
    """Phone 2 comes and goes; phone 1 stays. Extra starts and exit requests arrive
    from a second source at the same time, as add/bind/remove storms produce them."""
    rng = random.Random(5)
    stop = threading.Event()

    def noise():
        while not stop.is_set():
            (tb.udev_add if rng.random() < 0.5 else tb.udev_remove)()
            time.sleep(rng.uniform(0, 0.05))

    t = threading.Thread(target=noise)
    t.start()
    try:
        for _ in range(12):
            op = rng.choice(["replug", "unplug-plug", "plug-again"])
            if op == "replug":
                tb.sim("replug 2")
                tb.udev_remove()
                tb.udev_add()
            elif op == "unplug-plug":
                tb.unplug(2)
                time.sleep(rng.uniform(0, 0.3))
                tb.plug(2)
            else:
                tb.plug(2)  # add and bind for a phone that is there already
            time.sleep(rng.uniform(0, 0.2))
    finally:
        stop.set()
        t.join()
    assert not tb.helper_failures, tb.helper_failures[:5]
    assert tb.daemon_pid() == state["pid"] and alive(state["pid"]), "the daemon changed"
    wait_for(lambda: len(tb.devices()) == 2, what="both phones after the storm")
    time.sleep(2.5)  # beyond the grace: phone 1 never left, so no exit
    assert alive(state["pid"]) and len(tb.devices()) == 2


def t_last_phone_reboots():
    """Both phones gone, tetherd -x for each, one back within a second: same daemon."""
    tb.unplug(2)
    tb.unplug(1)
    time.sleep(0.8)
    tb.plug(1)
    wait_for(lambda: len(tb.devices()) == 1, what="the rebooted phone")
    time.sleep(2.5)
    assert alive(state["pid"]) and tb.daemon_pid() == state["pid"], "exited across a reboot"
    assert len(tb.devices()) == 1
    assert not tb.helper_failures, tb.helper_failures


def t_exits_when_last_phone_leaves():
    tb.unplug(1)
    t0 = time.monotonic()
    rc = wait_exit(state["pid"], 10)
    waited = time.monotonic() - t0
    assert rc == 0 and 1.5 < waited < 5, (rc, waited)
    assert not os.path.exists(tb.sock), "the socket should be removed"
    assert "exiting when idle" in open(tb.log).read()
    r = tb.udev_remove()  # a late remove finds nobody, and that is fine
    assert r.returncode == 0 and "no running tetherd" in r.stderr, r


def t_next_plug_starts_again():
    tb.plug(2)
    pid = tb.daemon_pid()
    assert pid and pid != state["pid"] and alive(pid)
    wait_for(lambda: len(tb.devices()) == 1, what="the phone, served by a new tetherd")
    r = tb.run("-X", "-P", tb.pidfile)
    assert r.returncode == 0, r
    assert wait_exit(pid, 10) == 0
    assert not tb.helper_failures, tb.helper_failures


for name, fn in [
    ("two udev starts at once: one daemon, serving both phones when the starter returns",
     t_two_adds_one_daemon),
    ("a storm of plug/unplug/replug with tetherd --udev and tetherd -x interleaved: "
     "one daemon throughout, both phones served", t_storm_keeps_one_daemon),
    ("the last phone reboots (gone 0.8 s): the daemon stays", t_last_phone_reboots),
    ("the last phone leaves: tetherd exits 0 after the 2 s grace, socket removed",
     t_exits_when_last_phone_leaves),
    ("the next plug starts a new tetherd; -X stops it with status 0", t_next_plug_starts_again),
]:
    check(name, fn)
tb.close()


# --- the systemd variant: tetherd --systemd in the foreground, udev runs tetherd -x -----

def t_systemd_mode():
    sb = Testbed("systemd", phones=1)
    try:
        ns_path = os.path.join(sb.dir, "notify")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(ns_path)
        msgs = []

        def drain():  # as systemd does: a full queue would block tetherd's sd_notify
            while True:
                try:
                    msgs.append(ns.recv(4096).decode())
                except OSError:
                    return

        threading.Thread(target=drain, daemon=True).start()
        env = dict(sb.env, NOTIFY_SOCKET=ns_path)
        d = subprocess.Popen([TETHERD, "--systemd", *sb.common], env=env)
        wait_for(lambda: msgs, what="a notification")
        assert msgs[0].startswith("READY=1"), msgs
        wait_for(lambda: len(sb.devices()) == 1, what="the phone")
        for _ in range(5):  # reboots: each remove runs tetherd -x; adds only re-want the unit
            sb.sim("replug 1")
            sb.udev_remove()
            time.sleep(0.3)
        sb.unplug(1)
        time.sleep(0.5)
        sb.sim("plug 1")
        wait_for(lambda: len(sb.devices()) == 1, what="the phone back")
        time.sleep(2.5)
        assert d.poll() is None, "exited although the phone came back"
        sb.unplug(1)
        t0 = time.monotonic()
        rc = d.wait(timeout=10)
        assert rc == 0 and 1.5 < time.monotonic() - t0 < 5, (rc, time.monotonic() - t0)
        wait_for(lambda: any("STOPPING=1" in m for m in msgs), 2, "STOPPING=1")
        ns.close()
        assert not os.path.exists(sb.sock)
        assert not sb.helper_failures, sb.helper_failures
    except Exception:
        print(open(sb.log).read()[-3000:], open(os.path.join(sb.dir, "sim.log")).read()[-2000:])
        raise
    finally:
        sb.close()


check("systemd mode (READY=1): survives replugs and a 0.5 s reboot, exits 0 with "
      "STOPPING=1 2 s after the last phone leaves", t_systemd_mode)


# --- the init script, under the testbed ----------------------------------------------------

def t_init_script():
    ib = Testbed("init", phones=1)
    try:
        defaults = os.path.join(ib.dir, "default")
        with open(defaults, "w") as f:
            f.write(f"DAEMON={TETHERD}\nPIDFILE={ib.pidfile}\nTETHERD_USER=\n"
                    f"DAEMON_ARGS=\"-S {ib.sock} -C {ib.dir}/lockdown -c {ib.conf} -l {ib.log} "
                    f"--state-dir {ib.dir}\"\n")
        env = dict(ib.env, TETHERD_DEFAULTS=defaults)

        def init(*args):
            return subprocess.run(["sh", INIT, *args], env=env, capture_output=True, text=True,
                                  timeout=30)

        r = init("status")
        assert r.returncode == 3 and "not running" in r.stdout, r
        r = init("start")
        assert r.returncode == 0 and os.path.exists(ib.sock), r
        pid = ib.daemon_pid()
        wait_for(lambda: len(ib.devices()) == 1, what="the phone")
        r = init("status")
        assert r.returncode == 0 and f"pid {pid}" in r.stdout, r
        r = init("start")  # already running: a poke, still 0
        assert r.returncode == 0 and ib.daemon_pid() == pid, r
        # Started without -z: unplugging the phone (tetherd -x from udev) does not stop it.
        ib.unplug(1)
        time.sleep(2.5)
        assert alive(pid), "an init-script tetherd must not exit when idle"
        ib.sim("plug 1")
        wait_for(lambda: len(ib.devices()) == 1, what="the phone back")
        # A forward added at run time outlives the restart (saved in --state-dir).
        added = mc.request(ib.sock, {"MessageType": "TetherForwardAdd", "LocalPort": 0,
                                     "PhonePort": 2345, "Name": "kept"})
        assert added["Number"] == 0, added
        r = init("restart")
        assert r.returncode == 0, r
        assert wait_exit(pid, 5) == 0
        pid2 = ib.daemon_pid()
        assert pid2 != pid and alive(pid2)
        wait_for(lambda: len(ib.devices()) == 1, what="the phone after restart")
        kept = mc.request(ib.sock, {"MessageType": "TetherForwardList"})["Forwards"]
        assert [(f["Name"], f["LocalPort"]) for f in kept] == \
            [("kept", added["Forward"]["LocalPort"])], kept
        r = init("stop")
        assert r.returncode == 0 and "Stopping tetherd: tetherd." in r.stdout, r
        assert wait_exit(pid2, 1) == 0 and not os.path.exists(ib.sock)
        r = init("status")
        assert r.returncode == 1 and "stale" in r.stdout, r
        r = init("stop")
        assert r.returncode == 0 and "not running" in r.stdout, r
        with open(defaults, "a") as f:
            f.write(f"DAEMON_ARGS=\"$DAEMON_ARGS -c {ib.dir}/missing.conf\"\n")
        r = init("start")
        assert r.returncode == 1 and "failed" in r.stdout and "missing.conf" in r.stderr, r
    finally:
        ib.close()


check("init script: start (returns once serving), status, start again (poke), not stopped "
      "by tetherd -x, restart (a forward added at run time comes back), stop, stale status, "
      "a failing start says why", t_init_script)

subprocess.run(["rm", "-rf", TMP])
print("udev activation:", "FAILED" if failed else "all passed")
sys.exit(1 if failed else 0)
