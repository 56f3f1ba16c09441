#!/usr/bin/env python3
"""sync-merge.py - field-level merge, conflicts, no echo (DESIGN.md 2, 4, 5).

A passive "hq" serving and an active "branch" running "fieldsync sync"
passes; app writes with the sqlite3 shell and Python's sqlite3.

Proves:
 - concurrent edits of different fields of one record both survive, with
   no conflict;
 - the same field changed on both sides gives exactly one recorded
   conflict, decided by each policy (newest by hybrid clock, whichever
   side wrote last; active; passive), with both values kept; the status
   shows it; "conflicts resolve ID --keep" reverses the choice and the
   reversal syncs to the peer, but never undoes an edit of the field made
   after the conflict (it is then closed without writing);
 - both sides writing the same value is no conflict;
 - a restore on one side clashing with a hard delete on the other is a
   conflict like any other: the newer wins, a restore that wins brings
   the row back whole, and a restore that lost cannot be "kept" where
   the row is gone;
 - no echo: a value received is never sent back (sync counts and the
   change log's sources), a pass with nothing new moves nothing;
 - a version that lost a clash and comes again (in a later batch of
   the pass, or a repeated request) is one conflict, not one per arrival;
 - a storm of conflicts (one field of 31 records changed on both sides)
   is closed with "conflicts resolve --all": accepting the policy's
   choices moves nothing, keeping one side's values everywhere syncs;
 - idempotent re-sync: with the acknowledgements rewound (a lost answer),
   every change is sent again and nothing is applied twice: no new log
   rows, no conflicts, the same rows.
"""

import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (Instance, eq, expect, pair, run,  # noqa: E402
                     same_rows, settle, sync_ok)

COLS = ["name", "phone", "email", "fs_status", "fs_added"]
T = "customers"


def setup(env, policy=None, suffix=""):
    hq = env.instance("hq" + suffix)
    br = env.instance("branch" + suffix)
    pair(hq, br, "b1", COLS, policy=policy)
    br.shell("INSERT INTO customers(name, phone, email) VALUES "
             "('Ann', '111', 'ann@x');")
    c = sync_ok(br)
    eq((c["sent_records"], c["received"]), (1, 0), "first pass")
    sid = br.sid_of(T, 1)
    return hq, br, sid


def val(inst, sid, col):
    return inst.one("SELECT %s FROM customers WHERE id = ?" % col,
                    (inst.rowid_of(T, sid),))


def log_count(inst):
    return inst.one("SELECT count(*) FROM _fs_log")


def different_fields(env):
    """Both sides edit different fields of one record: both survive."""
    hq, br, sid = setup(env)
    br.shell("UPDATE customers SET phone = '222' WHERE id = %d;" %
             br.rowid_of(T, sid))
    hq.execute("UPDATE customers SET email = 'ann@hq' WHERE id = ?",
               (hq.rowid_of(T, sid),))
    c = sync_ok(br)
    eq((c["sent"], c["received"], c["conflicts"]), (1, 1, 0),
       "values each way, conflicts")
    for inst in (hq, br):
        eq((val(inst, sid, "phone"), val(inst, sid, "email")),
           ("222", "ann@hq"), "%s keeps both edits" % inst.name)
        eq(inst.conflicts(True), [], "%s: conflicts" % inst.name)
    settle(br)


def same_value(env):
    """Both sides set a field to the same value: no conflict."""
    hq, br, sid = setup(env)
    br.shell("UPDATE customers SET phone = '333' WHERE id = %d;" %
             br.rowid_of(T, sid))
    hq.execute("UPDATE customers SET phone = '333' WHERE id = ?",
               (hq.rowid_of(T, sid),))
    c = sync_ok(br)
    eq(c["conflicts"], 0, "conflicts for equal values")
    settle(br)
    for inst in (hq, br):
        eq(inst.conflicts(True), [], "%s: conflicts" % inst.name)
        eq(val(inst, sid, "phone"), "333", "%s: phone" % inst.name)


