#!/usr/bin/env python3
"""The mirror case: the phone is the camera. tether-sim's phone runs a camera app on
port 2351 (tether's camera protocol, test pattern), tetherd serves the phone, and
`tether cam --phone 2351` on this machine is the controller: properties, set with
read-back, focus, capture and download, acknowledged live view, and a port with no app.

    phone_camera_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tether
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from daemons import Checks, Daemon  # noqa: E402

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


def t_no_app():
    r = cam("props", port="2399")
    assert r.returncode == 5 and "is the app running" in r.stderr, (r.returncode, r.stderr)


try:
    check("properties listed and set through the phone's camera app", t_properties)
    check("focus, then a capture downloaded as a complete JPEG", t_focus_and_capture)
    check("acknowledged live view from the phone", t_live_view)
    check("a port with no app: exit 5, 'is the app running?'", t_no_app)
finally:
    d.stop()
check.finish("phone as camera")
