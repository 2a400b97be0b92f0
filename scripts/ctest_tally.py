#!/usr/bin/env python3
"""Tallies one ctest run from its JUnit report (ctest --output-junit), for scripts/test.

    ctest_tally.py REPORT.xml

Prints one line, "PASSED FAILED SKIPPED", and under it the name and reason of every
test that did not pass; under a failure, the lines of its output that say what failed
(or its last lines), so that the end of a CI log, often all that is kept, says why. ctest's own summary ("100% tests passed") counts a skipped test
as passed; this does not. A test that ctest could not start ("Unable to find
executable") or that timed out is a failure."""
import re
import sys
import xml.etree.ElementTree as ET

# What the suites print when a check fails: GoogleTest, XCTest, the shell and Python
# harnesses, Python's own tracebacks, ctest's timeout.
SAYS_WHY = re.compile(r"FAILED|FAIL:|[Ff]ailure|Error|error:|Traceback|[Aa]ssert|timed out|Timeout")
DETAIL_LINES = 12


def why_it_failed(output):
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    said = [ln for ln in lines if SAYS_WHY.search(ln)] or lines[-DETAIL_LINES:]
    if len(said) > DETAIL_LINES:
        said = said[:DETAIL_LINES - 1] + [f"... and {len(said) - DETAIL_LINES + 1} more such lines"]
    return ["  " + (ln if len(ln) <= 200 else ln[:197] + "...") for ln in said]


passed = failed = skipped = 0
notes = []
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    name = case.get("name")
    status = case.get("status")
    skip = case.find("skipped")
    # A test that asked to be skipped (its SKIP_RETURN_CODE, or a disabled test) is a
    # skip; one ctest could not start (no such program, a failed fixture) is a failure.
    why = skip.get("message", "") if skip is not None else ""
    if status == "disabled" or why.startswith(("SKIP_RETURN_CODE", "SKIP_REGULAR_EXPRESSION")):
        skipped += 1
        reason = why or status
        # ctest puts the test's own output in system-out; its first "skipped:" line says why.
        out = case.findtext("system-out") or ""
        said = [ln for ln in out.splitlines() if ln.lower().startswith(("skipped", "skip:"))]
        notes.append(f"skipped: {name}: {said[0] if said else reason}")
    elif status == "run":
        passed += 1
    else:
        failed += 1
        notes.append(f"failed: {name} ({why or status})")
        notes.extend(why_it_failed(case.findtext("system-out") or ""))
print(passed, failed, skipped)
for n in notes:
    print(n)
