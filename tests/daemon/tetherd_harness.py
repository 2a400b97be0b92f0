"""Black-box harness for tetherd on tether-sim's virtual iPhones (standard library only).

Starts `tether-sim --control CTL -- tetherd -f --socket SOCK --config-dir DIR`, speaks the
usbmuxd client protocol to it (16-byte little-endian header; plist bodies) and stops it
with SIGTERM at the end, requiring exit status 0 and no sanitizer report in its log.
Used by client_abuse_test.py and soak_test.py.
"""

import os
import plistlib
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from daemons import sim_control  # noqa: E402

HEADER = struct.Struct("<IIII")  # length, version, message type, tag
PLIST = 8
SANITIZER_REPORT = re.compile(
    r"ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|WARNING: ThreadSanitizer|runtime error:")


class TestFailure(AssertionError):
    pass


def check(condition, what):
    if not condition:
        raise TestFailure(what)


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls a readiness condition (never a fixed sleep) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def swap16(port):
    """The PortNumber quirk: clients put htons(port) into the plist integer."""
    return ((port & 0xFF) << 8) | (port >> 8)


def plist_frame(msg, tag, version=1, message=PLIST):
    body = plistlib.dumps(msg)
    return HEADER.pack(HEADER.size + len(body), version, message, tag) + body


def recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def read_message(sock):
    """One usbmuxd message: (version, message type, tag, body); plist bodies are parsed."""
    length, version, message, tag = HEADER.unpack(recv_exact(sock, HEADER.size))
    check(16 <= length <= 1 << 20, f"daemon sent a message with length field {length}")
    body = recv_exact(sock, length - HEADER.size)
    if version == 1 and message == PLIST:
        body = plistlib.loads(body)
    return version, message, tag, body


