#!/usr/bin/env python3
"""tether-camera's libgphoto2 backend end to end: tether-sim plugs in a virtual iPhone
and a virtual Nikon D750 in one testbed; tetherd serves the phone; tether-camera
--backend gphoto2 drives the camera through the real libgphoto2 and connects to the
phone's app (port 2350), which this script plays over a TCP relay.

    gphoto2_end_to_end_test.py TETHER_SIM TETHERD TETHER_CAMERA

Checks: properties listed in the protocol's formats and set with read-back, a refused
value, a capture downloaded to the phone byte for byte, live view at the rate the camera
serves, a busy camera recovered from, the camera unplugged and replugged. Prints the
figures: live-view fps and capture command -> image on the phone.

It runs itself again inside tether-sim (--inside), so tetherd and tether-camera share
the testbed with the phone and the camera."""
import os
import re
import queue
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import camproto as cp  # noqa: E402
from daemons import (Checks, fmt, keeps_pace, run_inside_sim, sim_control as control,  # noqa: E402
                     unthrottled, wait_for)

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

CAMERA_FPS = 30
# The phone's live view unthrottled against the gphoto2 CLI's own on the same camera,
# measured before tether-camera starts and after it ends (the phone's runs between; best
# of each): 0.75-0.97 in five runs here on a loaded 2-core machine (CLI 40-72 fps).
# tether-camera taking twice as long for each frame gave 0.57: a path that carries half
# fails.
MIN_RATIO = 0.6
SANITIZED = os.environ.get("TETHER_SANITIZE", "")


def status():
    return control("camera status")


