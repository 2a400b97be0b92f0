#!/usr/bin/env python3
"""Misbehaving peers against tether-camera and `tether cam view`: the phone-side
counterpart of tests/daemon/client_abuse_test.py.

    camera_abuse_test.py PATH/TO/tether-sim PATH/TO/tetherd PATH/TO/tether-camera PATH/TO/tether

tether-sim plugs in a virtual iPhone whose port 2350 is relayed to this script
(--app 2350=127.0.0.1:PORT); tetherd serves it and tether-camera (test-pattern camera)
connects to it as to a PeerTalk app. The same abuse then comes from local controllers
on tether-camera's unix socket, and HTTP clients abuse `tether cam view`.

The abuse: malformed frames (a bad PeerTalk version, a payload that is not a plist),
bounds exceeded (a payload over 1 MiB, too many items), floods of requests whose
replies are never read, live view never read or never acknowledged, a frame dribbled
a byte at a time, unknown message types, downloads requested again and again and never
read, and events never read. After each case: tether-camera is alive, a well-behaved
app (a fresh connection) says hello, reads the properties and gets a live-view frame,
and tether-camera's VmRSS stayed within RSS_BOUND_MB of what it was before the abuse.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import camproto as cp  # noqa: E402
from daemons import Checks, Daemon, free_port, wait_for  # noqa: E402

SIM, TETHERD, CAMERA, TETHER = sys.argv[1:5]
# Under the sanitizers freed memory sits in ASan's quarantine (up to 256 MB), so VmRSS
# says nothing about what is queued: the bound is not applied there (LeakSanitizer
# checks the exit instead), and time bounds stretch.
SANITIZED = bool(os.environ.get("TETHER_SANITIZE"))
SLACK = 4 if SANITIZED else 1
# What a misbehaving peer may cost, whatever it does: per connection tether-camera
# holds at most 256 KiB of unwritten answers (then stops reading), a 64 KiB read buffer
# and its frames, one live-view frame and one 256 KiB download chunk, and 4 MiB of
# unread events before it disconnects the peer. 24 MB over the figure before the case
# covers that with room for malloc's arenas; without the bounds a flood grows by
# tens of MB a second (5 MB to 500 MB in 25 s).
RSS_BOUND_MB = 24
ABUSE_SECONDS = 3  # live view or streams left unread this long
FLOOD_SECONDS = 10 * SLACK  # a flood stops when the sender is held back, or after this
FRAME = struct.Struct(">IIII")
check = Checks()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def need(cond, what):
    if not cond:
        raise AssertionError(what)


class Meter:
    """VmRSS of one process: the figure before a case and the peak during it."""

    def __init__(self, pid, name):
        self.pid, self.name = pid, name
        self.peak = self.base = 0

    def start(self):
        self.base = self.peak = rss_kb(self.pid)

    def sample(self):
        self.peak = max(self.peak, rss_kb(self.pid))

    def figures(self):
        self.sample()
        return f"{self.name} VmRSS {self.base // 1024} -> peak {self.peak // 1024} MB"

    def verdict(self):
        self.sample()
        grew = (self.peak - self.base) / 1024
        note = f"{self.name} VmRSS {self.base // 1024} -> peak {self.peak // 1024} MB"
        if not SANITIZED:
            need(grew < RSS_BOUND_MB, f"{note}: grew {grew:.0f} MB, over the {RSS_BOUND_MB} MB bound")
        return note


APP_PORT = free_port()
d = Daemon(SIM, TETHERD, "camera-abuse", phones=1,
           sim_extra=["--app", f"2350=127.0.0.1:{APP_PORT}"])
LOCAL = os.path.join(d.dir, "camera.sock")
CAMLOG = os.path.join(d.dir, "camera.log")
app = cp.PhoneApp(APP_PORT)
app.start()
cam = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--size", "640x360", "--fps", "30",
                        "--usbmuxd", d.sock, "--port", "2350", "--listen", LOCAL],
                       stdout=open(CAMLOG, "w"), stderr=subprocess.STDOUT)
meter = Meter(cam.pid, "tether-camera")


def camlog():
    with open(CAMLOG) as f:
        return f.read()


def alive():
    need(cam.poll() is None, f"tether-camera exited with status {cam.returncode}")


# --- peers -----------------------------------------------------------------------------
def phone_peer():
    """The next connection tether-camera makes to the phone app, past its hello.
    tether-camera gives an app 5 s to say hello and then dials again, so a connection
    that waited in the accept queue through a long case (under ASan the local cases
    take longer than that) is one it has already given up on: it is closed and the
    next one taken."""
    end = time.monotonic() + 20 * SLACK
    while True:
        ch, accepted = app.accept(timeout=max(0.1, end - time.monotonic()))
        if time.monotonic() - accepted < 2:
            break
        ch.sock.close()
    need(ch.recv_frame()[0] == cp.HELLO, "no hello from tether-camera")
    return ch


def local_peer():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10 * SLACK)
    s.connect(LOCAL)
    ch = cp.Channel(s)
    need(ch.recv_frame()[0] == cp.HELLO, "no hello on the local socket")
    return ch


def well_behaved(ch, who):
    """Hello, the properties, one live-view frame: what any app does first."""
    ch.send(cp.HELLO, cp.hello(who))
    t = ch.request(cp.GET_PROPERTIES)
    f = ch.wait_for(want_tag=t)
    need(f[0] == cp.PROPERTIES and len(f[2]["Properties"]) > 3, f"get_properties answered {f[:2]}")
    ch.request(cp.START_LIVE_VIEW)
    f = ch.wait_for(cp.LIVE_VIEW_FRAME)
    need(f[2]["jpeg"][:2] == b"\xff\xd8", "a live-view frame that is not a JPEG")
    ch.sock.close()


def closed_by_camera(ch, timeout=10):
    """Reads (and drops) until tether-camera closes the connection."""
    ch.sock.settimeout(timeout * SLACK)
    try:
        while ch.sock.recv(1 << 16):
            pass
    except (ConnectionResetError, socket.timeout):
        return False
    return True


def push_until_blocked(sock, data_fn, seconds):
    """Sends frames from data_fn() without reading anything, for `seconds` or until the
    peer has taken nothing for 1 s (backpressure reached us). Returns (bytes, blocked)."""
    sock.setblocking(False)
    sent, pending, stuck_since = 0, b"", None
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            if not pending:
                pending = b"".join(data_fn() for _ in range(64))
            try:
                n = sock.send(pending)
                sent += n
                pending = pending[n:]
                stuck_since = None
            except BlockingIOError:
                stuck_since = stuck_since or time.monotonic()
                if time.monotonic() - stuck_since > 1:
                    return sent, True
                time.sleep(0.02)
            meter.sample()
            if not SANITIZED and meter.peak - meter.base > 4 * RSS_BOUND_MB * 1024:
                break  # the bound is broken already: spare the machine the rest
    finally:
        sock.setblocking(True)
    return sent, False


def frame(ftype, body=None, tag=1, version=1):
    payload = cp.plistlib.dumps(body or {}, fmt=cp.plistlib.FMT_BINARY)
    return FRAME.pack(version, ftype, tag, len(payload)) + payload


def hold_for(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        meter.sample()
        time.sleep(0.1)


# --- the abuse, on one connection `ch` (a phone app's or a local controller's) -----------
def bad_version(ch):
    ch.sock.sendall(FRAME.pack(2, cp.HELLO, 0, 0))
    need(closed_by_camera(ch), "a frame of PeerTalk version 2 did not close the connection")
    return "closed"


def not_a_plist(ch):
    ch.sock.sendall(FRAME.pack(1, cp.GET_PROPERTIES, 5, 300) + bytes(range(256)) + b"x" * 44)
    f = ch.wait_for(want_tag=5)
    need(f[0] == cp.ERROR, f"garbage payload answered {f[:2]}")
    well_behaved(ch, "after garbage")
    return f"error {f[2]['Code']}, then usable"


def payload_over_limit(ch):
    ch.sock.sendall(FRAME.pack(1, cp.GET_PROPERTIES, 6, 2 << 20) + b"\0" * 65536)
    need(closed_by_camera(ch), "a 2 MiB payload announced did not close the connection")
    return "closed"


def too_many_items(ch):
    big = {"Version": 1, "Role": "controller", "Name": "n" * 1000,
           "Capabilities": [f"cap{i}" for i in range(5000)]}
    ch.send(cp.HELLO, big, 7)
    f = ch.wait_for(want_tag=7)
    need(f[0] == cp.ERROR, f"a hello over the bounds answered {f[:2]}")
    well_behaved(ch, "after too many items")
    return f"error {f[2]['Code']}: {f[2]['Message'][:60]}"


def flood(ch, body_fn, what):
    # Through the phone, tetherd's relay and the sockets on the way hold megabytes
    # before tether-camera's pause reaches the app: the flood goes on until it does.
    sent, blocked = push_until_blocked(ch.sock, body_fn, FLOOD_SECONDS)
    hold_for(0.5)
    need(blocked, f"tether-camera took {sent >> 10} KiB of {what} in {FLOOD_SECONDS} s "
         "from a peer that reads nothing, and kept reading")
    ch.sock.close()
    return f"pushed back after {sent >> 10} KiB"


def flood_get_properties(ch):
    return flood(ch, lambda: frame(cp.GET_PROPERTIES, {}, 9), "get_properties")


def flood_unknown_types(ch):
    # Tag 0: a newer peer's events, ignored; any other tag: "not supported" each.
    return flood(ch, lambda: frame(199, {}, 0) + frame(199, {"X": 1}, 10), "unknown messages")


def live_view_never_read(ch):
    ch.request(cp.START_LIVE_VIEW)
    hold_for(ABUSE_SECONDS / 2)
    # Still reading requests meanwhile? Only until its answers back up.
    return flood(ch, lambda: frame(cp.GET_PROPERTIES, {"Name": "iso"}, 11), "requests")


def acks_never_sent(ch):
    t = ch.request(cp.START_LIVE_VIEW, {"MaxInFlight": 4})
    frames = []
    ch.sock.settimeout(0.5)
    end = time.monotonic() + 2 * SLACK  # 60 frames at 30 fps; stats come once a second
    while time.monotonic() < end:
        try:
            f = ch.recv_frame()
        except socket.timeout:
            continue
        need(f is not None, "closed while live view waited for acks")
        if f[0] == cp.LIVE_VIEW_FRAME:
            frames.append(f[2]["sequence"])
        meter.sample()
    need(1 <= len(frames) <= 4, f"{len(frames)} frames with MaxInFlight 4 and no acks")
    ch.sock.settimeout(10 * SLACK)
    ch.send(cp.LIVE_VIEW_ACK, {"Sequence": frames[-1]})
    ch.wait_for(cp.LIVE_VIEW_FRAME)
    ch.sock.close()
    return f"{len(frames)} frames (start_live_view tag {t}), then none until the ack"


def slow_sender(ch):
    data = frame(cp.GET_PROPERTIES, {"Name": "iso"}, 12)
    helper_ok = []

    def others():  # meanwhile a local controller is served as usual
        c = local_peer()
        well_behaved(c, "while one dribbles")
        helper_ok.append(True)

    th = threading.Thread(target=others)
    th.start()
    for i in range(len(data)):
        ch.sock.sendall(data[i:i + 1])
        time.sleep(0.02)
    th.join(20 * SLACK)
    f = ch.wait_for(want_tag=12)
    need(f[0] == cp.PROPERTIES, f"the dribbled request answered {f[:2]}")
    need(helper_ok, "a local controller was not served while a frame was dribbled")
    ch.sock.close()
    return f"{len(data)} bytes at 50 bytes/s answered"


state = {}


def capture(ch):
    t = ch.request(cp.CAPTURE)
    done = {}
    while "id" not in done or "ok" not in done:
        f = ch.recv_frame()
        need(f is not None, "closed during the capture")
        if f[0] == cp.CAPTURE_DONE:
            done["id"], done["size"] = f[2]["TransferID"], f[2]["Size"]
        elif f[1] == t:
            need(f[0] == cp.OK, f"capture answered {f[:2]}")
            done["ok"] = True
    return done["id"], done["size"]


def downloads_never_read(ch):
    tid, size = capture(ch)
    # The test pattern draws its 3840x2160 picture in a 25 MB buffer, which malloc may
    # keep: the bound is on what the downloads add, so it counts from here.
    meter.start()
    out = flood(ch, lambda: frame(cp.DOWNLOAD, {"TransferID": tid}, 13), "download requests")
    return f"a {size >> 10} KiB capture; {out}"


def events_never_read(ch):
    """This peer reads nothing while a local controller changes settings: the events
    for it pile up until tether-camera disconnects it (the one case that drops)."""
    before = camlog().count("unread")
    setter = local_peer()
    sets = 0
    end = time.monotonic() + 20 * SLACK
    values = ["100", "200", "400", "800", "1600", "3200"]
    while time.monotonic() < end and camlog().count("unread") == before:
        tags = [setter.request(cp.SET_PROPERTY, {"Name": "iso", "Value": values[(sets + i) % 6]})
                for i in range(64)]
        for t in tags:
            setter.wait_for(want_tag=t)
        sets += 64
        meter.sample()
    setter.sock.close()
    line = next((ln for ln in camlog().splitlines() if "unread" in ln), "")
    need(line, f"still connected after {sets} property changes it never read")
    need(closed_by_camera(ch), "its connection is still open")
    return f"disconnected after {sets} changes: {line.split(': ', 2)[-1][:110]}"


# --- running the cases -----------------------------------------------------------------
ONLY = os.environ.get("CAMERA_ABUSE_ONLY", "")  # a part of the case names, to run fewer


def run_case(name, peer, abuse, fresh):
    if ONLY not in name:
        return

    def body():
        meter.start()
        ch = peer()
        ends = phone_sessions_ended()  # the previous session ended before this one began
        try:
            note = abuse(ch)
        except Exception:
            print(f"  {meter.verdict() if SANITIZED else meter.figures()}")
            raise
        finally:
            ch.sock.close()  # even after a failure: the next case needs a fresh connection
        if peer is phone_peer:
            note += end_phone_session(ends)
        alive()
        fresh()
        alive()
        print(f"  {note}; {meter.verdict()}")
    check(name, body)


def phone_sessions_ended():
    return len(re.findall(r"phone \S+: closed", camlog()))


def end_phone_session(ended_before):
    """The app closed its socket. The virtual phone does not pass that on while its mux
    window toward the host is full (tether-camera holding back the app's requests), so
    the session could outlive the app: a replug ends it then, as pulling the cable would."""
    try:
        wait_for(lambda: phone_sessions_ended() > ended_before, 3 * SLACK, "the session to end")
        return ""
    except TimeoutError:
        need(d.sim("replug 1").startswith("ok"), "replug")
        wait_for(lambda: phone_sessions_ended() > ended_before, 10 * SLACK, "the replug")
        return " (the session outlived the app: ended by a replug)"


def fresh_phone():
    well_behaved(phone_peer(), "fresh app")


def fresh_local():
    well_behaved(local_peer(), "fresh local controller")


def fresh_both():
    fresh_local()
    fresh_phone()


abuses = [
    ("a bad PeerTalk version", bad_version),
    ("a payload that is not a plist", not_a_plist),
    ("a payload over the 1 MiB limit", payload_over_limit),
    ("a hello with too many items", too_many_items),
    ("a flood of get_properties, replies never read", flood_get_properties),
    ("a flood of unknown message types, never read", flood_unknown_types),
    ("live view never read, requests go on", live_view_never_read),
    ("live-view frames never acknowledged", acks_never_sent),
    ("a frame dribbled a byte at a time", slow_sender),
    ("downloads requested again and again, never read", downloads_never_read),
]
# Events pile up at the same pace for either kind of peer; through the phone, megabytes
# more wait in the sockets on the way first, so the drop is shown on the local socket.
local_abuses = {"a bad PeerTalk version", "a payload that is not a plist",
                "a flood of get_properties, replies never read",
                "a flood of unknown message types, never read",
                "live view never read, requests go on",
                "downloads requested again and again, never read"}


# --- `tether cam view` -------------------------------------------------------------------
def viewer_cases():
    v = subprocess.Popen([TETHER, "cam", "--camera", LOCAL, "view", "--listen", "127.0.0.1:0",
                          "--out", os.path.join(d.dir, "captures")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = v.stdout.readline()
    m = re.search(r"http://127.0.0.1:(\d+)/", line)
    if not m:
        v.kill()
        raise AssertionError(f"the viewer did not start: {line} {v.stderr.read()}")
    port = int(m.group(1))
    vm = Meter(v.pid, "viewer")

    def conn():
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK)
        return s

    def get(path):
        s = conn()
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
        s.close()
        return int(raw.split(b" ", 2)[1]), raw

    def viewer_fine():
        need(v.poll() is None, f"the viewer exited with status {v.returncode}")
        status, raw = get("/api/properties")
        need(status == 200 and b"iso" in raw, f"/api/properties answered {status}")
        s = conn()
        s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b"\xff\xd9" not in got:
            chunk = s.recv(65536)
            need(chunk, "the stream ended before a whole frame")
            got += chunk
        s.close()

    def streams_never_read():
        socks = []
        for _ in range(6):  # of the 8 streams allowed: one is left for viewer_fine
            s = conn()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        end = time.monotonic() + ABUSE_SECONDS
        while time.monotonic() < end:
            vm.sample()
            viewer_fine()
        for s in socks:
            s.close()
        return "6 streams never read"

    def request_flood():
        s = conn()
        # A small receive buffer here, so the viewer's answers back up soon; the viewer
        # then stops reading. The kernel's buffers on its side still take megabytes of
        # requests first, which a sanitizer build (answering several times slower) needs
        # longer to reach.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n"
        sent, blocked = push_until_blocked(s, lambda: req, ABUSE_SECONDS * (5 if SANITIZED else 1))
        vm.sample()
        s.close()
        need(blocked, f"the viewer took {sent >> 10} KiB of requests it could not answer")
        return f"pushed back after {sent >> 10} KiB of pipelined requests"

    def huge_headers():
        s = conn()
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = b""
        try:
            while chunk := s.recv(65536):
                raw += chunk
        except ConnectionResetError:
            pass
        s.close()
        need(raw.startswith(b"HTTP/1.1 431"), f"a 1 MiB header answered {raw[:40]!r}")
        return "431"

    def slowloris():
        socks = [conn() for _ in range(16)]
        req = b"GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(20):
            for s in socks:
                s.sendall(req[i:i + 1])
            vm.sample()
            viewer_fine()
        for s in socks:
            s.sendall(req[20:])
            need(s.recv(100).startswith(b"HTTP/1.1 200"), "a slow client was not answered")
            s.close()
        return "16 clients at a byte per health check"

    cases = [("viewer: MJPEG streams never read", streams_never_read),
             ("viewer: a flood of pipelined requests never read", request_flood),
             ("viewer: a 1 MiB header", huge_headers),
             ("viewer: slowloris clients", slowloris)]
    try:
        for name, fn in cases:
            def body(fn=fn):
                vm.start()
                note = fn()
                viewer_fine()
                print(f"  {note}; {vm.verdict()}")
            check(name, body)
    finally:
        v.terminate()
        v.wait(timeout=10)


begin = time.monotonic()
try:
    wait_for(lambda: os.path.exists(LOCAL), 10 * SLACK, "tether-camera's local socket")
    fresh_phone()  # warm up: live view once, so the baseline includes its buffers
    for name, fn in abuses:
        run_case("phone app: " + name, phone_peer, fn, fresh_both)
    for name, fn in abuses:
        if name in local_abuses:
            run_case("local controller: " + name, local_peer, fn, fresh_both)
    run_case("local controller: events never read: disconnected, with the reason logged",
             local_peer, events_never_read, fresh_both)
    viewer_cases()
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
print(f"  {time.monotonic() - begin:.1f} s")
check.finish("camera abuse")
