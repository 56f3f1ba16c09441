#!/usr/bin/env python3
"""sync-outage.py - the peer goes away and comes back (DESIGN.md 5, 9).

A passive "hq" serving and an active "branch" running its own
"fieldsync serve" loop every second.  The passive is killed; while it is
gone its port is first closed, then held by a listener of this test that
accepts each connection and hangs up at once (so every attempt of the
active is counted and answered with nothing).  Then the passive is
started again on its port.

Proves:
 - local work continues on both sides while the link is down (writes
   are captured, the daemon keeps running);
 - "fieldsync sync" (cron) fails with a non-zero exit and one line on
   stderr naming the pairing and "unreachable";
 - "status --json" turns red with reason "unreachable", with the pending
   changes counted;
 - the daemon backs off: the gaps between its attempts grow (doubling),
   so it makes a handful of attempts, not one per second;
 - after the passive returns, everything piled up on both sides flows,
   the status is green again and the daemon logs that it reconnected.

locked_by_app: the app holds a write transaction (sqlite3 module) for
longer than fieldsync waits, first on the passive side, then on the
active side.  The pass fails after one wait, not two (the passive
answers 503 after 2 s, so its one server thread is not held for long),
with exit 1 and one line saying "busy" and that another program holds
the database; the status is red with kind "busy"; nothing is half
applied, and once the app commits the next pass brings everything.
"""

import os
import socket
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (eq, expect, now, pair, run, same_rows,  # noqa: E402
                     settle, wait_for)

T = "customers"
COLS = ["name", "phone", "email", "fs_status", "fs_added"]


