#!/usr/bin/env python3
"""The `tether` CLI against a daemon serving tether-sim's virtual iPhones: the
usbmuxd-level subcommands (list, watch, connect, forward run) against tetherd and
against the reference usbmuxd alike; forward add/list/remove, info and log-level
against tetherd, and a clear "not tetherd" from the reference.

    cli_test.py PATH/TO/tether-sim PATH/TO/tether [PATH/TO/tetherd]
"""
import json
import os
import selectors
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muxclient as mc  # noqa: E402
from daemons import Checks, Daemon, Skip, TMP, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHER = sys.argv[1], sys.argv[2]
TETHERD = sys.argv[3] if len(sys.argv) > 3 else None
if TETHERD is None and os.getuid() != 0:
    print("skipped: the reference usbmuxd needs root for a private mount namespace")
    sys.exit(77)
WHO = "tetherd" if TETHERD else "the reference usbmuxd"
check = Checks()


d = Daemon(SIM, TETHERD, "cli", phones=2)
ENV = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{d.sock}")
udid1, udid2 = d.udids()


def tether(*args, stdin=None, timeout=20):
    return subprocess.run([TETHER, *args], input=stdin, capture_output=True, env=ENV,
                          timeout=timeout)


def t_list():
    r = tether("list")
    assert r.returncode == 0, r
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["UDID", "PRODUCT", "SPEED", "TYPE", "STATE"], lines
    assert sorted(line.split()[0] for line in lines[1:]) == [udid1, udid2], lines
    assert all("480 Mbit/s" in line and "USB" in line for line in lines[1:]), lines
    phones = json.loads(tether("list", "--json").stdout)
    assert sorted(p["udid"] for p in phones) == [udid1, udid2], phones
    assert all(p["product"] == "iPhone" and p["speed_bps"] == 480_000_000 for p in phones)


def t_socket_option_and_unreachable():
    r = subprocess.run([TETHER, "--socket", d.sock, "list", "--json"], capture_output=True,
                       timeout=20)
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 2, r
    r = subprocess.run([TETHER, "--socket", "/nonexistent/usbmuxd", "list"], capture_output=True,
                       timeout=20)
    assert r.returncode == 3, r
    assert b"cannot reach the usbmuxd socket /nonexistent/usbmuxd" in r.stderr, r.stderr


def t_socket_not_ours():
    # A user outside the socket's group (the mistake every new user makes) is told which
    # group to join, not to start a daemon that is running.
    if os.geteuid() != 0:
        raise Skip("needs root to run tether as another user")
    folder = os.path.join(TMP, "not-ours")
    os.makedirs(folder, exist_ok=True)
    os.chmod(TMP, 0o755)
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "usbmuxd")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen()
    os.chmod(path, 0o660)
    os.chown(path, 0, 46)  # plugdev in Debian's base-passwd
    try:
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            TETHER, "--socket", path, "list"], capture_output=True, timeout=20)
    finally:
        srv.close()
    err = r.stderr.decode()
    assert r.returncode == 3 and "permission denied" in err and "usermod -aG plugdev" in err \
        and "is tetherd or usbmuxd running" not in err, (r.returncode, err)


