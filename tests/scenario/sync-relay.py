#!/usr/bin/env python3
"""sync-relay.py - three instances converge, nothing echoes (DESIGN.md 4).

Two topologies of three real fieldsync instances on 127.0.0.1:
 - hub and spoke: B is passive for two actives, A and C (A -> B <- C);
 - a chain: A is active towards B, and B is active towards C
   (A -> B -> C), so B has one pairing of each role.

Proves, in each:
 - a record made on A reaches C, and an edit made on C reaches A, with
   C's log naming the pairing it came through and A as its origin;
 - nothing echoes: once everything arrived, every further pass moves no
   value in either direction, and the change logs stop growing;
 - the same field edited on A and on C converges to one value on all
   three (the newest, whichever of A and C wrote last), recorded as
   exactly one conflict where the two met;
 - a record hard-deleted on A and restored on C (through B) comes back
   on A, whole;
 - a spoke's edit of a record the hub hard-deleted is kept by the hub
   and wins over the older value when the other spoke restores it;
 - with the daemons running (every second) and random edits of random
   fields on all three instances at once, all three converge;
 - the middle of the chain put back from a backup gets back what it
   lost through both its pairings, and all three converge again.
"""

import os
import random
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (duplicate_versions, eq, expect, pair,  # noqa: E402
                     run, same_rows, sync_ok, wait_for)

T = "customers"
COLS = ["name", "phone", "email", "fs_status", "fs_added"]


def hub(env):
    """A -> B <- C: returns (A, B, C, passes) where passes() syncs all."""
    a = env.instance("A")
    b = env.instance("B")
    c = env.instance("C")
    pair(b, a, "a", COLS)
    pair(b, c, "c", COLS)

    def spokes():
        return [(a, "a"), (c, "c")]
    return a, b, c, spokes


def chain(env):
    """A -> B -> C (A active to B; B active to C)."""
    a = env.instance("A")
    b = env.instance("B")
    c = env.instance("C")
    pair(b, a, "ab", COLS)
    pair(c, b, "bc", COLS)

    def spokes():
        return [(a, "ab"), (b, "bc")]
    return a, b, c, spokes


def pass_all(spokes, times=1):
    """Run each active's sync `times` rounds; total values moved."""
    moved = 0
    for _ in range(times):
        for inst, name in spokes():
            s = sync_ok(inst, name)
            moved += s["sent"] + s["received"]
    return moved


def quiet(insts, spokes):
    """Further passes move nothing and add no log rows (no echo)."""
    logs = [i.one("SELECT count(*) FROM _fs_log") for i in insts]
    eq(pass_all(spokes, 2), 0, "values moved after convergence")
    eq([i.one("SELECT count(*) FROM _fs_log") for i in insts], logs,
       "log rows after idle passes")


def all_same(a, b, c):
    same_rows(a, b, T, COLS)
    return same_rows(b, c, T, COLS)


