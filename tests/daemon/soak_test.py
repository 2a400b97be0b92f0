#!/usr/bin/env python3
"""Soak: many connect / transfer / close cycles and replugs with connections open,
against the real tetherd on two virtual iPhones.

    soak_test.py PATH/TO/tether-sim PATH/TO/tetherd [--cycles N] [--replugs N] [--streams N]
                 [--max-message BYTES]

The run is split in rounds, one per replug. Each round:
  1. `streams` threads do cycles on both phones: Connect to the echo app, send a random
     message of 1 byte to --max-message (64 KiB), read it back byte for byte, close;
  2. phone 1 is unplugged while connections to it are open (an echo with data in
     flight, the source app streaming unread, the sink being written, an idle echo)
     and while one thread keeps cycling on phone 1 and one on phone 2: every phone-1
     connection must end (EOF or reset) within 10 s, the phone-2 cycles must all
     succeed; then phone 1 is plugged back in and must be listed again;
  3. tetherd's VmRSS is sampled.
Afterwards: a Listen client (reading all along) saw every Attached/Detached (its view
matches ListDevices), ListListeners answers, echo works on both phones, tetherd holds
no client socket once ours are closed, VmRSS did not grow beyond a small bound after
the first round (normal build; under ASan the quarantine makes RSS meaningless and
LeakSanitizer at exit is the check), and SIGTERM gives exit 0 with no sanitizer report.
"""

import argparse
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tetherd_harness import (Client, Listener, Tetherd, TestFailure, check, connect,  # noqa: E402
                             echo_round_trip, is_closed, list_devices)

RSS_GROWTH_BOUND_KB = 4 * 1024
CLOSE_TIMEOUT = 10


class Worker(threading.Thread):
    """Echo cycles until `count` are done or `stop` is set. `lenient`: the phone may
    vanish, so a refused or cut-off cycle is fine; a hang (20 s socket timeout) or
    wrong bytes never are."""

    def __init__(self, path, device_ids, count, seed, max_message, stop=None, lenient=False):
        super().__init__(daemon=True)
        self.path, self.device_ids, self.count = path, device_ids, count
        self.max_message = max_message
        self.rng = random.Random(seed)
        self.stop_event, self.lenient = stop, lenient
        self.done = self.cut = 0
        self.bytes = 0
        self.error = None
        self.start()

    def run(self):
        try:
            while self.done < self.count and not (self.stop_event and self.stop_event.is_set()):
                dev = self.device_ids[(self.done + self.cut) % len(self.device_ids)]
                data = self.rng.randbytes(self.rng.randint(1, self.max_message))
                try:
                    s = connect(self.path, dev, 2345)
                except ConnectionError as e:
                    if self.lenient:  # Result 2: the phone is gone (and its id with it)
                        self.cut += 1
                        time.sleep(0.01)
                        continue
                    raise TestFailure(f"connect: {e}")
                try:
                    echo_round_trip(s, data)
                    self.done += 1
                    self.bytes += len(data)
                except (TestFailure, ConnectionError) as e:
                    # Cut off by the unplug: EOF or reset. A stall or wrong bytes: never.
                    if not self.lenient or not (isinstance(e, ConnectionError) or
                                                "connection closed after" in str(e)):
                        raise
                    self.cut += 1
                finally:
                    s.close()
        except Exception as e:  # noqa: BLE001 - any error, not only the expected kinds,
            # must reach the main thread: a thread that dies silently is a lost check.
            self.error = f"{type(e).__name__}: {e} (after {self.done} cycles)"

    def result(self, timeout=120):
        self.join(timeout)
        check(not self.is_alive(), "an echo worker hung")
        check(self.error is None, f"echo worker: {self.error}")
        # A worker with a count and no stop must have done every cycle it was given.
        check(self.stop_event is not None or self.done == self.count,
              f"an echo worker did {self.done} of its {self.count} cycles")
        return self.done