def inside(tetherd, camera):
    work = os.environ["WORK"]
    check = Checks()
    conns = queue.Queue()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(os.environ["APP_PORT"])))
    srv.listen()

    def accept_loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.settimeout(20)
            conns.put(cp.Channel(c))

    threading.Thread(target=accept_loop, daemon=True).start()
    sock = os.path.join(work, "usbmuxd")
    camlog_path = os.path.join(work, "camera.log")
    daemon = subprocess.Popen([tetherd, "-f", "-S", sock, "-C", os.path.join(work, "lockdown"),
                               "-P", os.path.join(work, "tetherd.pid"), "--state-dir", work],
                              stdout=open(os.path.join(work, "tetherd.log"), "w"),
                              stderr=subprocess.STDOUT)
    wait_for(lambda: os.path.exists(sock), 15, "tetherd's socket")
    def cli_fps(seconds=2):
        """The gphoto2 CLI's own live view (--capture-movie) on the same camera, while
        tether-camera is not running (it holds the camera while it runs)."""
        movie = os.path.join(work, "movie.mjpg")
        if os.path.exists(movie):
            os.remove(movie)
        r = subprocess.run(["gphoto2", "--camera", "Nikon DSC D750", "--capture-movie",
                            f"{seconds}s"], capture_output=True, text=True, timeout=60, cwd=work,
                           env=dict(os.environ, HOME=work))
        with open(movie, "rb") as f:
            frames = f.read().count(b"\xff\xd8")
        if r.returncode != 0 or frames == 0:
            raise AssertionError(f"gphoto2 --capture-movie: {frames} frames: {r.stdout}{r.stderr}")
        return frames / seconds

    # The independent measure, before tether-camera starts and again after it ends (the
    # phone's runs come between): the gphoto2 CLI unthrottled on the same camera.
    cli = [unthrottled(cli_fps)]
    control(f"camera fps {CAMERA_FPS}")
    phone = []
    cam = subprocess.Popen([camera, "--backend", "gphoto2", "--fps", "0", "--usbmuxd", sock,
                            "--port", "2350", "--listen", os.path.join(work, "camera.sock"), "-v",
                            "--release-after", "3"],
                           stdout=open(camlog_path, "w"), stderr=subprocess.STDOUT)

    def camlog():
        with open(camlog_path) as f:
            return f.read()

    state = {}

    def request(ftype, body=None, events=None):
        ch = state["ch"]
        t = ch.request(ftype, body)
        return ch.wait_for(want_tag=t, keep=events.append if events is not None else None)

    def t_hello():
        ch = conns.get(timeout=30)
        state["ch"] = ch
        ftype, _, m = ch.recv_frame()
        assert ftype == cp.HELLO and m["Role"] == "camera", (ftype, m)
        ch.send(cp.HELLO, cp.hello("gphoto2 end to end"))

    def t_hello_names_the_camera():
        # Once the camera is found, a new controller's hello names it (it used to say
        # "libgphoto2 camera (not connected)" for as long as tether-camera ran).
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(os.path.join(work, "camera.sock"))
        try:
            ftype, _, m = cp.Channel(s).recv_frame()
        finally:
            s.close()
        if ftype != cp.HELLO or "D750" not in m.get("Name", "") or "not connected" in m["Name"]:
            raise AssertionError(f"a new controller's hello: {ftype} {m}")

    def t_claimed():
        # Another program has the camera open (as a desktop's photo import would).
        other = subprocess.Popen(["gphoto2", "--camera", "Nikon DSC D750", "--wait-event=3s"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=dict(os.environ, HOME=work))
        wait_for(lambda: "session=open" in status(), 10, "gphoto2 to open the camera")
        ftype, _, m = request(cp.GET_PROPERTIES)
        assert ftype == cp.ERROR and "another program is using the camera" in m["Message"], m
        print(f"  while gphoto2 has it: {m['Message'][:80]}...")
        other.wait(timeout=20)
        started = time.monotonic()
        while True:  # tether takes it within a few seconds of the other program leaving
            ftype, _, m = request(cp.GET_PROPERTIES)
            if ftype == cp.PROPERTIES:
                break
            assert time.monotonic() - started < 6, m
            time.sleep(0.5)
        print(f"  camera taken {(time.monotonic() - started) * 1000:.0f} ms after gphoto2 exited")

    def t_properties():
        ftype, _, m = request(cp.GET_PROPERTIES)
        assert ftype == cp.PROPERTIES, (ftype, m)
        props = {p["Name"]: p for p in m["Properties"]}
        want = {"iso": "400", "shutter_speed": "1/125", "aperture": "f/5.6",
                "white_balance": "auto", "exposure_compensation": "0", "focus_mode": "af-s",
                "image_format": "jpeg-fine"}
        for name, value in want.items():
            assert name in props, f"{name} missing: {sorted(props)}"
            assert props[name]["Value"] == value, props[name]
        assert "1/4000" not in props["shutter_speed"]["Allowed"]  # 2 (1/10000 s) is 1/5000
        for v in ("1/250", "1/320", "1/60", "1"):
            assert v in props["shutter_speed"]["Allowed"], props["shutter_speed"]["Allowed"]
        assert "+0.3" in props["exposure_compensation"]["Allowed"]
        assert "cloudy" in props["white_balance"]["Allowed"]
        assert "raw+jpeg-fine" in props["image_format"]["Allowed"]
        print(f"  {len(props)} properties: " + ", ".join(f"{n}={p['Value']}" for n, p in
                                                          sorted(props.items())))

    def t_set():
        for name, value in [("iso", "800"), ("shutter_speed", "1/250"), ("aperture", "f/8"),
                            ("exposure_compensation", "-0.7"), ("white_balance", "cloudy")]:
            ftype, _, m = request(cp.SET_PROPERTY, {"Name": name, "Value": value})
            assert ftype == cp.PROPERTY_SET, (ftype, m)
            assert m["Applied"] == value, m
        # Read back from the camera, not from a cache in the service.
        _, _, m = request(cp.GET_PROPERTIES, {"Name": "iso"})
        assert m["Properties"][0]["Value"] == "800", m

    def t_refused():
        ftype, _, m = request(cp.SET_PROPERTY, {"Name": "iso", "Value": "123"})
        assert ftype == cp.ERROR and m["Code"] == 3, (ftype, m)
        assert "123" in m["Message"] and "800" in m["Message"], m  # says what it takes
        print(f"  refused: {m['Message'][:100]}...")

    def capture_and_download():
        ch = state["ch"]
        started = time.monotonic()
        ftype, _, m = request(cp.CAPTURE)
        assert ftype == cp.OK, (ftype, m)
        _, _, done = ch.wait_for(cp.CAPTURE_DONE)
        t = ch.request(cp.DOWNLOAD, {"TransferID": done["TransferID"]})
        data, chunks = b"", 0
        while True:
            ftype, tag, m = ch.wait_for(want_tag=t)
            assert ftype == cp.IMAGE_CHUNK, (ftype, m)
            assert m["offset"] == len(data)
            data += m["data"]
            chunks += 1
            if m["offset"] + len(m["data"]) == m["total"]:
                break
        elapsed = time.monotonic() - started
        return done, data, chunks, elapsed

    def recorded():
        d = os.path.join(os.environ["RECORD"], "camera")
        newest = max(os.listdir(d), key=lambda f: os.path.getmtime(os.path.join(d, f)))
        with open(os.path.join(d, newest), "rb") as f:
            return f.read()

    def t_capture():
        times = []
        for _ in range(3):
            done, data, chunks, elapsed = capture_and_download()
            assert data == recorded(), "the phone's bytes differ from what the camera took"
            assert done["Size"] == len(data) and done["MimeType"] == "image/jpeg", done
            times.append(elapsed)
        print(f"  capture command -> image on the phone: {len(data)} bytes in {chunks} chunks, "
              f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms "
              f"(median {sorted(times)[1] * 1000:.0f} ms)")

    def live_view(seconds):
        ch = state["ch"]
        ftype, _, m = request(cp.START_LIVE_VIEW)
        if ftype != cp.OK:
            raise AssertionError(f"start live view: {ftype} {m}")
        frames, stats = [], {}
        first = None
        end = time.monotonic() + seconds + 1
        while time.monotonic() < end:
            f = ch.wait_for(cp.LIVE_VIEW_FRAME, keep=lambda f: stats.update(
                f[2] if f[0] == cp.LIVE_VIEW_STATS else {}))
            if first is None:
                first = time.monotonic()  # after live view is up (the mirror)
                end = first + seconds
            if f[2]["jpeg"][:2] != b"\xff\xd8" or f[2]["width"] != 640:
                raise AssertionError(f"not a 640-wide JPEG: width {f[2]['width']}")
            frames.append(f[2]["sequence"])
        fps = (len(frames) - 1) / (time.monotonic() - first)
        ftype, _, m = request(cp.STOP_LIVE_VIEW)
        if ftype != cp.OK:
            raise AssertionError(f"stop live view: {ftype} {m}")
        return fps, frames, stats

    def t_live_view():
        runs = []

        def phone_fps():
            fps, frames, stats = live_view(2)
            if frames != sorted(frames):
                raise AssertionError(f"frames out of order: {frames}")
            runs.append(stats)
            return fps

        # Two runs, up to six while the best is under 0.8 of the CLI's first figure: a
        # spell of load costs a run (the check against the CLI is at the end). Two in a
        # sanitizer build, where that check is not required.
        most = 2 if SANITIZED else 6
        while len(phone) < 2 or (len(phone) < most and max(phone) < 0.8 * cli[0]):
            phone.append(unthrottled(phone_fps))
        # At the camera's rate: 0.8 of it, or of half the CLI's ceiling when the machine
        # carries less than twice it (frames are fetched one at a time; a late fetch costs
        # a frame). A sanitizer build slows tether-camera, not the CLI: there the phone's
        # own ceiling is used too.
        ceiling = min(max(cli), max(phone)) if SANITIZED else max(cli)
        need = 0.8 * min(CAMERA_FPS, ceiling / 2)
        best, at_rate = keeps_pace(CAMERA_FPS, phone_fps, enough=need)
        stats = runs[-1]
        print(f"  camera unthrottled: the phone {fmt(phone)} fps, the gphoto2 CLI before "
              f"{cli[0]:.1f} fps")
        print(f"  live view on the phone: {fmt(at_rate)} fps (camera serves {CAMERA_FPS}), "
              f"{need:.1f} needed; service: camera {stats.get('CameraFps', 0):.1f} fps, "
              f"frame age {stats.get('MeanAgeMs', 0):.1f} ms")
        if best < need:
            raise AssertionError(f"best {best:.1f} fps at the camera's {CAMERA_FPS}, under {need:.1f}")

    def t_against_cli():
        cli.append(unthrottled(cli_fps))
        if not phone:
            raise AssertionError("no live view on the phone to compare")
        ratio = max(phone) / max(cli)
        print(f"  camera unthrottled: the phone {fmt(phone)} fps, the gphoto2 CLI before and "
              f"after {fmt(cli)} fps: {ratio:.2f} of the CLI (bound {MIN_RATIO})")
        if SANITIZED:
            print(f"  not required: sanitizer build ({SANITIZED}), tether-camera is instrumented "
                  "and the CLI is not")
        elif ratio < MIN_RATIO:
            raise AssertionError(f"the phone's live view carried {ratio:.2f} of the gphoto2 "
                                 f"CLI's ({max(phone):.1f} against {max(cli):.1f} fps)")

    def t_focus():
        def lens():
            fields = dict(f.split("=") for f in status().split() if "=" in f)
            return int(fields["focus"]), int(fields["af_drives"])

        focus, drives = lens()
        ftype, _, m = request(cp.AUTOFOCUS)
        assert ftype == cp.OK, (ftype, m)
        assert lens() == (focus, drives + 1), lens()
        # A D750 drives manual focus in live view only: said in words.
        ftype, _, m = request(cp.FOCUS_STEP, {"Direction": "near", "Size": "small"})
        assert ftype == cp.ERROR and "live view" in m["Message"], m
        print(f"  outside live view: {m['Message']}")
        assert lens()[0] == focus
        ftype, _, _ = request(cp.START_LIVE_VIEW)
        assert ftype == cp.OK
        try:
            moves = []
            for direction, size in [("near", "medium"), ("far", "large"), ("far", "small")]:
                ftype, _, m = request(cp.FOCUS_STEP, {"Direction": direction, "Size": size})
                assert ftype == cp.OK, (ftype, m)
                moves.append(lens()[0])
            # libgphoto2's motor steps: 100 per size, toward near or far
            assert moves == [focus - 200, focus + 100, focus + 200], (focus, moves)
            print(f"  lens at {focus}, then {moves} (near 2, far 3, far 1)")
        finally:
            request(cp.STOP_LIVE_VIEW)

    def t_busy_setting():
        control("camera busy 3")  # libgphoto2 does not retry settings: the service does
        started = time.monotonic()
        ftype, _, m = request(cp.SET_PROPERTY, {"Name": "iso", "Value": "1600"})
        assert ftype == cp.PROPERTY_SET and m["Applied"] == "1600", (ftype, m)
        wait_for(lambda: "camera busy, retry 3" in camlog(), 5, "three busy retries in the log")
        print(f"  3 busy replies, set after {(time.monotonic() - started) * 1000:.0f} ms")

    def t_busy_capture():
        control("camera busy 150")  # more than libgphoto2's own ~100 retries
        done, data, _, elapsed = capture_and_download()
        assert data == recorded()
        print(f"  150 busy replies, captured and downloaded after {elapsed * 1000:.0f} ms")

    def t_let_go_when_idle():
        # No viewer, no command for 3 s (--release-after 3): tether-camera lets the camera
        # go, so the gphoto2 CLI can use it (it used to fail with "Could not claim the USB
        # device" for as long as tether-camera ran); the phone's next request takes it back.
        before = camlog().count("let go after")
        wait_for(lambda: camlog().count("let go after") > before, 20,
                 "tether-camera to let the idle camera go")
        r = subprocess.run(["gphoto2", "--camera", "Nikon DSC D750", "--summary"],
                           capture_output=True, text=True, timeout=60, cwd=work,
                           env=dict(os.environ, HOME=work))
        if r.returncode != 0 or "D750" not in r.stdout:
            raise AssertionError(f"gphoto2 --summary while tether-camera is idle: {r.returncode} "
                                 f"{r.stdout[-300:]} {r.stderr[-500:]}")
        ftype, _, m = request(cp.GET_PROPERTIES)
        if ftype != cp.PROPERTIES:
            raise AssertionError(f"the phone's request after the release: {ftype} {m}")

    def t_unplug_replug():
        ch = state["ch"]
        request(cp.START_LIVE_VIEW)
        ch.wait_for(cp.LIVE_VIEW_FRAME)
        # `tether cam liveview` on the local socket watches too: it must end with its
        # summary and the words, not freeze (exit 4: the camera is gone).
        viewer = subprocess.Popen([os.environ["TETHER_CLI"], "cam", "--camera",
                                   os.path.join(work, "camera.sock"), "liveview", "--frames",
                                   "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        wait_for(lambda: re.search(r"local controller \d+: live view on", camlog()), 20,
                 "tether cam liveview to start")
        control("camera unplug")
        lost = time.monotonic()
        ftype, _, m = ch.wait_for(cp.CAMERA_LOST)
        print(f"  camera_lost after {(time.monotonic() - lost) * 1000:.0f} ms: "
              f"{m.get('Reason', '')[:90]}")
        try:
            out, err = viewer.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            viewer.kill()
            viewer.communicate()
            raise AssertionError("tether cam liveview still running 20 s after the unplug")
        if viewer.returncode != 4 or "the camera went away" not in err or "frames in" not in out:
            raise AssertionError(f"tether cam liveview at the unplug: exit {viewer.returncode}, "
                                 f"{out!r} {err!r}")
        ftype, _, m = request(cp.CAPTURE)
        assert ftype == cp.ERROR and m["Code"] == 5, (ftype, m)  # no camera, in words
        assert "connected" in m["Message"], m
        control("camera plug")
        back = time.monotonic()
        _, _, m = ch.wait_for(cp.CAMERA_ATTACHED)
        assert "D750" in m["Model"], m
        ch.wait_for(cp.LIVE_VIEW_FRAME)
        print(f"  camera_attached and live view again {(time.monotonic() - back) * 1000:.0f} ms "
              "after the replug")
        request(cp.STOP_LIVE_VIEW)
        _, data, _, _ = capture_and_download()
        assert data == recorded()

    tests = [
        ("tether-camera finds the phone's app and says hello", t_hello),
        ("another program holds the camera: said in words, then taken", t_claimed),
        ("properties listed in the protocol's formats", t_properties),
        ("a new controller's hello names the camera found", t_hello_names_the_camera),
        ("properties set, the applied value read back", t_set),
        ("a value the camera does not take is refused in words", t_refused),
        ("captures downloaded to the phone byte for byte", t_capture),
        ("live view at the camera's rate", t_live_view),
        ("autofocus, and manual focus in live view (refused in words outside it)", t_focus),
        ("a busy camera: settings retried by the service", t_busy_setting),
        ("a busy camera: capture recovered", t_busy_capture),
        ("idle, the camera is let go: the gphoto2 CLI uses it, the phone takes it back",
         t_let_go_when_idle),
        ("the camera unplugged and replugged", t_unplug_replug),
    ]
    try:
        for name, fn in tests:
            check(name, fn)
    finally:
        # Both programs must stop on SIGTERM with exit 0 and no sanitizer report in their
        # logs (UBSan reports and goes on, so the exit status alone would not show it).
        def stop(name, proc, log):
            proc.terminate()
            try:
                rc = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = "still running 15 s after SIGTERM"
            with open(log) as f:
                text = f.read()
            if rc != 0 or "Sanitizer" in text or "runtime error" in text:
                print(f"FAILED: {name}: exit status {rc}; its log ends:\n{text[-3000:]}")
                check.failed += 1
            else:
                print(f"ok: {name} stops on SIGTERM with exit 0 and no sanitizer report")

        stop("tether-camera", cam, camlog_path)
        # The CLI again now that tether-camera has let go of the camera.
        check("live view on the phone against the gphoto2 CLI's, same camera", t_against_cli)
        stop("tetherd", daemon, os.path.join(work, "tetherd.log"))
        srv.close()
        if check.failed:
            print(camlog()[-5000:])
    check.finish("gphoto2 backend end to end")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        inside(sys.argv[2], sys.argv[3])
        return
    sim, tetherd, camera = sys.argv[1:4]
    sys.exit(run_inside_sim(sim, ["--phones", "1", "--camera", "nikon", "--camera-fps", str(CAMERA_FPS)],
                            [tetherd, camera], "tether-gphoto2-e2e-", 300, app_port=True))


if __name__ == "__main__":
    main()