def is_closed(sock, timeout):
    """True when the peer closed `sock` (EOF or reset) within `timeout`; data read on the
    way is discarded. False if it is still open."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            if not sock.recv(1 << 16):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True


class Client:
    """One connection to the daemon's socket, speaking plist requests."""

    def __init__(self, path, timeout=20, prog="tether-robustness"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.prog = prog
        self.tag = 0

    def send(self, msg, tag=None):
        if tag is None:
            self.tag += 1
            tag = self.tag
        self.sock.sendall(plist_frame(dict(msg, ProgName=self.prog, ClientVersionString="1"), tag))
        return tag

    def request(self, msg):
        """Sends a request; the next message must be its reply (same tag)."""
        tag = self.send(msg)
        version, message, rtag, body = read_message(self.sock)
        check(rtag == tag, f"reply to {msg.get('MessageType')} has tag {rtag}, expected {tag}")
        check(version == 1 and message == PLIST, f"reply is not a plist: {version}/{message}")
        return body

    def close(self):
        self.sock.close()


def list_devices(path):
    c = Client(path)
    try:
        reply = c.request({"MessageType": "ListDevices"})
    finally:
        c.close()
    check("DeviceList" in reply, f"ListDevices reply without DeviceList: {reply}")
    return {d["Properties"]["SerialNumber"]: d["DeviceID"] for d in reply["DeviceList"]}


def connect(path, device_id, port, timeout=20):
    """A raw byte stream to `port` on the phone, or raises with the Result number."""
    c = Client(path, timeout)
    reply = c.request({"MessageType": "Connect", "DeviceID": device_id,
                       "PortNumber": swap16(port)})
    if reply != {"MessageType": "Result", "Number": 0}:
        c.close()
        raise ConnectionError(f"Connect to {device_id}:{port} answered {reply}")
    return c.sock


def echo_round_trip(sock, data):
    """Sends `data` to an echo connection and reads it back byte for byte, writing and
    reading at once so that neither side's buffers need to hold it all."""
    got = bytearray()
    sent = 0
    while len(got) < len(data):
        want_write = [sock] if sent < len(data) else []
        r, w, _ = select.select([sock], want_write, [], sock.gettimeout())
        check(r or w, f"echo stalled: {sent} bytes sent, {len(got)} back of {len(data)}")
        if w:
            sent += sock.send(data[sent:sent + 65536])
        if r:
            chunk = sock.recv(1 << 17)
            check(chunk, f"echo connection closed after {len(got)} of {len(data)} bytes")
            got += chunk
    check(bytes(got) == data, f"echo returned different bytes ({len(data)} sent)")


class Listener(threading.Thread):
    """A Listen client that always reads: records every event and whether it was closed."""

    def __init__(self, path, prog="tether-robustness-listener"):
        super().__init__(daemon=True)
        self.client = Client(path, prog=prog)
        reply = self.client.request({"MessageType": "Listen"})
        check(reply == {"MessageType": "Result", "Number": 0}, f"Listen answered {reply}")
        self.client.sock.settimeout(None)
        self.lock = threading.Lock()
        self.attached = {}  # DeviceID -> serial, as the events tell it
        self.events = 0
        self.error = None
        self.closed = False
        self.start()

    def run(self):
        try:
            while True:
                version, message, tag, body = read_message(self.client.sock)
                with self.lock:
                    self.events += 1
                    if tag != 0 or not isinstance(body, dict):
                        self.error = f"unexpected message on a Listen socket: {tag} {body}"
                    elif body.get("MessageType") == "Attached":
                        self.attached[body["DeviceID"]] = body["Properties"]["SerialNumber"]
                    elif body.get("MessageType") == "Detached":
                        self.attached.pop(body["DeviceID"], None)
                    else:
                        self.error = f"unexpected event on a Listen socket: {body}"
        except (ConnectionError, OSError) as e:
            with self.lock:
                self.closed = True
                if self.error is None:
                    self.error = f"Listen socket closed by the daemon: {e}"

    def view(self):
        with self.lock:
            return {serial: dev_id for dev_id, serial in self.attached.items()}

    def close(self):
        # shutdown first: a plain close() leaves the socket open while the reader thread
        # is blocked in recv() on it.
        self.client.sock.shutdown(socket.SHUT_RDWR)
        self.client.close()
        self.join(10)

    def healthy(self):
        with self.lock:
            check(self.error is None and not self.closed, f"listener: {self.error}")


def read_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise TestFailure(f"no {field} for pid {pid}")


class Tetherd:
    """tetherd under tether-sim, in a private directory."""

    def __init__(self, sim, tetherd, phones=2, sim_args=(), start_timeout=60):
        self.dir = tempfile.mkdtemp(prefix="tether-robust-")
        self.path = os.path.join(self.dir, "usbmuxd")
        self.ctl = os.path.join(self.dir, "ctl")
        self.log_path = os.path.join(self.dir, "tetherd.log")
        self.phones = phones
        env = dict(os.environ)
        # An ASan sim puts the umockdev preload before libasan.
        env["ASAN_OPTIONS"] = ":".join(
            filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sim, "--phones", str(phones), "--control", self.ctl, *sim_args, "--",
             tetherd, "-f", "--socket", self.path, "--config-dir", os.path.join(self.dir, "lockdown"),
             "--pidfile", os.path.join(self.dir, "tetherd.pid"), "--state-dir", self.dir],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.stopped = False
        wait_until(lambda: self.proc.poll() is not None or
                   (os.path.exists(self.path) and os.path.exists(self.ctl)),
                   start_timeout, "tetherd's socket and the sim's control socket")
        self.assert_alive()
        # The sim re-executes itself under the umockdev preload (same pid), then forks tetherd.
        self.pid = wait_until(self._child, start_timeout, "tetherd's pid")
        serials = [line.split()[1] for line in self.control("list").splitlines()
                   if len(line.split()) == 3]
        check(len(serials) == phones, f"sim lists {serials}")
        self.serials = serials  # phone N (1-based) is serials[N - 1]
        wait_until(lambda: len(list_devices(self.path)) == phones, start_timeout,
                   f"{phones} phones in ListDevices")

    def _child(self):
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def control(self, command):
        text = sim_control(command, self.ctl, check=False)
        check(text.rstrip().endswith("ok"), f"sim control '{command}' answered {text!r}")
        return text

    def device_id(self, phone):
        """The DeviceID tetherd currently gives phone N (waits for it to be listed)."""
        serial = self.serials[phone - 1]
        return wait_until(lambda: list_devices(self.path).get(serial), 60,
                          f"phone {phone} in ListDevices")

    def replug(self, phone, timeout=60):
        """Unplugs and plugs phone N; returns its new DeviceID once tetherd lists it."""
        serial = self.serials[phone - 1]
        old = list_devices(self.path).get(serial)
        self.control(f"replug {phone}")
        return wait_until(lambda: (lambda d: d if d not in (None, old) else None)(
            list_devices(self.path).get(serial)), timeout, f"phone {phone} back after replug")

    def client_sockets(self):
        """How many accepted client connections tetherd holds open right now: its fds that
        /proc/net/unix lists as connected sockets on the daemon's path."""
        accepted = set()
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == self.path and fields[5] == "03":
                    accepted.add(fields[6])
        count = 0
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in accepted:
                count += 1
        return count

    def wait_no_clients(self, timeout=30):
        """Every client socket closed on tetherd's side too: nothing stuck."""
        wait_until(lambda: self.client_sockets() == 0, timeout,
                   "tetherd to close every client socket (a stuck connection?)", interval=0.05)

    def rss_kb(self):
        return read_status(self.pid, "VmRSS")

    def sanitized(self):
        """True when tetherd runs with AddressSanitizer (its RSS then includes quarantine)."""
        with open(f"/proc/{self.pid}/maps") as f:
            return "libasan" in f.read()

    def assert_alive(self):
        if self.proc.poll() is not None:
            raise TestFailure(f"tether-sim/tetherd exited with {self.proc.returncode}:\n" +
                              self.log_tail())

    def log_tail(self, lines=40):
        with open(self.log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        return "\n".join(l for l in text.splitlines() if "libusb: debug" not in l)[-6000:]

    def stop(self, timeout=60):
        """SIGTERM to tetherd; it must exit 0 (the sim passes its status on) with no
        sanitizer report (LeakSanitizer reports at exit)."""
        self.assert_alive()
        os.kill(self.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"tetherd did not exit within {timeout} s of SIGTERM")
        self.stopped = True
        self.log.close()
        with open(self.log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        report = SANITIZER_REPORT.search(text)
        check(rc == 0 and not report,
              f"tetherd's SIGTERM exit: status {rc}, sanitizer report: {bool(report)}\n" +
              self.log_tail(200))

    def cleanup(self, keep_log=False):
        if not self.stopped and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if not self.log.closed:
            self.log.close()
        if keep_log:
            print(f"(daemon log kept in {self.log_path})")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
