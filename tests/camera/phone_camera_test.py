#!/usr/bin/env python3
"""The mirror case: the phone is the camera. tether-sim's phone runs a camera app on
port 2351 (tether's camera protocol, test pattern), tetherd serves the phone, and
`tether cam --phone 2351` on this machine is the controller: properties, set with
read-back, focus, capture and download, acknowledged live view, a port with no app, and
the viewer (`cam --phone 2351 view`) through an unplug.

    phone_camera_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tether
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from daemons import Checks, Daemon, Skip, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHERD, TETHER = sys.argv[1:4]
# Sanitizer builds (CMake passes TETHER_SANITIZE) run the sim's camera several times slower.
SANITIZED = bool(os.environ.get("TETHER_SANITIZE"))
check = Checks()
d = Daemon(SIM, TETHERD, "phone-camera", phones=1, sim_extra=["--app", "2351=camera"])


def cam(*args, port="2351"):
    return subprocess.run([TETHER, "--socket", d.sock, "cam", "--phone", port, *args],
                          capture_output=True, text=True, timeout=60)


def t_properties():
    r = cam("props")
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()[1:]}
    assert r.returncode == 0 and rows["live_view_size"][0] == "1280x720", r.stdout + r.stderr
    r = cam("set", "white_balance", "cloudy")
    assert r.stdout.strip() == "white_balance: asked cloudy, camera applied cloudy", r.stdout + r.stderr
    assert cam("props", "white_balance").stdout.split()[4] == "cloudy"


def t_focus_and_capture():
    assert cam("focus", "near", "--size", "medium").returncode == 0
    out = os.path.join(d.dir, "captures")
    r = cam("capture", "--out", out)
    path = r.stdout.split(" (")[0]
    data = open(path, "rb").read() if r.returncode == 0 else b""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and len(data) > 10000, r.stdout + r.stderr
    print(f"  {os.path.basename(path)}: {len(data)} bytes through the phone")


def t_live_view():
    out = os.path.join(d.dir, "frames")
    r = cam("liveview", "--frames", "45", "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    frames = sorted(os.listdir(out))
    assert len(frames) == 45, frames
    with open(os.path.join(out, frames[-1]), "rb") as f:
        assert f.read(2) == b"\xff\xd8"
    fps = float(r.stdout.split(": ")[1].split(" fps")[0])
    assert fps > (3 if SANITIZED else 10), r.stdout
    print("  " + r.stdout.strip())


def as_a_user(*args, env=None, timeout=60):
    """tether as a user runs it: no --socket, the daemon found by the environment."""
    return subprocess.run([TETHER, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def t_daemon_found_without_socket_option():
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{d.sock}")
    r = as_a_user("cam", "--phone", "2351", "props", "iso", env=env)
    assert r.returncode == 0 and r.stdout.split("\n")[1].startswith("iso "), \
        f"$USBMUXD_SOCKET_ADDRESS: exit {r.returncode}: {r.stdout} {r.stderr}"
    # And the default, /var/run/usbmuxd: the daemon's folder is mounted on /run in a
    # private mount namespace (which needs root), and neither option nor variable is set.
    if os.getuid() != 0:
        raise Skip("the default path needs root for a private /run")
    env = {k: v for k, v in os.environ.items() if k != "USBMUXD_SOCKET_ADDRESS"}
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        f"mount --bind '{d.dir}' /run && exec '{TETHER}' cam --phone 2351 props iso"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0 and r.stdout.split("\n")[1].startswith("iso "), \
        f"/var/run/usbmuxd: exit {r.returncode}: {r.stdout} {r.stderr}"


def t_viewer_shows_the_phone():
    # No tether-camera runs on this machine at all: whatever the viewer shows comes from
    # the phone's camera app, or --phone was ignored.
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{d.sock}")
    p = subprocess.Popen([TETHER, "cam", "--phone", "2351", "view", "--listen", "127.0.0.1:0",
                          "--out", os.path.join(d.dir, "view-captures")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        assert line.startswith("tether cam view: http://"), f"{line} {p.stderr.read() if p.poll() is not None else ''}"
        assert "phone's port 2351" in line, line
        url = line.split()[3]
        props = json.load(urllib.request.urlopen(url + "api/properties", timeout=30))
        sizes = [x for x in json.dumps(props).split('"') if "x720" in x]
        assert sizes, f"the phone camera's 1280x720 live view is not among {props}"
        with urllib.request.urlopen(url + "stream.mjpg", timeout=30) as stream:
            head = stream.read(4096)
        assert b"\xff\xd8" in head, "no JPEG in the first bytes of the MJPEG stream"
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    err = p.stderr.read()
    assert rc == 0 and "Sanitizer" not in err and "runtime error" not in err, f"exit {rc}: {err}"


def t_viewer_follows_the_phone():
    # The viewer's connection runs on its event loop, the daemon's Connect included: the
    # same words as `tether cam` when the app cannot be reached, the unplug said in
    # /api/stats, and live view again after the replug.
    for port, code, words in (("2399", 5, "is the app running"),
                              ("2345", 1, "is not a camera")):
        r = cam("view", "--listen", "127.0.0.1:0", port=port)
        assert r.returncode == code and words in r.stderr, (port, r.returncode, r.stderr)
    p = subprocess.Popen([TETHER, "--socket", d.sock, "cam", "--phone", "2351", "view",
                          "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = p.stdout.readline().split()[3]

        def stats():
            return json.load(urllib.request.urlopen(url + "api/stats", timeout=30))

        wait_for(lambda: stats()["status"].startswith("live view"), 20, "live view")
        d.sim("unplug 1")
        try:
            wait_for(lambda: not stats()["connected"], 20, "the viewer to see the unplug")
            status = stats()["status"]
            assert "went away (unplugged?)" in status, status
        finally:
            d.sim("plug 1")
        start = time.monotonic()
        wait_for(lambda: stats()["connected"] and stats()["status"].startswith("live view"), 30,
                 "live view again after the replug")
        print(f"  unplug said: {status!r}; live view again {time.monotonic() - start:.1f} s "
              "after the replug")
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    err = p.stderr.read()
    assert rc == 0 and "Sanitizer" not in err and "runtime error" not in err, f"exit {rc}: {err}"
    wait_for(lambda: d.devices(), 20, "the phone back")


def t_other_apps_and_silent_apps():
    # tether-sim's other apps: sink (2347) accepts and never answers, as a suspended or
    # foreign app would; source (2346) streams bytes that are no PeerTalk; echo (2345)
    # hands our own hello back. Each wait ends within its bound, in words.
    start = time.monotonic()
    r = cam("props", port="2347")
    took = time.monotonic() - start
    assert r.returncode == 1 and "did not say hello within 5 s" in r.stderr and \
        "foreground" in r.stderr, (r.returncode, r.stderr)
    assert 4.5 < took < 15, f"gave up after {took:.1f} s"
    r = cam("props", port="2346")
    assert r.returncode == 1 and "does not speak tether's camera protocol" in r.stderr, r.stderr
    r = cam("props", port="2345")
    assert r.returncode == 1 and "is not a camera" in r.stderr, r.stderr
    assert "tether-camera" not in r.stderr, f"no tether-camera is involved: {r.stderr}"
    print(f"  silent app: gave up after {took:.1f} s")


def t_liveview_ends_in_words():
    # Ctrl-C: the summary, exit 0 (it used to end mid-line with nothing said).
    p = subprocess.Popen([TETHER, "--socket", d.sock, "cam", "--phone", "2351", "liveview",
                          "--frames", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("liveview still running 10 s after Ctrl-C")
    assert p.returncode == 0 and "frames in" in out, (p.returncode, out, err)
    # The phone unplugged mid-stream: said as such, exit 4 (it used to say the app closed
    # the connection, with exit 3, "daemon not reachable").
    p = subprocess.Popen([TETHER, "--socket", d.sock, "cam", "--phone", "2351", "liveview",
                          "--frames", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(2)
    d.sim("unplug 1")
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("liveview still running 20 s after the unplug")
    finally:
        d.sim("plug 1")
    assert p.returncode == 4 and "went away (unplugged?)" in err, (p.returncode, out, err)
    wait_for(lambda: d.devices(), 20, "the phone back")


def t_no_app():
    r = cam("props", port="2399")
    assert r.returncode == 5 and "is the app running" in r.stderr, (r.returncode, r.stderr)


try:
    check("properties listed and set through the phone's camera app", t_properties)
    check("focus, then a capture downloaded as a complete JPEG", t_focus_and_capture)
    check("acknowledged live view from the phone", t_live_view)
    check("a port with no app: exit 5, 'is the app running?'", t_no_app)
    check("an app that never answers, a non-PeerTalk app, an echo: bounded waits, in words",
          t_other_apps_and_silent_apps)
    check("`cam --phone` finds the daemon as other subcommands do: $USBMUXD_SOCKET_ADDRESS, "
          "else /var/run/usbmuxd", t_daemon_found_without_socket_option)
    check("`cam --phone 2351 view` shows the phone's camera (no tether-camera on the board)",
          t_viewer_shows_the_phone)
    check("liveview ends in words: Ctrl-C gives the summary; an unplugged phone is said so",
          t_liveview_ends_in_words)
    check("`cam --phone 2351 view` through an unplug: said in its stats, live again after "
          "the replug; unreachable apps said as `tether cam` says them", t_viewer_follows_the_phone)
finally:
    d.stop()
check.finish("phone as camera")
