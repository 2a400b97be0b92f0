#!/usr/bin/env python3
"""The virtual phone's device-side behaviour against the one host that tether did not
write: Debian's usbmuxd 1.1.1. Most suites drive the phone with tether's own engine, so
a misreading shared by both ends would pass them; here the host is independent.

Checked, with real outcomes (bytes compared, counts read from the phone, the refusal
seen by the client):
  * flow control: megabytes each way through the phone's 131072-byte window, which the
    host must respect and the phone must reopen, and the host's window for the phone;
  * ZLPs: usbmuxd sends full 49152-byte packets and ends each with a zero-length
    transfer; the phone (which reads as a device controller does, see
    phone/bulk_out_reads.hpp) must take every one whole, at 512 and 1024-byte
    bulk packets;
  * RST: a closed port is refused (Connect answers 3); an app that ends mid-stream and
    apps reset by the phone end the client's stream after the bytes sent;
  * stale packets: data from the phone on a connection the host does not have draws
    the host's RST, and the phone and host carry on.

    reference_phone_test.py PATH/TO/tether-sim

Needs root (usbmuxd hard-codes /run, so it runs in a private mount namespace) and
usbmuxd; exits 77 (skipped) without them.
"""
import os
import shutil
import socket
import sys
import threading
import time

if os.geteuid() != 0:
    print("skipped: the reference usbmuxd needs root for a private mount namespace")
    sys.exit(77)
if shutil.which("usbmuxd") is None:
    print("skipped: usbmuxd (Debian's reference daemon) is not installed")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muxclient as mc  # noqa: E402
from daemons import Checks, Daemon, free_port, wait_for  # noqa: E402

SIM = sys.argv[1]
SOURCE_BYTES = 3_000_000
check = Checks()


class Failed(Exception):
    pass


def expect(cond, what):
    """An explicit check that survives python -O."""
    if not cond:
        raise Failed(what)


def recv_some(sock, n, what):
    """Up to n bytes; a silent socket (10 s) fails with `what` in words."""
    try:
        return sock.recv(n)
    except socket.timeout:
        raise Failed(f"{what}: nothing arrived for 10 s") from None


def pattern(offset, n):
    """The source app's bytes at `offset` (phone/phone_apps.hpp source_pattern)."""
    return bytes(((i * 131 + (i >> 8)) & 0xFF) for i in range(offset, offset + n))


def stats(daemon, phone=1):
    """The phone's `stats` line as numbers by name."""
    reply = daemon.sim(f"stats {phone}")
    values = {}
    for pair in reply.split():
        name, eq, value = pair.partition("=")
        if eq:
            values[name] = int(value)
    expect("packets_on_boundary" in values, f"stats: {reply}")
    return values


def echo_through(daemon, n, seconds=30):
    """n random bytes to the echo app and back, the client writing and reading at
    once; returns what came back."""
    data = os.urandom(n)
    sock = mc.open_stream(daemon.sock, daemon.devices()[0]["DeviceID"], 2345)
    sock.settimeout(10)
    failure = []

    def writer():
        try:
            sock.sendall(data)
        except OSError as e:
            failure.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = bytearray()
    end = time.monotonic() + seconds
    while len(got) < n:
        expect(time.monotonic() < end, f"echo: {len(got)} of {n} bytes back after {seconds} s")
        chunk = recv_some(sock, 1 << 20, f"echo: after {len(got)} of {n} bytes back")
        expect(chunk, f"echo: the stream ended after {len(got)} of {n} bytes")
        got += chunk
    t.join(10)
    expect(not t.is_alive(), "echo: the writer was still blocked 10 s after all came back")
    sock.close()
    expect(not failure, f"echo: writing failed: {failure}")
    expect(bytes(got) == data, f"echo: {n} bytes came back, but not the ones sent")
    return got


def read_until_eof(sock, seconds, limit):
    got = bytearray()
    end = time.monotonic() + seconds
    while True:
        expect(time.monotonic() < end, f"no end of stream within {seconds} s ({len(got)} bytes)")
        chunk = recv_some(sock, 1 << 16, f"waiting for the end of the stream after {len(got)} bytes")
        if not chunk:
            return got
        got += chunk
        expect(len(got) <= limit, f"more than {limit} bytes arrived")


def full_packets_arrive_whole(daemon, label):
    before = stats(daemon)
    t0 = time.monotonic()
    echo_through(daemon, 8_000_000)
    took = time.monotonic() - t0
    after = stats(daemon)
    boundary = after["packets_on_boundary"] - before["packets_on_boundary"]
    print(f"  {label}: 8 MB echoed in {took:.2f} s; phone took "
          f"{after['packets'] - before['packets']} packets, {boundary} of them on a "
          f"packet boundary (ended by usbmuxd's ZLP), largest {after['largest_packet']}")
    # 8 MB in usbmuxd's packets of at most 49116 payload bytes: at least 163 packets;
    # a client writing flat out fills most of them.
    expect(boundary >= 20, f"only {boundary} packets on a packet boundary: {after}")
    expect(after["largest_packet"] == 49152, f"largest packet {after['largest_packet']}")
    expect(after["too_large"] == before["too_large"], f"reads refused as too large: {after}")
    expect(after["mismatched"] == before["mismatched"], f"reads that were not one packet: {after}")
    expect(after["window_violations"] == 0, f"usbmuxd overran the phone's window: {after}")


