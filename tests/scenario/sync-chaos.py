#!/usr/bin/env python3
"""sync-chaos.py - SIGKILL at random moments, nothing lost (DESIGN.md 5).

A passive "hq" serving and an active "branch" running its own
"fieldsync serve" loop every second.  A writer makes 50,000 changes with
Python's sqlite3 (inserts and updates on both sides, in waves), while a
killer SIGKILLs the passive or the active at random moments, at least 20
times, and restarts it each time (the passive on its port).

The workload is built so the right end state is known: every record has
a key k (set once), name is written only by the branch and phone only by
hq, so each record's final name and phone are the last ones written;
email is written by both sides (concurrent edits, conflicts), so only
agreement is checked there.

Proves, after the last restart and convergence:
 - both sides hold the same records with the same values in every
   mapped column, and row counts are equal;
 - nothing lost: every record written exists on both sides, with the last
   name and phone written;
 - nothing duplicated: each key once per side, each record created once
   in each side's log, no version of a field applied twice;
 - at least 50,000 local changes were captured, and at least 20 kills
   happened while changes were still on their way (unacknowledged log
   rows on either side).
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (duplicate_creations, duplicate_versions, eq,  # noqa
                     expect, now, pair, run, same_rows, wait_for)

SCHEMA = ("CREATE TABLE customers(id INTEGER PRIMARY KEY, k TEXT, "
          "name TEXT, phone TEXT, email TEXT); "
          "CREATE INDEX customers_k ON customers(k);")
T = "customers"
COLS = ["k", "name", "phone", "email", "fs_status", "fs_added"]
MIN_KILLS = 20
INSERT_WAVES = 16
INSERTS = 500           # per side and wave: 16000 records
UPDATE_WAVES = 34
UPDATES = 470           # name on the branch, phone on hq, per wave
EMAILS = 30             # per side and wave
WAVES = INSERT_WAVES + UPDATE_WAVES
# Changes of this side the peer has not acknowledged yet.
BACKLOG = ("SELECT EXISTS (SELECT 1 FROM _fs_log WHERE seq > (SELECT "
           "sent_seq FROM _fs_pair_state) AND src IS NOT (SELECT pid FROM "
           "_fs_pair))")


class Writer(threading.Thread):
    """The app on both sides; remembers what the end state must be."""

    def __init__(self, hq, br, rnd, progress):
        super().__init__(daemon=True)
        self.hq, self.br = hq, br
        self.rnd = rnd
        self.progress = progress    # () -> kills so far
        self.names = {}
        self.phone = {}
        self.changes = 0
        self.error = None
        self.done = False

    def run(self):
        try:
            for w in range(WAVES):
                # Spread the waves over the kills.
                want = MIN_KILLS * w // WAVES
                deadline = now() + 20
                while self.progress() < want and now() < deadline:
                    time.sleep(0.02)
                self.wave(w)
        except Exception as e:   # reported by the test
            self.error = e
        self.done = True

    def keys(self, inst):
        return [r[0] for r in inst.query("SELECT k FROM customers")]

    def txn(self, inst, sql, rows):
        c = inst.connect()
        try:
            c.execute("BEGIN IMMEDIATE")
            n = 0
            for r in rows:
                n += c.execute(sql, r).rowcount
            c.execute("COMMIT")
            return n
        finally:
            c.close()

    def wave(self, w):
        hq, br, rnd = self.hq, self.br, self.rnd
        if w < INSERT_WAVES:
            for inst, tag in ((br, "b"), (hq, "h")):
                rows = []
                for i in range(INSERTS):
                    k = "%s-%d-%d" % (tag, w, i)
                    self.names[k] = "name %s" % k
                    self.phone[k] = "phone %s" % k
                    rows.append((k, self.names[k], self.phone[k],
                                 "e %s" % k))
                self.changes += self.txn(
                    inst, "INSERT INTO customers(k, name, phone, email) "
                    "VALUES (?, ?, ?, ?)", rows)
            return
        for inst, col, book in ((br, "name", self.names),
                                (hq, "phone", self.phone)):
            keys = self.keys(inst)
            pick = rnd.sample(keys, min(UPDATES, len(keys)))
            rows = [("%s w%d %d" % (col, w, i), k)
                    for i, k in enumerate(pick)]
            c = inst.connect()
            try:
                c.execute("BEGIN IMMEDIATE")
                for v, k in rows:
                    n = c.execute("UPDATE customers SET %s = ? WHERE k = ?"
                                  % col, (v, k)).rowcount
                    self.changes += n
                    if n:
                        book[k] = v
                emails = rnd.sample(keys, min(EMAILS, len(keys)))
                for i, k in enumerate(emails):
                    self.changes += c.execute(
                        "UPDATE customers SET email = ? WHERE k = ?",
                        ("%s mail w%d %d" % (inst.name, w, i),
                         k)).rowcount
                # Commit only after the book is updated: a failed commit
                # raises and fails the test anyway.
                c.execute("COMMIT")
            finally:
                c.close()


def chaos(env):
    rnd = random.Random(int(os.environ.get("CHAOS_SEED", "0")) or None)
    seed = rnd.randrange(1 << 30)
    rnd = random.Random(seed)
    print("  seed %d (CHAOS_SEED=%d to repeat)" % (seed, seed))
    hq = env.instance("hq", SCHEMA)
    br = env.instance("branch", SCHEMA)
    pair(hq, br, "b1", COLS)
    br.serve()
    kills = {"hq": 0, "branch": 0}
    writer = Writer(hq, br, random.Random(seed + 1),
                    lambda: sum(kills.values()))
    t0 = now()
    writer.start()
    restart_s = []
    busy = 0    # kills while changes were still on their way
    while True:
        total = sum(kills.values())
        if busy >= MIN_KILLS and writer.done:
            break
        expect(now() - t0 < 80, "chaos phase too slow: %d kills (%d "
               "mid-sync), writer done: %s" % (total, busy, writer.done))
        # A random moment: the daemon polls every second and a pass
        # takes up to a few seconds while the backlog lasts.
        time.sleep(rnd.uniform(0.05, 0.9))
        victim = rnd.choice((hq, br))
        backlog = any(i.one(BACKLOG) for i in (hq, br))
        victim.server.kill9()
        kills[victim.name] += 1
        busy += backlog
        t = now()
        if victim is hq:
            hq.restart()
        else:
            br.serve()
        restart_s.append(now() - t)
    writer.join(30)
    expect(writer.error is None, "writer failed: %r" % writer.error)
    expect(min(kills.values()) >= 3, "kills %r" % kills)
    t_write = now() - t0
    # The branch may be backing off after the last passive kill: a fresh
    # start (one more kill) syncs at once.
    br.server.kill9()
    br.serve()
    t1 = now()

    def converged():
        n = (hq.count(T), br.count(T), len(writer.names))
        expect(n[0] == n[1] == n[2], "records on hq, branch, written: %r"
               % (n,))
        return same_rows(hq, br, T, COLS)
    snap = wait_for(converged, 60, "both sides equal", interval=0.5)
    t_sync = now() - t1
    eq(hq.server.stop(), 0, "hq exit status")
    eq(br.server.stop(), 0, "branch exit status")
    # Nothing lost, nothing twice.
    snap = same_rows(hq, br, T, COLS)
    eq(len(snap), len(writer.names), "records")
    got = {}
    for row in snap.values():
        got[row[0][1].decode()] = (row[1][1].decode(), row[2][1].decode())
    want = {k: (writer.names[k], writer.phone[k]) for k in writer.names}
    if got != want:
        bad = [(k, got.get(k), want[k]) for k in want if got.get(k) !=
               want[k]][:5]
        expect(False, "lost writes: %d records differ, e.g. %r" % (
            sum(1 for k in want if got.get(k) != want[k]), bad))
    for inst in (hq, br):
        eq(inst.query("SELECT k, count(*) FROM customers GROUP BY k HAVING "
                      "count(*) > 1 LIMIT 5"), [],
           "%s: records duplicated" % inst.name)
        eq(duplicate_creations(inst), [], "%s: records created twice" %
           inst.name)
        eq(duplicate_versions(inst), [], "%s: versions applied twice" %
           inst.name)
    local = sum(i.one("SELECT count(*) FROM _fs_log WHERE src IS NULL AND "
                      "fid <> 0") + i.one("SELECT count(*) FROM _fs_log "
                                          "WHERE src IS NULL AND kind = 1 "
                                          "AND fid = 0") for i in (hq, br))
    expect(local >= 50000, "only %d local changes captured" % local)
    expect(writer.changes >= 50000, "only %d changes written" %
           writer.changes)
    print("  %d changes, kills %r (%d with changes in flight), restart "
          "%.2f s on average; writing and killing %.1f s, converged %.1f s "
          "after the last restart" % (
              writer.changes, kills, busy, sum(restart_s) / len(restart_s),
              t_write, t_sync))


if __name__ == "__main__":
    run([chaos], budget=115)
