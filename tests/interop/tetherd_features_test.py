#!/usr/bin/env python3
"""What tetherd adds to usbmuxd, run for real on tether-sim's virtual iPhones:
port forwards (configuration file and run time, port 0, per UDID, retries while the
app is not listening, surviving replug), counters and log level over the socket, the
Paired event, the binary protocol, a PeerTalk-style host, the loopback TCP listener,
one instance at a time, exit when idle, sd_notify, daemonizing and privilege drop.

    tetherd_features_test.py PATH/TO/tether-sim PATH/TO/tetherd
"""
import os
import plistlib
import pwd
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muxclient as mc  # noqa: E402
from daemons import Checks, Daemon, Skip, TMP, free_port, wait_for  # noqa: E402

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

SIM, TETHERD = sys.argv[1], sys.argv[2]
check = Checks()


def round_trip(sock, data):
    sock.sendall(data)
    got = mc.recv_exact(sock, len(data))
    assert got == data, "echo differs"


def app_server(port, transform=bytes.upper):
    """A TCP server playing an iOS app behind --app PORT=127.0.0.1:port."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen()

    def serve(c):
        while d := c.recv(65536):
            c.sendall(transform(d))
        c.close()

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv


# --- forwards, counters and protocol features: two phones -------------------------------

app_port = free_port()
CONFIG = f"""
# forwards from the configuration file
[tetherd]
forward-give-up = 4

[forward echo-one]
local = 127.0.0.1:0
phone-port = 2345

