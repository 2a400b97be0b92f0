#!/usr/bin/env python3
"""tether-camera end to end, on a virtual iPhone: tether-sim plugs in a phone whose port
2350 is played by a "phone app" in this script (--app 2350=127.0.0.1:PORT), tetherd
serves it, and tether-camera (test-pattern backend) finds the phone and connects, as it
would to a PeerTalk app on a real iPhone. A local controller on the unix socket joins in.

    phone_app_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tether-camera
"""
import os
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import camproto as cp  # noqa: E402
from daemons import Checks, Daemon, TMP, free_port, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHERD, CAMERA = sys.argv[1:4]
# Sanitizer builds (CMake passes TETHER_SANITIZE) are several times slower: time bounds
# stretch for them.
SANITIZED = bool(os.environ.get("TETHER_SANITIZE"))
check = Checks()


APP_PORT = free_port()
d = Daemon(SIM, TETHERD, "camera", phones=1, sim_extra=["--app", f"2350=127.0.0.1:{APP_PORT}"])
LOCAL = os.path.join(d.dir, "camera.sock")
CAMLOG = os.path.join(d.dir, "camera.log")
app = cp.PhoneApp(APP_PORT)
cam = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--size", "320x180", "--fps", "30",
                        "--usbmuxd", d.sock, "--port", "2350", "--listen", LOCAL, "-v"],
                       stdout=open(CAMLOG, "w"), stderr=subprocess.STDOUT)


def camlog():
    with open(CAMLOG) as f:
        return f.read()


state = {}


def t_refused_until_the_app_listens():
    wait_for(lambda: "is the app running" in camlog(), 10, "the refusal in the log")
    time.sleep(1.0)  # a few refusals: the back-off is now 1-2 s
    started = time.monotonic()
    app.start()
    ch, when = app.accept(timeout=8)
    state["ch"] = ch
    # Back-off is 100 ms doubling to 2 s, so the app is found within about 2 s.
    assert when - started < 3.5, f"connected {when - started:.1f} s after the app listened"
    print(f"  connected {when - started:.2f} s after the app started listening")


