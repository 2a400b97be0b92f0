"""A small usbmuxd-protocol client for tests: plist and binary requests, events, and
Connect, against tetherd or the reference usbmuxd. Standard library only."""
import plistlib
import socket
import struct
import sys

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

HEADER = struct.Struct("<IIII")  # length, version, message, tag


def dial(address):
    """address: a unix socket path, or (host, port)."""
    if isinstance(address, tuple):
        s = socket.create_connection(address, timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(address)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"socket closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


class Client:
    def __init__(self, address, prog="tether-test"):
        self.sock = dial(address)
        self.prog = prog
        self.tag = 0

    def close(self):
        self.sock.close()

    def send_plist(self, msg, tag=None):
        if tag is None:
            self.tag += 1
            tag = self.tag
        body = plistlib.dumps({"ProgName": self.prog, "ClientVersionString": "test", **msg})
        self.sock.sendall(HEADER.pack(16 + len(body), 1, 8, tag) + body)
        return tag

    def send_binary(self, message, body=b"", tag=None):
        if tag is None:
            self.tag += 1
            tag = self.tag
        self.sock.sendall(HEADER.pack(16 + len(body), 0, message, tag) + body)
        return tag

    def recv(self):
        """One message: (version, message, tag, body); plist bodies come decoded."""
        length, version, message, tag = HEADER.unpack(recv_exact(self.sock, 16))
        body = recv_exact(self.sock, length - 16)
        if version == 1:
            body = plistlib.loads(body)
        return version, message, tag, body

    def request(self, msg):
        tag = self.send_plist(msg)
        version, _, rtag, body = self.recv()
        assert rtag == tag, f"reply tag {rtag} for request {tag}"
        return body

    def devices(self):
        return self.request({"MessageType": "ListDevices"})["DeviceList"]

    def connect(self, device_id, port):
        """Connect; returns the Result number (0: the socket is now the phone's port)."""
        swapped = ((port & 0xFF) << 8) | (port >> 8)
        reply = self.request({"MessageType": "Connect", "DeviceID": device_id,
                              "PortNumber": swapped})
        return reply["Number"]


def devices(address):
    c = Client(address)
    try:
        return c.devices()
    finally:
        c.close()


def request(address, msg):
    c = Client(address)
    try:
        return c.request(msg)
    finally:
        c.close()


def open_stream(address, device_id, port):
    """A socket joined to the phone's port, or raises with the Result number."""
    c = Client(address)
    n = c.connect(device_id, port)
    if n != 0:
        c.close()
        raise ConnectionRefusedError(f"Connect answered {n}")
    return c.sock