def conflict_case(env, policy, last, winner):
    """Same field on both sides; `last` writes second; `winner` keeps."""
    hq, br, sid = setup(env, policy)
    writes = {"hq": lambda: hq.execute(
        "UPDATE customers SET name = 'Ann (hq)' WHERE id = ?",
        (hq.rowid_of(T, sid),)),
        "branch": lambda: br.shell(
        "UPDATE customers SET name = 'Ann (branch)' WHERE id = %d;" %
        br.rowid_of(T, sid))}
    first = "hq" if last == "branch" else "branch"
    writes[first]()
    writes[last]()
    c = sync_ok(br)
    eq(c["conflicts"], 1, "conflicts of the pass (hq decides, the "
       "branch's line counts it too)")
    want = "Ann (%s)" % winner
    loser = "Ann (%s)" % ("hq" if winner == "branch" else "branch")
    for inst in (hq, br):
        eq(val(inst, sid, "name"), want, "%s after a %s conflict" % (
            inst.name, policy))
    settle(br)
    # Exactly one conflict, recorded where it was decided, both values.
    eq(br.conflicts(True), [], "branch conflicts")
    cf = hq.conflicts()
    eq(len(cf), 1, "open conflicts on hq")
    cf = cf[0]
    eq((cf["column"], cf["local"], cf["remote"], cf["winner"], cf["policy"],
        cf["pair"]),
       ("name", "Ann (hq)", "Ann (branch)",
        "local" if winner == "hq" else "remote", policy, "b1"),
       "conflict record")
    st = hq.status("b1")
    eq((st["state"], st["conflicts"]), ("red", 1), "hq status")
    expect("conflict" in st["reason"], "hq status reason %r" % st["reason"])
    # hq's log marks the change that stands: the branch's as it came in,
    # or hq's own, logged before the clash was known.
    h = hq.history(T, hq.rowid_of(T, sid))
    marked = [e for e in h["entries"] if e["conflict"]]
    eq([(e["column"], e["new"], e["source"]) for e in marked],
       [("name", want, "b1" if winner == "branch" else "local")],
       "hq's log entries marked as a conflict")
    # Reverse it: keep the loser.  That is a local change and syncs.
    keep = "local" if winner == "branch" else "remote"
    hq.fs("conflicts", "resolve", cf["id"], "--keep", keep)
    eq(val(hq, sid, "name"), loser, "hq after resolve --keep %s" % keep)
    c = sync_ok(br)
    eq((c["received"], c["conflicts"]), (1, 0), "the reversal syncs")
    eq(val(br, sid, "name"), loser, "branch after the reversal")
    eq(hq.conflicts(), [], "open conflicts after resolve")
    eq(hq.conflicts(True)[0]["resolution"], "kept " + keep, "resolution")
    eq(hq.status("b1")["state"], "green", "hq status after resolve")
    r = hq.run("conflicts", "resolve", cf["id"], "--keep", keep, check=False)
    expect(r.returncode != 0, "resolving twice succeeded")
    settle(br)
    same_rows(hq, br, T, COLS)


def resolve_after_edit(env):
    """A conflict resolved after its field changed again: writing the
    kept value would undo that later edit, so the conflict is closed
    without writing (alone or with --all), and the later edit stands on
    both sides."""
    hq, br, sid = setup(env)
    for rnd in range(2):
        hq.execute("UPDATE customers SET name = 'Ann (hq %d)' WHERE id = ?" %
                   rnd, (hq.rowid_of(T, sid),))
        br.execute("UPDATE customers SET name = 'Ann (branch %d)' WHERE id "
                   "= ?" % rnd, (br.rowid_of(T, sid),))
        settle(br)
        br.execute("UPDATE customers SET name = 'Ann (later %d)' WHERE id = "
                   "?" % rnd, (br.rowid_of(T, sid),))
        settle(br)
    cf = hq.conflicts()
    eq(len(cf), 2, "open conflicts")
    out = hq.fs("conflicts", "resolve", cf[0]["id"], "--keep", "local")
    expect("closed without writing" in out, "resolve said %r" % out)
    out = hq.fs("conflicts", "resolve", "--all", "--keep", "local")
    expect(out.startswith("0 conflicts resolved") and
           "1 closed without writing" in out, "resolve --all said %r" % out)
    settle(br)
    for inst in (hq, br):
        eq(val(inst, sid, "name"), "Ann (later 1)", "%s: the later edit" %
           inst.name)
    eq([c["resolution"] for c in hq.conflicts(True)],
       ["superseded: the field changed again since"] * 2, "resolutions")
    eq(hq.status("b1")["state"], "green", "hq status")