def scenario(env, topo):
    a, b, c, spokes = topo(env)
    insts = (a, b, c)
    a.shell("INSERT INTO customers(name, phone) VALUES ('from A', '1');")
    pass_all(spokes, 2)     # the chain needs A->B, then B->C
    sid = a.sid_of(T, 1)
    expect(c.rowid_of(T, sid) is not None, "A's record did not reach C")
    h = c.history(T, c.rowid_of(T, sid))
    ainst = a.one("SELECT value FROM _fs_meta WHERE key = 'instance_id'")
    eq([(e["source"], e["origin"]) for e in h["entries"]],
       [(spokes()[1][1], ainst)], "C's log of A's record")
    # An edit on C reaches A.
    c.execute("UPDATE customers SET phone = '2' WHERE id = ?",
              (c.rowid_of(T, sid),))
    # In the chain C is passive: B must pull first, then A.
    pass_all(spokes, 2)
    eq(a.one("SELECT phone FROM customers WHERE id = ?",
             (a.rowid_of(T, sid),)), "2", "C's edit on A")
    all_same(a, b, c)
    quiet(insts, spokes)
    # A record made on C travels to A; one made on B to both.
    c.execute("INSERT INTO customers(name) VALUES ('from C')")
    b.shell("INSERT INTO customers(name) VALUES ('from B');")
    pass_all(spokes, 2)
    eq(len(all_same(a, b, c)), 3, "records everywhere")
    quiet(insts, spokes)
    # Conflicting edits on A and C, each order: the newest wins on all.
    for rnd, (first, last) in enumerate(((a, c), (c, a))):
        n_conf = sum(len(i.conflicts(True)) for i in insts)
        first.execute("UPDATE customers SET name = ? WHERE id = ?",
                      ("%d by %s" % (rnd, first.name),
                       first.rowid_of(T, sid)))
        last.execute("UPDATE customers SET name = ? WHERE id = ?",
                     ("%d by %s" % (rnd, last.name), last.rowid_of(T, sid)))
        pass_all(spokes, 3)
        for i in insts:
            eq(i.one("SELECT name FROM customers WHERE id = ?",
                     (i.rowid_of(T, sid),)), "%d by %s" % (rnd, last.name),
               "%s after %s then %s" % (i.name, first.name, last.name))
        eq(sum(len(i.conflicts(True)) for i in insts) - n_conf, 1,
           "conflicts recorded for one clash")
        all_same(a, b, c)
        quiet(insts, spokes)
    # A hard-deletes the record; B and C keep soft-deleted copies.  C
    # restores its copy: B relays the restore, and A gets the row back.
    a.execute("DELETE FROM customers WHERE id = ?", (a.rowid_of(T, sid),))
    pass_all(spokes, 2)
    eq(a.rowid_of(T, sid), None, "A's row after its DELETE")
    for i in (b, c):
        eq(i.one("SELECT fs_status FROM customers WHERE id = ?",
                 (i.rowid_of(T, sid),)), 1, "%s after A's DELETE" % i.name)
    c.execute("UPDATE customers SET fs_status = 0 WHERE id = ?",
              (c.rowid_of(T, sid),))
    pass_all(spokes, 2)
    expect(a.rowid_of(T, sid) is not None, "C's restore did not bring "
           "A's row back")
    eq(len(all_same(a, b, c)), 3, "records everywhere after the restore")
    quiet(insts, spokes)


def hub_and_spoke(env):
    scenario(env, hub)


def chain_of_three(env):
    scenario(env, chain)


def edit_of_hard_deleted(env):
    """The hub hard-deletes a record while a spoke edits it; the other
    spoke, which kept its soft-deleted copy, restores it: the edit is not
    lost, all three end with it (the hub kept it while the row was gone,
    and the restore does not bring the older value back over it)."""
    a, b, c, spokes = hub(env)
    a.shell("INSERT INTO customers(name, phone) VALUES ('Ann', 'orig');")
    pass_all(spokes, 2)
    b.shell("DELETE FROM customers;")
    c.shell("UPDATE customers SET phone = 'from C';")
    pass_all(lambda: [(c, "c"), (a, "a"), (c, "c")])
    for inst in (a, c):
        eq(inst.query("SELECT fs_status FROM customers"), [(1,)],
           "%s: soft-deleted copy" % inst.name)
    eq(b.count(T), 0, "B: row gone")
    a.shell("UPDATE customers SET fs_status = 0;")
    pass_all(spokes, 3)
    for inst in (a, b, c):
        eq(inst.query("SELECT name, phone, fs_status FROM customers"),
           [("Ann", "from C", 0)], "%s: the restored record" % inst.name)
        for p in inst.fs_json("status"):
            eq(p["state"], "green", "%s: %s" % (inst.name, p["pair"]))
    quiet((a, b, c), spokes)


