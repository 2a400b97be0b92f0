#!/usr/bin/env python3
"""Malformed and hostile usbmuxd clients against the real tetherd on virtual iPhones.

    client_abuse_test.py PATH/TO/tether-sim PATH/TO/tetherd

Each case abuses tetherd from its own client socket and expects an error reply, a
silently ignored request or a closed socket *for that client only*. Across all of
them a Listen client (that always reads) and an established echo connection stay open,
and after every case: tetherd is alive, ListDevices answers with every phone, the echo
connection round-trips, and the listener's view of the phones matches ListDevices.
At the end every client is closed, tetherd must hold no client socket, and SIGTERM must
give exit status 0 with no sanitizer report (LeakSanitizer checks for leaks then).

Phone 2 carries the long-lived echo connection; phones 1 and 3 are the ones replugged.

Every case that does not pass fails the test. Bugs this test found and that were fixed:
bytes sent with a Connect were lost, a refused Connect closed the socket, and SIGTERM
with clients connected used the device registry after it was gone.
"""

import fcntl
import os
import plistlib
import random
import select
import socket
import struct
import sys
import termios
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tetherd_harness import (HEADER, PLIST, Client, Listener, Tetherd, TestFailure, check,  # noqa: E402
                             connect, echo_round_trip, is_closed, list_devices, plist_frame,
                             read_message, recv_exact, swap16, wait_until)

RSS_BOUND_KB = 8 * 1024
rng = random.Random(4)