def resolve_refused(env):
    """Keeping a value the app's own UNIQUE index refuses now (another
    row took it since): one line naming the conflict and the row, and
    nothing written; once that row gives it up, the same command goes
    through."""
    hq = env.instance("hq", schema="CREATE TABLE customers(id INTEGER "
                      "PRIMARY KEY, name TEXT, phone TEXT, email TEXT "
                      "UNIQUE, note TEXT);")
    br = env.instance("branch", schema="CREATE TABLE customers(id INTEGER "
                      "PRIMARY KEY, name TEXT, phone TEXT, email TEXT "
                      "UNIQUE, note TEXT);")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, email) VALUES ('Ann', 'a@x');")
    settle(br)
    hq.shell("UPDATE customers SET email = 'hq@x';")
    br.shell("UPDATE customers SET email = 'br@x';")
    settle(br)
    cf = [c for c in hq.conflicts() if c["column"] == "email"]
    eq(len(cf), 1, "hq's conflict")
    keep = "local" if cf[0]["winner"] == "remote" else "remote"
    other = cf[0][keep]
    hq.shell("INSERT INTO customers(name, email) VALUES ('Other', '%s');" %
             other)
    before = hq.state_dump()
    r = hq.run("conflicts", "resolve", str(cf[0]["id"]), "--keep", keep,
               check=False)
    err = r.stderr.decode()
    expect(r.returncode == 1 and re.match(
        r"fieldsync: cannot keep the %s value of conflict %d \(customers"
        r"\.email of row \d+\): UNIQUE constraint failed: "
        r"customers\.email\n$" % (keep, cf[0]["id"]), err),
        "resolve said %r" % err)
    eq(hq.state_dump(), before, "hq after the refused resolve")
    hq.shell("DELETE FROM customers WHERE name = 'Other';")
    hq.fs("conflicts", "resolve", str(cf[0]["id"]), "--keep", keep)
    settle(br)
    for inst in (hq, br):
        eq(inst.one("SELECT email FROM customers WHERE name = 'Ann'"),
           other, "%s: the kept value" % inst.name)


def newest_branch_last(env):
    conflict_case(env, "newest", "branch", "branch")


def newest_hq_last(env):
    conflict_case(env, "newest", "hq", "hq")


def active_wins(env):
    conflict_case(env, "active", "hq", "branch")


def passive_wins(env):
    conflict_case(env, "passive", "branch", "hq")


def no_echo(env):
    """A received value is not sent back; idle passes move nothing."""
    hq, br, sid = setup(env)
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 0), "idle pass after an insert")
    hq.execute("UPDATE customers SET phone = '999' WHERE id = ?",
               (hq.rowid_of(T, sid),))
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 1), "pass after hq's update")
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 0), "the received value came back")
    # hq made a record: the branch receives it and never sends it back.
    hq.execute("INSERT INTO customers(name) VALUES ('Bob')")
    c = sync_ok(br)
    eq((c["sent"], c["received_records"]), (0, 1), "hq's new record")
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 0), "hq's record came back")
    # The logs name where each change came from.
    h = br.history(T, br.rowid_of(T, sid))
    eq([(e["column"], e["source"]) for e in h["entries"]],
       [("phone", "b1"), (None, "local")], "branch's log of Ann")
    h = hq.history(T, hq.rowid_of(T, sid))
    eq([(e["column"], e["source"]) for e in h["entries"]],
       [("phone", "local"), (None, "b1")], "hq's log of Ann")
    # Nothing is pending either way.
    for inst in (hq, br):
        st = inst.status("b1")
        eq((st["state"], st["pending_out"]), ("green", 0),
           "%s status" % inst.name)