def held_connections(path, dev):
    """Connections to phone `dev` left open across its unplug, each in another state."""
    held = []
    echo = connect(path, dev, 2345)
    echo.sendall(os.urandom(200_000))  # in flight; never read back
    held.append(("echo with data in flight", echo))
    held.append(("source streaming, unread", connect(path, dev, 2346)))
    sink = connect(path, dev, 2347)
    sink.setblocking(False)
    try:
        for _ in range(64):
            sink.send(b"s" * 65536)
    except BlockingIOError:
        pass
    sink.setblocking(True)
    sink.settimeout(CLOSE_TIMEOUT)
    held.append(("sink being written", sink))
    held.append(("idle echo", connect(path, dev, 2345)))
    return held


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sim")
    p.add_argument("tetherd")
    p.add_argument("--cycles", type=int, default=2000)
    p.add_argument("--replugs", type=int, default=8)
    p.add_argument("--streams", type=int, default=4)
    # The short soak in the default suite sends smaller messages: it is about cycles and
    # replugs, and bulk volume is the emulation's slowest path (a starved CI machine
    # took 175 s for 4000 cycles of up to 64 KiB).
    p.add_argument("--max-message", type=int, default=65536)
    args = p.parse_args()
    rounds = max(1, args.replugs)
    per_round = max(args.streams, args.cycles // rounds)
    begin = time.monotonic()
    d = Tetherd(args.sim, args.tetherd, phones=2)
    ok = False
    try:
        sanitized = d.sanitized()
        listener = Listener(d.path)
        cycles = cut = transferred = 0
        rss = []
        slowest_close = 0.0
        cycle_time = replug_time = 0.0
        for r in range(rounds):
            ids = [d.device_id(1), d.device_id(2)]
            start = time.monotonic()
            workers = [Worker(d.path, ids, per_round // args.streams, seed=r * 100 + i,
                              max_message=args.max_message)
                       for i in range(args.streams)]
            for w in workers:
                cycles += w.result()
                transferred += w.bytes
            cycle_time += time.monotonic() - start

            start = time.monotonic()
            held = held_connections(d.path, ids[0])
            stop = threading.Event()
            chaos = Worker(d.path, [ids[0]], 1 << 30, seed=r * 100 + 50,
                           max_message=args.max_message, stop=stop, lenient=True)
            steady = Worker(d.path, [ids[1]], 1 << 30, seed=r * 100 + 51,
                            max_message=args.max_message, stop=stop)
            wait_for = time.monotonic() + 30
            while chaos.done + chaos.cut < 2 and time.monotonic() < wait_for:
                time.sleep(0.01)  # the chaos worker is mid-cycle when the phone goes
            check(chaos.done + chaos.cut >= 2 or chaos.error,
                  f"round {r + 1}: the cycling thread on phone 1 made no progress in 30 s")
            unplugged = time.monotonic()
            d.control("unplug 1")
            for what, s in held:
                left = CLOSE_TIMEOUT - (time.monotonic() - unplugged)
                check(is_closed(s, max(left, 0)),
                      f"round {r + 1}: '{what}' still open {CLOSE_TIMEOUT} s after the unplug")
                s.close()
            slowest_close = max(slowest_close, time.monotonic() - unplugged)
            d.control("plug 1")
            d.device_id(1)
            stop.set()
            chaos.result()
            steady_done = steady.result()
            check(steady_done > 0, f"round {r + 1}: no echo cycle on phone 2 during the replug")
            cycles += chaos.done + steady_done
            cut += chaos.cut
            transferred += chaos.bytes + steady.bytes
            replug_time += time.monotonic() - start
            listener.healthy()
            rss.append(d.rss_kb())
            if (r + 1) % max(1, rounds // 10) == 0 or r == rounds - 1:
                print(f"round {r + 1}/{rounds}: {cycles} cycles, VmRSS {rss[-1]} kB, "
                      f"{time.monotonic() - begin:.1f} s")
                sys.stdout.flush()

        wanted = rounds * (per_round // args.streams) * args.streams
        check(cycles >= wanted, f"{cycles} echo cycles ran, {wanted} were asked for")
        check(len(list_devices(d.path)) == 2, "both phones listed at the end")
        deadline = time.monotonic() + 30
        while listener.view() != list_devices(d.path):
            check(time.monotonic() < deadline,
                  f"the listener's view {listener.view()} differs from ListDevices")
            time.sleep(0.02)
        asker = Client(d.path)
        names = [e["ProgName"] for e in asker.request({"MessageType": "ListListeners"})["ListenerList"]]
        check(names == ["tether-robustness-listener"], f"ListListeners: {names}")
        asker.close()
        for phone in (1, 2):
            s = connect(d.path, d.device_id(phone), 2345)
            echo_round_trip(s, os.urandom(1 << 20))
            s.close()
        listener.close()
        d.wait_no_clients()

        growth = max(rss[1:] or rss) - rss[0]
        if sanitized:
            rss_line = f"VmRSS {rss[0]} -> {rss[-1]} kB (ASan build: quarantine, bound not applied)"
        else:
            check(growth < RSS_GROWTH_BOUND_KB,
                  f"VmRSS grew {growth} kB after the first round: {rss}")
            rss_line = f"VmRSS after round 1 {rss[0]} kB, max later {rss[0] + growth} kB"
        d.stop()
        ok = True
        total = time.monotonic() - begin
        print(f"ok: soak: {cycles} echo cycles ({transferred / 1e6:.0f} MB each way, "
              f"{cycle_time:.1f} s in the cycle phases, {args.streams} streams), "
              f"{rounds} unplugs with {len(held)} connections open + a cycling thread "
              f"({cut} of its cycles cut off; slowest close after unplug {slowest_close:.2f} s; "
              f"{replug_time:.1f} s in the replug phases); {rss_line}; "
              f"no stuck socket; SIGTERM clean; {total:.1f} s in all")
    except TestFailure as e:
        print(f"FAILED: {e}")
    finally:
        d.cleanup(keep_log=not ok)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