# --- one phone at 512-byte bulk packets, with a local app server -------------------------
APP_PORT = free_port()
CUT_AFTER = 200_000


def cutting_app_server():
    """Plays an iOS app that writes CUT_AFTER bytes of the source pattern, then drops
    its socket with SO_LINGER 0 (a reset, as a killed app does)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", APP_PORT))
    srv.listen()

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.sendall(pattern(0, CUT_AFTER))
            time.sleep(0.2)  # let the relay pass it all on before the reset
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            c.close()

    threading.Thread(target=loop, daemon=True).start()
    return srv


server = cutting_app_server()
d = Daemon(SIM, None, "reference-high", sim_extra=[
    "--source-bytes", str(SOURCE_BYTES), "--app", f"5000=127.0.0.1:{APP_PORT}"])
device_id = d.devices()[0]["DeviceID"]

check("ZLP: usbmuxd's full 49152-byte packets reach the phone whole (512-byte packets)",
      lambda: full_packets_arrive_whole(d, "high speed"))


def window_both_ways():
    # Host to phone: 8 MB echoed above already crossed the phone's 131072-byte window
    # 60 times; here both directions at once, and the phone's source stream, which
    # only moves as usbmuxd reopens its own window for the phone.
    s = mc.open_stream(d.sock, device_id, 2346)
    s.settimeout(10)
    got = bytearray()
    end = time.monotonic() + 30
    while len(got) < SOURCE_BYTES:
        expect(time.monotonic() < end, f"source: {len(got)} of {SOURCE_BYTES} bytes in 30 s")
        chunk = recv_some(s, 1 << 20, f"source: after {len(got)} of {SOURCE_BYTES} bytes")
        expect(chunk, f"source: the stream ended after {len(got)} bytes")
        got += chunk
    s.close()
    expect(len(got) == SOURCE_BYTES, f"source: {len(got)} bytes, expected {SOURCE_BYTES}")
    expect(bytes(got) == pattern(0, SOURCE_BYTES), "source: the bytes are not the pattern")
    st = stats(d)
    # Had usbmuxd overrun the phone's 131072-byte window, the phone would have reset the
    # stream (and counted it) and the echo above would have come back short.
    expect(st["mismatched"] == 0 and st["too_large"] == 0, f"stats: {st}")
    expect(st["window_violations"] == 0, f"usbmuxd overran the phone's window: {st}")


check(f"flow control: the source app's {SOURCE_BYTES} bytes arrive in order through usbmuxd",
      window_both_ways)


def closed_port_refused():
    c = mc.Client(d.sock)
    n = c.connect(device_id, 9999)
    c.close()
    expect(n == 3, f"Connect to a closed port answered {n}, not 3 (refused)")
    echo_through(d, 1000)


check("RST: a closed port is refused (Connect answers 3) and the phone carries on",
      closed_port_refused)


def app_cut_mid_stream():
    s = mc.open_stream(d.sock, device_id, 5000)
    s.settimeout(10)
    got = read_until_eof(s, 10, CUT_AFTER)
    s.close()
    expect(len(got) == CUT_AFTER, f"{len(got)} bytes before the end, expected {CUT_AFTER}")
    expect(bytes(got) == pattern(0, CUT_AFTER), "the bytes before the reset are not the app's")


check("RST: an app that resets mid-stream ends the client's stream after all its bytes",
      app_cut_mid_stream)


def phone_resets_mid_stream():
    s = mc.open_stream(d.sock, device_id, 2346)
    s.settimeout(10)
    first = bytearray()
    while len(first) < 100_000:
        chunk = recv_some(s, 100_000 - len(first), f"source: after {len(first)} bytes")
        expect(chunk, f"source: the stream ended after {len(first)} bytes")
        first += chunk
    expect(d.sim("reset 1").endswith("ok"), "reset command failed")
    rest = read_until_eof(s, 10, SOURCE_BYTES)
    s.close()
    got = bytes(first + rest)
    expect(len(got) < SOURCE_BYTES, "the whole stream arrived: the reset came too late")
    expect(got == pattern(0, len(got)), "the bytes before the reset are not the source's")
    wait_for(lambda: stats(d)["connections"] == 0, 5, "the phone to drop its connections")
    echo_through(d, 100_000)
    print(f"  {len(got)} of {SOURCE_BYTES} bytes, then the end of the stream")


check("RST: apps reset by the phone mid-stream end the client's stream; the phone carries on",
      phone_resets_mid_stream)


def stale_packet_draws_rst():
    before = stats(d)
    expect(d.sim("stale 1").endswith("ok"), "stale command failed")
    wait_for(lambda: stats(d)["packets_ignored"] > before["packets_ignored"], 5,
             "usbmuxd's RST for the stale packet to reach the phone")
    expect(len(d.devices()) == 1, "usbmuxd dropped the phone over a stale packet")
    echo_through(d, 100_000)


check("stale packet: data on a connection the host lacks draws usbmuxd's RST; both carry on",
      stale_packet_draws_rst)

d.stop()
server.close()

# --- USB 3: 1024-byte bulk packets --------------------------------------------------------
d = Daemon(SIM, None, "reference-super", sim_extra=["--speed", "super"])
check("ZLP: usbmuxd's full 49152-byte packets reach the phone whole (1024-byte packets)",
      lambda: full_packets_arrive_whole(d, "SuperSpeed"))
d.stop()

check.finish("reference_phone_test")
