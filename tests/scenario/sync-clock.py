#!/usr/bin/env python3
"""sync-clock.py - a peer whose clock is wrong (DESIGN.md 2, 9).

"newest" orders clashing edits by the hybrid clock, and the change log
dates changes by it, so a machine whose clock is hours off skews both
without anything failing.  Here the passive "hq" runs its "fieldsync
serve" with libfaketime preloaded (the process, and SQLite in it, see the
clock moved); the active "branch" and the app writes use the real
clock.

Proves:
 - sync works across the skew, both ways;
 - each exchange measures the offset (no new hello needed), so both
   sides' "status --json" show it ("clock_offset_ms", the peer's clock
   minus this machine's) with a "clock_warning" that says which way and
   how far, the text status prints it, and each daemon logs it once;
 - a skew under five minutes measured the same way gives no warning;
 - when the clock is right again the next pass clears the warning on
   both sides.
"""

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (Failure, eq, expect, pair, run, same_rows,  # noqa: E402
                     sync_ok, wait_for)

T = "customers"
COLS = ["name", "phone", "email", "fs_status", "fs_added"]
HOUR = 3600 * 1000


def faketime(offset):
    """Environment that moves a process's clock by offset ("+2h").

    libfaketime preloaded directly: the faketime command forks, and a
    signal to it would not reach the server.  The MT build suits a
    server's threads.
    """
    libs = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    if not libs:
        raise Failure("libfaketime is not installed (tests/install-deps.sh "
                      "installs faketime)")
    return {"LD_PRELOAD": libs[0], "FAKETIME": offset,
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def near(v, want, slack, what):
    expect(isinstance(v, (int, float)) and abs(v - want) <= slack,
           "%s: %r, expected %d +- %d" % (what, v, want, slack))


def paired(env, offset):
    """hq serving with its clock moved by offset, and its active branch."""
    hq = env.instance("hq")
    br = env.instance("branch")
    hq.serve(env=faketime(offset))
    pair(hq, br, "b1", COLS)
    return hq, br


def skewed(env):
    hq, br = paired(env, "+2h")
    hq.execute("INSERT INTO customers(name) VALUES ('from hq')")
    br.execute("INSERT INTO customers(name) VALUES ('from branch')")
    # The pass succeeds and says it once on stderr (cron mails it once).
    r = br.sync(check=False)
    err = r.stderr.decode().strip().splitlines()
    expect(r.returncode == 0 and len(err) == 1 and
           "warn pairing b1: the peer's clock is 2 h 0 min ahead" in err[0],
           "first pass: exit %d, stderr %r" % (r.returncode, err))
    wait_for(lambda: same_rows(hq, br, T, COLS), 10, "equal rows")
    eq(hq.count(T), 2, "records on hq")

    # The branch sees the passive two hours ahead, hq the branch behind.
    st = br.status("b1")
    eq(st["state"], "green", "branch state")
    near(st["clock_offset_ms"], 2 * HOUR, 60000, "branch offset")
    w = st["clock_warning"]
    expect(w and "2 h 0 min ahead of this machine's" in w,
           "branch warning %r" % w)
    st = hq.status("b1")
    near(st["clock_offset_ms"], -2 * HOUR, 60000, "hq offset")
    w = st["clock_warning"]
    expect(w and "2 h 0 min behind this machine's" in w,
           "hq warning %r" % w)
    text = br.fs("status")
    expect("    warning: the peer's clock is " in text,
           "text status: %r" % text)
    # Later passes say nothing; hq's daemon logged it once.
    sync_ok(br)
    sync_ok(br)
    eq(hq.log_text().count("clock is"), 1, "hq log lines about the clock")

    # hq's clock set right: the next pass clears both warnings; no hello
    # is needed for it (the pairing never failed).
    hq.server.stop()
    hq.restart()
    hq.execute("UPDATE customers SET phone = '1' WHERE name = 'from hq'")
    r = br.sync(check=False)
    err = r.stderr.decode().strip().splitlines()
    expect(r.returncode == 0 and len(err) == 1 and "info pairing b1: the "
           "peer's clock is within 5 min of this machine's again" in err[0],
           "pass after the clock was set right: exit %d, stderr %r" % (
               r.returncode, err))
    wait_for(lambda: same_rows(hq, br, T, COLS), 10, "equal rows after")
    st = br.status("b1")
    near(st["clock_offset_ms"], 0, 5000, "branch offset after")
    eq(st["clock_warning"], None, "branch warning after")
    st = hq.status("b1")
    near(st["clock_offset_ms"], 0, 5000, "hq offset after")
    eq(st["clock_warning"], None, "hq warning after")
    expect("warning" not in br.fs("status"), "text status still warns")
    expect("within 5 min of this machine's again" in hq.log_text(),
           "hq did not log the clock back in step")


def small_skew(env):
    hq, br = paired(env, "+90s")
    br.execute("INSERT INTO customers(name) VALUES ('x')")
    sync_ok(br)
    st = br.status("b1")
    near(st["clock_offset_ms"], 90000, 20000, "branch offset")
    eq(st["clock_warning"], None, "branch warning")
    st = hq.status("b1")
    near(st["clock_offset_ms"], -90000, 20000, "hq offset")
    eq(st["clock_warning"], None, "hq warning")
    expect("clock is" not in hq.log_text(), "hq logged a small skew")


if __name__ == "__main__":
    run([skewed, small_skew], budget=120)
