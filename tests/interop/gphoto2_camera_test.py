"""The real gphoto2 CLI (Debian's libgphoto2 and its Nikon driver) against tether-sim's
virtual Nikon D750: detection, summary, settings, capture byte for byte, live view at
the camera's rate, busy replies, unplug and replug. Like the usbmuxd interop tests, it
proves the virtual device is faithful enough for the real host software.

    gphoto2_camera_test.py TETHER_SIM

It runs itself again inside tether-sim (--inside), so every gphoto2 it starts shares
the testbed. Exit 77 (skipped) without gphoto2."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemons import Checks, fmt, keeps_pace, run_inside_sim, sim_control as control, unthrottled  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

CAMERA = "Nikon DSC D750"
FPS = 30


def gphoto(*args, check=True, timeout=60):
    r = subprocess.run(["gphoto2", "--camera", CAMERA, *args], capture_output=True,
                       text=True, timeout=timeout, cwd=os.environ["WORK"])
    if check and r.returncode != 0:
        raise AssertionError(f"gphoto2 {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return r


def current(name):
    out = gphoto("--get-config", name).stdout
    for line in out.splitlines():
        if line.startswith("Current: "):
            return line[len("Current: "):]
    raise AssertionError(f"no Current: in {out}")


def recorded(name):
    with open(os.path.join(os.environ["RECORD"], "camera", name), "rb") as f:
        return f.read()


def downloaded(name):
    with open(os.path.join(os.environ["WORK"], name), "rb") as f:
        return f.read()


def inside():
    check = Checks()
    shots = [0]

    def capture(filename):
        r = gphoto("--capture-image-and-download", "--filename", filename)
        shots[0] += 1
        return r

    def detect():
        out = subprocess.run(["gphoto2", "--auto-detect"], capture_output=True, text=True,
                             timeout=30).stdout
        assert CAMERA in out and "usb:002,002" in out, out

    def summary():
        out = gphoto("--summary").stdout
        assert "Manufacturer: Nikon Corporation" in out and "Model: D750" in out, out
        assert "Vendor Extension ID: 0xa" in out, out

    def config_list():
        out = gphoto("--list-config").stdout
        for w in ("iso", "shutterspeed", "f-number", "whitebalance", "exposurecompensation",
                  "focusmode", "imagequality", "viewfinder"):
            assert f"/{w}\n" in out + "\n", f"{w} missing from {out}"

    def set_iso():
        assert current("iso") == "400"
        gphoto("--set-config", "iso=800")
        assert current("iso") == "800"

    def refused_value():
        r = gphoto("--set-config", "iso=123", check=False)
        assert r.returncode != 0, r.stdout
        assert current("iso") == "800"

    def set_aperture_and_shutter():
        gphoto("--set-config", "f-number=f/8", "--set-config", "shutterspeed=0.0040s")
        assert current("f-number") == "f/8"
        assert current("shutterspeed") == "0.0040s"

    def capture_bytes():
        capture("one.jpg")
        data = downloaded("one.jpg")
        assert data[:2] == b"\xff\xd8" and len(data) > 50_000, len(data)
        assert data == recorded("DSC_0001.JPG"), "downloaded bytes differ from the camera's"

    def capture_to_card():
        gphoto("--set-config", "capturetarget=1", "--capture-image-and-download",
               "--filename", "card.jpg")
        shots[0] += 1
        assert downloaded("card.jpg") == recorded(f"DSC_{shots[0]:04d}.JPG")

    def preview():
        gphoto("--capture-preview")
        data = downloaded("capture_preview.jpg")
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", data[:4]

    def focus():
        def lens():
            fields = dict(f.split("=") for f in control("camera status").split() if "=" in f)
            return int(fields["focus"]), int(fields["af_drives"])

        position, drives = lens()
        gphoto("--set-config", "autofocusdrive=1")
        assert lens() == (position, drives + 1), lens()
        r = gphoto("--set-config", "manualfocusdrive=-300", check=False)
        assert r.returncode != 0 and lens()[0] == position, (r.returncode, lens())
        # In one session: live view up (the mirror), then the lens moves 300 steps near.
        gphoto("--capture-preview", "--set-config", "manualfocusdrive=-300")
        assert lens()[0] == position - 300, (position, lens())

    def live_view_rate():
        def movie_fps(seconds=2):
            # gphoto2 writes movie.mjpg whatever --filename says, and never over a file
            movie = os.path.join(os.environ["WORK"], "movie.mjpg")
            if os.path.exists(movie):
                os.remove(movie)
            gphoto("--capture-movie", f"{seconds}s", timeout=60)
            return downloaded("movie.mjpg").count(b"\xff\xd8") / seconds

        # What is tested is the virtual camera; the independent measure is the rate it
        # was configured to serve. It must give the gphoto2 CLI 0.8 of it (best of up to
        # three runs). A machine that cannot carry twice the camera's rate unthrottled
        # (a starved CI machine carried 3.7 fps, a loaded one here 52-55; a quiet one
        # 127-143) cannot judge that: it says so and passes. A camera that serves half
        # its frames fails on any machine that can judge.
        ceiling = unthrottled(movie_fps)
        best, runs = keeps_pace(FPS, movie_fps)
        need = 0.8 * FPS
        print(f"  live view through libgphoto2: {fmt(runs)} fps, camera serving {FPS}: "
              f"{best / FPS:.2f} of its rate, {need:.1f} fps needed; unthrottled {ceiling:.1f} fps")
        if ceiling < 1:
            raise AssertionError(f"live view carried {ceiling:.1f} fps with the camera unthrottled")
        if best < need:
            if ceiling >= 2 * FPS:
                raise AssertionError(f"best {best:.1f} fps of the camera's {FPS}, under {need:.1f}")
            print(f"  not judged: this machine carries {ceiling:.1f} fps unthrottled, under twice "
                  f"the camera's rate")

    def busy_recovered_by_libgphoto2():
        control("camera busy 3")  # libgphoto2 retries Nikon's capture itself
        capture("busy.jpg")
        assert downloaded("busy.jpg") == recorded(f"DSC_{shots[0]:04d}.JPG")

    def busy_reported():
        control("camera busy 150")  # more than libgphoto2's ~100 tries
        r = gphoto("--capture-image-and-download", "--filename", "x.jpg", check=False)
        assert r.returncode != 0 and "Busy" in r.stdout + r.stderr, r.stdout + r.stderr
        capture("after-busy.jpg")  # what is left of the busy spell is retried away
        assert downloaded("after-busy.jpg") == recorded(f"DSC_{shots[0]:04d}.JPG")

    def busy_setting():
        control("camera busy 1")
        r = gphoto("--set-config", "iso=1600", check=False)
        assert r.returncode != 0 and "Device Busy" in r.stdout + r.stderr, r.stdout + r.stderr
        gphoto("--set-config", "iso=1600")
        assert current("iso") == "1600"

    def unplug_replug():
        control("camera unplug")
        out = subprocess.run(["gphoto2", "--auto-detect"], capture_output=True, text=True,
                             timeout=30).stdout
        assert CAMERA not in out, out
        r = gphoto("--summary", check=False)
        assert r.returncode != 0
        control("camera plug")
        detect()
        capture("replugged.jpg")
        assert downloaded("replugged.jpg") == recorded(f"DSC_{shots[0]:04d}.JPG")

    for name, fn in [("auto-detect finds the D750", detect), ("summary", summary),
                     ("config widgets", config_list), ("set iso, read back", set_iso),
                     ("a refused value", refused_value),
                     ("aperture and shutter speed", set_aperture_and_shutter),
                     ("capture to SDRAM, byte for byte", capture_bytes),
                     ("capture to the card", capture_to_card), ("preview", preview),
                     ("autofocus; manual focus in live view only", focus),
                     ("live view rate", live_view_rate),
                     ("busy capture retried by libgphoto2", busy_recovered_by_libgphoto2),
                     ("busy capture reported, then recovered", busy_reported),
                     ("busy setting reported, then set", busy_setting),
                     ("unplug and replug", unplug_replug)]:
        check(name, fn)
    check.finish("gphoto2 against the virtual D750")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        inside()
        return
    if shutil.which("gphoto2") is None:
        print("skipped: the gphoto2 CLI is not installed (scripts/install-deps)")
        sys.exit(77)
    sim = sys.argv[1]
    sys.exit(run_inside_sim(sim, ["--camera", "nikon", "--camera-fps", str(FPS)], [],
                            "tether-gphoto2-", 300))


if __name__ == "__main__":
    main()
