#!/usr/bin/env bash
# USB 2 against USB 3: the virtual phone's two bus profiles side by side, in one run.
#
#   speed_profiles.sh TETHER_SIM SOURCE_THROUGHPUT TETHERD [MEGABYTES] [CAMERA RELAY_PATH]
#
# For each profile (tether-sim --speed high: one half-duplex bus at 40 MB/s; super: a
# lane each way at 900 MB/s), the phone's source app streams MEGABYTES to the board:
#   - through tether's transport alone (8 IN transfers in flight);
#   - through tetherd and iproxy, as a client takes it, with the CPU seconds the phone
#     emulation (tether-sim, umockdev's worker included) and tetherd spent on it;
#   - through the transport with no bus limit at all: the emulation's own ceiling.
# With CAMERA, live view's ceiling at 1920x1080 through tetherd for each profile; with
# RELAY_PATH, tetherd's relay without USB (client socket, session, in-memory phone),
# which is what tetherd could carry if the bus and the emulation were free.
# Every row ends with super/high. The point is to show what scales with the bus and
# what stops it.
#
# TETHER_BENCH_CHECK=1 (ctest's smoke run): at super speed tetherd + iproxy must carry
# >= 70% of what the transport alone carries (best of two interleaved rounds each), as
# compare_with_reference.sh checks at USB 2.
set -euo pipefail
sim=$1 tool=$2 tetherd=$3 mb=${4:-32} camera=${5:-} relay=${6:-}
bytes=$((mb * 1000000))
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$dir"' EXIT

rate_of() { sed -nE 's/.* = ([0-9.]+) MB\/s.*/\1/p' | tail -1; }
cpu_s() {  # utime + stime of PID and its threads, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

transport() {  # transport SPEED [RATE] -> MB/s
  local extra=()
  [ -n "${2:-}" ] && extra=(--rate "$2")
  "$sim" --speed "$1" "${extra[@]}" --source-bytes $((bytes * 2)) -- "$tool" tether "$bytes" 8 | rate_of
}

through_tetherd() {  # through_tetherd SPEED -> "MB/s sim_cpu_s tetherd_cpu_s"
  local port sim_pid tetherd_pid iproxy_pid rate s0 t0 s1 t1
  rm -rf "$dir/run"; mkdir "$dir/run"
  "$sim" --speed "$1" --source-bytes $((bytes * 2)) -- "$tetherd" -f --pidfile "$dir/run/tetherd.pid" \
    --socket "$dir/run/usbmuxd" --config-dir "$dir/lockdown" --state-dir "$dir/run" >"$dir/tetherd.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do [ -S "$dir/run/usbmuxd" ] && [ -s "$dir/run/tetherd.pid" ] && break; sleep 0.1; done
  tetherd_pid=$(cat "$dir/run/tetherd.pid")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  USBMUXD_SOCKET_ADDRESS="UNIX:$dir/run/usbmuxd" iproxy "$port:2346" >/dev/null 2>&1 &
  iproxy_pid=$!
  for _ in $(seq 100); do
    USBMUXD_SOCKET_ADDRESS="UNIX:$dir/run/usbmuxd" idevice_id -l 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  sleep 0.2
  s0=$(cpu_s "$sim_pid") t0=$(cpu_s "$tetherd_pid")
  rate=$("$tool" tcp "$port" "$bytes" | rate_of)
  s1=$(cpu_s "$sim_pid") t1=$(cpu_s "$tetherd_pid")
  kill "$iproxy_pid" "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true
  python3 -c "import sys; print(sys.argv[1], float(sys.argv[3]) - float(sys.argv[2]), float(sys.argv[5]) - float(sys.argv[4]))" "$rate" "$s0" "$s1" "$t0" "$t1"
}

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"; }
row() { printf '%-52s %10s %10s %8s\n' "$1" "$2" "$3" "$4"; }

echo "USB 2 against USB 3 on the virtual phone, $mb MB from the phone's source app, one run"
row "" "high" "super" "super/high"
th=$(transport high) ts=$(transport super)
row "transport alone, bus-limited (MB/s)" "$th" "$ts" "$(ratio "$ts" "$th")"
read -r dh sh_cpu dh_cpu <<<"$(through_tetherd high)"
read -r ds ss_cpu ds_cpu <<<"$(through_tetherd super)"
row "tetherd + iproxy (MB/s)" "$dh" "$ds" "$(ratio "$ds" "$dh")"
row "  phone emulation CPU per MB (ms)" "$(python3 -c "print(f'{1000*$sh_cpu/$mb:.1f}')")" \
  "$(python3 -c "print(f'{1000*$ss_cpu/$mb:.1f}')")" ""
row "  tetherd CPU per MB (ms)" "$(python3 -c "print(f'{1000*$dh_cpu/$mb:.2f}')")" \
  "$(python3 -c "print(f'{1000*$ds_cpu/$mb:.2f}')")" ""
uh=$(transport high 0) us=$(transport super 0)
row "transport alone, no bus limit: the emulation (MB/s)" "$uh" "$us" "$(ratio "$us" "$uh")"
if [ -n "$relay" ]; then
  r=$("$relay" --mb "$mb" | sed -nE 's/^tetherd relay, from phone +([0-9.]+) MB\/s.*/\1/p')
  row "tetherd's relay without USB, from phone (MB/s)" "$r" "$r" ""
fi
if [ -n "$camera" ]; then
  lv() {
    python3 "$here/liveview_figures.py" "$sim" "$tetherd" "$camera" --speed "$1" --seconds 5 \
      --ceiling-only --no-goals | sed -nE 's/^1\. ceiling.*: ([0-9.]+) fps received.*/\1/p'
  }
  lh=$(lv high) ls=$(lv super)
  row "live view 1920x1080 ceiling (fps)" "$lh" "$ls" "$(ratio "$ls" "$lh")"
fi
echo "the phone emulation is one process: at ~1 CPU-second per second it is the limit,"
echo "not the bus (900 MB/s) and not tetherd (its CPU per MB above; its relay row)"

if [ "${TETHER_BENCH_CHECK:-0}" = 1 ]; then
  best_t=$ts best_d=$ds
  for _ in 1 2; do
    t=$(transport super); read -r d _ _ <<<"$(through_tetherd super)"
    best_t=$(python3 -c "print(max($best_t, $t))") best_d=$(python3 -c "print(max($best_d, $d))")
  done
  r=$(ratio "$best_d" "$best_t")
  echo "check: at super speed tetherd + iproxy carries $best_d MB/s, the transport alone $best_t: $r (bound 0.70)"
  python3 -c "import sys; sys.exit(0 if $best_d >= 0.7 * $best_t else 1)" ||
    { echo "FAILED: tetherd carries under 70% of what the transport carries at super speed"; exit 1; }
fi
