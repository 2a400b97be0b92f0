"""A controller of tether's camera protocol (proto/camera/messages.hpp) in Python, for
the tests: PeerTalk frames, binary plist control messages, live-view frames and image
chunks. Standard library only."""
import plistlib
import queue
import socket
import struct
import threading
import time
import sys

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

HELLO, GET_PROPERTIES, PROPERTIES, SET_PROPERTY, PROPERTY_SET = 100, 101, 102, 103, 104
CAPTURE, AUTOFOCUS, FOCUS_STEP, START_LIVE_VIEW, STOP_LIVE_VIEW = 105, 106, 107, 108, 109
DOWNLOAD, OK, ERROR, LIVE_VIEW_ACK = 110, 111, 112, 113
PROPERTY_CHANGED, CAPTURE_DONE, CAMERA_ATTACHED, CAMERA_LOST, LIVE_VIEW_STATS = 120, 121, 122, 123, 124
LIVE_VIEW_FRAME, IMAGE_CHUNK = 130, 131


class Channel:
    """One camera-protocol connection (either end: the phone app accepts, a local
    controller connects)."""

    def __init__(self, sock, read_size=1 << 20):
        self.sock = sock
        self.buf = b""
        self.next_tag = 1
        self.read_size = read_size  # small: read a frame at a time, like PeerTalk

    def send(self, ftype, body=None, tag=0):
        payload = plistlib.dumps(body or {}, fmt=plistlib.FMT_BINARY)
        self.sock.sendall(struct.pack(">IIII", 1, ftype, tag, len(payload)) + payload)

    def request(self, ftype, body=None):
        tag = self.next_tag
        self.next_tag += 1
        self.send(ftype, body, tag)
        return tag

    def recv_frame(self):
        """(type, tag, message) where message is a dict for plist frames, or a dict with
        the binary fields for live-view frames and image chunks. None at EOF."""
        while True:
            if len(self.buf) >= 16:
                version, ftype, tag, size = struct.unpack(">IIII", self.buf[:16])
                assert version == 1, f"PeerTalk version {version}"
                if len(self.buf) >= 16 + size:
                    p = self.buf[16:16 + size]
                    self.buf = self.buf[16 + size:]
                    return ftype, tag, decode(ftype, p)
            want = self.read_size
            if len(self.buf) >= 16:
                want = min(want, 16 + struct.unpack(">I", self.buf[12:16])[0] - len(self.buf))
            chunk = self.sock.recv(max(want, 1))
            if not chunk:
                return None
            self.buf += chunk

    def wait_for(self, want_type=None, want_tag=None, keep=None, timeout=None):
        """Frames until one of `want_type` (or with `want_tag`); others go to keep(f).
        `timeout`: seconds in all (the socket's own timeout bounds each read only, and
        other frames, such as live-view stats every second, keep it from firing)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            if end is not None and time.monotonic() > end:
                raise AssertionError(f"no frame of type {want_type} (tag {want_tag}) "
                                     f"within {timeout} s")
            f = self.recv_frame()
            assert f is not None, "connection closed"
            if (want_type is None or f[0] == want_type) and (want_tag is None or f[1] == want_tag):
                return f
            if keep:
                keep(f)


def decode(ftype, p):
    if ftype == LIVE_VIEW_FRAME:
        seq, ts, w, h = struct.unpack(">IQHH", p[:16])
        return {"sequence": seq, "timestamp_us": ts, "width": w, "height": h, "jpeg": p[16:]}
    if ftype == IMAGE_CHUNK:
        tid, off, total = struct.unpack(">IQQ", p[:20])
        return {"transfer_id": tid, "offset": off, "total": total, "data": p[20:]}
    return plistlib.loads(p) if p else {}


def hello(name):
    return {"Version": 1, "Role": "controller", "Name": name, "Capabilities": ["live_view"]}


class PhoneApp:
    """The iOS app's side: listens (or not), and hands each connection over."""

    def __init__(self, port):
        self.port = port
        self.srv = None
        self.conns = queue.Queue()

    def start(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen()
        srv = self.srv

        def loop():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                self.conns.put((c, time.monotonic()))

        threading.Thread(target=loop, daemon=True).start()

    def stop(self):
        """The app quits: no more listening."""
        if self.srv:
            self.srv.shutdown(socket.SHUT_RDWR)
            self.srv.close()
            self.srv = None

    def accept(self, timeout):
        c, when = self.conns.get(timeout=timeout)
        c.settimeout(10)
        return Channel(c), when
