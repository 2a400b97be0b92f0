#!/usr/bin/env python3
"""The app's lifecycle on a real phone (issue 15, behaviour 1), on tether-sim's phone:
`app suspend PORT` (the phone accepts, the app says nothing), `app kill PORT` (RST
mid-stream, then the port is refused) and `app resume PORT`. Through tetherd: the
usbmuxd Connect results, a forward's words for a silent app, `tether cam --phone` and
its viewer, and tether-camera's phone sessions (hello wait, a session whose app stops
reading, reconnection after the resume). The reference usbmuxd with iproxy, side by
side, when root can run it.

    app_lifecycle_test.py SIM TETHERD TETHER TETHER_CAMERA
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "camera"))
import camproto as cp  # noqa: E402
import muxclient as mc  # noqa: E402
from daemons import Checks, Daemon, Skip, free_port, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHERD, TETHER, CAMERA = sys.argv[1:5]
SANITIZED = bool(os.environ.get("TETHER_SANITIZE"))
check = Checks()

CONFIG = """
[forward echo]
local = 127.0.0.1:0
phone-port = 2345

[forward source]
local = 127.0.0.1:0
phone-port = 2346
"""
APP_PORT = free_port()
app = cp.PhoneApp(APP_PORT)  # plays the iOS controller app on port 2350
app.start()
d = Daemon(SIM, TETHERD, "lifecycle", phones=1, config=CONFIG,
           sim_extra=["--app", f"2350=127.0.0.1:{APP_PORT}", "--app", "2351=camera"])
UDID = d.udids()[0]
DEV = d.device_id(UDID)
USER_ENV = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{d.sock}")  # no --socket


def sim(line):
    reply = d.sim(line)
    assert reply == "ok", f"{line}: {reply}"


def lines_with(text, log):
    return [ln for ln in log.splitlines() if text in ln]


def t_sim_commands():
    for line, want in (
            ("app suspend 9999", f"error: no app listens on port 9999 of phone {UDID}"),
            ("app nap 2345", "error: say what the app does and its port: "
             "'app suspend|resume|kill PORT [N]' (e.g. 'app suspend 2350')"),
            ("app suspend 2345 2", "error: say which phone, 1 to 1 (e.g. 'app suspend 2350 1')")):
        got = d.sim(line)
        assert got == want, f"{line}: {got!r}"


def t_connect_results():
    sim("app suspend 2345")
    try:
        s = mc.open_stream(d.sock, DEV, 2345)  # Connect result 0: the phone accepted
        s.settimeout(2)
        s.sendall(b"anyone there?")
        try:
            got = s.recv(100)
            raise AssertionError(f"a suspended app answered {got!r}")
        except socket.timeout:
            pass
        sim("app kill 2345")  # mid-stream: RST, the client's socket ends
        s.settimeout(10)
        try:
            assert s.recv(100) == b"", "the killed app's connection goes on"
        except ConnectionResetError:
            pass
        c = mc.Client(d.sock)
        assert c.connect(DEV, 2345) == 3, "a killed app's port is refused"
        c.close()
    finally:
        sim("app resume 2345")
    s = mc.open_stream(d.sock, DEV, 2345)
    s.sendall(b"relaunched")
    assert mc.recv_exact(s, 10) == b"relaunched"
    s.close()


def t_forward_says_the_app_is_silent():
    port = d.forwards()["echo"]["LocalPort"]
    words = ": the app on port 2345 accepted but has not answered for 5 s: it may be in the background"
    before = len(lines_with(words, d.log()))
    sim("app suspend 2345")
    clients = []
    try:
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"ping")
            clients.append(s)
        start = time.monotonic()
        found = wait_for(lambda: lines_with(words, d.log())[before:], 15, "the silent-app line")
        took = time.monotonic() - start
        me = clients[0].getsockname()[1]
        line = found[0]
        assert re.fullmatch(r"tetherd: info: forward echo from 127\.0\.0\.1:\d+" + re.escape(words),
                            line), line
        assert 4.5 < took < 10, f"said after {took:.1f} s"
        time.sleep(3)
        lines = lines_with(words, d.log())[before:]
        assert len(lines) == 1, f"three clients of one silent app gave {len(lines)} lines: {lines}"
        print(f"  said after {took:.1f} s, once for 3 clients: {line!r} (first client :{me})")
    finally:
        sim("app resume 2345")
    for s in clients:  # nothing was dropped: the answers come after the resume
        s.settimeout(10)
        assert mc.recv_exact(s, 4) == b"ping"
        s.close()


def t_forward_killed_mid_stream_then_back():
    port = d.forwards()["source"]["LocalPort"]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert len(mc.recv_exact(s, 65536)) == 65536
    sim("app kill 2346")
    try:
        got = 0
        while True:  # what the phone sent before its RST, then the end
            try:
                chunk = s.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += len(chunk)
            assert got < 64 << 20, "the killed app's stream goes on"
        s.close()
        again = socket.create_connection(("127.0.0.1", port), timeout=10)  # waits, retried
        time.sleep(1)
    finally:
        sim("app resume 2346")
    start = time.monotonic()
    again.settimeout(15)
    assert len(mc.recv_exact(again, 65536)) == 65536
    print(f"  the waiting client got the relaunched app's stream "
          f"{time.monotonic() - start:.1f} s after the resume")
    again.close()


def t_cam_cli_against_a_suspended_app():
    sim("app suspend 2351")
    try:
        start = time.monotonic()
        r = subprocess.run([TETHER, "cam", "--phone", "2351", "props"], capture_output=True,
                           text=True, timeout=60, env=USER_ENV)
        took = time.monotonic() - start
    finally:
        sim("app resume 2351")
    want = ("tether: the app on port 2351 accepted the connection but did not say hello "
            "within 5 s: is it a tether camera app, and is it in the foreground?\n")
    assert r.returncode == 1 and r.stderr == want, (r.returncode, r.stderr)
    assert 4.5 < took < 15, f"gave up after {took:.1f} s"
    r = subprocess.run([TETHER, "cam", "--phone", "2351", "props", "iso"], capture_output=True,
                       text=True, timeout=60, env=USER_ENV)
    assert r.returncode == 0, f"after the resume: {r.returncode} {r.stderr}"


def t_viewer_gets_live_view_back():
    p = subprocess.Popen([TETHER, "cam", "--phone", "2351", "view", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=USER_ENV)
    try:
        url = p.stdout.readline().split()[3]

        def stats():
            return json.load(urllib.request.urlopen(url + "api/stats", timeout=30))

        wait_for(lambda: stats()["status"].startswith("live view"), 20, "live view")
        sim("app suspend 2351")
        time.sleep(8)
        frames = stats().get("frames")
        sim("app resume 2351")
        start = time.monotonic()
        wait_for(lambda: stats()["connected"] and stats()["status"].startswith("live view") and
                 stats().get("frames") != frames, 30, "live view again after the resume")
        print(f"  live view again {time.monotonic() - start:.1f} s after the resume "
              f"(8 s suspended)")
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    err = p.stderr.read()
    assert rc == 0 and "Sanitizer" not in err and "runtime error" not in err, f"exit {rc}: {err}"


def t_viewer_through_a_long_suspension():
    # Past the viewer's 30 s bound for silence: it says so, word for word, then tries
    # again every second and says why each try fails, and has live view again by itself
    # soon after the resume.
    p = subprocess.Popen([TETHER, "cam", "--phone", "2351", "view", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=USER_ENV)
    silent = ("the app on port 2351 sent nothing for 30 s while an answer or a frame was due: "
              "is the app in the foreground?")
    no_hello = ("the app on port 2351 accepted the connection but did not say hello within 5 s: "
                "is it a tether camera app, and is it in the foreground?")
    try:
        url = p.stdout.readline().split()[3]

        def stats():
            return json.load(urllib.request.urlopen(url + "api/stats", timeout=30))

        wait_for(lambda: stats()["status"].startswith("live view"), 20, "live view")
        sim("app suspend 2351")
        try:
            start = time.monotonic()
            wait_for(lambda: stats()["status"] == silent, 45, "the silence said")
            said = time.monotonic() - start
            wait_for(lambda: stats()["status"] == no_hello, 15, "a try that got no hello")
            assert not stats()["connected"]
        finally:
            sim("app resume 2351")
        resumed = time.monotonic()
        wait_for(lambda: stats()["connected"] and stats()["status"].startswith("live view"), 30,
                 "live view again after the resume")
        back = time.monotonic() - resumed
        assert 29 < said < 40, f"the silence said after {said:.1f} s"
        print(f"  silence said after {said:.1f} s; live view again {back:.1f} s after the "
              "resume")
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    err = p.stderr.read()
    assert rc == 0 and "Sanitizer" not in err and "runtime error" not in err, f"exit {rc}: {err}"


# --- tether-camera: its phone sessions with a suspended, resumed and killed app ----------

CAMLOG = os.path.join(d.dir, "camera.log")
camera = None


def camlog():
    with open(CAMLOG) as f:
        return f.read()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln.split()[1] for ln in f if ln.startswith("VmRSS:")))


# Under ASan, freed memory waits in a quarantine (256 MB by default) before reuse, so
# RSS grows by every frame encoded and freed until the quarantine is full: a small one
# keeps the RSS bound meaningful there too.
CAMERA_ENV = dict(USER_ENV, ASAN_OPTIONS=":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=4"])))


def t_camera_waits_for_hello_in_words():
    global camera
    sim("app suspend 2350")
    camera = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--size", "640x360", "--fps",
                               "30", "--port", "2350", "--listen",
                               os.path.join(d.dir, "camera.sock")],
                              stdout=open(CAMLOG, "w"), stderr=subprocess.STDOUT, env=CAMERA_ENV)
    words = (f"tether-camera: info: phone {UDID}: the app on port 2350 accepted but has not said "
             "hello within 5 s: it may be in the background; trying again")
    wait_for(lambda: words in camlog(), 20, "the hello line")
    time.sleep(12)  # two more tries at least
    said = lines_with("has not said hello", camlog())
    assert said[0] == words, said
    assert len(said) <= 2, f"{len(said)} lines for one silent app: {said}"
    assert len(lines_with(": connected", camlog())) == 1, "each retry said 'connected'"
    start = time.monotonic()
    sim("app resume 2350")
    ch, _ = app.accept(timeout=15)
    ftype, _, m = ch.recv_frame()
    assert ftype == cp.HELLO and m["Role"] == "camera", (ftype, m)
    ch.send(cp.HELLO, cp.hello("lifecycle test app"))
    wait_for(lambda: "says hello" in camlog(), 10, "the hello heard")
    took = time.monotonic() - start
    assert took < 4, f"a session {took:.1f} s after the resume (the back-off is at most 2 s)"
    print(f"  {len(said)} line(s) in 12 s of silence; hello both ways {took:.2f} s after "
          "the resume")
    state["ch"] = ch


state = {}


def t_camera_session_with_a_suspended_app():
    ch = state["ch"]
    t = ch.request(cp.START_LIVE_VIEW, {"MaxInFlight": 4})
    ch.wait_for(want_tag=t)
    last = [0]

    def read_and_ack(n):
        for _ in range(n):
            f = ch.wait_for(cp.LIVE_VIEW_FRAME)
            last[0] = f[2]["sequence"]
            ch.send(cp.LIVE_VIEW_ACK, {"Sequence": last[0]})

    read_and_ack(10)
    sim("app suspend 2350")
    start = time.monotonic()
    words = (f"tether-camera: info: phone {UDID}: the app on port 2350 has taken nothing for 5 s "
             "(")
    wait_for(lambda: words in camlog(), 15, "the line for an app that stopped reading")
    took = time.monotonic() - start
    line = lines_with(words, camlog())[0]
    assert line.endswith("live-view frames wait for it): it may be in the background; "
                         "live view waits for it"), line
    rss = []
    for _ in range(10):
        rss.append(rss_kb(camera.pid))
        time.sleep(1)
    growth = max(rss) - rss[0]
    assert growth < 16 * 1024, f"tether-camera grew {growth} KiB in 10 s of suspension: {rss}"
    sim("app resume 2350")
    resumed = time.monotonic()
    ch.sock.settimeout(15)
    read_and_ack(20)  # frames again, on the same session
    wait_for(lambda: ": the app on port 2350 reads again" in camlog(), 10, "the app reads again")
    print(f"  said after {took:.1f} s: {line!r}; RSS {rss[0]} -> {max(rss)} KiB over 10 s "
          f"suspended; 20 frames {time.monotonic() - resumed:.1f} s after the resume")


def t_camera_after_a_kill():
    sim("app kill 2350")
    try:
        wait_for(lambda: ch_closed(state["ch"]), 15, "the killed app's session to end")
        time.sleep(2)
    finally:
        sim("app resume 2350")
    start = time.monotonic()
    ch, when = app.accept(timeout=15)
    assert ch.recv_frame()[0] == cp.HELLO
    print(f"  new session {when - start:.2f} s after the relaunch")
    ch.sock.close()


def t_camera_exits_clean():
    camera.send_signal(signal.SIGTERM)
    rc = camera.wait(timeout=30)
    log = camlog()
    assert rc == 0 and "Sanitizer" not in log and "runtime error" not in log, \
        f"exit {rc}: {log[-3000:]}"


def ch_closed(ch):
    ch.sock.settimeout(0.2)
    try:
        while True:
            data = ch.sock.recv(1 << 20)
            if not data:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


# --- the reference usbmuxd and iproxy against a suspended app -------------------------------

def listening(port):
    """A listener on `port`, seen in /proc/net/tcp: a probe connection would do, but
    iproxy 1.1.1 then often never forwards the next client's bytes (the probe's teardown
    and the next Connect cross; about half the runs here), app or no app."""
    with open("/proc/net/tcp") as f:
        return any(ln.split()[1].endswith(f":{port:04X}") and ln.split()[3] == "0A"
                   for ln in f.readlines()[1:])


def t_reference_with_a_suspended_app():
    if os.getuid() != 0:
        raise Skip("the reference usbmuxd needs root (a private /run)")
    ref = Daemon(SIM, None, "reference", phones=1)
    iproxy = None
    try:
        port = free_port()
        env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{ref.sock}")
        iproxy = subprocess.Popen(["iproxy", f"{port}:2345"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT)
        wait_for(lambda: listening(port), 10, "iproxy listening")
        assert ref.sim("app suspend 2345") == "ok"
        log_before = ref.log()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"ping")
        s.settimeout(6)
        try:
            got = s.recv(4)
            raise AssertionError(f"the reference delivered {got!r} from a suspended app")
        except socket.timeout:
            pass  # it connects and hangs, and says nothing about it
        said = ref.log()[len(log_before):]
        assert said == "", f"the reference said: {said}"
        assert ref.sim("app resume 2345") == "ok"
        s.settimeout(10)
        assert mc.recv_exact(s, 4) == b"ping"
        # Killed: the stream ends mid-way and Connect answers 3, as through tetherd.
        assert ref.sim("app kill 2345") == "ok"
        try:
            assert s.recv(100) == b"", "the killed app's stream goes on through the reference"
        except ConnectionResetError:
            pass
        s.close()
        c = mc.Client(ref.sock)
        try:
            refused = c.connect(ref.device_id(ref.udids()[0]), 2345)
        finally:
            c.close()
        assert refused == 3, f"the reference's Connect to a killed app answered {refused}"
        assert ref.sim("app resume 2345") == "ok"
        print("  reference usbmuxd 1.1.1 + iproxy: connects, then hangs for as long as the app "
              "is suspended, saying nothing; answers after the resume; a killed app's stream "
              "ends and Connect answers 3")
    finally:
        if iproxy:
            iproxy.terminate()
            iproxy.wait(timeout=10)
        ref.stop()


try:
    check("app suspend|resume|kill: errors in words", t_sim_commands)
    check("Connect: a suspended app is accepted and silent; killed, reset mid-stream and "
          "refused (3); resumed, it answers", t_connect_results)
    check("a forward to a suspended app: one line in words for three clients, nothing "
          "dropped, answers after the resume", t_forward_says_the_app_is_silent)
    check("a forward's stream reset by a killed app; a waiting client gets the relaunched app",
          t_forward_killed_mid_stream_then_back)
    check("`tether cam --phone` (no --socket) against a suspended app: the words, exit 1",
          t_cam_cli_against_a_suspended_app)
    check("`tether cam --phone view` gets live view back by itself after the resume",
          t_viewer_gets_live_view_back)
    check("`tether cam --phone view` past its 30 s silence bound: the words in its status, "
          "tries again, live view again after the resume", t_viewer_through_a_long_suspension)
    check("tether-camera: an app that accepts and says nothing is said once, retried, and "
          "has a session soon after the resume", t_camera_waits_for_hello_in_words)
    check("tether-camera: a session whose app stops reading is said once, stays bounded, "
          "and goes on after the resume", t_camera_session_with_a_suspended_app)
    check("tether-camera: a killed app ends the session; the relaunched app gets a new one",
          t_camera_after_a_kill)
    check("tether-camera ends cleanly on SIGTERM (no sanitizer report)", t_camera_exits_clean)
    check("reference usbmuxd + iproxy against a suspended app, side by side",
          t_reference_with_a_suspended_app)
finally:
    if camera and camera.poll() is None:
        camera.kill()
        camera.wait(timeout=30)
    d.stop()
check.finish("app lifecycle")