class HangUp:
    """Listen on 127.0.0.1:port, accept and close at once, count."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = now() + 30
        while True:
            try:
                self.s.bind(("127.0.0.1", port))
                break
            except OSError:
                if now() > deadline:
                    raise
                time.sleep(0.05)
        self.s.listen(16)
        self.s.settimeout(0.1)
        self.times = []
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.times.append(now())
            c.close()

    def attempts(self):
        """Connection times, those within 0.5 s of the previous one as
        one attempt (a request is tried once more at once on a new
        connection when the first is dropped unanswered)."""
        out = []
        for t in self.times:
            if not out or t - self.last > 0.5:
                out.append(t)
            self.last = t
        return out

    def close(self):
        self.stop = True
        self.t.join(5)
        self.s.close()


def outage(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.serve()
    br.shell("INSERT INTO customers(name) VALUES ('before');")
    wait_for(lambda: hq.count(T) == 1, 30, "the first record on hq")
    wait_for(lambda: br.status("b1")["state"] == "green", 30,
             "branch status green")
    port = hq.port
    hq.server.kill9()

    # Cron's "sync" fails at once, with one clear line.
    r = br.run("sync", check=False)
    expect(r.returncode != 0, "sync succeeded with the peer down")
    err = r.stderr.decode().strip().splitlines()
    expect(len(err) == 1 and "b1" in err[0] and "unreachable" in err[0],
           "sync's stderr: %r" % err)

    hang = HangUp(port)
    try:
        t_down = now()
        # Local work continues on both sides.
        br.shell("INSERT INTO customers(name) VALUES ('during b1'); "
                 "UPDATE customers SET phone = '1' WHERE name = 'before';")
        br.execute("INSERT INTO customers(name) VALUES ('during b2')")
        hq.execute("INSERT INTO customers(name) VALUES ('during hq')")
        hq.execute("UPDATE customers SET email = 'e@hq' WHERE name = "
                   "'before'")
        expect(br.server.alive(), "the branch daemon died")
        st = wait_for(lambda: (lambda s: s if s["state"] == "red" else
                               None)(br.status("b1")), 30,
                      "branch status red")
        expect(st["reason"].startswith("unreachable"),
               "red reason %r" % st["reason"])
        eq(st["error_kind"], "unreachable", "error kind")
        expect(st["pending_out"] >= 3, "pending changes %r" %
               st["pending_out"])
        # Back-off: wait for four attempts; the gaps must grow.
        wait_for(lambda: len(hang.attempts()) >= 4, 60, "four attempts")
        t_four = now()
        tries = hang.attempts()
        gaps = [b - a for a, b in zip(tries, tries[1:])]
        for g1, g2 in zip(gaps, gaps[1:]):
            expect(g2 >= 1.6 * g1, "no back-off: gaps between attempts "
                   "%r" % gaps)
        expect(len(tries) <= 2 + (t_four - t_down) / 2,
               "%d attempts in %.1f s" % (len(tries), t_four - t_down))
        expect(len(hang.times) <= 2 * len(tries) + 2, "%d connections for "
               "%d attempts" % (len(hang.times), len(tries)))
        expect(br.server.alive(), "the branch daemon died")
    finally:
        hang.close()
    attempts = len(hang.attempts())

    # The passive returns on its port; everything flows.
    hq.restart()
    t_back = now()
    wait_for(lambda: hq.count(T) == 4 and br.count(T) == 4, 60,
             "the piled-up records on both sides")
    wait_for(lambda: same_rows(hq, br, T, COLS), 30, "equal rows")
    st = wait_for(lambda: (lambda s: s if s["state"] == "green" else
                           None)(br.status("b1")), 30,
                  "branch status green again")
    eq((st["last_error"], st["pending_out"]), (None, 0), "status after")
    eq(hq.status("b1")["state"], "green", "hq status after")
    eq(hq.query("SELECT phone, email FROM customers WHERE name = 'before'"),
       [("1", "e@hq")], "both sides' edits of one record")
    log = br.log_text()
    expect("connected again" in log, "no reconnect line in the log")
    eq(len([ln for ln in log.splitlines() if "unreachable" in ln]), 1,
       "warnings about the outage in the log (one per event)")
    print("  %d attempts during the outage, gaps %s s; back after %.1f s"
          % (attempts, ", ".join("%.1f" % g for g in gaps),
             now() - t_back))


def locked_by_app(env):
    """The app holds a write transaction longer than fieldsync waits."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.execute("INSERT INTO customers(name) VALUES ('first')")
    settle(br)

    # On the passive side: the pass fails after one wait, as "busy".
    app = sqlite3.connect(hq.db, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO customers(name) VALUES ('held on hq')")
    br.execute("INSERT INTO customers(name) VALUES ('from branch')")
    t0 = now()
    r = br.run("sync", check=False, timeout=60)
    took = now() - t0
    err = r.stderr.decode().strip().splitlines()
    expect(r.returncode == 1 and len(err) == 1 and
           "b1: busy: peer answered 503" in err[0] and
           "another program is holding a write transaction" in err[0],
           "sync with hq locked: exit %d, stderr %r" % (r.returncode, err))
    expect(took < 6, "sync with hq locked took %.1f s (the passive waits "
           "2 s)" % took)
    st = br.status("b1")
    eq((st["state"], st["error_kind"]), ("red", "busy"), "branch status")
    expect(hq.server.alive(), "hq's daemon died")
    app.execute("COMMIT")
    app.close()
    eq(hq.count(T), 2, "records on hq after its app's commit")
    settle(br)
    expect(same_rows(hq, br, T, COLS), "rows differ after the lock")
    eq(br.status("b1")["state"], "green", "branch status after")

    # On the active side: the same, for its own database.  The hourly
    # look for removed rows, due now, adds no line and no wait.
    br.execute("UPDATE _fs_meta SET value = '0' WHERE key = 'swept_at'")
    app = sqlite3.connect(br.db, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")
    t0 = now()
    r = br.run("sync", check=False, timeout=60)
    took = now() - t0
    app.execute("ROLLBACK")
    app.close()
    err = r.stderr.decode().strip().splitlines()
    expect(r.returncode == 1 and len(err) == 1 and "b1: busy: " in err[0]
           and "peer answered" not in err[0] and
           "the database is locked" in err[0],
           "sync with the branch locked: exit %d, stderr %r" % (
               r.returncode, err))
    expect(took < 16, "sync with the branch locked took %.1f s" % took)
    eq(br.one("SELECT value FROM _fs_meta WHERE key = 'swept_at'"), "0",
       "the look, put off")
    hq.execute("UPDATE customers SET phone = '2' WHERE name = 'first'")
    settle(br)
    expect(same_rows(hq, br, T, COLS), "rows differ at the end")


if __name__ == "__main__":
    run([outage, locked_by_app], budget=160)
