#!/usr/bin/env python3
"""sync-restore.py - a backup restored on either side (DESIGN.md 5, 9).

A passive "hq" serving and an active "branch" synced by "fieldsync sync"
passes.  One side's database is backed up (SQLite's backup API, as a
careful admin would), changed and synced further, then put back from the
backup: its change log now reuses sequence numbers the other side's
cursor already covers, and it has lost changes the other side holds.

Proves, for the active and for the passive side restored:
 - the first pass after the restore notices it (one warning line naming
   the pairing), and the side that kept its log sends again what it
   logged after the point the restored side kept, its changes included
   (no echo suppression then);
 - the changes the restored side lost come back to it without a
   conflict: two versions of one field made by one instance are ordered
   by its clock, and the restored side's own versions that the other
   side had seen count as seen (also when its log takes many batches);
 - what is changed on the restored side afterwards reaches the other
   side (before, it was taken as already seen: lost, with a green
   status);
 - both sides end equal, no record doubled, no conflict, status green.
"""

import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (eq, expect, pair, run, same_rows, settle,  # noqa: E402
                     sync_ok)

T = "customers"
COLS = ["name", "phone", "email", "note", "fs_status", "fs_added"]


def backup(inst, path):
    src = sqlite3.connect(inst.db)
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()


def put_back(inst, path):
    for ext in ("-wal", "-shm"):
        if os.path.exists(inst.db + ext):
            os.unlink(inst.db + ext)
    shutil.copyfile(path, inst.db)


def phone(inst, name):
    return inst.one("SELECT phone FROM customers WHERE name = ?", (name,))


def restored(env, which):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1'), "
             "('Bob', '2');")
    hq.shell("INSERT INTO customers(name, phone) VALUES ('Hal', '9');")
    settle(br)
    side = hq if which == "passive" else br
    other = br if side is hq else hq
    saved = env.path("backup.db")
    backup(side, saved)

    # After the backup: changes on the side to be restored (which the
    # other side gets) and on the other side.
    for i in range(1, 7):
        side.shell("UPDATE customers SET phone = 'lost-%d' WHERE name = "
                   "'Ann';" % i)
    side.shell("INSERT INTO customers(name, phone) VALUES ('Cy', '3'); "
               "UPDATE customers SET fs_status = 1 WHERE name = 'Hal';")
    other.shell("UPDATE customers SET email = 'bob@x' WHERE name = 'Bob';")
    # A field of a record the restored side created (its version there is
    # its own, which the other side had seen): no conflict either.
    mine = "Hal" if side is hq else "Ann"
    other.shell("UPDATE customers SET note = 'n-other' WHERE name = '%s';"
                % mine)
    settle(br)
    eq(phone(other, "Ann"), "lost-6", "other side before the restore")

    if side is hq:
        hq.server.stop()
    put_back(side, saved)
    if side is hq:
        hq.serve(port=hq.port)
    eq(side.count(T), 3, "rows in the restored database")
    side.shell("UPDATE customers SET phone = 'x1' WHERE name = 'Bob';")

    r = br.sync("b1", check=False)
    err = r.stderr.decode()
    expect(r.returncode == 0 and "b1" in err and "backup restored" in err,
           "the first pass after the restore: exit %d, stderr %r" % (
               r.returncode, err))
    side.shell("UPDATE customers SET phone = 'x2' WHERE name = 'Hal';")
    settle(br)

    for inst in (hq, br):
        eq(inst.count(T), 4, "%s: rows" % inst.name)
        eq(phone(inst, "Ann"), "lost-6", "%s: Ann" % inst.name)
        eq(phone(inst, "Bob"), "x1", "%s: Bob" % inst.name)
        eq(phone(inst, "Hal"), "x2", "%s: Hal" % inst.name)
        eq(inst.one("SELECT fs_status FROM customers WHERE name = 'Hal'"),
           1, "%s: Hal deleted" % inst.name)
        eq(inst.one("SELECT email FROM customers WHERE name = 'Bob'"),
           "bob@x", "%s: Bob's email" % inst.name)
        eq(inst.one("SELECT note FROM customers WHERE name = ?", (mine,)),
           "n-other", "%s: %s's note" % (inst.name, mine))
        eq(inst.conflicts(), [], "%s: conflicts" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, COLS, "b1", "b1")
    # And it stays quiet: a pass now moves nothing.
    c = sync_ok(br, "b1")
    eq((c["sent"], c["received"]), (0, 0), "a later pass")


def active_restored(env):
    """The branch (active) database is put back from a backup."""
    restored(env, "active")


def passive_restored(env):
    """The head office (passive) database is put back from a backup."""
    restored(env, "passive")


def passive_restored_big(env):
    """A restored passive side whose log takes several batches: the active
    side had seen everything the backup kept, so the versions the passive
    made before the backup count as seen, and the active side's changes
    it lost apply again without a conflict (a cursor from 0 would take
    them for clashes until the passive's whole log had gone out again)."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    hq.executemany("INSERT INTO customers(name, phone) VALUES (?, ?)",
                   (("c%05d" % i, str(i)) for i in range(30000)))
    settle(br)
    saved = env.path("backup.db")
    backup(hq, saved)
    br.shell("UPDATE customers SET note = 'from-branch' WHERE id % 100 = 7;")
    settle(br)
    hq.server.stop()
    put_back(hq, saved)
    hq.serve(port=hq.port)
    r = br.sync("b1", check=False)
    expect(r.returncode == 0 and "backup restored" in r.stderr.decode(),
           "the first pass after the restore: %r" % r.stderr.decode())
    settle(br)
    for inst in (hq, br):
        eq(inst.one("SELECT count(*) FROM customers WHERE note = "
                    "'from-branch'"), 300, "%s: notes" % inst.name)
        eq(len(inst.conflicts()), 0, "%s: conflicts" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, COLS, "b1", "b1")


if __name__ == "__main__":
    run([active_restored, passive_restored, passive_restored_big],
        budget=300)
