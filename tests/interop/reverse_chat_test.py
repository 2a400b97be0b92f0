#!/usr/bin/env python3
"""The reverse channel (issue 17) on the virtual phones, through tetherd, as users meet it:
`tether reverse add` with the daemon at its address from $USBMUXD_SOCKET_ADDRESS, the
mistakes they make, an app that opens several HTTP streams at once to a board-side HTTP
server, a server that speaks first, and the seeds' group chat: `tether chat` on the
board, two phones' chat apps (tether-sim's chat:NAME) and a local nc-style client in
one room, a replug in the middle. It prints the accept-to-first-byte and phone-to-phone
chat latencies it measured.

Usage: reverse_chat_test.py TETHER_SIM TETHERD TETHER"""
import http.server
import json
import os
import re
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemons import TMP, Checks, Daemon, free_port, wait_for  # noqa: E402

SIM, TETHERD, TETHER = sys.argv[1:4]
checks = Checks()


def cli(d, *args, check=True):
    """The tether CLI as a user runs it: the daemon found through the environment."""
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{d.sock}")
    r = subprocess.run([TETHER, *args], capture_output=True, text=True, timeout=30, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def reverses(d):
    return {r["name"]: r for r in json.loads(cli(d, "reverse", "list", "--json").stdout)}


class AppServer:
    """The iOS app's side of the phone port, played here: tether-sim relays every
    connection its phone accepts on the port to this listener. Each accepted socket is
    one reverse line to the board's service."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def take(self, timeout=10):
        self.sock.settimeout(timeout)
        c, _ = self.sock.accept()
        c.settimeout(10)
        return c, time.monotonic()


def read_all(c):
    out = b""
    while chunk := c.recv(65536):
        out += chunk
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the base class's name
        body = f"reply to {self.path}\n".encode() * 200  # 3-4 KiB, several mux packets
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def http_streams():
    web = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    web.daemon_threads = True
    threading.Thread(target=web.serve_forever, daemon=True).start()
    app = AppServer()
    phone_port = 7100
    d = Daemon(SIM, TETHERD, "http", sim_extra=["--app", f"{phone_port}=127.0.0.1:{app.port}"])
    try:
        # A user's mistakes first: no daemon feature named, a bad spares count.
        r = cli(d, "reverse", "add", str(phone_port), "0", check=False)
        assert r.returncode == 2 and "LOCAL" in r.stderr, r.stderr
        r = cli(d, "reverse", "add", str(phone_port), str(web.server_address[1]), "--spares",
                "20", check=False)
        assert r.returncode == 2 and "--spares" in r.stderr, r.stderr
        r = cli(d, "reverse", "remove", "nothing", check=False)
        assert r.returncode != 0 and "no reverse named 'nothing'" in r.stderr, r.stderr
        out = cli(d, "reverse", "add", str(phone_port), str(web.server_address[1])).stdout
        assert out.startswith(f"reverse r{phone_port}: phone port {phone_port} -> 127.0.0.1:"), out

        # Six streams at once: the app takes lines as they come (two spares, refilled
        # as each is taken), sends its six requests, then reads the six replies.
        lines = []
        for i in range(6):
            c, _ = app.take()
            c.sendall(f"GET /stream{i} HTTP/1.0\r\nHost: board\r\n\r\n".encode())
            lines.append(c)
        for i, c in enumerate(lines):
            reply = read_all(c)
            assert reply.startswith(b"HTTP/1.0 200"), reply[:100]
            assert reply.endswith(f"reply to /stream{i}\n".encode() * 200), reply[-100:]
        r = wait_for(lambda: (lambda x: x if x["spares_open"] == 2 and x["in_use"] == 0
                              else None)(reverses(d)[f"r{phone_port}"]), 10, "two spares again")
        assert r["total"] >= 6, r
        assert r["bytes_from_phone"] >= 6 * len("GET /streamN HTTP/1.0\r\n"), r
        assert r["bytes_to_phone"] >= 6 * 3000, r
        assert r["state"] == "2 spares open", r
        print(f"  six streams: {r['total']} lines taken, {r['bytes_to_phone']} bytes to the "
              f"phone; the pool is back to {r['spares_open']} spares", flush=True)
        info = cli(d, "info").stdout
        assert re.search(rf"reverses\s+1\n\s+r{phone_port}\s+{phone_port} -> 127.0.0.1:\d+: "
                         r"2 spares open", info), info
        cli(d, "reverse", "remove", f"r{phone_port}")
        assert reverses(d) == {}
    finally:
        d.stop()
        web.shutdown()


def server_speaks_first():
    """An SMTP-like service greets each client at once; the app reads the greeting as
    soon as it accepts, without writing first."""
    greeter = socket.socket()
    greeter.bind(("127.0.0.1", 0))
    greeter.listen(16)
    held = []

    def greet():
        while True:
            try:
                c, _ = greeter.accept()
            except OSError:
                return
            c.sendall(b"220 board ready\r\n")
            held.append(c)

    threading.Thread(target=greet, daemon=True).start()
    app = AppServer()
    phone_port = 7150
    config = (f"[reverse smtp]\nphone-port = {phone_port}\n"
              f"local = {greeter.getsockname()[1]}\nspares = 3\n")
    d = Daemon(SIM, TETHERD, "speaks-first", config=config,
               sim_extra=["--app", f"{phone_port}=127.0.0.1:{app.port}"])
    try:
        delays = []
        for _ in range(5):
            c, accepted = app.take()
            got = c.recv(64)
            delays.append((time.monotonic() - accepted) * 1000)
            assert got == b"220 board ready\r\n", got
            c.sendall(b"QUIT\r\n")
            c.close()
        r = wait_for(lambda: (lambda x: x if x["spares_open"] == 3 else None)(
            reverses(d)["smtp"]), 10, "three spares")
        assert r["total"] >= 5, r
        print(f"  server speaks first: greeting {min(delays):.1f}-{max(delays):.1f} ms after "
              "the app's accept", flush=True)
        assert max(delays) < 1000, delays
    finally:
        d.stop()
        greeter.close()


def saved_and_restored():
    """`tether reverse add` outlives tetherd, as forwards do: saved in the state
    directory (the package's /var/lib/tether) and back after a restart, pool and all."""
    web = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    web.daemon_threads = True
    threading.Thread(target=web.serve_forever, daemon=True).start()
    app = AppServer()
    state = os.path.join(TMP, "reverse-state")
    os.makedirs(state)
    saved = os.path.join(state, "forwards")
    apps = ["--app", f"7100=127.0.0.1:{app.port}"]
    d = Daemon(SIM, TETHERD, "saved-1", sim_extra=apps, extra=["--state-dir", state])
    try:
        cli(d, "reverse", "add", "7100", str(web.server_address[1]), "--name", "web", "--spares",
            "3")
        text = open(saved).read()
        want = (f"[reverse web]\nphone-port = 7100\nlocal = 127.0.0.1:{web.server_address[1]}\n"
                "spares = 3\n")
        assert want in text, text
    finally:
        d.stop()
    for _ in range(3):  # the first pool's lines, closed with that tetherd
        app.take()
    d = Daemon(SIM, TETHERD, "saved-2", sim_extra=apps, extra=["--state-dir", state])
    try:
        r = wait_for(lambda: (lambda x: x if x.get("web", {}).get("spares_open") == 3 else None)(
            reverses(d)), 10, "the saved reverse's spares")["web"]
        assert r["spares"] == 3, r
        c, _ = app.take()
        c.sendall(b"GET /again HTTP/1.0\r\n\r\n")
        assert read_all(c).endswith(b"reply to /again\n"), "no reply through the restored reverse"
        cli(d, "reverse", "remove", "web")
        assert "[reverse web]" not in open(saved).read()
    finally:
        d.stop()
        web.shutdown()


class Member:
    """A chat client on a socket: collects every line it hears."""

    def __init__(self, sock):
        self.sock = sock
        self.lines = []
        self.buf = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        self.sock.settimeout(None)
        while True:
            try:
                chunk = self.sock.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append((time.monotonic(), line.decode()))

    def say(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def heard(self):
        return [l for _, l in self.lines]


def chat_room():
    chat_port = free_port()
    server = subprocess.Popen([TETHER, "chat", "--port", str(chat_port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        chat_room_with(server, chat_port)
    finally:
        server.terminate()
        err = server.communicate(timeout=10)[1]
    assert server.returncode == 0, err
    assert "chat: listening on 127.0.0.1:" in err, err


def chat_room_with(server, chat_port):
    wait_for(lambda: listening(chat_port), 10, "tether chat")
    # The room keeps no history: the board's user is in before the phones arrive.
    local = NcMember(chat_port)
    local.say("iam:board")
    wait_for(lambda: "board has joined" in local.heard(), 5, "the board's join")
    phone_port = 12345
    config = f"[reverse chat]\nphone-port = {phone_port}\nlocal = {chat_port}\n"
    d = Daemon(SIM, TETHERD, "chat", phones=2, config=config,
               sim_extra=["--app", f"{phone_port}=chat:ann"])
    try:
        # Both phones' apps join as ann-XXXX (their UDIDs' last four) and say three lines.
        names = sorted(f"ann-{u[-4:]}" for u in d.udids())
        assert len(set(names)) == 2, names

        def all_said(n):
            h = local.heard()
            return all(f"{m}: hello {i} from {m}" in h for m in names for i in range(1, n + 1))

        wait_for(lambda: all_said(3), 20, "both phones' three lines")
        local.say("msg:hi phones")
        wait_for(lambda: all(f"chat {m} heard: board: hi phones" in d.log() for m in names), 10,
                 "the phones hearing the board")
        h = local.heard()
        for m in names:
            assert h.count(f"{m} has joined") == 1, h
            for i in (1, 2, 3):
                assert h.count(f"{m}: hello {i} from {m}") == 1, h
        # Every member hears one order: each phone heard, from its own join on, exactly
        # what the local client heard.
        for m in names:
            phone_heard = re.findall(rf"chat {m} heard: (.*)", d.log())
            start = h.index(f"{m} has joined")
            assert phone_heard == h[start:start + len(phone_heard)], (m, phone_heard, h)
            assert phone_heard[-1] == "board: hi phones", phone_heard
        r = reverses(d)["chat"]
        assert r["phones"] == 2 and r["in_use"] == 2 and r["spares_open"] == 4, r
        print(f"  chat: {len(h)} lines heard in one order by 3 members; "
              f"pool {r['spares_open']} spares, {r['in_use']} in use on {r['phones']} phones",
              flush=True)

        # A replug: the phone leaves the room (its line ends) and joins again.
        assert d.sim("replug 1").startswith("ok")
        left = wait_for(lambda: [m for m in names
                                 if any(x.startswith(f"{m} has left") for x in local.heard())],
                        15, "a phone leaving the room")
        assert len(left) == 1, left
        first = left[0]
        wait_for(lambda: f"{first}: hello 4 from {first}" in local.heard(), 30,
                 f"{first} back after the replug")
        h = local.heard()
        assert h.count(f"{first} has joined") == 2, h
        assert any(l.startswith(f"{first} has left") for l in h), h
        other = [m for m in names if m != first][0]
        assert not any(x.startswith(f"{other} has left") for x in h), h

        # The app in the background: its line and the pool's spares stay; what is said
        # meanwhile waits, and it hears it on coming back.
        assert d.sim("app suspend 12345 2").startswith("ok")
        local.say("msg:while you were away")
        time.sleep(1)
        r = reverses(d)["chat"]
        assert r["phones"] == 2 and r["spares_open"] == 4, r
        phone2 = other  # replug 1 moved `first`: phone 2 is the other
        assert f"chat {phone2} heard: board: while you were away" not in d.log()
        assert d.sim("app resume 12345 2").startswith("ok")
        wait_for(lambda: f"chat {phone2} heard: board: while you were away" in d.log(), 10,
                 "the line said while it was away")

        # The app killed and launched again: it leaves the room, the pool is refused
        # meanwhile (and says so), and the app rejoins on a fresh spare, with no replug.
        assert d.sim("app kill 12345 2").startswith("ok")
        wait_for(lambda: any(x.startswith(f"{phone2} has left") for x in local.heard()), 10,
                 "the killed app leaving")
        wait_for(lambda: reverses(d)["chat"]["refused"] >= 1, 10, "a refused spare")
        joins = local.heard().count(f"{phone2} has joined")
        launched_at = time.monotonic()
        assert d.sim("app resume 12345 2").startswith("ok")
        wait_for(lambda: local.heard().count(f"{phone2} has joined") > joins, 15,
                 "the relaunched app rejoining")
        print(f"  chat: the relaunched app rejoined {time.monotonic() - launched_at:.1f} s after "
              "its launch (the pool's back-off is at most 5 s)", flush=True)
    finally:
        local.close()
        d.stop()


class NcMember(Member):
    """A local user as the README has them join: Debian's nc, typing lines."""

    def __init__(self, port):
        self.proc = subprocess.Popen(["nc", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.lines = []
        self.buf = b""
        self.sock = self  # _read() reads through recv()
        threading.Thread(target=self._read, daemon=True).start()

    def settimeout(self, _):
        pass

    def recv(self, n):
        return self.proc.stdout.read1(n)

    def say(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


def pings(sender, receiver, name, count=50):
    """Milliseconds from `sender` saying a line to `receiver` hearing it, sorted."""
    times = []
    for i in range(count):
        sent = time.monotonic()
        sender.say(f"msg:ping {i}")
        wait_for(lambda: any(x == f"{name}: ping {i}" for _, x in receiver.lines), 5, "the ping")
        got = next(t for t, x in receiver.lines if x == f"{name}: ping {i}")
        times.append((got - sent) * 1000)
    return sorted(times)


def chat_latency():
    """Phone to phone through the board's chat server: two apps played here, each
    reached through its own phone (one reverse per phone, by UDID), 50 messages."""
    chat_port = free_port()
    server = subprocess.Popen([TETHER, "chat", "--port", str(chat_port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        latency_with(chat_port)
    finally:
        server.terminate()
        server.wait(timeout=10)


def latency_with(chat_port):
    wait_for(lambda: listening(chat_port), 10, "tether chat")
    a, b = AppServer(), AppServer()
    d = Daemon(SIM, TETHERD, "latency", phones=2,
               sim_extra=["--app", f"7301=127.0.0.1:{a.port}", "--app",
                          f"7302=127.0.0.1:{b.port}"])
    try:
        u1, u2 = d.udids()
        cli(d, "--udid", u1, "reverse", "add", "7301", str(chat_port), "--name", "p1")
        cli(d, "--udid", u2, "reverse", "add", "7302", str(chat_port), "--name", "p2")
        one, two = Member(a.take()[0]), Member(b.take()[0])
        one.say("iam:one")
        wait_for(lambda: "one has joined" in one.heard(), 10, "one's join")
        two.say("iam:two")
        wait_for(lambda: "two has joined" in one.heard() and "two has joined" in two.heard(), 10,
                 "both joined")
        times = pings(one, two, "one")
        # The same room without the cable: two local clients, side by side in this run.
        three = Member(socket.create_connection(("127.0.0.1", chat_port)))
        four = Member(socket.create_connection(("127.0.0.1", chat_port)))
        three.say("iam:three")
        wait_for(lambda: "three has joined" in three.heard(), 10, "three's join")
        four.say("iam:four")
        wait_for(lambda: "four has joined" in three.heard(), 10, "four's join")
        direct = pings(three, four, "three")
        m, md = statistics.median(times), statistics.median(direct)
        print(f"  phone to phone through tether chat: median {m:.2f} ms, p95 "
              f"{times[int(len(times) * 0.95)]:.2f} ms over {len(times)} messages; local to local "
              f"in the same room: median {md:.2f} ms; the cable adds {m - md:.2f} ms "
              f"({m / md:.1f}x)", flush=True)
        assert m < 200, times
    finally:
        d.stop()


checks("reverse: six HTTP streams at once through the pool, counters, info, mistakes",
       http_streams)
checks("reverse: a server that speaks first (from tetherd.conf)", server_speaks_first)
checks("reverse: saved in the state directory and restored after a restart", saved_and_restored)
checks("chat: two phones and a local client in one room, one order, a replug", chat_room)
checks("chat: phone-to-phone latency", chat_latency)
checks.finish("reverse_chat")
