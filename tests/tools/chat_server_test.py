#!/usr/bin/env python3
"""`tether chat` over real sockets, as `nc` users and phone apps reach it: three clients
see one order of lines; bad lines are answered, 16 in a row end the connection; a client
that never reads while others flood is dropped and the others go on; a 2000-byte line
is refused; the 65th connection is refused; the server's RSS stays bounded while sixty
clients stop reading under a flood; a busy port and a non-loopback address are refused
in words; SIGTERM and SIGINT end it cleanly.

    chat_server_test.py PATH/TO/tether

Bounds: the server's RSS may grow at most 16 MiB over its idle size, and stay under
32 MiB in all (four times both under a sanitizer, TETHER_SANITIZE set). The room holds
at most 64 x (64 KiB of output + a 1 KiB line) and the adapter 64 x (a write in flight
of at most 64 KiB + a 4 KiB read buffer): about 8.5 MiB.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

TETHER = sys.argv[1]
SANITIZED = bool(os.environ.get("TETHER_SANITIZE"))
SLACK = 4 if SANITIZED else 1
RSS_GROWTH_MIB = 16 * SLACK
RSS_TOTAL_MIB = 32 * SLACK
failed = 0


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen([TETHER, "chat", *args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = None

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_log(self, text, timeout=10, count=1):
        end = time.monotonic() + timeout
        with self.cond:
            while sum(text in l for l in self.lines) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no log line with {text!r} (x{count}): {self.lines[-20:]}")
                self.cond.wait(left)

    def log(self):
        with self.cond:
            return list(self.lines)

    def started(self):
        self.wait_log("chat: listening on ")
        line = next(l for l in self.log() if l.startswith("chat: listening on "))
        self.port = int(line.rsplit(":", 1)[1])
        return self

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class Client:
    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.encode() if isinstance(text, str) else text)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError(f"closed while a line was awaited (have {self.buf[:200]!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def expect(self, *lines):
        for want in lines:
            got = self.line()
            assert got == want, f"expected {want!r}, got {got!r}"

    def join(self, name):
        self.send(f"iam:{name}\n")
        self.expect(f"{name} has joined")
        return self

    def ends(self, timeout=10):
        """Reads to the end: the lines still to come, then True once the server closed."""
        self.s.settimeout(timeout)
        rest = self.buf
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        except ConnectionResetError:
            pass
        return rest.decode(errors="replace").splitlines()

    def close(self):
        # shutdown first: a Collector's recv on another thread would otherwise hold the
        # socket open (and its FIN unsent) until its timeout.
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()


class Collector:
    """Reads one client's lines on a thread, so it keeps up while the test floods."""

    def __init__(self, client):
        self.client, self.lines, self.done = client, [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                self.lines.append(self.client.line())
        except (AssertionError, OSError):
            self.done = True

    def wait_for(self, text, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.lines:
                return self.lines.index(text)
            time.sleep(0.01)
        raise AssertionError(f"never heard {text!r}; last: {self.lines[-5:]}")


def check(name, fn):
    global failed
    try:
        start = time.monotonic()
        fn()
        print(f"ok: {name} ({time.monotonic() - start:.1f} s)", flush=True)
    except Exception as e:  # a failed check, or a socket error on the way to one
        failed += 1
        print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)


server = Server("--port", "0").started()
PORT = server.port
idle_rss = server.rss_kib()
peak_rss = [idle_rss]
sampling = True


def sample_rss():
    while sampling and server.proc.poll() is None:
        try:
            peak_rss[0] = max(peak_rss[0], server.rss_kib())
        except OSError:
            return
        time.sleep(0.02)


threading.Thread(target=sample_rss, daemon=True).start()


def t_three_in_one_order():
    a = Client(PORT).join("alice")
    server.wait_log(f"chat: alice joined from 127.0.0.1:{a.s.getsockname()[1]}")
    b = Client(PORT).join("bob")
    a.expect("bob has joined")
    c = Client(PORT).join("carol")
    a.expect("carol has joined")
    b.expect("carol has joined")
    # All three talk at once: everyone hears one order, each one's lines in its order.
    def talk(cl, who):
        for i in range(30):
            cl.send(f"msg:{who} {i}\r\n")
    threads = [threading.Thread(target=talk, args=(cl, w)) for cl, w in
               ((a, "a"), (b, "b"), (c, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    heard = [[cl.line() for _ in range(90)] for cl in (a, b, c)]
    assert heard[0] == heard[1] == heard[2], "the three heard different orders"
    for who, name in (("a", "alice"), ("b", "bob"), ("c", "carol")):
        mine = [l for l in heard[0] if l.startswith(name + ": ")]
        assert mine == [f"{name}: {who} {i}" for i in range(30)], mine[:5]
    c.close()
    a.expect("carol has left")
    b.expect("carol has left")
    server.wait_log("chat: carol left")
    a.close()
    b.expect("alice has left")
    b.close()
    server.wait_log("chat: bob left")


def t_errors_and_renames():
    x = Client(PORT)
    x.send("msg:hi\n")
    x.expect("error: say iam:NAME first")
    x.send("hello\r\n")
    x.expect("error: unknown command 'hello' (iam:NAME or msg:TEXT)")
    x.send("iam:no spaces\n")
    x.expect("error: a name is 1 to 32 letters, digits, '-', '_' or '.' (e.g. iam:alice)")
    x.join("dave")
    y = Client(PORT)
    y.send("iam:DAVE\n")
    y.expect("error: the name 'DAVE' is taken")
    x.send("iam:dave2\n")
    x.expect("dave is now dave2")
    server.wait_log("chat: dave is now dave2")
    y.join("DAVE")
    x.expect("DAVE has joined")
    x.close()
    y.expect("dave2 has left")
    y.close()
    server.wait_log("chat: DAVE left")


def t_bad_lines_bounded():
    x = Client(PORT)
    x.send("nope\n" * 5000)  # and reads nothing until the end
    lines = x.ends()
    assert lines == ["error: unknown command 'nope' (iam:NAME or msg:TEXT)"] * 16 + [
        "error: too many bad lines in a row (16); disconnecting"], lines[-3:]
    server.wait_log(f"chat: dropped 127.0.0.1:{x.s.getsockname()[1]}: too many bad lines")
    x.close()


def t_slow_reader_dropped():
    f1 = Client(PORT).join("fast1")
    f2 = Client(PORT).join("fast2")
    f1.expect("fast2 has joined")
    slow = Client(PORT, rcvbuf=4096).join("slow")  # and never reads again
    r1, r2 = Collector(f1), Collector(f2)
    r1.wait_for("slow has joined")
    text = "f" * 1000
    start = time.monotonic()
    sent = 0
    while "slow has left (too slow to read)" not in r2.lines:
        assert time.monotonic() - start < 30, f"slow not dropped after {sent} lines"
        f1.send(f"msg:{text}\n" * 10)
        sent += 10
        time.sleep(0.001)
    server.wait_log("chat: dropped slow: too slow to read")
    f1.send("msg:still here\n")
    gone1 = r1.wait_for("slow has left (too slow to read)")
    gone2 = r2.wait_for("slow has left (too slow to read)")
    assert r1.wait_for("fast1: still here") > gone1 and r2.wait_for("fast1: still here") > gone2
    # The others heard every line, in order: nothing was lost for them.
    assert r1.lines[:gone1] == r2.lines[:gone2], "fast1 and fast2 heard different lines"
    # The slow one gets what was in flight, then the end (never its whole backlog).
    rest = slow.ends()
    assert len(rest) < sent, (len(rest), sent)
    for c in (f1, f2, slow):
        c.close()
    server.wait_log("chat: fast1 left")
    server.wait_log("chat: fast2 left")


def t_long_line_refused():
    w = Client(PORT).join("watcher")
    g = Client(PORT).join("longline")
    w.expect("longline has joined")
    g.send("msg:" + "x" * 1996 + "\n")  # 2000 bytes before the "\n"
    assert g.ends() == ["error: a line is at most 1024 bytes; disconnecting"]
    w.expect("longline has left (line too long)")
    server.wait_log("chat: dropped longline: line too long")
    w.close()
    server.wait_log("chat: watcher left")


def t_65th_refused():
    members = [Client(PORT).join(f"m{i:02d}") for i in range(64)]
    late = Client(PORT)
    assert late.ends() == ["error: the room is full (64 members)"]
    server.wait_log(f"chat: dropped 127.0.0.1:{late.s.getsockname()[1]}: the room is full")
    members[5].close()
    server.wait_log("chat: m05 left")
    again = Client(PORT).join("again")
    for m in members:
        m.close()
    again.close()
    for name in [f"m{i:02d}" for i in range(64)] + ["again"]:
        server.wait_log(f"chat: {name} left")


def t_rss_bounded_under_a_flood():
    flooder = Client(PORT).join("flooder")
    r = Collector(flooder)
    stalled = [Client(PORT, rcvbuf=4096).join(f"stall{i:02d}") for i in range(60)]
    text = "z" * 1000
    start = time.monotonic()
    while sum("too slow to read" in l for l in server.log()) < 61:  # 60 here, 1 before
        assert time.monotonic() - start < 60, "the sixty were not all dropped"
        flooder.send(f"msg:{text}\n" * 20)
        time.sleep(0.002)
    flooder.send("msg:done\n")
    r.wait_for("flooder: done")
    for s in stalled:
        s.close()
    flooder.close()
    time.sleep(0.2)
    growth = (peak_rss[0] - idle_rss) / 1024
    print(f"  server RSS: idle {idle_rss / 1024:.1f} MiB, peak {peak_rss[0] / 1024:.1f} MiB "
          f"(+{growth:.1f}); bounds +{RSS_GROWTH_MIB} and {RSS_TOTAL_MIB} MiB", flush=True)
    assert growth <= RSS_GROWTH_MIB and peak_rss[0] / 1024 <= RSS_TOTAL_MIB


def t_refusals_in_words():
    r = subprocess.run([TETHER, "chat", "--port", str(PORT)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1, r
    assert f"port {PORT} is in use: is another chat server running? use --port" in r.stderr, r.stderr
    r = subprocess.run([TETHER, "chat", "--port", "0", "--address", "0.0.0.0"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "--allow-remote" in r.stderr and "no login" in r.stderr, r


def t_sigint_ends_it():
    other = Server("--port", "0").started()
    c = Client(other.port).join("one")
    other.proc.send_signal(signal.SIGINT)
    assert other.proc.wait(timeout=10) == 0
    assert c.ends() == []
    other.wait_log("chat: stopping (1 connected)")


for name, fn in [
    ("three clients: joins, 90 lines sent at once heard in one order by all, leaves",
     t_three_in_one_order),
    ("errors before joining, a taken name whatever the case, a rename", t_errors_and_renames),
    ("5000 bad lines unread: 16 answers, then the end", t_bad_lines_bounded),
    ("a client that never reads while others flood is dropped; the others go on",
     t_slow_reader_dropped),
    ("a 2000-byte line: the error, the end, and the others told", t_long_line_refused),
    ("the 65th connection is refused in words; a place freed is taken", t_65th_refused),
    ("sixty clients stop reading under a flood: all dropped, the server's RSS bounded",
     t_rss_bounded_under_a_flood),
    ("a busy port and a non-loopback address are refused in words", t_refusals_in_words),
    ("SIGINT: exit 0, clients closed", t_sigint_ends_it),
]:
    check(name, fn)

sampling = False
server.proc.send_signal(signal.SIGTERM)


def t_sigterm_ends_it():
    try:
        rc = server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        raise AssertionError("still running 10 s after SIGTERM")
    assert rc == 0, rc
    server.wait_log("chat: stopping")


def t_no_sanitizer_report():
    log = "\n".join(server.log())
    assert "Sanitizer" not in log and "runtime error" not in log, log[-2000:]


check("SIGTERM: exit 0", t_sigterm_ends_it)
check("no sanitizer report in the server's log", t_no_sanitizer_report)
sys.exit(1 if failed else 0)
