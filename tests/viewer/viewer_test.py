#!/usr/bin/env python3
"""`tether cam view` against tether-camera's test-pattern camera, in headless Chromium
and over plain sockets:

- the page in Chromium: two screenshots a second apart differ in the live image; ISO
  changed in the page's drop-down shows the value the camera applied, and a second
  controller (`tether cam props`) sees it; a set by that controller reaches the page;
  Capture shows the file and its download link serves the JPEG;
- /stream.mjpg: valid JPEG parts, two clients at once, and a client that never reads
  does not slow the other one (its parts are replaced, not queued);
- bad requests get 4xx answers; clear errors for a missing camera socket, a port in
  use and a non-loopback address; SIGTERM ends it cleanly;
- a camera that never answers a capture: Ctrl-C still ends the viewer (0.5 s of grace).

    viewer_test.py PATH/TO/tether-camera PATH/TO/tether [OUTPUT_DIR]

The screenshots stay in OUTPUT_DIR (default ./viewer-test-output); the path is printed.
"""
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The camera tests' helpers: the camera protocol in Python and headless Chromium.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "camera"))
import camproto as cp  # noqa: E402
from headless_chromium import Chromium, find_chromium  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

CAMERA, TETHER = sys.argv[1], sys.argv[2]
OUT = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else "viewer-test-output")
SLACK = float(os.environ.get("TETHER_TEST_SLACK", "1"))  # sanitizer builds are slower

try:
    from PIL import Image, ImageChops
except ImportError:
    print("skipped: python3-pil is not installed (scripts/install-deps)")
    sys.exit(77)