def fionread(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


class Abuse:
    def __init__(self, sim, tetherd):
        self.d = Tetherd(sim, tetherd, phones=3)
        self.path = self.d.path
        self.listener = Listener(self.path)
        self.keeper = connect(self.path, self.d.device_id(2), 2345)
        echo_round_trip(self.keeper, b"first")
        self.sanitized = self.d.sanitized()
        self.rss_note = " (ASan build: RSS bound not applied)" if self.sanitized else ""

    def rss_bounded(self, before, peak, when):
        # Under AddressSanitizer freed memory sits in the quarantine (up to 256 MB), so
        # VmRSS says nothing about leaks there; LeakSanitizer at exit covers that build.
        if not self.sanitized:
            check(peak - before < RSS_BOUND_KB, f"VmRSS grew {peak - before} kB {when}")

    # --- the invariant checked after every case ----------------------------------------
    def everyone_else_fine(self):
        self.d.assert_alive()
        wait_until(lambda: len(list_devices(self.path)) == 3, 60, "ListDevices to list 3 phones")
        echo_round_trip(self.keeper, rng.randbytes(rng.randint(1, 16384)))
        self.listener.healthy()
        wait_until(lambda: self.listener.view() == list_devices(self.path), 30,
                   "the Listen client's events to match ListDevices")

    def still_usable(self, c, after_tag=None):
        """The next reply on `c` answers a fresh ReadBUID; a reply to `after_tag` may come
        first only as an error Result (the abuse was answered, not acted on)."""
        tag = c.send({"MessageType": "ReadBUID"})
        version, message, rtag, body = read_message(c.sock)
        if after_tag is not None and rtag == after_tag:
            ok = (version == 1 and isinstance(body, dict) and body.get("MessageType") == "Result"
                  and body.get("Number", 0) != 0) or (
                  version == 0 and message == 1 and body != b"\0\0\0\0")
            check(ok, f"the bad request was answered with {body!r}")
            version, message, rtag, body = read_message(c.sock)
        check(rtag == tag and isinstance(body, dict) and len(body.get("BUID", "")) == 36,
              f"ReadBUID after the abuse answered tag {rtag}: {body!r}")

    def raw(self, data):
        c = Client(self.path, timeout=20)
        c.sock.sendall(data)
        return c

    def closes(self, data, what):
        c = Client(self.path, timeout=20)
        try:
            c.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            c.close()  # closed while the rest was still being sent: that is the point
            return
        check(is_closed(c.sock, 20), f"tetherd kept a socket open after {what}")
        c.close()

    # --- framing ---------------------------------------------------------------------------
    def garbage(self):
        self.closes(b"GARBAGE!" * 64, "garbage bytes")
        self.closes(bytes(range(256)) * 4, "a byte ramp")
        # 100 random byte strings; each either closes its socket or is answered/ignored.
        closed = 0
        for _ in range(100):
            c = self.raw(rng.randbytes(rng.randint(1, 600)))
            c.sock.shutdown(socket.SHUT_WR)
            closed += is_closed(c.sock, 20)
            c.close()
        check(closed == 100, f"only {closed} of 100 random-garbage sockets were closed")

    def garbage_in_a_valid_frame(self):
        c = Client(self.path)
        body = rng.randbytes(300)
        c.sock.sendall(HEADER.pack(16 + len(body), 1, PLIST, 77) + body)
        self.still_usable(c, 77)
        c.sock.sendall(HEADER.pack(16, 0, 7, 78))  # binary message type 7: BADCOMMAND
        version, message, tag, body = read_message(c.sock)
        check((version, message, tag) == (1, PLIST, 78) and body["Number"] == 1 or
              (version, message, tag, body) == (0, 1, 78, b"\1\0\0\0"),
              f"message type 7 answered {version}/{message}/{tag} {body!r}")
        self.still_usable(c)
        c.close()

    def lengths(self):
        for length in (0, 15, 65537, 0xFFFFFFFF):
            self.closes(HEADER.pack(length, 1, PLIST, 1), f"a length field of {length}")
        self.closes(HEADER.pack(65537, 1, PLIST, 1) + b"x" * 65521, "a 65537-byte message")

    def length_17_with_nothing_after(self):
        c = self.raw(HEADER.pack(17, 1, PLIST, 5))
        # tetherd must wait for the 17th byte without answering, serving everyone else.
        self.everyone_else_fine()
        r, _, _ = select.select([c.sock], [], [], 0.5)
        check(not r, "tetherd answered (or closed) a message it has only 16 of 17 bytes of")
        c.sock.sendall(b"x")  # completes a 1-byte plist body: not a plist, ignored
        self.still_usable(c, 5)
        c.close()
        # ...and one that never sends the rest but goes away.
        c = self.raw(HEADER.pack(17, 1, PLIST, 5))
        c.close()

    def truncated_plist(self):
        body = plistlib.dumps({"MessageType": "ListDevices", "ProgName": "x"})
        for cut in (1, len(body) // 2, len(body) - 12):  # the last cut ends inside </plist>
            c = Client(self.path)
            c.sock.sendall(HEADER.pack(16 + cut, 1, PLIST, 9) + body[:cut])
            self.still_usable(c, 9)
            c.close()
        # A length field promising the whole plist, then the client vanishes.
        c = self.raw(HEADER.pack(16 + len(body), 1, PLIST, 9) + body[:40])
        c.close()

    def not_a_dict(self):
        for value in ([1, 2, 3], "ListDevices", 42, b"bytes"):
            c = Client(self.path)
            body = plistlib.dumps(value)
            c.sock.sendall(HEADER.pack(16 + len(body), 1, PLIST, 11) + body)
            self.still_usable(c, 11)
            c.close()
        c = Client(self.path)
        body = plistlib.dumps({"ProgName": "no-message-type", "DeviceID": 1})
        c.sock.sendall(HEADER.pack(16 + len(body), 1, PLIST, 12) + body)
        self.still_usable(c, 12)
        # A binary plist is not what clients send (usbmuxd parses XML only): either way
        # the socket stays usable.
        body = plistlib.dumps({"MessageType": "ListDevices"}, fmt=plistlib.FMT_BINARY)
        c.sock.sendall(HEADER.pack(16 + len(body), 1, PLIST, 13) + body)
        version, message, tag, reply = read_message(c.sock)
        check(tag == 13 and "DeviceList" in reply or tag == 13 and reply.get("Number", 0) != 0,
              f"binary plist ListDevices answered {reply}")
        self.still_usable(c)
        c.close()

    def wrong_value_types(self):
        dev = self.d.device_id(2)
        c = Client(self.path)
        cases = [
            ({"MessageType": "Connect", "DeviceID": dev, "PortNumber": "2345"}, 1),
            ({"MessageType": "Connect", "DeviceID": dev, "PortNumber": 1 << 40}, 1),
            ({"MessageType": "Connect", "DeviceID": dev}, 1),
            ({"MessageType": "Connect", "DeviceID": str(dev), "PortNumber": swap16(2345)}, 2),
            ({"MessageType": "Connect", "DeviceID": -1, "PortNumber": swap16(2345)}, 2),
            ({"MessageType": "Connect", "PortNumber": swap16(2345)}, 2),
            ({"MessageType": "NoSuchCommand"}, 1),
        ]
        for msg, number in cases:
            reply = c.request(msg)
            check(reply == {"MessageType": "Result", "Number": number},
                  f"{msg} answered {reply}, expected Result {number}")
        for msg in ({"MessageType": 8}, {"MessageType": ["Listen"]},
                    {"MessageType": "ReadPairRecord", "PairRecordID": 5}):
            tag = c.send(msg)
            self.still_usable(c, tag)
        c.close()

    def unknown_version(self):
        c = Client(self.path)
        c.sock.sendall(HEADER.pack(16, 7, PLIST, 21))  # fresh socket: a binary Result
        check(read_message(c.sock) == (0, 1, 21, b"\6\0\0\0"), "BADVERSION on a fresh socket")
        check("DeviceList" in c.request({"MessageType": "ListDevices"}), "ListDevices after it")
        body = plistlib.dumps({"MessageType": "ListDevices"})
        c.sock.sendall(HEADER.pack(16 + len(body), 0xFFFFFFFF, PLIST, 22) + body)
        reply = read_message(c.sock)  # now plist replies; the body is skipped by length
        check(reply == (1, PLIST, 22, {"MessageType": "Result", "Number": 6}),
              f"BADVERSION after a plist request: {reply}")
        self.still_usable(c)
        c.close()

    # --- state machine ---------------------------------------------------------------------
    def commands_after_listen(self):
        for extra in (plist_frame({"MessageType": "ListDevices"}, 3),
                      HEADER.pack(24, 0, 2, 4) + struct.pack("<IHH", 1, swap16(2345), 0),
                      b"junk"):
            c = Client(self.path)
            check(c.request({"MessageType": "Listen"})["Number"] == 0, "Listen")
            c.sock.sendall(extra)
            check(is_closed(c.sock, 20), f"a Listen socket stayed open after {extra[:20]!r}")
            c.close()

    def connect_results(self):
        c = Client(self.path)
        reply = c.request({"MessageType": "Connect", "DeviceID": 999999,
                           "PortNumber": swap16(2345)})
        check(reply == {"MessageType": "Result", "Number": 2}, f"unknown DeviceID: {reply}")
        self.still_usable(c)
        reply = c.request({"MessageType": "Connect", "DeviceID": self.d.device_id(2),
                           "PortNumber": swap16(5999)})
        check(reply == {"MessageType": "Result", "Number": 3}, f"closed port 5999: {reply}")
        c.close()

    def command_after_refused_connect(self):
        c = Client(self.path)
        reply = c.request({"MessageType": "Connect", "DeviceID": self.d.device_id(2),
                           "PortNumber": swap16(5999)})
        check(reply["Number"] == 3, f"closed port 5999: {reply}")
        try:
            self.still_usable(c)
        except (ConnectionError, OSError) as e:
            raise TestFailure(f"the socket was closed after Result 3 ({e})")
        finally:
            c.close()

    def early_data(self, data, phone, before=None):
        """Connect to echo and send `data` before the Result. usbmuxd closes such a
        socket; tetherd answers Result 0 and relays the bytes, every one of them: a
        close before the echo app has sent them all back is a loss, not a pass."""
        c = Client(self.path)
        if before is None:  # one write: tetherd reads the request and the data together
            tag = 1
            c.sock.sendall(plist_frame({"MessageType": "Connect", "DeviceID": self.d.device_id(phone),
                                        "PortNumber": swap16(2345)}, tag) + data)
        else:
            tag = before(c)
            r, _, _ = select.select([c.sock], [], [], 0)
            check(not r, "the Connect result came before the early data could be sent")
            c.sock.sendall(data)
        try:
            version, message, rtag, body = read_message(c.sock)
        except ConnectionError as e:
            c.close()
            raise TestFailure(f"tetherd closed the socket instead of answering ({e})")
        check(rtag == tag and body == {"MessageType": "Result", "Number": 0}, f"Result {body}")
        c.sock.settimeout(5)
        got = b""
        try:
            while len(got) < len(data):
                chunk = c.sock.recv(65536)
                if not chunk:
                    break  # closed early: the check below names the loss
                got += chunk
        except socket.timeout:
            pass  # 5 s without the rest: the check below names the loss
        c.close()
        check(got == data, f"Result 0, then the echo app got {len(got)} of the {len(data)} "
              "bytes sent early: the rest was lost")
        return f"Result 0, then all {len(data)} early bytes were relayed (usbmuxd closes instead)"

    def early_data_delayed(self):
        # Phone 3 answers slowly, so data sent after the request reliably arrives while
        # tetherd is still waiting for the phone's SYN-ACK.
        self.d.control("delay 3 400")
        try:
            def before(c):
                tag = c.send({"MessageType": "Connect", "DeviceID": self.d.device_id(3),
                              "PortNumber": swap16(2345)})
                time.sleep(0.05)  # let tetherd read the request on its own
                return tag
            return self.early_data(b"early bytes, after the request", 3, before)
        finally:
            self.d.control("delay 3 0")

    # --- slow and non-reading clients --------------------------------------------------------
    def slow_loris(self):
        request = plist_frame({"MessageType": "ReadBUID", "ProgName": "loris"}, 31)
        lorises = [Client(self.path) for _ in range(16)]
        quitter = Client(self.path)
        sent = 0
        worst = 0.0
        for second in range(6):  # one byte per second from every loris
            for c in lorises + ([quitter] if second < 3 else []):
                c.sock.sendall(request[sent:sent + 1])
            sent += 1
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline:  # meanwhile everyone else is served
                start = time.monotonic()
                self.everyone_else_fine()
                worst = max(worst, time.monotonic() - start)
            if second == 2:
                quitter.close()
        check(worst < 5, f"a health check took {worst:.1f} s while slow clients were sending")
        for c in lorises:
            c.sock.sendall(request[sent:])
            version, message, tag, body = read_message(c.sock)
            check(tag == 31 and len(body["BUID"]) == 36, f"slow client answered {body}")
            c.close()
        return f"16 clients at 1 byte/s for 6 s; slowest health check {worst * 1000:.0f} ms"

    def listener_that_never_reads(self):
        bad = Client(self.path, prog="never-reads")
        bad.send({"MessageType": "Listen"})
        asker = Client(self.path)
        listed = lambda: [e["ProgName"] for e in  # noqa: E731
                          asker.request({"MessageType": "ListListeners"})["ListenerList"]]
        check("never-reads" in listed(), "the non-reading listener in ListListeners")
        rss0 = peak = self.d.rss_kb()
        replugs = 0
        start = time.monotonic()
        while "never-reads" in listed():
            check(replugs < 20000 and time.monotonic() - start < 300,
                  f"tetherd still queues events for a listener that never reads after "
                  f"{replugs} replugs; VmRSS {rss0} -> {self.d.rss_kb()} kB")
            self.d.control("replug 1\nreplug 3")
            replugs += 2
            if replugs % 10 == 0:
                # Let tetherd take the uevents in: umockdev aborts the sim when its uevent
                # socket fills, which a slow (sanitized) tetherd allows in a tight loop.
                self.d.device_id(1)
                self.d.device_id(3)
            if replugs % 50 == 0:
                peak = max(peak, self.d.rss_kb())
                self.listener.healthy()
        peak = max(peak, self.d.rss_kb())
        asker.close()
        check(is_closed(bad.sock, 20), "the dropped listener's socket is closed")
        bad.close()
        self.rss_bounded(rss0, peak, "during the replugs")
        return (f"dropped after {replugs} replugs ({time.monotonic() - start:.1f} s); "
                f"VmRSS {rss0} -> peak {peak} kB{self.rss_note}")

    def requests_never_read(self):
        """Floods ListDevices requests and never reads a reply. tetherd must stop reading
        the requests (backpressure) rather than queue replies without end or drop the
        client, serve everyone else meanwhile, and answer the flood once it is read."""
        c = Client(self.path, prog="floods")
        request = plist_frame({"MessageType": "ListDevices", "ProgName": "floods"}, 41)
        rss0 = peak = self.d.rss_kb()
        c.sock.setblocking(False)
        pushed, blocked_since, burst = 0, None, request * 256
        while True:
            try:
                pushed += c.sock.send(burst)
                blocked_since = None
            except BlockingIOError:
                if blocked_since is None:
                    blocked_since = time.monotonic()
                elif time.monotonic() - blocked_since > 1:
                    break  # tetherd stopped taking requests: backpressure reached the client
                select.select([], [c.sock], [], 0.2)
            peak = max(peak, self.d.rss_kb())
            check(pushed < 64 << 20, f"tetherd took {pushed >> 20} MiB of requests from a client "
                  f"that reads no replies; VmRSS {rss0} -> {self.d.rss_kb()} kB")
        for _ in range(10):  # held back, not dropped, and everyone else is served
            peak = max(peak, self.d.rss_kb())
            self.everyone_else_fine()
        self.rss_bounded(rss0, peak, "with a client flooding requests")
        check("floods: dropped" not in self.d.log_tail(400) and
              "floods: does not read" not in self.d.log_tail(400),
              "tetherd dropped the client instead of holding it back")
        c.sock.setblocking(True)
        version, message, tag, body = read_message(c.sock)
        check(tag == 41 and "DeviceList" in body, f"the flood's first reply: {tag} {body!r}")
        c.close()
        return (f"held back after {pushed >> 10} KiB of requests ({pushed // len(request)}); "
                f"VmRSS {rss0} -> peak {peak} kB{self.rss_note}")

    def relay_that_never_reads(self):
        dev = self.d.device_id(2)  # the keeper's phone: its echo must keep working
        rss0 = self.d.rss_kb()
        src = connect(self.path, dev, 2346)
        # Wait until the relay is backed up: the bytes waiting in our socket stop growing.
        last = [-1]

        def stalled():
            n = fionread(src)
            done = n == last[0] and n > 0
            last[0] = n
            return done
        wait_until(stalled, 60, "the source stream to back up", interval=0.5)
        peak = rss0
        for _ in range(20):  # 2 s more of a full pipe, and everyone else served
            peak = max(peak, self.d.rss_kb())
            self.everyone_else_fine()
            time.sleep(0.1)
        self.rss_bounded(rss0, peak, "with a stuck reader")
        # The stream resumes intact once read: nothing lost or reordered by backpressure.
        got = recv_exact(src, 4_000_000)
        check(all(b == ((i * 131 + (i >> 8)) & 0xFF) for i, b in enumerate(got)),
              "the source stream was corrupted by the backpressure")
        src.close()
        # An echo client that writes and never reads: both directions back up.
        echo = connect(self.path, dev, 2345)
        echo.setblocking(False)
        pushed = 0
        chunk = b"z" * 65536
        blocked_since = None
        while True:
            try:
                pushed += echo.send(chunk)
                blocked_since = None
            except BlockingIOError:
                if blocked_since is None:
                    blocked_since = time.monotonic()
                elif time.monotonic() - blocked_since > 1:
                    break  # tetherd stopped taking bytes: backpressure reached the client
                select.select([], [echo], [], 0.2)
            check(pushed < 512 << 20, "tetherd took 512 MiB from a client that never reads")
        peak = max(peak, self.d.rss_kb())
        self.everyone_else_fine()
        echo.close()
        self.rss_bounded(rss0, peak, "with stuck readers")
        return (f"source backed up at {last[0]} bytes unread; echo took {pushed >> 10} KiB "
                f"before pushing back; VmRSS {rss0} -> peak {peak} kB{self.rss_note}")

    def finish(self):
        self.keeper.close()
        self.listener.close()
        self.d.wait_no_clients()
        self.d.stop()


def stop_with_clients_open(sim, tetherd):
    d = Tetherd(sim, tetherd, phones=1)
    try:
        listener = Listener(d.path)
        relay = connect(d.path, d.device_id(1), 2345)
        echo_round_trip(relay, b"x" * 1000)
        d.stop()
        check(is_closed(relay, 10), "the relay was closed by tetherd's exit")
        listener.close()
    except TestFailure:
        d.cleanup(keep_log=False)
        raise
    d.cleanup()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sim, tetherd = sys.argv[1:]
    begin = time.monotonic()
    a = Abuse(sim, tetherd)
    failed = 0
    cases = [
        ("garbage bytes close that socket", a.garbage),
        ("garbage inside a valid frame, message type 7", a.garbage_in_a_valid_frame),
        ("length fields 0, 15, 65537, 0xFFFFFFFF", a.lengths),
        ("a length of 17 with nothing after", a.length_17_with_nothing_after),
        ("a truncated plist", a.truncated_plist),
        ("plists that are not a dict, a dict without MessageType", a.not_a_dict),
        ("wrong value types", a.wrong_value_types),
        ("an unknown version in the header: Result 6, the socket stays usable",
         a.unknown_version),
        ("commands on a Listen socket close it", a.commands_after_listen),
        ("Connect to an unknown DeviceID (2) and to a closed port (3)", a.connect_results),
        ("the socket takes another command after a refused Connect",
         a.command_after_refused_connect),
        ("data sent with the Connect request (5 bytes, same write)",
         lambda: a.early_data(b"hello", 2)),
        ("data sent with the Connect request (40 bytes, same write)",
         lambda: a.early_data(b"early data that does not frame a header", 2)),
        ("data sent after the Connect request, before the Result", a.early_data_delayed),
        ("slow-loris clients (one byte a second)", a.slow_loris),
        ("a Listen client that never reads, phones replugged", a.listener_that_never_reads),
        ("a client that floods requests and never reads the replies", a.requests_never_read),
        ("connected clients that never read (source app streaming, echo)",
         a.relay_that_never_reads),
    ]
    try:
        for name, fn in cases:
            start = time.monotonic()
            try:
                note = fn()
                a.everyone_else_fine()
                verdict = "ok"
            except (TestFailure, OSError, ValueError, KeyError, TypeError,
                    plistlib.InvalidFileException) as e:
                a.d.assert_alive()
                verdict = f"{type(e).__name__}: {e}"
                note = None
            took = f"({time.monotonic() - start:.1f} s)"
            if verdict == "ok":
                print(f"ok: {name} {took}{' - ' + note if note else ''}")
            else:
                failed += 1
                print(f"FAILED: {name} {took}: {verdict}")
            sys.stdout.flush()
        a.finish()
        print("ok: every client closed on tetherd's side; SIGTERM: exit 0, no sanitizer report")
    except TestFailure as e:
        failed += 1
        print(f"FAILED: {e}")
    finally:
        a.d.cleanup(keep_log=failed > 0)

    name = "SIGTERM with a Listen client and a relay still connected"
    try:
        stop_with_clients_open(sim, tetherd)
        print(f"ok: {name}")
    except TestFailure as e:
        failed += 1
        print(f"FAILED: {name}: {str(e)[:3000]}")
    print(f"client abuse: {len(cases) + 2 - failed} passed, {failed} failed "
          f"({time.monotonic() - begin:.1f} s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