def resync_idempotent(env):
    """Rewound acknowledgements: everything again, nothing applied twice."""
    hq, br, sid = setup(env)
    hq.executemany("INSERT INTO customers(name, phone) VALUES (?, ?)",
                   [("hq%d" % i, str(i)) for i in range(50)])
    br.executemany("INSERT INTO customers(name, phone) VALUES (?, ?)",
                   [("br%d" % i, str(i)) for i in range(50)])
    settle(br)
    hq.execute("UPDATE customers SET email = 'x@hq' WHERE name LIKE 'br%'")
    br.execute("UPDATE customers SET email = 'x@br' WHERE name LIKE 'hq%'")
    settle(br)
    same_rows(hq, br, T, COLS)
    before = (log_count(hq), log_count(br))
    rows = hq.snapshot(T, COLS)
    # The branch forgets both acknowledgements: as if the answers of
    # every exchange so far had been lost.
    br.execute("UPDATE _fs_pair_state SET sent_seq = 0, recv_seq = 0")
    c = sync_ok(br)
    expect(c["sent"] > 100 and c["received"] == 0,
           "re-sent changes were applied again: %r" % (c,))
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 0), "pass after the re-sync")
    eq((log_count(hq), log_count(br)), before, "log rows after the re-sync")
    eq(hq.conflicts(True) + br.conflicts(True), [], "conflicts")
    eq(hq.snapshot(T, COLS), rows, "hq rows after the re-sync")
    same_rows(hq, br, T, COLS)


def restore_clash(env, last):
    """hq hard-deletes a soft-deleted record the branch restores; `last`
    does it second and wins (policy newest)."""
    hq, br, sid = setup(env)
    br.shell("UPDATE customers SET fs_status = 1 WHERE id = %d;" %
             br.rowid_of(T, sid))
    sync_ok(br)
    eq(val(hq, sid, "fs_status"), 1, "soft delete reached hq")
    writes = {"hq": lambda: hq.execute("DELETE FROM customers WHERE id = ?",
                                       (hq.rowid_of(T, sid),)),
              "branch": lambda: br.shell(
                  "UPDATE customers SET fs_status = 0 WHERE id = %d;" %
                  br.rowid_of(T, sid))}
    writes["hq" if last == "branch" else "branch"]()
    writes[last]()
    sync_ok(br)
    settle(br)
    cf = hq.conflicts()
    eq([(c["column"], c["local"], c["remote"], c["winner"]) for c in cf],
       [("fs_status", 1, 0, "remote" if last == "branch" else "local")],
       "the clash on hq")
    eq(br.conflicts(True), [], "branch conflicts")
    if last == "branch":
        # The restore won: the row is back on hq, whole, and linked.
        for inst in (hq, br):
            eq((val(inst, sid, "name"), val(inst, sid, "phone"),
                val(inst, sid, "fs_status")), ("Ann", "111", 0),
               "%s after the restore won" % inst.name)
        same_rows(hq, br, T, COLS)
        h = hq.history(T, hq.rowid_of(T, sid))
        expect(h["entries"][0]["conflict"] and
               h["entries"][0]["column"] == "fs_status",
               "hq's log does not mark the restore that won a clash")
    else:
        # The deletion won: gone on hq, soft-deleted on the branch.  The
        # restore cannot be kept here (the row is gone): hq says so and
        # changes nothing; restoring on the branch would bring it back.
        eq(hq.rowid_of(T, sid), None, "hq's row after the deletion won")
        eq(val(br, sid, "fs_status"), 1, "branch after the deletion won")
        out = hq.fs("conflicts")
        expect(re.match(r"#%d customers row \(deleted\) fs_status " %
                        cf[0]["id"], out), "conflicts listed %r" % out)
        r = hq.run("conflicts", "resolve", cf[0]["id"], "--keep", "remote",
                   check=False)
        expect(r.returncode != 0 and b"deleted here" in r.stderr,
               "keeping a restore of a row deleted here: %r" % (r.stderr,))
        eq(len(hq.conflicts()), 1, "open conflicts after the refusal")
        hq.fs("conflicts", "resolve", cf[0]["id"], "--keep", "local")
        eq(hq.conflicts(), [], "open conflicts after keep local")


