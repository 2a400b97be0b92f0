#!/usr/bin/env bash
# Bytes per second from the virtual phone's source app, through tether's transport and
# through the reference usbmuxd (Debian 1.1.1, with iproxy in front, as apps use it),
# on the same virtual phone in one run: at 20 and 40 MB/s links and unthrottled. tether is
# also measured with 1, 3 and 8 IN transfers in flight. Needs root (usbmuxd's /run).
#
#   compare_with_reference.sh TETHER_SIM SOURCE_THROUGHPUT [MEGABYTES] [TETHERD]
#
# With TETHERD, tetherd + iproxy is measured too: the same path a client takes
# through the reference, so that pair of rows compares like with like.
#
# TETHER_BENCH_CHECK=1 (ctest's smoke run, with TETHERD): after the table, tetherd's rate
# is checked against the transport alone, on the same 20 MB/s link, in interleaved rounds
# (transport, tetherd, transport, tetherd, ...), best of each: tetherd + iproxy must carry
# >= 70% of what the transport carries. 20 MB/s is under the emulation's ceiling on a
# loaded 2-core machine (about 30 MB/s for either path), so both are held by the link and
# the load falls on both; a relay that delivers half fails (exit 1). Two rounds, up to
# six while tetherd is under the bound or the transport under 85% of the link; a machine
# so loaded that the transport never reaches 85% is not judged (said so; exit 0).
# The reference's rate is printed beside it, not required: at 20 MB/s it runs at the link
# on a quiet machine and collapses to its 30 ms ACK timer on a loaded one.
set -euo pipefail
sim=$1 tool=$2 mb=${3:-32} tetherd=${4:-}
bytes=$((mb * 1000000))
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
dir=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$dir"' EXIT

rate_of() { sed -E 's/.* = ([0-9.]+) MB\/s/\1/'; }

daemon() {  # daemon RATE [TETHERD] -> prints the tool's line, through the daemon and iproxy
  local rate=$1 port
  rm -rf "$dir/run"; mkdir "$dir/run"
  if [ -n "${2:-}" ]; then
    "$sim" --rate "$rate" --source-bytes $((bytes * 2)) -- "$2" -f --pidfile "$dir/run/tetherd.pid" --socket "$dir/run/usbmuxd" --config-dir "$dir/lockdown" --state-dir "$dir/run" \
      >"$dir/usbmuxd.log" 2>&1 &
  else
    unshare -m sh -c "mount --bind '$dir/run' /run && exec '$sim' --rate $rate --source-bytes $((bytes * 2)) \
      -- usbmuxd -f -p" >"$dir/usbmuxd.log" 2>&1 &
  fi
  local sim_pid=$!
  for _ in $(seq 50); do [ -S "$dir/run/usbmuxd" ] && break; sleep 0.1; done
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  USBMUXD_SOCKET_ADDRESS="UNIX:$dir/run/usbmuxd" iproxy "$port:2346" >/dev/null 2>&1 &
  local iproxy_pid=$!
  for _ in $(seq 50); do
    USBMUXD_SOCKET_ADDRESS="UNIX:$dir/run/usbmuxd" idevice_id -l 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  sleep 0.2
  "$tool" tcp "$port" "$bytes"
  kill "$iproxy_pid" "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true
}
reference() { daemon "$1"; }

tether() {  # tether RATE IN_TRANSFERS
  "$sim" --rate "$1" --source-bytes $((bytes * 2)) -- "$tool" tether "$bytes" "$2"
}

printf '%-10s %-30s %10s\n' "link" "path" "MB/s"
for rate in 20 40 0; do
  label=$([ "$rate" = 0 ] && echo unlimited || echo "${rate} MB/s")
  ref=$(reference "$rate" | rate_of)
  printf '%-10s %-30s %10s\n' "$label" "reference usbmuxd + iproxy" "$ref"
  if [ -n "$tetherd" ]; then
    t=$(daemon "$rate" "$tetherd" | rate_of)
    ratio=$(python3 -c "print(f'{$t/$ref:.2f}x reference' + ('' if $rate == 0 else f', {100*$t/$rate:.0f}% of the link'))")
    printf '%-10s %-30s %10s   %s\n' "$label" "tetherd + iproxy" "$t" "$ratio"
  fi
  for n in 1 3 8; do
    t=$(tether "$rate" "$n" | rate_of)
    ratio=$(python3 -c "print(f'{$t/$ref:.2f}x reference' + ('' if $rate == 0 else f', {100*$t/$rate:.0f}% of the link'))")
    printf '%-10s %-30s %10s   %s\n' "$label" "tether transport, $n IN" "$t" "$ratio"
  done
done

if [ "${TETHER_BENCH_CHECK:-0}" = 1 ] && [ -n "$tetherd" ]; then
  min_ratio=0.70 best_t=0 best_d=0 runs_t='' runs_d='' rounds=0 verdict=''
  py() { python3 -c "$1"; }
  for rounds in 1 2 3 4 5 6; do
    t=$(tether 20 3 | rate_of); runs_t+=" $t"; best_t=$(py "print(max($best_t, $t))")
    d=$(daemon 20 "$tetherd" | rate_of); runs_d+=" $d"; best_d=$(py "print(max($best_d, $d))")
    # Two rounds at least; more only while the machine is too loaded for the transport
    # to carry 85% of the link, or while tetherd is under the bound.
    if [ "$rounds" -ge 2 ] && py "import sys; sys.exit(0 if $best_t >= 17 and $best_d >= $min_ratio * $best_t else 1)"; then
      break
    fi
  done
  ref20=$(reference 20 | rate_of)
  echo
  echo "check at 20 MB/s, interleaved, best of $rounds: transport alone${runs_t} MB/s;" \
    "tetherd + iproxy${runs_d} MB/s; reference usbmuxd + iproxy $ref20 MB/s"
  if py "import sys; sys.exit(0 if $best_t >= 17 else 1)"; then
    if py "import sys; sys.exit(0 if $best_d >= $min_ratio * $best_t else 1)"; then verdict=met; else verdict=MISSED; fi
  else
    verdict="not judged: the machine was too loaded (the transport alone never reached 85% of the link)"
  fi
  py "print(f'tetherd {$best_d} MB/s = {$best_d/max($best_t, 1e-3):.2f} of the transport alone ({$best_t} MB/s),'
           f' {100*$best_d/20:.0f}% of the link, {$best_d/max($ref20, 1e-3):.2f}x the reference;'
           f' bound {$min_ratio:.2f} of the transport: $verdict')"
  # Not judged is said, and passes: a starved machine is no broken install, and CI fails
  # on skips (scripts/test). The line above says which it was.
  [ "$verdict" != MISSED ] || exit 1
fi