def t_connect_round_trip():
    data = os.urandom(200_000)
    r = tether("connect", "2345", "--udid", udid1, stdin=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data, f"{len(r.stdout)} of {len(data)} bytes came back"


def t_connect_errors():
    r = tether("connect", "2345", stdin=b"")
    assert r.returncode == 4, r
    err = r.stderr.decode()
    assert "2 phones attached; choose one with --udid" in err and udid1 in err and udid2 in err, err
    r = tether("connect", "5999", "--udid", udid2, stdin=b"")
    assert r.returncode == 5, r
    assert f"port 5999 is closed on {udid2}: is the app running" in r.stderr.decode(), r.stderr
    r = tether("connect", "2345", "--udid", "00008120-FFFF", stdin=b"")
    assert r.returncode == 4 and b"no phone with UDID 00008120-FFFF" in r.stderr, r


def t_watch():
    w = subprocess.Popen([TETHER, "watch", "--json"], stdout=subprocess.PIPE, env=ENV)
    try:
        os.set_blocking(w.stdout.fileno(), True)
        first = [json.loads(w.stdout.readline()) for _ in range(2)]
        assert sorted(e["udid"] for e in first) == [udid1, udid2], first
        assert all(e["event"] == "Attached" for e in first), first
        gone = next(e for e in first if e["udid"] == udid2)
        d.sim("unplug 2")
        e = json.loads(w.stdout.readline())
        assert e == {"event": "Detached", "device_id": gone["device_id"], "udid": udid2}, e
        d.sim("plug 2")
        e = json.loads(w.stdout.readline())
        assert e["event"] == "Attached" and e["udid"] == udid2, e
    finally:
        w.terminate()
        w.wait(timeout=10)
    wait_for(lambda: len(d.devices()) == 2, what="phone 2 back")


def t_forward_run():
    f = subprocess.Popen([TETHER, "forward", "run", "0", "2345", "--udid", udid1],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    try:
        line = f.stdout.readline().decode()
        assert line.startswith("forwarding 127.0.0.1:") and f"on {udid1}" in line, line
        port = int(line.split()[1].rsplit(":", 1)[1])
        for size in (1, 70_000, 1_000_000):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                data = os.urandom(size)
                s.sendall(data)
                assert mc.recv_exact(s, size) == data
        # Not a terminal: one line per connection, for logs.
        out = [f.stdout.readline().decode() for _ in range(6)]
        assert sum("connected to phone port 2345" in x for x in out) == 3, out
        assert any("closed, 1.0 MB to the phone, 1.0 MB from it" in x for x in out), out
    finally:
        f.terminate()
        assert f.wait(timeout=10) == 0


def t_forward_run_terminal():
    """On a terminal, a status line with counts and rates instead of per-connection lines."""
    import pty
    master, slave = pty.openpty()
    f = subprocess.Popen([TETHER, "forward", "run", "0", "2345", "--udid", udid1],
                         stdout=subprocess.PIPE, stderr=slave, env=ENV)
    os.close(slave)
    try:
        port = int(f.stdout.readline().decode().split()[1].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"y" * 300_000)
            mc.recv_exact(s, 300_000)
            time.sleep(1.3)
            shown = os.read(master, 65536).decode(errors="replace")
        assert "1 open, 1 served, 0 refused | up" in shown and "/s" in shown, shown
    finally:
        f.terminate()
        f.wait(timeout=10)
        os.close(master)


def t_help_everywhere():
    for args in (["--help"], ["list", "--help"], ["watch", "--help"], ["connect", "--help"],
                 ["forward", "--help"], ["forward", "add", "--help"], ["forward", "run", "--help"],
                 ["forward", "list", "--help"], ["forward", "remove", "--help"], ["info", "--help"],
                 ["log-level", "--help"], ["chat", "--help"], ["reverse", "--help"],
                 ["reverse", "add", "--help"], ["reverse", "list", "--help"],
                 ["reverse", "remove", "--help"], ["pair", "--help"]):
        r = tether(*args)
        assert r.returncode == 0 and b"Usage:" in r.stdout, (args, r)
    r = tether("frobnicate")
    assert r.returncode == 2, r
    r = tether("log-level", "loud")
    assert r.returncode == 2, r


for name, fn in [
    (f"list shows both phones as a table and as JSON ({WHO})", t_list),
    ("--socket is honoured; an unreachable daemon is exit 3 with the path",
     t_socket_option_and_unreachable),
    ("connect: 200 kB through stdin/stdout to the echo app", t_connect_round_trip),
    ("connect: several phones (4, listed), closed port (5, 'is the app running'), "
     "unknown UDID (4)", t_connect_errors),
    ("watch --json: Attached for both, Detached and Attached on replug", t_watch),
    ("forward run: port 0 reported, three clients relayed, one line per connection",
     t_forward_run),
    ("forward run on a terminal: a live status line with counts and rates",
     t_forward_run_terminal),
    ("--help on every subcommand; bad usage is exit 2", t_help_everywhere),
]:
    check(name, fn)


def t_forward_daemon():
    r = tether("forward", "add", "0", "2345", "--udid", udid2, "--name", "echo2", "--json")
    assert r.returncode == 0, r
    f = json.loads(r.stdout)
    assert f["name"] == "echo2" and f["local_port"] > 0 and f["udid"] == udid2, f
    with socket.create_connection(("127.0.0.1", f["local_port"]), timeout=10) as s:
        s.sendall(b"x" * 5000)
        mc.recv_exact(s, 5000)
    listed = wait_for(lambda: [x for x in json.loads(tether("forward", "list", "--json").stdout)
                               if x["name"] == "echo2" and x["clients_active"] == 0])
    assert listed[0]["bytes_to_phone"] == 5000 and listed[0]["clients_total"] == 1, listed
    table = tether("forward", "list").stdout.decode()
    assert "echo2" in table and "5.0 kB" in table, table
    assert tether("forward", "remove", "echo2").returncode == 0
    r = tether("forward", "remove", "echo2")
    assert r.returncode == 1 and b"no forward named 'echo2'" in r.stderr, r


def t_info():
    with _open_echo() as s:
        info = json.loads(tether("info", "--udid", udid1, "--json").stdout)
        assert info["udid"] == udid1 and info["configuration"] == 4, info
        assert info["connections_open"] == 1 and info["connections"][0]["phone_port"] == 2345, info
        text = tether("info", "--udid", udid1).stdout.decode()
        assert "configuration 4" in text and "port 2345" in text, text


def _open_echo():
    return mc.open_stream(d.sock, d.device_id(udid1), 2345)


def t_log_level():
    assert tether("log-level", "debug").returncode == 0
    tether("list")
    wait_for(lambda: "debug:" in d.log(), what="a debug line")
    assert tether("log-level", "info").returncode == 0


def t_not_tetherd():
    r = tether("forward", "add", "0", "2345")
    assert r.returncode == 6, r
    assert b"is not tetherd" in r.stderr and b"forward run" in r.stderr, r.stderr
    assert tether("info", "--udid", udid1).returncode == 6


def t_mistakes_in_words():
    # What people type, and what they must read: exit 2 and the likely intent, never
    # CLI11's own text ("A subcommand is required", "Could not convert").
    cases = [(["lsit"], "unknown command 'lsit': did you mean 'list'?"),
             ([], "tether needs a command: list, watch, connect"),
             (["cam", "prop"], "did you mean 'props'?"),
             (["connect", "70000"], "a port is a number from 1 to 65535, not '70000'"),
             (["forward", "add", "1"], "tether forward add: PHONE is required"),
             (["cam", "liveview", "--frames", "many"], "--frames takes a number, not 'many'"),
             (["cam", "focus", "sideways"], "one of auto, near, far, not 'sideways'")]
    for args, said in cases:
        r = tether(*args)
        err = r.stderr.decode()
        assert r.returncode == 2 and said in err, f"tether {' '.join(args)}: {r.returncode} {err}"
        assert "subcommand is required" not in err and "Could not convert" not in err, err
    # A camera option after the command is taken as typed (it used to be refused).
    r = tether("cam", "props", "iso", "--camera", os.path.join(TMP, "none.sock"))
    assert r.returncode == 3 and b"none.sock" in r.stderr, r


def t_watch_waits_for_the_daemon():
    # With udev's start, tetherd runs only while a phone is attached: `tether watch` is
    # how one waits for the next phone, so it waits for the daemon, reports the phone,
    # its detach when the daemon stops, and goes on waiting.
    sock = os.path.join(TMP, "watch-later", "usbmuxd")
    w = subprocess.Popen([TETHER, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{sock}"))
    sel = selectors.DefaultSelector()
    sel.register(w.stdout, selectors.EVENT_READ)

    def next_line(timeout=20):
        if not sel.select(timeout):
            raise AssertionError(f"tether watch printed nothing in {timeout} s")
        return w.stdout.readline()

    try:
        time.sleep(1.5)
        assert w.poll() is None, f"tether watch ended with no daemon: {w.stderr.read()}"
        later = Daemon(SIM, TETHERD, "watch-later", phones=1)
        udid = later.udids()[0]
        line = next_line()
        assert line.startswith("attached " + udid), line
        later.stop()
        line = next_line()
        assert line.startswith("detached " + udid) and "daemon stopped" in line, line
        time.sleep(1.5)
        assert w.poll() is None, "tether watch ended when the daemon stopped"
    finally:
        w.kill()
        w.wait()
    err = w.stderr.read()
    assert "waiting for the daemon" in err and err.count("waiting") == 2, err


def t_list_with_no_daemon_at_the_default():
    # The packaged default (/var/run/usbmuxd, no variable, no option) with no socket:
    # tetherd is not running because no phone is attached, and that is the answer.
    if os.getuid() != 0:
        raise Skip("the default path needs root for a private /run")
    empty = os.path.join(TMP, "empty-run")
    os.makedirs(empty)
    env = {k: v for k, v in os.environ.items() if k != "USBMUXD_SOCKET_ADDRESS"}
    for args, out_has, err_has in ((["list"], "", "no phone attached (tetherd is not running"),
                                   (["list", "--json"], "[]", "")):
        r = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount --bind '{empty}' /run && exec '{TETHER}' {' '.join(args)}"],
                           capture_output=True, text=True, timeout=20, env=env)
        assert r.returncode == 0 and out_has in r.stdout and err_has in r.stderr, r
    # An address the user gave is not the default: a missing socket there is an error.
    r = tether("list", "--socket", os.path.join(empty, "usbmuxd"))
    assert r.returncode == 3, r


def t_forward_with_several_phones():
    # Two phones and no --udid: refused at add time as `connect` refuses (exit 4, the
    # list), not accepted and then leaving its clients waiting; --any-phone asks for it.
    r = tether("forward", "add", "0", "2345")
    err = r.stderr.decode()
    assert r.returncode == 4 and "2 phones attached" in err and udid1 in err and \
        "--any-phone" in err, (r.returncode, err)
    r = tether("forward", "add", "0", "2345", "--any-phone", "--name", "any")
    assert r.returncode == 0 and b"the only phone attached" in r.stdout, r
    assert tether("forward", "remove", "any").returncode == 0


if TETHERD:
    check("command-line mistakes: exit 2 with what was wrong and the likely intent",
          t_mistakes_in_words)
    check("forward add with several phones and no --udid: refused with the list, unless "
          "--any-phone", t_forward_with_several_phones)
    check("tether watch waits for the daemon, reports its phones' detach when it stops, "
          "and waits again", t_watch_waits_for_the_daemon)
    check("tether list at the default path with no daemon: no phone attached, exit 0",
          t_list_with_no_daemon_at_the_default)
    check("forward add (port 0, --udid, --name), list with counters, remove", t_forward_daemon)
    check("info shows configuration, counters and the open connection", t_info)
    check("log-level changes tetherd's level", t_log_level)
else:
    check("forward add and info against the reference: exit 6, 'not tetherd', use forward run",
          t_not_tetherd)
check("a socket the user may not use: exit 3, which group to join", t_socket_not_ours)
check(f"{WHO} stops cleanly", d.stop)
check.finish(f"tether CLI with {WHO}")