if not find_chromium():
    print("skipped: chromium is not installed (scripts/install-deps)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="tether-viewer-")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
sock = os.path.join(tmp, "camera.sock")
failed = 0
procs = []


def check(name, cond, detail=""):
    global failed
    print(("ok: " if cond else "FAILED: ") + name + ("" if cond else f": {detail}"), flush=True)
    failed += 0 if cond else 1
    return cond


def tether(*args, timeout=30):
    return subprocess.run([TETHER, "cam", "--camera", sock, *args], capture_output=True,
                          text=True, timeout=timeout * SLACK)


def start_viewer(*args):
    p = subprocess.Popen([TETHER, "cam", "--camera", sock, "view", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    line = p.stdout.readline()  # the address, once it serves
    m = re.search(r"http://[^ ]+/", line)
    if not m:
        p.kill()
        raise RuntimeError(f"the viewer did not start: {line} {p.stderr.read()}")
    return p, m.group(0)


def http(url, path, method="GET", body=None, headers=None, timeout=10):
    """One request on its own connection: (status, headers dict, body bytes)."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    s = socket.create_connection((host, int(port)), timeout=timeout * SLACK)
    data = body.encode() if isinstance(body, str) else (body or b"")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if data:
        head += f"Content-Length: {len(data)}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    raw = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        raw += chunk
    s.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), fields, payload


def api(url, path, body=None):
    if body is None:
        status, _, data = http(url, path)
    else:
        status, _, data = http(url, path, "POST", json.dumps(body),
                               {"Content-Type": "application/json"})
    return status, json.loads(data)


class MjpegReader:
    """A /stream.mjpg client: reads parts into `frames` until stop()."""

    def __init__(self, url, limit=None):
        host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=10 * SLACK)
        self.sock.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        self.buf = b""
        self.status_line = self._line()
        self.headers = {}
        while (line := self._line()):
            k, _, v = line.partition(":")
            self.headers[k.lower()] = v.strip()
        self.frames, self.times, self.error = [], [], None
        self.limit = limit
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the stream ended")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("latin-1")

    def _run(self):
        try:
            while self.running and (self.limit is None or len(self.frames) < self.limit):
                boundary = self._line()
                if boundary == "":
                    boundary = self._line()
                assert boundary == "--tetherframe", boundary
                fields = {}
                while (line := self._line()):
                    k, _, v = line.partition(":")
                    fields[k.lower()] = v.strip()
                assert fields["content-type"] == "image/jpeg", fields
                n = int(fields["content-length"])
                while len(self.buf) < n:
                    self._fill()
                self.frames.append(self.buf[:n])
                self.times.append(time.monotonic())
                self.buf = self.buf[n:]
        except Exception as e:  # noqa: BLE001 - reported by the checks
            if self.running:  # not stop() closing the socket
                self.error = repr(e)

    def stop(self):
        self.running = False
        self.sock.close()
        self.thread.join(timeout=5)


def valid_jpeg(data):
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and img.size == (640, 360)
    except Exception:  # noqa: BLE001
        return False


def image_region(png, rect):
    img = Image.open(io.BytesIO(png)).convert("RGB")
    box = (int(rect["left"]) + 2, int(rect["top"]) + 2, int(rect["right"]) - 2,
           int(rect["bottom"]) - 2)
    return img.crop(box)


def changed_fraction(a, b):
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 12 else 0)
    return diff.histogram()[255] / (a.size[0] * a.size[1])


def chromium_checks(url):
    profile = os.path.join(tmp, "chromium")
    os.makedirs(profile)
    with Chromium(profile, timeout=60 * SLACK) as browser:
        page = browser.new_page(1280, 800)
        page.navigate(url)
        page.wait_for("document.getElementById('live').naturalWidth > 0 && "
                      "document.getElementById('prop-iso') !== null && "
                      "document.getElementById('fps').textContent !== '– fps'",
                      20 * SLACK, "the page with live view and properties")
        rect = page.evaluate("document.getElementById('live').getBoundingClientRect().toJSON()")
        shot1 = page.screenshot()
        time.sleep(1.0)
        shot2 = page.screenshot()
        for name, png in (("1-live.png", shot1), ("2-live-a-second-later.png", shot2)):
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(png)
        a, b = image_region(shot1, rect), image_region(shot2, rect)
        moved = changed_fraction(a, b)
        check(f"two screenshots a second apart: the live image changed ({moved:.0%} of it)",
              moved > 0.02, f"{moved:.4f}")
        sidebar = (int(rect["right"]) + 20, 200, 1270, 420)  # the property drop-downs
        still = changed_fraction(Image.open(io.BytesIO(shot1)).convert("RGB").crop(sidebar),
                                 Image.open(io.BytesIO(shot2)).convert("RGB").crop(sidebar))
        check("... and the controls beside it did not", still < 0.001, f"{still:.4f}")
        fps = float(page.evaluate("document.getElementById('fps').textContent").split()[0])
        check(f"the page shows live figures ({fps} fps)", fps > 1,
              page.evaluate("document.getElementById('figures').textContent"))

        # ISO through the page: a real change event on the drop-down, as a user makes it.
        before = page.evaluate("document.getElementById('prop-iso').value")
        options = page.evaluate("[...document.getElementById('prop-iso').options]"
                                ".map(o => o.value)")
        wanted = next(v for v in ("1600", "3200", "200") if v in options and v != before)
        page.evaluate(f"(() => {{ const s = document.getElementById('prop-iso');"
                      f" s.value = '{wanted}';"
                      f" s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")
        try:
            page.wait_for(f"document.getElementById('applied-iso').textContent === "
                          f"'camera applied {wanted}' && "
                          f"document.getElementById('prop-iso').value === '{wanted}'",
                          10 * SLACK, "the applied ISO in the page")
            shown = True
        except Exception as e:  # noqa: BLE001
            shown = str(e)
        check(f"ISO {before} -> {wanted} in the page: it shows 'camera applied {wanted}'",
              shown is True, shown)
        r = tether("props", "iso")
        check("a second controller (tether cam props iso) sees the camera has it",
              r.returncode == 0 and r.stdout.split()[4] == wanted, r.stdout + r.stderr)
        with open(os.path.join(OUT, "3-iso-set-in-the-page.png"), "wb") as f:
            f.write(page.screenshot())

        # The other way: a set by another controller reaches the page.
        tether("set", "iso", before)
        try:
            page.wait_for(f"document.getElementById('prop-iso').value === '{before}'",
                          10 * SLACK, "the page to follow another controller's set")
            followed = True
        except Exception as e:  # noqa: BLE001
            followed = str(e)
        check(f"tether cam set iso {before} (another controller): the page follows",
              followed is True, followed)

        # Capture from the page, and its download link.
        page.evaluate("document.getElementById('capture').click()")
        try:
            text = page.wait_for("document.getElementById('capture-result').textContent",
                                 20 * SLACK, "the capture's file name")
        except Exception as e:  # noqa: BLE001
            text = str(e)
        href = page.evaluate("(document.querySelector('#capture-result a') || {}).href || ''")
        status, fields, data = http(url, "/" + href.split("/", 3)[-1]) if href else (0, {}, b"")
        check(f"Capture in the page shows '{text.strip()}' and a link to the JPEG",
              text.startswith("TP_") and href.endswith("/api/capture/latest") and
              status == 200 and data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and
              "attachment" in fields.get("content-disposition", ""), f"{text} {href} {status}")
        with open(os.path.join(OUT, "4-after-capture.png"), "wb") as f:
            f.write(page.screenshot())


def stream_checks(url):
    r = MjpegReader(url, limit=10)
    r.thread.join(timeout=10 * SLACK)
    check("/stream.mjpg: 200, multipart/x-mixed-replace, parts that are whole 640x360 JPEGs",
          r.status_line.startswith("HTTP/1.1 200") and
          r.headers.get("content-type", "").startswith("multipart/x-mixed-replace") and
          len(r.frames) == 10 and all(valid_jpeg(f) for f in r.frames),
          f"{r.status_line} {r.headers} {len(r.frames)} {r.error}")
    r.stop()

    _, first = api(url, "/api/stats")
    a, b = MjpegReader(url), MjpegReader(url)
    time.sleep(1.5)
    _, then = api(url, "/api/stats")
    na, nb, made = len(a.frames), len(b.frames), then["frames"] - first["frames"]
    a.stop()
    b.stop()
    check(f"two streams at once: {na} and {nb} of the {made} frames in 1.5 s",
          made >= 3 and min(na, nb) >= 0.8 * made - 3 and not a.error and not b.error,
          f"{a.error} {b.error}")

    # A client that never reads: small receive buffer, so the server's writes back up.
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, int(port)))
    stuck.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    _, before = api(url, "/api/stats")
    reader = MjpegReader(url)
    started = time.monotonic()
    while True:  # 2.5 s, or until the stalled client's parts get replaced (slow builds)
        time.sleep(0.25)
        _, during = api(url, "/api/stats")
        waited = time.monotonic() - started
        if waited > 30 * SLACK or (waited >= 2.5 and during["replaced"] > before["replaced"]):
            break
    got = len(reader.frames)
    gaps = sum(1 for x, y in zip(reader.times, reader.times[1:]) if y - x > 0.5 * SLACK)
    reader.stop()
    made = during["frames"] - before["frames"]
    check(f"a client that never reads does not stall another: {got} of {made} frames "
          f"reached the reader, no pause over {0.5 * SLACK:g} s",
          made > 0 and got >= 0.8 * made - 3 and gaps == 0 and not reader.error,
          f"{reader.error} gaps {gaps}")
    replaced = during["replaced"] - before["replaced"]
    check(f"... its frames are replaced, not queued ({replaced} replaced while it stalled)",
          replaced > 0 and during["streams"] == 2, during)
    stuck.close()


def request_checks(url):
    status, fields, body = http(url, "/")
    page = body.decode()
    check("/ is the page, self-contained (no external scripts, styles or images)",
          status == 200 and fields["content-type"].startswith("text/html") and
          '<img id="live" src="/stream.mjpg"' in page and
          not re.search(r'(src|href)="(https?:)?//', page), fields)
    status, props = api(url, "/api/properties")
    iso = next((p for p in props.get("properties", []) if p["name"] == "iso"), {})
    check("/api/properties lists iso with its allowed values",
          status == 200 and "800" in iso.get("allowed", []), props)
    status, reply = api(url, "/api/set", {"name": "iso", "value": "12"})
    check("/api/set of a value the camera rounds: the applied one comes back",
          status == 200 and reply == {"name": "iso", "requested": "12", "applied": "100"}, reply)
    api(url, "/api/set", {"name": "iso", "value": "400"})  # back: a dark image changes less
    status, reply = api(url, "/api/set", {"name": "nope", "value": "1"})
    check("/api/set of an unknown property: 502 with the camera's reason",
          status == 502 and "unknown property" in reply.get("error", ""), reply)
    status, reply = api(url, "/api/focus", {"how": "far", "size": "large"})
    check("/api/focus far large", status == 200, reply)
    cases = [
        ("POST /api/set as a form: 415", http(url, "/api/set", "POST", "name=iso&value=800",
                                              {"Content-Type": "application/x-www-form-urlencoded"}),
         415),
        ("GET /api/set: 405", http(url, "/api/set"), 405),
        ("an unknown path: 404", http(url, "/nothing-here"), 404),
        ("a 20 KB header: 431", http(url, "/", headers={"X-Big": "a" * 20000}), 431),
        ("a 100 KB body: 413", http(url, "/api/set", "POST", "x" * 100000,
                                    {"Content-Type": "application/json"}), 413),
        ("chunked body: 501", http(url, "/api/set", "POST", None,
                                   {"Transfer-Encoding": "chunked"}), 501),
    ]
    for name, (status, _, _), want in cases:
        check(name, status == want, status)
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"GET / HTTP/2.0\r\n\r\n")
    check("HTTP/2.0 request line: 505", s.recv(100).startswith(b"HTTP/1.1 505"))
    s.close()


def error_checks(url):
    r = subprocess.run([TETHER, "cam", "--camera", os.path.join(tmp, "none.sock"), "view",
                        "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=20 * SLACK)
    check("no tether-camera: exit 3, says to start it", r.returncode == 3 and
          "none.sock" in r.stderr and "start tether-camera" in r.stderr, r.stderr)
    r = tether("view", "--listen", "0.0.0.0:0", timeout=20)
    check("a non-loopback address without --allow-remote: exit 2, says why",
          r.returncode == 2 and "--allow-remote" in r.stderr and "0.0.0.0" in r.stderr, r.stderr)
    r = tether("view", "--listen", "somewhere", timeout=20)
    check("--listen without a port: exit 2", r.returncode == 2 and "ADDRESS:PORT" in r.stderr,
          r.stderr)
    port = re.match(r"http://[^:/]+:(\d+)/", url).group(1)
    r = tether("view", "--listen", f"127.0.0.1:{port}", timeout=20)
    check("the port in use: exit 1, names it and suggests --listen",
          r.returncode == 1 and f"port {port}" in r.stderr and "in use" in r.stderr and
          "--listen" in r.stderr, r.stderr)


def stuck_camera_checks():
    """A camera (a stand-in on its own socket) that takes a capture and never answers:
    Ctrl-C must not wait for it."""
    path = os.path.join(tmp, "stuck.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen()
    asked = threading.Event()

    def serve():
        c, _ = srv.accept()
        ch = cp.Channel(c)
        ch.recv_frame()  # the viewer's hello
        ch.send(cp.HELLO, {"Version": 1, "Role": "camera", "Name": "stuck camera",
                           "Capabilities": ["live_view", "live_view_ack", "capture"]})
        while (f := ch.recv_frame()) is not None:
            if f[0] == cp.START_LIVE_VIEW:
                ch.send(cp.OK, {}, f[1])
            elif f[0] == cp.CAPTURE:
                asked.set()  # and no answer, ever

    threading.Thread(target=serve, daemon=True).start()
    p = subprocess.Popen([TETHER, "cam", "--camera", path, "view", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    url = re.search(r"http://[^ ]+/", p.stdout.readline()).group(0)

    def capture():
        try:
            http(url, "/api/capture", "POST", "{}", {"Content-Type": "application/json"},
                 timeout=30)
        except OSError:
            pass  # the viewer went away mid-request: that is the point

    threading.Thread(target=capture, daemon=True).start()
    taken = asked.wait(10 * SLACK)
    started = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=10 * SLACK)
    except subprocess.TimeoutExpired:
        rc = "still running after 10 s"
    waited = time.monotonic() - started
    check("a camera that never answers a capture: Ctrl-C ends the viewer in seconds, "
          "exit 0", taken and rc == 0 and waited < 3 * SLACK,
          f"capture asked: {taken}, exit {rc}, {waited:.2f} s")
    print(f"  Ctrl-C with a capture unanswered: exit {rc} after {waited:.2f} s", flush=True)
    srv.close()


try:
    camlog = os.path.join(tmp, "camera.log")
    cam = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--size", "640x360",
                            "--no-phones", "--listen", sock],
                           stdout=open(camlog, "w"), stderr=subprocess.STDOUT)
    procs.append(cam)
    deadline = time.monotonic() + 10 * SLACK
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    viewer, url = start_viewer("--listen", "127.0.0.1:0", "--out", os.path.join(tmp, "captures"))
    print(f"viewer at {url}; screenshots go to {OUT}", flush=True)
    error_checks(url)
    request_checks(url)
    stream_checks(url)
    chromium_checks(url)
    stuck_camera_checks()
    viewer.send_signal(signal.SIGTERM)
    try:
        rc = viewer.wait(timeout=10 * SLACK)
    except subprocess.TimeoutExpired:
        rc = "still running"
    err = viewer.stderr.read()
    check("SIGTERM: the viewer exits 0 with nothing on stderr", rc == 0 and not err,
          f"{rc} {err[-2000:]}")
    cam.send_signal(signal.SIGTERM)
    try:
        rc = cam.wait(timeout=10 * SLACK)
    except subprocess.TimeoutExpired:
        rc = "still running"
    log = open(camlog).read()
    check("SIGTERM: tether-camera exits 0 with no sanitizer report",
          rc == 0 and "Sanitizer" not in log and "runtime error" not in log, f"{rc} {log[-3000:]}")
    print(f"({time.monotonic() - started:.1f} s; screenshots in {OUT})")
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(tmp, ignore_errors=True)
print(f"tether cam view: {'all passed' if not failed else f'{failed} failed'}")
sys.exit(1 if failed else 0)