[forward app]
local = 127.0.0.1:0
phone-port = 5000
"""
d = Daemon(SIM, TETHERD, "main", phones=2, config=CONFIG, extra=["--tcp", f"127.0.0.1:{free_port()}"],
           sim_extra=["--app", f"5000=127.0.0.1:{app_port}"])
udid1, udid2 = d.udids()
tcp_listener = next(a for a in d.proc.args if a.startswith("127.0.0.1:"))


def t_config_forward_needs_udid_with_two_phones():
    f = d.forwards()["echo-one"]
    assert f["LocalPort"] != 0 and f["RequestedLocalPort"] == 0, f
    s = socket.create_connection(("127.0.0.1", f["LocalPort"]), timeout=10)
    state = wait_for(lambda: "several phones" in d.forwards()["echo-one"]["State"] and
                     d.forwards()["echo-one"]["State"], what="the forward's state")
    assert udid1 in state and udid2 in state and "UDID" in state, state
    s.settimeout(10)
    assert s.recv(1) == b"", "the waiting client should be closed after forward-give-up"
    s.close()


def t_runtime_forward_port0_udid():
    r = d.ask({"MessageType": "TetherForwardAdd", "LocalPort": 0, "PhonePort": 2345,
               "UDID": udid2, "Name": "two"})
    assert r["Number"] == 0, r
    port = r["Forward"]["LocalPort"]
    assert port > 0 and r["Forward"]["UDID"] == udid2
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        round_trip(s, os.urandom(300_000))
        conns = d.ask({"MessageType": "TetherStatus"})["Connections"]
        mine = [c for c in conns if c["Client"].startswith("forward two")]
        assert len(mine) == 1 and mine[0]["DeviceID"] == d.device_id(udid2), conns
        assert mine[0]["BytesToPhone"] == 300_000, mine
    f = wait_for(lambda: d.forwards()["two"]["ClientsActive"] == 0 and d.forwards()["two"])
    assert f["ClientsTotal"] == 1 and f["BytesFromPhone"] == 300_000, f


def t_remove_forward():
    port = d.forwards()["two"]["LocalPort"]
    assert d.ask({"MessageType": "TetherForwardRemove", "Name": "two"})["Number"] == 0
    assert "two" not in d.forwards()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        raise AssertionError("the removed forward still accepts")
    except ConnectionRefusedError:
        pass
    r = d.ask({"MessageType": "TetherForwardRemove", "Name": "two"})
    assert r["Number"] != 0 and "no forward named" in r["Error"], r


def t_bad_forward_requests():
    r = d.ask({"MessageType": "TetherForwardAdd", "PhonePort": "22"})
    assert r["Number"] != 0 and "PhonePort" in r["Error"], r
    r = d.ask({"MessageType": "TetherForwardAdd", "PhonePort": 22, "LocalAddress": "0.0.0.0"})
    assert r["Number"] != 0 and "loopback" in r["Error"], r
    r = d.ask({"MessageType": "TetherForwardAdd", "PhonePort": 22, "LocalAddress": "nowhere"})
    assert r["Number"] != 0 and "not an IP address" in r["Error"], r
    taken = d.forwards()["app"]["LocalPort"]
    r = d.ask({"MessageType": "TetherForwardAdd", "PhonePort": 22, "LocalPort": taken})
    assert r["Number"] != 0 and "in use" in r["Error"], r
    r = d.ask({"MessageType": "TetherForwardAdd", "PhonePort": 22, "Name": "echo-one"})
    assert r["Number"] != 0 and "exists" in r["Error"], r
    r = d.ask({"MessageType": "TetherNoSuchThing"})
    assert r["Number"] == 1 and "unknown" in r["Error"], r


def t_only_phone_and_app_not_listening():
    d.sim("unplug 2")
    wait_for(lambda: len(d.devices()) == 1, what="phone 2 gone")
    port = d.forwards()["app"]["LocalPort"]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    state = wait_for(lambda: "is the app running" in d.forwards()["app"]["State"] and
                     d.forwards()["app"]["State"], what="the app-not-running state")
    assert "port 5000" in state and udid1 in state, state
    srv = app_server(app_port)  # the app starts: the waiting client gets through
    try:
        round_trip_upper(s)
        assert d.forwards()["app"]["State"] == "connected"
    finally:
        s.close()
        srv.close()


def round_trip_upper(s):
    s.settimeout(10)
    s.sendall(b"hello phone")
    assert mc.recv_exact(s, 11) == b"HELLO PHONE"


def t_forward_survives_replug():
    port = d.forwards()["echo-one"]["LocalPort"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        round_trip(s, b"before")
        d.sim("replug 1")
        s.settimeout(10)
        try:  # the connection ends with the phone...
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
    wait_for(lambda: len(d.devices()) == 1, what="phone 1 back")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # ...not the forward
        round_trip(s, b"after the replug")


def t_status_counters():
    st = d.ask({"MessageType": "TetherStatus"})
    (p,) = st["Phones"]
    assert p["UDID"] == udid1 and p["Configuration"] == 4 and p["ConnectionSpeed"] > 0, p
    with socket.create_connection(("127.0.0.1", d.forwards()["echo-one"]["LocalPort"]),
                                  timeout=10) as s:
        round_trip(s, os.urandom(100_000))
        p2 = d.ask({"MessageType": "TetherStatus"})["Phones"][0]
        assert p2["BytesToPhone"] >= 100_000 and p2["BytesFromPhone"] >= 100_000, p2
        assert p2["ConnectionsOpen"] == 1 and p2["ConnectionsTotal"] >= 1, p2


def t_log_level():
    assert d.ask({"MessageType": "TetherSetLogLevel", "Level": "debug"})["Number"] == 0
    mc.devices(d.sock)
    wait_for(lambda: "debug: client" in d.log(), what="a debug line")
    r = d.ask({"MessageType": "TetherSetLogLevel", "Level": "loud"})
    assert r["Number"] != 0 and "error, warn, info, debug" in r["Error"], r
    assert d.ask({"MessageType": "TetherSetLogLevel", "Level": "info"})["Number"] == 0


def t_paired_event():
    listener = mc.Client(d.sock)
    assert listener.request({"MessageType": "Listen"})["Number"] == 0
    _, _, _, attached = listener.recv()
    assert attached["MessageType"] == "Attached"
    dev = attached["DeviceID"]
    udid = attached["Properties"]["SerialNumber"]
    record = plistlib.dumps({"HostID": "H", "SystemBUID": "B"})
    other = d.ask({"MessageType": "SavePairRecord", "PairRecordID": "0123456789abcdef",
                   "PairRecordData": record, "DeviceID": dev})  # not this phone's record
    assert other["Number"] == 0
    r = d.ask({"MessageType": "SavePairRecord", "PairRecordID": udid,
               "PairRecordData": record, "DeviceID": dev})
    assert r["Number"] == 0, r
    _, _, _, ev = listener.recv()
    assert ev == {"MessageType": "Paired", "DeviceID": dev}, ev
    listener.close()


def t_binary_protocol():
    c = mc.Client(d.sock)
    c.send_binary(3)  # Listen
    version, message, _, body = c.recv()
    assert (version, message, struct.unpack("<I", body)[0]) == (0, 1, 0)
    version, message, _, body = c.recv()  # device_add: id, product, serial[256], pad, location
    assert (version, message, len(body)) == (0, 4, 268), (version, message, len(body))
    dev_id, product = struct.unpack_from("<IH", body)
    serial = body[6:262].split(b"\0")[0].decode()
    assert serial == udid1 and product != 0, serial
    c.close()
    s = mc.Client(d.sock)
    s.send_binary(2, struct.pack("<IHH", dev_id, socket.htons(2345), 0))  # Connect
    version, message, _, body = s.recv()
    assert (version, message, struct.unpack("<I", body)[0]) == (0, 1, 0)
    round_trip(s.sock, b"binary protocol")
    s.close()


def t_peertalk_host():
    """Listen on one socket, Connect on a second, PeerTalk frames both ways."""
    listener = mc.Client(d.sock, prog="peertalk-host")
    assert listener.request({"MessageType": "Listen"})["Number"] == 0
    _, _, _, attached = listener.recv()
    stream = mc.open_stream(d.sock, attached["DeviceID"], 2345)
    frames = [(101 + i, i + 1, os.urandom(i * 1000)) for i in range(5)]
    for kind, tag, payload in frames:
        stream.sendall(struct.pack(">IIII", 1, kind, tag, len(payload)) + payload)
    for kind, tag, payload in frames:
        v, k, t, n = struct.unpack(">IIII", mc.recv_exact(stream, 16))
        assert (v, k, t, n) == (1, kind, tag, len(payload))
        assert mc.recv_exact(stream, n) == payload
    stream.close()
    listener.close()


def t_tcp_listener():
    host, port = tcp_listener.rsplit(":", 1)
    assert len(mc.devices((host, int(port)))) == 1
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=tcp_listener)
    out = subprocess.run(["idevice_id", "-l"], env=env, capture_output=True, text=True,
                         timeout=20).stdout.split()
    assert out == [udid1], out


def t_refusals_are_not_a_flood():
    # As a camera service does while the phone app is closed: a new client and a Connect
    # to the closed port, again and again. One line says so; repeats go into summaries
    # (10 s, 20 s, 40 s ... apart), not one line each.
    dev = d.device_id(d.udids()[0])
    before = d.log().count("port 2399")
    for _ in range(30):
        c = mc.Client(d.sock)
        try:
            n = c.connect(dev, 2399)
        finally:
            c.close()
        if n != 3:
            raise AssertionError(f"Connect to a closed port answered {n}, not 3")
    lines = [ln for ln in d.log().splitlines() if "port 2399" in ln][before:]
    if len(lines) != 1 or "is the app running?" not in lines[0]:
        raise AssertionError(f"30 refusals gave {len(lines)} log lines: {lines[:5]}")


def t_second_instance_pokes():
    r = subprocess.run([TETHERD, "-f", "-S", d.sock, "-P", d.pidfile, "--state-dir", d.dir],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "already running" in r.stderr, (r.returncode, r.stderr)
    wait_for(lambda: "poked by another tetherd" in d.log(), what="the poke in the log")
    assert len(d.devices()) == 1  # and the socket is still the running tetherd's


def t_x_without_z_is_ignored():
    r = subprocess.run([TETHERD, "-x", "-P", d.pidfile], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "ignoring SIGUSR1" in d.log(), what="SIGUSR1 ignored")
    assert d.proc.poll() is None


for name, fn in [
    ("a configured forward on port 0 with two phones and no UDID says which to choose, "
     "and gives up on the client after forward-give-up", t_config_forward_needs_udid_with_two_phones),
    ("a forward added at run time on port 0 for a UDID reports its port, carries 300 kB "
     "and counts it", t_runtime_forward_port0_udid),
    ("a removed forward stops listening; removing it again is an error", t_remove_forward),
    ("bad forward requests get a readable error (type, non-loopback, address, port in use, "
     "name taken, unknown request)", t_bad_forward_requests),
    ("with one phone, a client waits while the app is not listening ('is the app running?') "
     "and gets through when it starts", t_only_phone_and_app_not_listening),
    ("a forward stays up across a replug", t_forward_survives_replug),
    ("TetherStatus counts bytes and connections per phone", t_status_counters),
    ("the log level changes at run time", t_log_level),
    ("Listen clients hear Paired after SavePairRecord for the phone's own UDID",
     t_paired_event),
    ("the binary protocol (version 0): Listen, Attached, Connect, data", t_binary_protocol),
    ("a PeerTalk-style host: Listen, then Connect on a second socket, frames both ways",
     t_peertalk_host),
    ("the loopback TCP listener serves idevice_id (USBMUXD_SOCKET_ADDRESS=ADDR:PORT)",
     t_tcp_listener),
    ("a closed port asked for again and again is logged once, not once a request",
     t_refusals_are_not_a_flood),
    ("a second tetherd pokes the running one and exits 0", t_second_instance_pokes),
    ("tetherd -x is ignored by an instance started without -z", t_x_without_z_is_ignored),
]:
    check(name, fn)
check("SIGTERM: tetherd exits 0, no sanitizer report", d.stop)


# --- exit when idle ------------------------------------------------------------------------

def t_exit_when_idle():
    e = Daemon(SIM, TETHERD, "idle", phones=1, extra=["-z"])
    r = subprocess.run([TETHERD, "-x", "-P", e.pidfile], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "asked to exit once no phone is attached (1 attached" in e.log())
    e.sim("replug 1")  # a phone reboot: removed and back at once; tetherd stays
    wait_for(lambda: len(e.devices()) == 1, what="the replugged phone")
    time.sleep(3)
    assert e.proc.poll() is None, "exited although the phone came back within the grace"
    e.sim("unplug 1")
    t0 = time.monotonic()
    rc = e.proc.wait(timeout=15)
    waited = time.monotonic() - t0
    assert rc == 0 and 1.5 < waited < 6, (rc, waited)
    assert "exiting when idle" in e.log()
    assert not os.path.exists(e.sock), "the socket should be removed"


check("-z and tetherd -x: stays while a phone is attached or comes back within the grace, "
      "exits 2 s after the last one leaves", t_exit_when_idle)


def t_idle_stays_for_forwards_and_clients():
    # The packaged lifecycle: udev starts tetherd with -z and asks it to exit when idle.
    # A forward added with `tether forward add` must outlive an unplug (its help says it
    # survives replugs), and a Listen client (`tether watch`) must keep its daemon while
    # it waits for the next phone. With neither left, tetherd exits as before.
    e = Daemon(SIM, TETHERD, "idle-kept", phones=1, extra=["-z"])
    try:
        r = subprocess.run([TETHERD, "-x", "-P", e.pidfile], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        r = e.ask({"MessageType": "TetherForwardAdd", "LocalPort": 0, "PhonePort": 2345,
                   "Name": "kept"})
        assert r["Number"] == 0, r
        port = r["Forward"]["LocalPort"]
        e.sim("unplug 1")
        time.sleep(5)  # more than twice the 2 s grace
        assert e.proc.poll() is None, "exited with a forward kept"
        assert "staying up for 1 forward, 0 reverses and 0 clients" in e.log(), e.log()[-1500:]
        e.sim("plug 1")
        wait_for(lambda: len(e.devices()) == 1, 15, "the phone back")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            round_trip(s, os.urandom(50_000))  # the same forward, after the replug
        assert e.ask({"MessageType": "TetherForwardRemove", "Name": "kept"})["Number"] == 0
        # A Listen client alone keeps it too.
        watcher = mc.Client(e.sock)
        watcher.send_plist({"MessageType": "Listen"})
        e.sim("unplug 1")
        time.sleep(5)
        assert e.proc.poll() is None, "exited with a Listen client connected"
        watcher.close()
        t0 = time.monotonic()
        rc = e.proc.wait(timeout=15)
        waited = time.monotonic() - t0
        assert rc == 0 and waited < 7, (rc, waited)
        assert "exiting when idle" in e.log()
    finally:
        if e.proc.poll() is None:
            e.stop()

check("-z and tetherd -x with no phone: stays while a forward is kept or a client is "
      "connected (the forward serves again after the replug), exits once neither is left",
      t_idle_stays_for_forwards_and_clients)


def t_forwards_saved_and_restored():
    # `tether forward add` outlives tetherd: a restart, an exit when idle, a crash. The
    # forwards are saved in --state-dir (the package's /var/lib/tether) and come back
    # on their ports, a port the kernel chose included. Those from tetherd.conf are not
    # saved: the configuration brings them back itself.
    state = os.path.join(TMP, "state")
    os.makedirs(state)
    saved = os.path.join(state, "forwards")
    conf = "[forward conf]\nlocal = 0\nphone-port = 2345\n"
    e = Daemon(SIM, TETHERD, "saved-1", phones=1, config=conf, extra=["--state-dir", state])
    try:
        chosen = e.ask({"MessageType": "TetherForwardAdd", "LocalPort": 0, "PhonePort": 2345,
                        "Name": "cam"})["Forward"]["LocalPort"]
        fixed = free_port()
        assert e.ask({"MessageType": "TetherForwardAdd", "LocalPort": fixed,
                      "PhonePort": 2345})["Number"] == 0
        text = open(saved).read()
        assert "[forward cam]" in text and f"local = 127.0.0.1:{chosen}" in text, text
        assert f"[forward {fixed}]" in text and "[forward conf]" not in text, text
        assert not os.path.exists(saved + ".tmp")
    finally:
        os.kill(int(open(e.pidfile).read()), signal.SIGKILL)  # a crash: nothing written at exit
        e.proc.wait(timeout=20)
    e = Daemon(SIM, TETHERD, "saved-2", phones=1, config=conf, extra=["--state-dir", state])
    try:
        f = e.forwards()
        assert set(f) == {"cam", str(fixed), "conf"}, (f, e.log()[-2000:])
        assert f["cam"]["LocalPort"] == chosen and f[str(fixed)]["LocalPort"] == fixed, f
        assert "forward cam (saved)" in e.log(), e.log()[-1500:]
        with socket.create_connection(("127.0.0.1", chosen), timeout=10) as c:
            round_trip(c, os.urandom(50_000))
        assert e.ask({"MessageType": "TetherForwardRemove", "Name": "cam"})["Number"] == 0
        assert "[forward cam]" not in open(saved).read()
        e.stop()
        # A file tetherd cannot read back is kept aside and said; tetherd still serves.
        with open(saved, "w") as out:
            out.write("[forward broken]\nphone-port = 0x10\n")
        e = Daemon(SIM, TETHERD, "saved-3", phones=1, extra=["--state-dir", state])
        log = e.log()
        assert "cannot be read (line 2: [forward broken]: phone-port must be 1-65535" in log, log
        assert f"moved to {saved}.bad" in log and os.path.exists(saved + ".bad"), log
        assert e.forwards() == {}
    finally:
        if e.proc.poll() is None:
            e.stop()


check("forwards added at run time are saved atomically in --state-dir and restored on "
      "their ports after a crash; tetherd.conf's are not saved; an unreadable file is moved "
      "aside and said", t_forwards_saved_and_restored)


def t_socket_activation():
    # tetherd.socket's hand-over, with systemd's own systemd-socket-activate: the socket
    # exists before tetherd; the first client starts it; it serves the socket it was
    # given, exits once idle without -x, and leaves the socket to its owner.
    e = Daemon(SIM, TETHERD, "activated", phones=1, activated=True)
    try:
        log = e.log()
        assert f"listening on {e.sock} (socket from systemd)" in log, log[-1500:]
        assert len(e.devices()) == 1
        e.sim("unplug 1")
        t0 = time.monotonic()
        rc = e.proc.wait(timeout=15)
        assert rc == 0 and time.monotonic() - t0 < 6, (rc, e.log()[-1500:])
        assert "exiting when idle" in e.log()
        assert os.path.exists(e.sock), "the socket is systemd's to remove, not tetherd's"
    finally:
        if e.proc.poll() is None:
            e.stop()
    # Two sockets (a unit with two ListenStream=) are refused in words.
    dd = os.path.join(TMP, "two-sockets")
    os.makedirs(dd)
    r = subprocess.run(["timeout", "20", "sh", "-c",
                        f"(sleep 1; {sys.executable} -c 'import socket; s = socket.socket(socket.AF_UNIX); "
                        f"s.connect(\"{dd}/a\")') & exec systemd-socket-activate -l {dd}/a -l {dd}/b "
                        f"{TETHERD} -f -P NONE -C {dd}/lockdown --state-dir {dd}"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "systemd passed 2 sockets; tetherd serves one" in r.stderr, r


check("socket activation: the first client starts tetherd on the socket systemd holds; it "
      "exits when idle and leaves the socket; two sockets are refused in words",
      t_socket_activation)


def t_sd_notify():
    ns_path = os.path.join(TMP, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(ns_path)
    ns.settimeout(15)
    e = Daemon(SIM, TETHERD, "notify", phones=1, extra=["-s"], env=dict(os.environ, NOTIFY_SOCKET=ns_path))
    got = []
    while not any(m.startswith("READY=1") for m in got):
        got.append(ns.recv(4096).decode())
    wait_for(lambda: len(e.devices()) == 1)
    e.stop()
    ns.settimeout(2)
    try:
        while True:
            got.append(ns.recv(4096).decode())
    except socket.timeout:
        pass
    text = "\n".join(got)
    assert "READY=1" in text and "STATUS=serving 1 phone" in text and "STOPPING=1" in text, got


check("systemd mode: READY=1, STATUS with the phone count, STOPPING=1 over $NOTIFY_SOCKET",
      t_sd_notify)


def t_user_drop():
    if os.getuid() != 0:
        raise Skip("-U needs root: tetherd drops privileges only when it starts as root")
    # Device nodes belong to root here (udev rules would give them to the user), so the
    # phone is refused with a hint; what matters is who tetherd runs as.
    e = Daemon(SIM, TETHERD, "user", phones=1, usable=0, extra=["-U", "nobody"])
    try:
        tetherd_pid = int(open(e.pidfile).read())
        nobody = pwd.getpwnam("nobody").pw_uid

        def uids():
            return [line for line in open(f"/proc/{tetherd_pid}/status")
                    if line.startswith("Uid:")][0].split()[1:]
        # tetherd binds its socket as root and drops to the user right after: the socket
        # appearing does not mean the drop is done yet (under ASan the test saw uid 0).
        wait_for(lambda: uids() == [str(nobody)] * 4, 10, what="tetherd to run as nobody")
        wait_for(lambda: "install tether's udev rules" in e.log(), 30, what="the access hint")
        assert e.devices() == []
    except BaseException:
        print(e.log()[-2000:])
        raise
    finally:
        e.stop()  # never leave a daemon behind, whatever failed


check("-U nobody: tetherd runs as nobody after start-up; a phone it may not open is "
      "reported with a hint about the udev rules",
      t_user_drop)


def t_daemonize():
    dd = os.path.join(TMP, "bg")
    os.makedirs(dd)
    sock, pidfile = os.path.join(dd, "usbmuxd"), os.path.join(dd, "pid")
    r = subprocess.run([TETHERD, "-S", sock, "-P", pidfile, "-C", os.path.join(dd, "lockdown"),
                        "--state-dir", dd, "-c", "/nonexistent/tetherd.conf"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1 and "/nonexistent/tetherd.conf" in r.stderr, r
    r = subprocess.run([TETHERD, "-S", sock, "-P", pidfile, "-C", os.path.join(dd, "lockdown"),
                        "--state-dir", dd, "-l", os.path.join(dd, "log")], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r
    assert os.path.exists(sock), "the socket must exist when the starter returns"
    pid = int(open(pidfile).read())
    assert mc.devices(sock) == []
    r = subprocess.run([TETHERD, "-X", "-P", pidfile], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the daemon to stop")
    assert "stopped" in open(os.path.join(dd, "log")).read()


check("without -f, tetherd returns once serving (or says why not), and -X stops it",
      t_daemonize)

check.finish("tetherd features")
