#!/usr/bin/env bash
# The job tether exists for, end to end on one machine: a virtual iPhone (tether-sim)
# running a scripted controller app on port 2350, tetherd serving it over (virtual) USB,
# and tether-camera with its test-pattern camera. The app sets properties, watches live
# view, captures and downloads; this prints its report and leaves the frames.
#
#   camera_demo.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
build=$1
out=${2:-$(mktemp -d /tmp/tether-camera-demo.XXXXXX)}
sim=$build/tools/sim/tether-sim
tetherd=$build/daemon/tetherd
camera=$build/tools/camera/tether-camera
run=$(mktemp -d)
# An ASan build of the sim puts umockdev's preload before libasan in its children.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
cleanup() {
  [ -n "${camera_pid:-}" ] && kill "$camera_pid" 2>/dev/null
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "demo failed: $*" >&2; tail -n 20 "$run"/*.log >&2; exit 1; }
mkdir -p "$out"

step "1. A virtual iPhone whose app (port 2350) is a camera controller; tetherd serves it"
"$sim" --app 2350=controller --record "$out" -- "$tetherd" -f --socket "$run/usbmuxd" \
  --pidfile "$run/tetherd.pid" --config-dir "$run/lockdown" >"$run/tetherd.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -S "$run/usbmuxd" ] && break; sleep 0.1; done
[ -S "$run/usbmuxd" ] || fail "tetherd did not start"
echo "   tetherd on $run/usbmuxd"

step "2. tether-camera (test pattern, 1920x1080) finds the phone and connects to its app"
# shellcheck disable=SC2086  # TETHER_DEMO_CAMERA_ARGS is a list of options
"$camera" --backend test-pattern ${TETHER_DEMO_CAMERA_ARGS:-} --usbmuxd "UNIX:$run/usbmuxd" --listen "$run/camera.sock" \
  >"$run/camera.log" 2>&1 &
camera_pid=$!

step "3. The app: hello, properties, set ISO and shutter (applied values read back), live view, capture, download"
report=""
for _ in $(seq 1200); do
  report=$(ls "$out"/*/report.json 2>/dev/null | head -n1 || true)
  [ -n "$report" ] && python3 -c "import json,sys; sys.exit(0 if json.load(open('$report')).get('done') else 1)" 2>/dev/null && break
  sleep 0.1
done
[ -n "$report" ] || fail "the app wrote no report"
python3 - "$report" <<'PY' || fail "the report says the job did not complete"
import json, os, sys
r = json.load(open(sys.argv[1]))
d = os.path.dirname(sys.argv[1])
print(f"   camera: {r.get('camera')}")
for s in r.get("set", []):
    print(f"   set {s['name']}: asked {s['requested']}, camera applied {s['applied']}")
frames = sorted(f for f in os.listdir(d) if f.startswith("frame-"))
print(f"   live view: {r['frames']} frames of {r.get('frame_size')} at {r['fps']:.1f} fps, "
      f"{r['sequence_gaps']} gaps in the sequence (a slow reader skips frames, never lags)")
st = r.get("camera_stats")
if st:
    print(f"   the camera's view (live_view_stats, last second): {st['fps']:.1f} fps delivered of "
          f"{st['camera_fps']:.1f} made, frame age {st['mean_age_ms']:.1f} ms capture to ack "
          f"(max {st['max_age_ms']:.1f}), {st['dropped']} dropped")
c = r.get("capture", {})
path = os.path.join(d, c.get("file", ""))
data = open(path, "rb").read() if os.path.exists(path) else b""
ok_jpeg = data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
print(f"   capture: {c.get('file')} ({c.get('mime')}), {c.get('size')} bytes announced, "
      f"{len(data)} downloaded, {'a complete JPEG' if ok_jpeg else 'NOT a JPEG'}")
if r.get("errors"):
    print("   errors:", r["errors"])
ok = (r.get("done") and r["frames"] > 0 and len(r.get("set", [])) >= 1 and ok_jpeg
      and len(data) == c.get("size") and not r.get("errors"))
print(f"   frames left in {d}")
sys.exit(0 if ok else 1)
PY

step "4. SIGTERM: tether-camera and tetherd stop cleanly"
kill -TERM "$camera_pid"; wait "$camera_pid" || fail "tether-camera did not exit cleanly"
camera_pid=""
kill -TERM "$sim_pid"; wait "$sim_pid" || fail "tetherd did not exit cleanly"
sim_pid=""
echo "   done; the frames and the capture are in $out"