def restore_wins_clash(env):
    """A restore newer than a hard delete brings the row back."""
    restore_clash(env, "branch")


def hard_delete_wins_clash(env):
    """A hard delete newer than a restore keeps the row gone."""
    restore_clash(env, "hq")


def conflict_storm(env):
    """Both sides change one field of 31 records: 31 conflicts, closed in
    one go with --all (accepting the policy's choices, or keeping one
    side's values everywhere, which then syncs)."""
    hq, br, sid = setup(env)
    br.executemany("INSERT INTO customers(name) VALUES (?)",
                   [("r%d" % i,) for i in range(30)])
    settle(br)
    hq.execute("UPDATE customers SET name = name || ' (hq)'")
    br.shell("UPDATE customers SET name = name || ' (branch)';")
    settle(br)
    open_ = hq.conflicts() + br.conflicts()
    eq(len(open_), 31, "conflicts of the storm")
    rows = hq.snapshot(T, COLS)
    for inst in (hq, br):
        out = inst.fs("conflicts", "resolve", "--all", "--keep", "winner")
        expect("conflicts resolved" in out, "resolve --all said %r" % out)
        eq(inst.conflicts(), [], "%s: open conflicts" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    c = sync_ok(br)
    eq((c["sent"], c["received"]), (0, 0), "accepting moves nothing")
    eq(hq.snapshot(T, COLS), rows, "rows after accepting")
    # Again, and hq keeps its own values everywhere: they sync.
    hq.execute("UPDATE customers SET phone = 'hq'")
    br.shell("UPDATE customers SET phone = 'branch';")
    settle(br)
    n = len(hq.conflicts())
    out = hq.fs("conflicts", "resolve", "--all", "--keep", "local")
    expect(out.startswith("%d conflicts resolved" % n),
           "hq's resolve --all said %r" % out)
    br.fs("conflicts", "resolve", "--all", "--keep", "remote")
    settle(br)
    for inst in (hq, br):
        eq(inst.query("SELECT DISTINCT phone FROM customers"), [("hq",)],
           "%s: phones after keeping hq's" % inst.name)
        eq(inst.conflicts(), [], "%s: open conflicts" % inst.name)
    same_rows(hq, br, T, COLS)
    r = hq.run("conflicts", "resolve", "--all", "--keep", "both",
               check=False)
    expect(r.returncode != 0, "--keep both was accepted")


def conflict_once(env):
    """A version that lost a clash comes again, in a later batch of the
    same pass (the sender had logged the field three times) or in a
    repeated request: it is the same conflict, recorded once."""
    hq, br, sid = setup(env)
    n = 1500
    br.executemany("INSERT INTO customers(name) VALUES (?)",
                   [("r%d" % i,) for i in range(n - 1)])
    settle(br)
    for rnd in range(3):
        br.execute("UPDATE customers SET name = 'b%d ' || id" % rnd)
    hq.execute("UPDATE customers SET name = 'hq ' || id")
    settle(br)

    def counts(inst):
        return inst.query("SELECT count(*), count(DISTINCT rid || '/' || "
                          "fid || '/' || remote_hlc || '/' || "
                          "remote_origin) FROM _fs_conflict")[0]
    eq(counts(hq), (n, n), "hq: conflicts, distinct clashes")
    before = (counts(hq), counts(br))
    eq(br.query("SELECT DISTINCT substr(name, 1, 3) FROM customers"),
       [("hq ",)], "the newest (hq's) names")
    same_rows(hq, br, T, COLS)
    # Every request again (the answers lost): nothing new is recorded.
    br.execute("UPDATE _fs_pair_state SET sent_seq = 0, recv_seq = 0")
    settle(br)
    eq((counts(hq), counts(br)), before, "conflicts after the re-sync")
    same_rows(hq, br, T, COLS)


def map_change(env):
    """A map command on one side (a 'map set' to the mode a field has,
    which changes nothing, and a new column mapped) makes no conflict of
    the other side's next edits: the side that changed its map sends
    everything again, but what each side had acknowledged before still
    counts.  Each policy that favours the side that did not edit, with
    either side changing its map."""
    for k, (changer, editor, policy) in enumerate((
            ("branch", "branch", "passive"), ("hq", "hq", "active"),
            ("branch", "hq", "active"), ("hq", "branch", "passive"))):
        hq, br, sid = setup(env, policy=policy, suffix=str(k))
        sides = {"hq": hq, "branch": br}
        ed, ch = sides[editor], sides[changer]
        # The value the editor changes is the other side's.
        other = hq if ed is br else br
        other.execute("UPDATE customers SET name = 'Ann 2' WHERE id = ?",
                      (other.rowid_of(T, sid),))
        settle(br)
        ed.execute("UPDATE customers SET name = 'Ann edited' WHERE id = ?",
                   (ed.rowid_of(T, sid),))
        ch.fs("map", "set", "b1", "customers.name", "--mode", "two-way")
        # A real change of the map: a column mapped now on that side.
        wire = br.one("SELECT fid FROM _fs_field WHERE name = 'note'")
        ch.fs("map", "add", "b1", "customers.note",
              *(["--remote-field", wire] if ch is hq else []))
        settle(br)
        for inst in (hq, br):
            eq(val(inst, sid, "name"), "Ann edited",
               "%s after %s's map change (%s edited, policy %s)" % (
                   inst.name, changer, editor, policy))
            eq(inst.conflicts(True), [], "%s: conflicts" % inst.name)
            eq(inst.status("b1")["state"], "green", "%s: status" %
               inst.name)


def map_new_field(env):
    """A column one side maps only now (the other side mapped it before)
    whose values differ: the two never agreed on it, so that is one
    recorded conflict, decided by the policy, while the fields mapped all
    along are not."""
    for late in ("branch", "hq"):
        hq = env.instance("hq-" + late)
        br = env.instance("branch-" + late)
        pair(hq, br, "b1", COLS, policy="newest")
        wire = br.one("SELECT fid FROM _fs_field WHERE name = 'note'")
        # note is mapped on the other side only, for now.
        if late == "branch":
            hq.fs("map", "add", "b1", "customers.note", "--remote-field",
                  wire)
        else:
            br.fs("map", "add", "b1", "customers.note")
        br.shell("INSERT INTO customers(name) VALUES ('Ann');")
        sync_ok(br)
        sid = br.sid_of(T, 1)
        hq.execute("UPDATE customers SET note = 'from hq' WHERE id = ?",
                   (hq.rowid_of(T, sid),))
        br.execute("UPDATE customers SET note = 'from branch', phone = "
                   "'999' WHERE id = ?", (br.rowid_of(T, sid),))
        sync_ok(br)
        if late == "branch":
            br.fs("map", "add", "b1", "customers.note")
        else:
            hq.fs("map", "add", "b1", "customers.note", "--remote-field",
                  wire)
        settle(br)
        cs = hq.conflicts(True) + br.conflicts(True)
        eq(sorted(c["column"] for c in cs), ["note"], "conflicts after "
           "%s mapped note" % late)
        for inst in (hq, br):
            eq(val(inst, sid, "phone"), "999", "%s: phone" % inst.name)
        eq(val(hq, sid, "note"), val(br, sid, "note"), "note agrees")

def three(env, policy, suffix=""):
    """hub (passive) with spokes s1 (b1) and s2 (b2); one record of s1's,
    everywhere.  Returns (hub, s1, s2, sid, passes)."""
    hub = env.instance("hub" + suffix)
    s1 = env.instance("s1" + suffix)
    s2 = env.instance("s2" + suffix)
    pair(hub, s1, "b1", COLS, policy=policy)
    pair(hub, s2, "b2", COLS, policy=policy)
    s1.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")

    def passes(n=3):
        for _ in range(n):
            sync_ok(s1, "b1")
            sync_ok(s2, "b2")
    passes()
    return hub, s1, s2, s1.sid_of(T, 1), passes


def remapped_elsewhere(env):
    """The hub turns a spoke's field to download-only and back while the
    other spoke edits it (or deletes the record).  The first spoke's
    value had reached the hub long before: the edit replaced it there,
    and the spoke takes it as such, with no conflict, even with the
    policy that favours the spoke (its old value kept would never be
    sent again, and the sites would differ for good)."""
    for k, what in enumerate(("edit", "delete")):
        hub, s1, s2, sid, passes = three(env, "active", str(k))
        hub.fs("map", "set", "b1", "customers.phone", "--mode", "download")
        if what == "edit":
            # Two versions at the hub after the spoke's: the hub sends
            # the last, naming also the spoke's own as one it replaced.
            s2.execute("UPDATE customers SET phone = 's2 first'")
            passes()
            s2.execute("UPDATE customers SET phone = 's2 second'")
            s2.execute("UPDATE customers SET phone = 's2 edit'")
        else:
            s2.execute("UPDATE customers SET fs_status = 1")
        passes()
        hub.fs("map", "set", "b1", "customers.phone", "--mode", "two-way")
        passes(4)
        for inst in (hub, s1, s2):
            eq((val(inst, sid, "phone"), val(inst, sid, "fs_status")),
               ("s2 edit", 0) if what == "edit" else ("1", 1),
               "%s after the %s" % (inst.name, what))
            eq(inst.conflicts(True), [], "%s: conflicts" % inst.name)
            for st in inst.fs_json("status"):
                eq(st["state"], "green", "%s: %s" % (inst.name,
                                                     st["pair"]))


def pairing_added_again(env):
    """The pairing removed and added again (maps anew) on both sides, on
    head office's or on the branch's, while the branch edits and deletes
    and head office edits another field twice.  Each edit replaced a
    value the other side had (the branch's own, the record's creation):
    no conflict, nothing of either side lost, with each policy."""
    for k, (policy, sides) in enumerate((("passive", "both"),
                                         ("active", "hq"),
                                         ("newest", "branch"))):
        hq = env.instance("hq%d" % k)
        br = env.instance("branch%d" % k)
        pair(hq, br, "b1", COLS, policy=policy)
        br.shell("INSERT INTO customers(name, phone) VALUES ('Bob', '2'), "
                 "('Del', '9');")
        settle(br)
        bob, dele = br.sid_of(T, 1), br.sid_of(T, 2)
        for inst in ((hq, br) if sides == "both" else
                     (hq,) if sides == "hq" else (br,)):
            inst.fs("pair", "remove", "b1")
        br.shell("UPDATE customers SET phone = 'gap' WHERE name = 'Bob'; "
                 "UPDATE customers SET fs_status = 1 WHERE name = 'Del';")
        hq.shell("UPDATE customers SET email = 'hq gap 0' WHERE name = "
                 "'Bob'; UPDATE customers SET email = 'hq gap' WHERE name = "
                 "'Bob';")
        if sides == "both":
            pair(hq, br, "b1", COLS, policy=policy)
        elif sides == "hq":
            hq.fs("pair", "add", "b1", "--passive", "--password-file",
                  env.path("pw"))
            for col in COLS:
                wire = br.one("SELECT f.fid FROM _fs_field f JOIN "
                              "_fs_table t USING (tid) WHERE t.name = ? "
                              "AND f.name = ?", (T, col))
                hq.fs("map", "add", "b1", "%s.%s" % (T, col),
                      "--remote-field", wire)
        else:
            br.fs("pair", "add", "b1", "--active", "--url",
                  "http://127.0.0.1:%d/" % hq.port, "--password-file",
                  env.path("pw"), "--interval", 1)
            for col in COLS:
                br.fs("map", "add", "b1", "%s.%s" % (T, col))
            br.fs("pair", "set", "b1", "policy", policy)
        settle(br)
        for inst in (hq, br):
            what = "%s (policy %s, added again on %s)" % (inst.name, policy,
                                                          sides)
            eq((val(inst, bob, "phone"), val(inst, bob, "email")),
               ("gap", "hq gap"), "Bob on " + what)
            eq(val(inst, dele, "fs_status"), 1, "Del on " + what)
            eq(inst.conflicts(True), [], "conflicts on " + what)
            eq(inst.status("b1")["state"], "green", "status on " + what)


def added_again_clash(env):
    """What the versions a change names cannot tell (the branch changed
    a field, the pairing was added again on both sides, and the branch
    changed the field twice more meanwhile): head office takes it for a
    clash, and its policy keeps head office's copy.  The sides still end
    equal: the winner is logged again for the branch, naming the version
    it won over, and the branch takes it.  The conflict, on head office,
    is reversible like any other."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS, policy="passive")
    br.shell("INSERT INTO customers(name, phone) VALUES ('Bob', '1');")
    settle(br)
    br.shell("UPDATE customers SET phone = '2';")
    settle(br)
    sid = br.sid_of(T, 1)
    for inst in (hq, br):
        inst.fs("pair", "remove", "b1")
    br.shell("UPDATE customers SET phone = 'gap 1';"
             "UPDATE customers SET phone = 'gap 2';")
    pair(hq, br, "b1", COLS, policy="passive")
    settle(br)
    for inst in (hq, br):
        eq(val(inst, sid, "phone"), "2", "%s: phone" % inst.name)
    cs = hq.conflicts()
    eq([(c["local"], c["remote"], c["winner"]) for c in cs],
       [("2", "gap 2", "local")], "hq's conflict")
    # Nothing more moves, and the branch's history shows no extra row.
    eq([(e["old"], e["new"]) for e in br.history(T, br.rowid_of(T, sid))[
        "entries"]][:1], [("gap 2", "2")], "branch's newest log entry")
    hq.fs("conflicts", "resolve", str(cs[0]["id"]), "--keep", "remote")
    settle(br)
    for inst in (hq, br):
        eq(val(inst, sid, "phone"), "gap 2", "%s: phone after resolve" %
           inst.name)


def seeded_copy_edit(env):
    """A branch seeded from a copy of head office's file (init
    --new-identity) edits a field before its first sync: head office
    never changed it since the copy, so that is no conflict, even with
    the policy that favours head office."""
    hq = env.instance("hq")
    s1 = env.instance("s1")
    pair(hq, s1, "b1", COLS, policy="passive")
    s1.shell("INSERT INTO customers(name, email) VALUES ('B', 'e');")
    settle(s1)
    sid = s1.sid_of(T, 1)
    src = sqlite3.connect(hq.db)
    dst = sqlite3.connect(env.path("s4.db"))
    src.backup(dst)
    src.close()
    dst.close()
    s4 = Instance(env, "s4")
    env.insts["s4"] = s4
    s4.fs("init", "--new-identity")
    s4.fs("pair", "remove", "b1")
    s4.execute("UPDATE customers SET email = 's4 edit'")
    pair(hq, s4, "b4", COLS, policy="passive")
    settle(s4)
    settle(s1)
    for inst in (hq, s1, s4):
        eq(val(inst, sid, "email"), "s4 edit", "%s: email" % inst.name)
        eq(inst.conflicts(True), [], "%s: conflicts" % inst.name)


if __name__ == "__main__":
    run([different_fields, same_value, newest_branch_last, newest_hq_last,
         active_wins, passive_wins, no_echo, resync_idempotent,
         restore_wins_clash, hard_delete_wins_clash, conflict_storm,
         conflict_once, resolve_after_edit, resolve_refused, map_change,
         map_new_field,
         remapped_elsewhere, pairing_added_again, added_again_clash,
         seeded_copy_edit],
        budget=150)