def daemons(env):
    """Random concurrent edits on all three; the daemons converge them."""
    a, b, c, spokes = hub(env)
    insts = (a, b, c)
    rnd = random.Random(11)
    for i, inst in enumerate(insts):
        inst.executemany("INSERT INTO customers(name, phone, email) VALUES "
                         "(?, ?, ?)", [("%s%d" % (inst.name, k), "p", "e")
                                       for k in range(20)])
    a.serve()
    c.serve()
    wait_for(lambda: all(i.count(T) == 60 for i in insts), 60,
             "60 records everywhere")
    wait_for(lambda: all_same(a, b, c), 30, "equal records")
    # Edits land while the daemons sync.
    for k in range(150):
        inst = rnd.choice(insts)
        col = rnd.choice(["name", "phone", "email"])
        inst.execute("UPDATE customers SET %s = ? WHERE id = (SELECT id "
                     "FROM customers ORDER BY id LIMIT 1 OFFSET ?)" % col,
                     ("%s-%d-%s" % (inst.name, k, col), rnd.randrange(60)))
        if k % 30 == 0:
            inst.execute("INSERT INTO customers(name) VALUES (?)",
                         ("new %s %d" % (inst.name, k),))
    wait_for(lambda: all_same(a, b, c), 60, "convergence of all three")
    for p in (a.server, c.server):
        eq(p.stop(), 0, "daemon exit status")
    # Now quiet: passes move nothing, no duplicate records or versions.
    quiet(insts, spokes)
    eq(len(all_same(a, b, c)), 65, "records")
    for i in insts:
        eq(duplicate_versions(i), [], "%s: versions applied twice" %
           i.name)


def middle_restored(env):
    """The middle of a chain (passive towards A, active towards C) is put
    back from a backup: both its pairings notice, and everything it lost,
    from A, from C and its own, comes back through them; later edits on
    all three flow; no conflict, no echo afterwards."""
    a, b, c, spokes = chain(env)
    a.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    c.shell("INSERT INTO customers(name, phone) VALUES ('Cid', '3');")
    pass_all(spokes, 2)
    saved = env.path("b-backup.db")
    src = sqlite3.connect(b.db)
    dst = sqlite3.connect(saved)
    src.backup(dst)
    src.close()
    dst.close()
    a.shell("UPDATE customers SET email = 'a@x' WHERE name = 'Ann';")
    b.shell("INSERT INTO customers(name, phone) VALUES ('Bea', '2'); "
            "UPDATE customers SET phone = 'b-lost' WHERE name = 'Cid';")
    c.shell("UPDATE customers SET email = 'c@x' WHERE name = 'Cid';")
    pass_all(spokes, 2)
    eq(a.count(T), 3, "A before the restore")
    b.server.stop()
    for ext in ("-wal", "-shm"):
        if os.path.exists(b.db + ext):
            os.unlink(b.db + ext)
    shutil.copyfile(saved, b.db)
    b.serve(port=b.port)
    b.shell("UPDATE customers SET phone = 'b-new' WHERE name = 'Ann';")
    # B's own serve runs its active pairing too: the warning of that one
    # may be in its log rather than on the pass's stderr.
    for inst, name in spokes():
        r = inst.sync(name, check=False)
        said = r.stderr.decode() + (b.log_text() if inst is b else "")
        expect(r.returncode == 0 and "backup restored" in said,
               "%s's first pass after the restore: %r" % (inst.name, said))
    pass_all(spokes, 3)
    c.shell("UPDATE customers SET phone = 'c-after' WHERE name = 'Bea';")
    pass_all(spokes, 3)
    rows = all_same(a, b, c)
    eq(len(rows), 3, "records on each")
    for inst in (a, b, c):
        for name, col, want in (("Ann", "email", "a@x"), ("Ann", "phone",
                                "b-new"), ("Cid", "phone", "b-lost"),
                                ("Cid", "email", "c@x"), ("Bea", "phone",
                                "c-after")):
            eq(inst.one("SELECT %s FROM customers WHERE name = ?" % col,
                        (name,)), want, "%s: %s's %s" % (inst.name, name,
                                                         col))
        eq(len(inst.conflicts()), 0, "%s: conflicts" % inst.name)
    quiet((a, b, c), spokes)


if __name__ == "__main__":
    run([hub_and_spoke, chain_of_three, edit_of_hard_deleted, daemons,
         middle_restored],
        budget=150)