def t_hello_properties_live_view():
    ch = state["ch"]
    ftype, tag, m = ch.recv_frame()
    assert ftype == cp.HELLO and m["Role"] == "camera", (ftype, m)
    ch.send(cp.HELLO, cp.hello("test phone"))
    t = ch.request(cp.SET_PROPERTY, {"Name": "iso", "Value": "1600"})
    _, _, m = ch.wait_for(want_tag=t)
    assert m == {"Name": "iso", "Requested": "1600", "Applied": "1600"}, m
    # The setter hears the change too, after its reply.
    _, tag, m = ch.wait_for(cp.PROPERTY_CHANGED)
    assert tag == 0 and m["Name"] == "iso" and m["Value"] == "1600", m
    t = ch.request(cp.START_LIVE_VIEW)
    assert ch.wait_for(want_tag=t)[0] == cp.OK
    seqs, stats = [], {}

    def keep(f):
        if f[0] == cp.LIVE_VIEW_STATS:
            stats.update(f[2])

    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        f = ch.wait_for(cp.LIVE_VIEW_FRAME, keep=keep)
        assert f[2]["jpeg"][:2] == b"\xff\xd8" and f[2]["width"] == 320
        seqs.append(f[2]["sequence"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    fps = len(seqs) / 2.5
    assert fps > 15, f"{fps:.1f} fps through tetherd"
    assert stats.get("Fps", 0) > 10 and 0 < stats["MeanAgeMs"] <= stats["MaxAgeMs"], stats
    print(f"  {fps:.1f} fps through the virtual phone; service says {stats}")


def frame_age_ms(f):
    # tether-camera stamps frames with CLOCK_MONOTONIC, the clock time.monotonic() reads.
    return (time.monotonic() * 1e6 - f[2]["timestamp_us"]) / 1000


def t_acknowledged_live_view():
    ch = state["ch"]
    t = ch.request(cp.STOP_LIVE_VIEW)
    ch.wait_for(want_tag=t)
    t = ch.request(cp.START_LIVE_VIEW, {"MaxInFlight": 1})
    first = ch.wait_for(cp.LIVE_VIEW_FRAME)
    # Unacknowledged, that frame is the only one: whatever else comes is not a frame.
    ch.sock.settimeout(0.6)
    others = []
    try:
        while True:
            f = ch.recv_frame()
            others.append(f[0])
    except socket.timeout:
        pass
    ch.sock.settimeout(10)
    assert cp.LIVE_VIEW_FRAME not in others, others
    # The ack brings the newest frame, not the one after the first.
    ch.send(cp.LIVE_VIEW_ACK, {"Sequence": first[2]["sequence"]})
    nxt = ch.wait_for(cp.LIVE_VIEW_FRAME)
    assert nxt[2]["sequence"] >= first[2]["sequence"] + 10, (first[2]["sequence"], nxt[2]["sequence"])
    ages = []
    for _ in range(30):
        ch.send(cp.LIVE_VIEW_ACK, {"Sequence": nxt[2]["sequence"]})
        nxt = ch.wait_for(cp.LIVE_VIEW_FRAME)
        ages.append(frame_age_ms(nxt))
    t = ch.request(cp.STOP_LIVE_VIEW)
    ch.wait_for(want_tag=t)
    ages.sort()
    # One frame interval at 30 fps is 33 ms: a frame waits at most that for the ack.
    bound = 200 if SANITIZED else 60
    assert ages[len(ages) // 2] < bound, ages
    print(f"  with MaxInFlight 1: skipped {nxt[2]['sequence'] - first[2]['sequence']} frames while "
          f"unacknowledged; frame age median {ages[len(ages) // 2]:.1f} ms, max {ages[-1]:.1f} ms")


def start_live_view(ch, body):
    """start_live_view, read up to its ok: the frames before the ok (there must be none)."""
    t = ch.request(cp.START_LIVE_VIEW, body)
    early = []
    while True:
        f = ch.recv_frame()
        assert f is not None, "connection closed"
        if f[1] == t:
            assert f[0] == cp.OK, f
            return early
        if f[0] == cp.LIVE_VIEW_FRAME:
            early.append(f[2]["sequence"])


def t_ok_before_the_first_frame():
    # PROTOCOL.md: start_live_view's ok comes first, then the frames. A controller that
    # waits for the ok by its tag drops a frame sent before it, and with MaxInFlight 1
    # then waits forever for a frame the camera thinks is in flight. Checked on a first
    # start (the camera has a frame ready: live view ran a moment ago) and on a second
    # start while live, with a frame not acknowledged.
    ch = state["ch"]
    for i in range(8):
        early = start_live_view(ch, {"MaxInFlight": 1})
        assert not early, f"start {i}: frames {early} before the ok"
        ch.wait_for(cp.LIVE_VIEW_FRAME)
        time.sleep(0.05)  # the camera has a newer frame waiting for the window
        early = start_live_view(ch, {"MaxInFlight": 1})  # again, while live: the window opens
        assert not early, f"restart {i}: frames {early} before the ok"
        ch.wait_for(cp.LIVE_VIEW_FRAME)
        t = ch.request(cp.STOP_LIVE_VIEW)
        ch.wait_for(want_tag=t)
        time.sleep(0.05)
    print("  8 starts and 8 restarts: the ok came before every first frame")


def t_local_controller_shares_the_camera():
    s = socket.socket(socket.AF_UNIX)
    s.connect(LOCAL)
    assert stat.S_IMODE(os.stat(LOCAL).st_mode) == 0o660
    local = cp.Channel(s)
    assert local.recv_frame()[0] == cp.HELLO
    # A newer peer's event (tag 0) is ignored; its request gets "not supported".
    local.send(199, {}, 0)
    local.send(199, {}, 77)
    _, tag, m = local.wait_for(cp.ERROR)
    assert tag == 77 and m["Code"] == 6, (tag, m)
    t = local.request(cp.SET_PROPERTY, {"Name": "white_balance", "Value": "tungsten"})
    assert local.wait_for(want_tag=t)[2]["Applied"] == "tungsten"
    # The phone hears about it.
    ch = state["ch"]
    while True:
        f = ch.wait_for(cp.PROPERTY_CHANGED)
        if f[2]["Name"] == "white_balance":
            break
    assert f[2]["Value"] == "tungsten", f
    s.close()


def t_app_restart_reconnects():
    ch = state.pop("ch")
    app.stop()
    ch.sock.close()  # the app quits
    # The session ends and the service finds the port closed (logged once per outage).
    wait_for(lambda: camlog().count("is the app running") >= 2, 10, "the refusal after the quit")
    time.sleep(1.5)  # the service keeps trying meanwhile
    started = time.monotonic()
    app.start()
    ch, when = app.accept(timeout=8)
    assert when - started < 3.5, f"reconnected {when - started:.1f} s after the app came back"
    # This time the app speaks first, as PeerTalk apps may: its bytes can reach tetherd
    # with the Connect reply, and none may be lost.
    ch.send(cp.HELLO, cp.hello("restarted app"))
    t = ch.request(cp.GET_PROPERTIES, {"Name": "iso"})
    assert ch.recv_frame()[0] == cp.HELLO
    _, _, m = ch.wait_for(want_tag=t)
    assert [p["Name"] for p in m["Properties"]] == ["iso"], m
    state["ch"] = ch
    print(f"  reconnected {when - started:.2f} s after the app came back")


def t_replug_reconnects():
    ch = state.pop("ch")
    started = time.monotonic()
    assert d.sim("replug 1").startswith("ok"), "replug"
    ch2, when = app.accept(timeout=15)
    assert ch2.recv_frame()[0] == cp.HELLO
    ch.sock.close()
    ch2.sock.close()
    print(f"  reconnected {when - started:.2f} s after the replug")


tests = [
    ("the app's port is refused until it listens, then the service connects", t_refused_until_the_app_listens),
    ("hello, set with read-back, live view with stats through tetherd", t_hello_properties_live_view),
    ("acknowledged live view: no frame without an ack, then the newest", t_acknowledged_live_view),
    ("start_live_view: the ok before the first frame, on a start and a restart", t_ok_before_the_first_frame),
    ("a local controller on the 0660 socket; the phone hears its change", t_local_controller_shares_the_camera),
    ("the app restarts: the service reconnects", t_app_restart_reconnects),
    ("the phone is replugged: the service reconnects", t_replug_reconnects),
]
try:
    for name, fn in tests:
        check(name, fn)
finally:
    cam.terminate()
    rc = cam.wait(timeout=10)
    if rc != 0:
        print(f"FAILED: tether-camera exit status {rc}")
        check.failed += 1
    app.stop()
    d.stop()
    if check.failed:
        print(camlog()[-4000:])
check.finish("camera end to end")
