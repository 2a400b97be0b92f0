#!/usr/bin/env python3
"""Debian's own lockdown tools (idevicepair, ideviceinfo from libimobiledevice 1.3.0),
unmodified, pair with tether-sim's virtual iPhone through a daemon and use the pair
record: the Trust dialog, its acceptance from the sim's control socket, a TLS session,
a forgotten host and a passcode lock.

    pairing_interop_test.py PATH/TO/tether-sim                   the reference usbmuxd
    pairing_interop_test.py PATH/TO/tether-sim PATH/TO/tetherd   tether's daemon

The reference passing is what shows the virtual lockdownd faithful. It runs with its
preflight on, as Debian starts it: on attach the preflight calls Pair once (raising
the dialog), fails to start the notification proxy and shows the phone anyway; the
dialog it raised is the one idevicepair then finds pending. usbmuxd 1.1.1 hard-codes
/run and /var/lib/lockdown, so it runs in a private mount namespace with both bound to
temporary directories, which needs root (exit 77, skipped, otherwise).
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muxclient as mc  # noqa: E402
from daemons import TMP, Checks, sim_control, wait_for  # noqa: E402

sim = sys.argv[1]
tetherd = sys.argv[2] if len(sys.argv) > 2 else None
what = "tetherd" if tetherd else "reference usbmuxd"
if not tetherd and os.geteuid() != 0:
    print("skipped: the reference usbmuxd needs root for a private mount namespace")
    sys.exit(77)
for tool in ["idevicepair", "ideviceinfo"] + ([] if tetherd else ["usbmuxd"]):
    if shutil.which(tool) is None:
        print(f"skipped: {tool} (libimobiledevice-utils / usbmuxd) is not installed")
        sys.exit(77)

d = os.path.join(TMP, "pairing")
run, lockdown = os.path.join(d, "run"), os.path.join(d, "lockdown")
os.makedirs(run)
os.makedirs(lockdown)
sock, ctl, logfile = os.path.join(run, "usbmuxd"), os.path.join(d, "ctl"), os.path.join(d, "log")
sim_cmd = [sim, "--phones", "1", "--control", ctl, "-v", "--"]
if tetherd:
    # tetherd's own pairing is off here, as with `usbmuxd -p`: this test is about the
    # clients' pairing (idevicepair saving its record through SavePairRecord), which
    # tetherd's would race for the same dialog. pairing_test.py tests tetherd's.
    conf = os.path.join(d, "tetherd.conf")
    with open(conf, "w") as f:
        f.write("[tetherd]\npair = no\n")
    cmd = [*sim_cmd, tetherd, "-f", "--socket", sock, "--config-dir", lockdown, "--pidfile",
           os.path.join(d, "pid"), "--state-dir", d, "-c", conf]
else:
    inner = " ".join(f"'{a}'" for a in [*sim_cmd, "usbmuxd", "-f", "-v"])
    cmd = ["unshare", "-m", "sh", "-c",
           f"mount --bind '{run}' /run && mount --bind '{lockdown}' /var/lib/lockdown && "
           f"exec {inner}"]
proc = subprocess.Popen(cmd, stdout=open(logfile, "w"), stderr=subprocess.STDOUT)
env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=f"UNIX:{sock}")


def devices():
    try:
        return mc.devices(sock)
    except OSError:
        return []


def tool(*args):
    """A libimobiledevice tool against the daemon: (exit status, its output)."""
    r = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def control(line):
    return sim_control(line, ctl, check=False).strip()


checks = Checks()
try:
    wait_for(lambda: os.path.exists(sock) and os.path.exists(ctl), 15, "the daemon's socket")
    # The reference shows the phone only after its preflight: that Pair raised the dialog.
    udid = wait_for(lambda: [x["Properties"]["SerialNumber"] for x in devices()], 30,
                    "the phone listed")[0]

    def dialog_pending():
        if not tetherd:  # the preflight's Pair raised it already; idevicepair finds it up
            status = control("trust status 1")
            assert status.startswith("dialog up for "), status
        rc, out = tool("idevicepair", "-u", udid, "pair")
        assert rc != 0 and "Please accept the trust dialog" in out, out
        status = control("trust status 1")
        assert status.startswith("dialog up for "), status

    def accept_then_pair():
        assert control("trust accept 1") == "ok"
        rc, out = tool("idevicepair", "-u", udid, "pair")
        assert rc == 0 and f"SUCCESS: Paired with device {udid}" in out, out
        # The daemon saved the record (SavePairRecord) where its clients read it.
        saved = os.path.join(lockdown, f"{udid}.plist")
        assert os.path.exists(saved), os.listdir(lockdown)
        status = control("trust status 1")
        assert "1 host trusted" in status, status

    def validate():
        rc, out = tool("idevicepair", "-u", udid, "validate")
        assert rc == 0 and "SUCCESS: Validated pairing" in out, out

    def full_ideviceinfo():
        # No -s: StartSession, TLS with the record's root certificate, GetValue inside.
        rc, out = tool("ideviceinfo", "-u", udid)
        assert rc == 0, out
        for line in ("SerialNumber: F2L", "ActivationState: Activated", "WiFiAddress: f0:99:b6:",
                     f"UniqueDeviceID: {udid}"):
            assert line in out, f"no '{line}' in:\n{out}"
        rc, simple = tool("ideviceinfo", "-u", udid, "-s")
        assert rc == 0 and "SerialNumber" not in simple, simple

    def forgotten_host_fails_validation():
        assert control("trust forget 1") == "ok"
        rc, out = tool("idevicepair", "-u", udid, "validate")
        assert rc != 0 and f"Device {udid} is not paired with this host" in out, out

    def passcode_lock_refuses_pairing():
        assert control("lock 1 passcode") == "ok"
        rc, out = tool("idevicepair", "-u", udid, "pair")
        assert rc != 0 and "because a passcode is set" in out, out
        assert control("unlock 1") == "ok"
        # App ports and lockdown kept working meanwhile: the mux never stopped.
        rc, out = tool("ideviceinfo", "-u", udid, "-s", "-k", "DeviceName")
        assert rc == 0 and out.strip() == "tether virtual iPhone", out

    checks(f"{what}: idevicepair pair answers that the Trust dialog is pending", dialog_pending)
    checks(f"{what}: 'trust accept 1', then idevicepair pair succeeds", accept_then_pair)
    checks(f"{what}: idevicepair validate (StartSession, TLS, StopSession)", validate)
    checks(f"{what}: a full ideviceinfo reads the values only a session gives", full_ideviceinfo)
    checks(f"{what}: 'trust forget 1' makes idevicepair validate fail", forgotten_host_fails_validation)
    checks(f"{what}: 'lock 1 passcode' makes idevicepair pair fail with the passcode message",
           passcode_lock_refuses_pairing)
finally:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with open(logfile) as f:
        log = f.read()
    if checks.failed:
        print(log[-4000:])
checks.finish(f"pairing through {what}")
