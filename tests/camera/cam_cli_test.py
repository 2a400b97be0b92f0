#!/usr/bin/env python3
"""`tether cam` against tether-camera's test-pattern camera over its local socket:
properties, set with the applied value read back, focus, capture and download, live
view to JPEG files and an MJPEG file with fps and frame age.

    cam_cli_test.py PATH/TO/tether-camera PATH/TO/tether
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

CAMERA, TETHER = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="tether-cam-cli-")
sock = os.path.join(tmp, "camera.sock")
camlog = os.path.join(tmp, "camera.log")
cam = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--size", "640x360", "--no-phones",
                        "--listen", sock], stdout=open(camlog, "w"), stderr=subprocess.STDOUT)
failed = 0
cli_stderr = []  # every tether run's stderr, searched for sanitizer reports at the end


def sanitizer_report(text):
    return "Sanitizer" in text or "runtime error" in text


def tether(*args):
    r = subprocess.run([TETHER, "cam", "--camera", sock, *args], capture_output=True, text=True,
                       timeout=60)
    cli_stderr.append(r.stderr)
    return r


def check(name, cond, detail=""):
    global failed
    print(("ok: " if cond else "FAILED: ") + name + ("" if cond else f": {detail}"), flush=True)
    failed += 0 if cond else 1


try:
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    r = tether("props")
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()[1:]}
    check("props lists the nine properties with values and allowed values",
          r.returncode == 0 and len(rows) == 9 and rows["iso"][0] == "400" and "800" in rows["iso"],
          r.stdout + r.stderr)
    r = tether("set", "iso", "800")
    check("set prints the applied value", r.stdout.strip() == "iso: asked 800, camera applied 800",
          r.stdout + r.stderr)
    check("props NAME shows the new value", tether("props", "iso").stdout.split()[4] == "800")
    r = tether("set", "iso", "12")
    check("a value the camera changes: the applied one is shown, and the exit status is 1",
          r.returncode == 1 and r.stdout.strip() == "iso: asked 12, camera applied 100",
          r.stdout + r.stderr)
    check("focus auto and a manual step", tether("focus", "auto").returncode == 0 and
          tether("focus", "far", "--size", "large").returncode == 0)
    r = tether("capture", "--out", os.path.join(tmp, "cap"))
    path = r.stdout.split(" (")[0]
    data = open(path, "rb").read() if os.path.exists(path) else b""
    check("capture downloads a complete JPEG", r.returncode == 0 and data[:2] == b"\xff\xd8" and
          data[-2:] == b"\xff\xd9", r.stdout + r.stderr)
    mjpeg = os.path.join(tmp, "lv.mjpeg")
    r = tether("liveview", "--frames", "20", "--out", os.path.join(tmp, "lv"), "--mjpeg", mjpeg)
    frames = sorted(os.listdir(os.path.join(tmp, "lv"))) if r.returncode == 0 else []
    check("liveview keeps 20 frames in order and one MJPEG file, and reports fps and age",
          r.returncode == 0 and len(frames) == 20 and "fps" in r.stdout and "frame age" in r.stdout
          and os.path.getsize(mjpeg) == sum(os.path.getsize(os.path.join(tmp, "lv", f))
                                            for f in frames), r.stdout + r.stderr)
    # --mjpeg - is standard output, for a player (`| ffplay -f mjpeg -`); the summary
    # goes to standard error then.
    r = subprocess.run([TETHER, "cam", "--camera", sock, "liveview", "--frames", "10", "--mjpeg",
                        "-"], capture_output=True, timeout=60)
    cli_stderr.append(r.stderr.decode())
    check("--mjpeg - writes the frames to standard output, the summary to standard error",
          r.returncode == 0 and r.stdout.count(b"\xff\xd8\xff") == 10 and
          r.stdout.startswith(b"\xff\xd8") and b"10 frames in" in r.stderr and
          not os.path.exists("-"), r.stderr)
    r = tether("liveview", "--frames", "3", "--mjpeg", os.path.join(tmp, "no", "such", "x.mjpeg"))
    check("an MJPEG file that cannot be written: exit 1, the path named",
          r.returncode == 1 and "cannot write" in r.stderr and "x.mjpeg" in r.stderr, r.stderr)
    # The socket's folder: made when missing (as the service's RuntimeDirectory would be),
    # or said plainly when it cannot be.
    made = os.path.join(tmp, "run-tether", "camera.sock")
    other = subprocess.Popen([CAMERA, "--backend", "test-pattern", "--no-phones", "--listen", made],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(made) and other.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    check("a missing socket folder is made (tether-camera run by hand)",
          os.path.exists(made), other.stderr.read() if other.poll() is not None else "")
    other.terminate()
    other.wait(timeout=10)
    r = subprocess.run([CAMERA, "--backend", "test-pattern", "--no-phones", "--listen",
                        "/nonexistent/tether/camera.sock"], capture_output=True, text=True,
                       timeout=20)
    check("a socket folder that cannot be made: exit non-zero, what to do",
          r.returncode != 0 and "does not exist and cannot be made" in r.stderr and
          "--listen" in r.stderr, r.stderr)
    r = subprocess.run([TETHER, "cam", "--camera", os.path.join(tmp, "none.sock"), "props"],
                       capture_output=True, text=True, timeout=20)
    check("no tether-camera: exit 3 with the path", r.returncode == 3 and "none.sock" in r.stderr,
          r.stderr)
    bad = [e for e in cli_stderr if sanitizer_report(e)]
    check("no sanitizer report from any tether run", not bad, "\n".join(bad)[-3000:])
    cam.terminate()
    rc = cam.wait(timeout=10)
    log = open(camlog).read()
    check("tether-camera stops on SIGTERM with exit 0 and no sanitizer report",
          rc == 0 and not sanitizer_report(log), f"exit {rc}: {log[-3000:]}")
finally:
    if cam.poll() is None:
        cam.kill()
    shutil.rmtree(tmp, ignore_errors=True)
print(f"tether cam: {'all passed' if not failed else f'{failed} failed'}")
sys.exit(1 if failed else 0)
