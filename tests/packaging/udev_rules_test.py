#!/usr/bin/env python3
"""The generated udev rules against the device table tetherd matches on.

    udev_rules_test.py GEN_UDEV_RULES RULES_DIR DEVICE_TABLE_HPP

The table is read from the header here, independently of the generator. Each rules
file is evaluated the way udev does (GOTO/LABEL, ==/!=, globs with | alternatives) for
add, bind, change and remove events of every Apple product id and of other vendors.
"""
import fnmatch
import random
import re
import subprocess
import sys

if not __debug__:  # the checks here are assert statements, which -O would strip
    sys.exit("run this test without python -O or PYTHONOPTIMIZE: its checks are asserts")

GEN, RULES_DIR, TABLE = sys.argv[1:4]
failed = 0


def check(name, fn):
    global failed
    try:
        fn()
        print(f"ok: {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)
        failed += 1


def read_table():
    text = open(TABLE).read()
    vendor = int(re.search(r"apple_vendor_id\s*=\s*(0x[0-9a-fA-F]+)", text).group(1), 16)
    body = re.search(r"usbmux_products\[\]\s*=\s*\{(.*?)\n\};", text, re.S).group(1)
    ranges = [(int(a, 16), int(b, 16)) for a, b in
              re.findall(r"\{\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*,", body)]
    assert ranges, "no ranges found in the table"
    return vendor, ranges


VENDOR, RANGES = read_table()


def in_table(vendor, pid):
    return vendor == VENDOR and any(a <= pid <= b for a, b in RANGES)


TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')


def parse(path):
    rules = []
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        toks, pos = [], 0
        while pos < len(line):
            m = TOKEN.match(line, pos)
            assert m, f"{path}:{n}: cannot parse at {line[pos:]!r}"
            toks.append(m.group(1, 2, 3))
            pos = m.end()
        rules.append(toks)
    return rules


def matches(value, pattern):
    return any(fnmatch.fnmatchcase(value, p) for p in pattern.split("|"))


def evaluate(rules, event):
    """What udev would do for `event` (a dict of SUBSYSTEM, DEVTYPE, ACTION, ENV{...})."""
    out = {"RUN": [], "TAG": [], "ENV{SYSTEMD_WANTS}": [], "assign": {}, "final": set()}
    goto = None
    for toks in rules:
        if goto is not None:
            if toks[0][0] == "LABEL" and toks[0][2] == goto:
                goto = None
            continue
        ok = True
        for key, op, val in toks:
            if op in ("==", "!="):
                hit = matches(event.get(key, ""), val)
                if hit != (op == "=="):
                    ok = False
                    break
        if not ok:
            continue
        for key, op, val in toks:
            if op in ("==", "!="):
                continue
            if key == "GOTO":
                goto = val
            elif key in ("RUN", "TAG", "ENV{SYSTEMD_WANTS}"):
                out[key].append(val)
            elif key != "LABEL":
                out["assign"][key] = val
                if op == ":=":
                    out["final"].add(key)
    return out


def event(action, vendor, pid, devtype="usb_device", subsystem="usb"):
    return {"SUBSYSTEM": subsystem, "ENV{DEVTYPE}": devtype, "ACTION": action,
            "ENV{PRODUCT}": f"{vendor:x}/{pid:x}/{0x1508:x}"}


def check_variant(variant):
    path = f"{RULES_DIR}/39-tetherd-{variant}.rules"
    text = open(path).read()
    rules = parse(path)

    def t_table():
        wrong = []
        for pid in range(0x10000):
            ours = bool(evaluate(rules, event("add", VENDOR, pid))["assign"])
            if ours != in_table(VENDOR, pid):
                wrong.append(f"{pid:04x}")
        assert not wrong, f"product ids matched wrongly: {wrong[:20]}"
        for a, b in RANGES:
            for pid in (a, b):
                assert evaluate(rules, event("add", VENDOR, pid))["assign"], f"{pid:04x}"

    def t_neighbours():
        for pid in (0x1281, 0x1227, 0x1222, 0x128f, 0x12b0, 0x13a9, 0x11a9, 0x8601, 0x85ff,
                    0x1900, 0x1906, 0x0001):
            assert not in_table(VENDOR, pid), f"{pid:04x} is in the table now: update the test"
            r = evaluate(rules, event("add", VENDOR, pid))
            assert not r["assign"] and not r["RUN"] and not r["TAG"], f"{pid:04x}: {r}"

    def t_other_vendors():
        for vendor in (0x05ad, 0x45ac, 0x5ac0, 0x18d1, 0x1d6b, 0x0000):
            for pid in (0x12a8, 0x8600, 0x1901):
                for action in ("add", "bind", "remove"):
                    r = evaluate(rules, event(action, vendor, pid))
                    assert not r["assign"] and not r["RUN"] and not r["TAG"], (vendor, pid, r)

    def t_not_interfaces():
        r = evaluate(rules, event("add", VENDOR, 0x12a8, devtype="usb_interface"))
        assert not r["assign"] and not r["RUN"], r

    def t_node_permissions():
        for action in ("add", "bind"):
            a = evaluate(rules, event(action, VENDOR, 0x12a8))["assign"]
            assert a.get("OWNER") == "tether" and a.get("GROUP") == "tether", a
            assert a.get("MODE") == "0660", a
            # Final (:=): libgphoto2's rule (60-) sets GROUP plugdev and MODE 0664 on any PTP
            # device, an iPhone included; on the virtual board it took the node from tether.
            final = evaluate(rules, event(action, VENDOR, 0x12a8))["final"]
            assert {"OWNER", "GROUP", "MODE"} <= final, final

    def t_no_configuration_writes():
        assert "bConfigurationValue" not in re.sub(r"#.*", "", text)
        assert not any(k.startswith("ATTR{") and op in ("=", ":=", "+=")
                       for r in rules for k, op, _ in r)

    def t_activation():
        add = evaluate(rules, event("add", VENDOR, 0x12a8))
        bind = evaluate(rules, event("bind", VENDOR, 0x12a8))
        change = evaluate(rules, event("change", VENDOR, 0x12a8))
        remove = evaluate(rules, event("remove", VENDOR, 0x12a8))
        assert len(remove["RUN"]) == 1 and remove["RUN"][0].endswith("/tetherd -x"), remove
        assert not remove["ENV{SYSTEMD_WANTS}"], f"remove wants tetherd: {remove}"
        # Only add runs anything: a RUN on bind would start a second, racing tetherd.
        assert not bind["RUN"] and not change["RUN"], f"bind or change runs: {bind} {change}"
        if variant == "systemd":
            # On every event but remove, as usbmuxd's rule does: the udev database holds
            # the last event's properties (bind, after a plug), and systemd takes the
            # device unit's Wants= from it (on the real board, before this, Wants= was
            # empty after a plug).
            for r in (add, bind, change):
                assert r["ENV{SYSTEMD_WANTS}"] == ["tetherd.service"] and not r["RUN"], r
            for r in (add, bind, change, remove):
                assert "systemd" in r["TAG"], f"not tagged for systemd: {r}"
        else:
            assert len(add["RUN"]) == 1, add
            assert add["RUN"][0].endswith("/tetherd --user tether --udev"), add
            for r in (add, bind, change):
                assert not r["ENV{SYSTEMD_WANTS}"], r

    for name, fn in [
        ("every product id of the table matches, and only those", t_table),
        ("recovery, DFU, WTF and neighbours of the ranges do not match", t_neighbours),
        ("other vendors do not match (05ad, 45ac, 5ac0, Google, Linux hub, 0)", t_other_vendors),
        ("interfaces do not match, only usb_device", t_not_interfaces),
        ("device nodes: owner tether, group tether, mode 0660", t_node_permissions),
        ("no bConfigurationValue or other attribute writes", t_no_configuration_writes),
        ("activation: systemd wants tetherd on add, bind and change, RUN on add only; tetherd -x on remove", t_activation),
    ]:
        check(f"{variant}: {name}", fn)


def t_generator_ranges():
    """The glob decomposition for ranges the table may grow, not only today's."""
    rng = random.Random(5)
    cases = [(0, 0), (0, 0xffff), (1, 0xf), (0xf, 0x10), (0xfff, 0x1000), (0x1290, 0x12af),
             (0x8600, 0x8600), (0x1901, 0x1905), (0x12a9, 0x12a9), (0xfa, 0x1234)]
    cases += [tuple(sorted((rng.randrange(0x10000), rng.randrange(0x10000)))) for _ in range(6)]
    cases += [(a, min(0xffff, a + rng.randrange(40))) for a in
              (rng.randrange(0x10000) for _ in range(6))]
    for a, b in cases:
        pats = subprocess.run([GEN, "patterns", f"{a:x}", f"{b:x}"], capture_output=True,
                              text=True, check=True).stdout.split()
        alt = "|".join(pats)
        bad = [p for p in range(0x10000)
               if matches(f"{VENDOR:x}/{p:x}/100", alt) != (a <= p <= b)]
        assert not bad, f"range {a:04x}-{b:04x}: wrong for {[f'{p:x}' for p in bad[:10]]}"


for v in ("systemd", "run"):
    check_variant(v)
check("the generator's globs cover exactly any range (edges, random ranges)", t_generator_ranges)
print("udev rules:", "FAILED" if failed else "all passed")
sys.exit(1 if failed else 0)
