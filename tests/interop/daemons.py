"""tether-sim with a daemon under it, for the interop tests: tetherd, or the reference
usbmuxd 1.1.1 (which hard-codes /var/run/usbmuxd, so it runs in a private mount
namespace and needs root). Standard library only."""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import muxclient as mc

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

TMP = tempfile.mkdtemp(prefix="tether-interop-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)  # every test that imports this
os.environ["ASAN_OPTIONS"] = ":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))


class Skip(Exception):
    """Raised by a check that cannot run here (no root, a tool missing): it is reported
    as skipped, never as ok."""


class Checks:
    """Named checks that report every failure and go on; finish() prints the tally and
    exits 1 if any failed, else 77 (ctest's skip) if any was skipped."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def __call__(self, name, fn):
        try:
            fn()
            print(f"ok: {name}", flush=True)
            self.passed += 1
        except Skip as e:
            print(f"skipped: {name}: {e}", flush=True)
            self.skipped += 1
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)
            self.failed += 1

    def finish(self, what):
        print(f"{what}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped")
        sys.exit(1 if self.failed else 77 if self.skipped else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sim_control(line, path=None, check=True):
    """A command to a tether-sim's control socket: `path`, else the sim this test runs
    inside ($TETHER_SIM_CONTROL). Returns the whole reply (the sim closes after it);
    with `check`, the reply must end in ok."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path or os.environ["TETHER_SIM_CONTROL"])
    s.sendall(line.encode() + b"\n")
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
    s.close()
    text = reply.decode()
    if check and not text.endswith("ok\n"):
        raise AssertionError(f"{line}: {text}")
    return text


def run_inside_sim(sim, sim_args, inside_args, prefix, timeout, app_port=False):
    """Runs the calling script again, as `SCRIPT --inside INSIDE_ARGS`, under tether-sim
    (SIM SIM_ARGS), so that what it starts shares the testbed with the virtual devices.
    The script finds in its environment WORK (a temporary folder, also HOME: libgphoto2
    keeps its settings in ~/.gphoto), RECORD (where the virtual camera records) and, with
    app_port, APP_PORT: the phone's port 2350 is relayed to 127.0.0.1:APP_PORT.
    Returns the exit status."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = dict(os.environ, WORK=tmp, RECORD=os.path.join(tmp, "rec"), HOME=tmp)
        args = [sim, *sim_args, "--record", env["RECORD"]]
        if app_port:
            env["APP_PORT"] = str(free_port())
            args += ["--app", f"2350=127.0.0.1:{env['APP_PORT']}"]
        script = os.path.abspath(sys.argv[0])
        return subprocess.run([*args, "--", sys.executable, script, "--inside", *inside_args],
                              env=env, timeout=timeout).returncode


def keeps_pace(camera_fps, measure, attempts=3, enough=None):
    """Live view at the camera's configured rate (`camera fps N`, set by the sim: the
    independent measure). `measure()` returns the fps received with the camera at its
    current rate. Runs until one run reaches `enough` (default 0.8 of the camera's rate),
    at most `attempts`:
    frames are fetched one at a time and a fetch that comes later than the frame interval
    costs a frame, so a moment of load on a shared machine costs one run, not the check.
    Returns (best fps, all runs); raises when a run is faster than the camera makes
    frames. The caller decides what a best under 0.8 means."""
    control_fps = f"camera fps {camera_fps}"
    sim_control(control_fps)
    runs = []
    enough = 0.8 * camera_fps if enough is None else enough
    while len(runs) < attempts and (not runs or max(runs) < enough):
        fps = measure()
        runs.append(fps)
        if fps > 1.1 * camera_fps:
            raise AssertionError(f"{fps:.1f} fps: faster than the camera makes frames "
                                 f"({camera_fps})")
    return max(runs), runs


def unthrottled(measure):
    """fps with the camera unthrottled (1000 fps): what the path carries on this machine
    now. Leaves the camera unthrottled."""
    sim_control("camera fps 1000")
    return measure()


def fmt(runs):
    return ", ".join(f"{r:.1f}" for r in runs)


def wait_for(cond, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


class Daemon:
    """SIM running TETHERD (or the reference usbmuxd when TETHERD is None) in its own
    directory; the socket is self.sock."""

    def __init__(self, sim, tetherd, name, phones=1, config="", extra=(), sim_extra=(), env=None,
                 usable=None, activated=False, pairing=False):
        """activated: systemd-socket-activate holds the socket and starts tetherd at the
        first client (the same LISTEN_FDS hand-over as systemd's tetherd.socket).
        pairing: tetherd pairs each phone as it arrives, its default. Off unless asked:
        these tests count connections and packets, and the pairing connection (the Trust
        dialog polled every few seconds) would be one more. pairing_test.py and the board
        scenarios run it as users do."""
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.ctl = os.path.join(self.dir, "ctl")
        self.pidfile = os.path.join(self.dir, "tetherd.pid")
        self.conf = os.path.join(self.dir, "tetherd.conf")
        with open(self.conf, "w") as f:
            f.write(config)
            if tetherd and not pairing and "pair =" not in config:
                f.write("\n[tetherd]\npair = no\n")
        self.logfile = os.path.join(self.dir, "log")
        sim_cmd = [sim, "--phones", str(phones), "--control", self.ctl, *sim_extra, "--"]
        if tetherd:
            self.sock = os.path.join(self.dir, "usbmuxd")
            # It passes on only the variables named: the sim's (umockdev's) and the sanitizers'.
            passed = ["LD_PRELOAD", "UMOCKDEV_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
                      "LSAN_OPTIONS"]
            activator = (["systemd-socket-activate", "-l", self.sock,
                          *(f"-E{v}" for v in passed)] if activated else [])
            cmd = [*sim_cmd, *activator, tetherd, "-f", "-S", self.sock, "-C",
                   os.path.join(self.dir, "lockdown"), "-P", self.pidfile, "-c", self.conf,
                   "--state-dir", self.dir, *extra]
        else:
            run = os.path.join(self.dir, "run")
            os.makedirs(run)
            self.sock = os.path.join(run, "usbmuxd")
            inner = " ".join(f"'{a}'" for a in [*sim_cmd, "usbmuxd", "-f", "-p", *extra])
            cmd = ["unshare", "-m", "sh", "-c", f"mount --bind '{run}' /run && exec {inner}"]
        self.proc = subprocess.Popen(cmd, stdout=open(self.logfile, "w"),
                                     stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: os.path.exists(self.sock) and os.path.exists(self.ctl), 15, "socket")
        usable = phones if usable is None else usable
        if usable:
            wait_for(lambda: len(self.devices()) == usable, 15, f"{usable} phones")

    def devices(self):
        try:
            return mc.devices(self.sock)
        except OSError:
            return []

    def udids(self):
        return sorted(d["Properties"]["SerialNumber"] for d in self.devices())

    def device_id(self, udid):
        return next(d["DeviceID"] for d in self.devices()
                    if d["Properties"]["SerialNumber"] == udid)

    def sim(self, command):
        return sim_control(command, self.ctl, check=False).strip()

    def ask(self, msg):
        return mc.request(self.sock, msg)

    def forwards(self):
        return {f["Name"]: f for f in self.ask({"MessageType": "TetherForwardList"})["Forwards"]}

    def log(self):
        with open(self.logfile) as f:
            return f.read()

    def stop(self):
        """SIGTERM through the sim; the daemon must exit 0 with no sanitizer report."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        log = self.log()
        assert rc == 0, f"exit status {rc}\n{log[-2000:]}"
        assert "Sanitizer" not in log and "runtime error" not in log, log[-3000:]
