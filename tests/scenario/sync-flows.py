#!/usr/bin/env python3
"""sync-flows.py - what flows where (DESIGN.md 3, field maps, identity).

Two real fieldsync processes on 127.0.0.1: a passive "hq" serving, an
active "branch" running "fieldsync sync" passes.  App rows are written
with the sqlite3 shell on one side and Python's sqlite3 on the other.

Proves:
 - insert, update, soft delete (fs_status = 1), hard DELETE and restore
   flow in both directions when the fields are two-way, and restoring
   the soft-deleted copy of a record hard-deleted on the other side
   brings its row back there, whole and linked;
 - every mode combination lets values flow exactly in the directions
   DESIGN.md allows (active two-way/upload and passive two-way/download
   for active -> passive, and the mirror), never in a forbidden one, and
   the same for deletes when the status field is one-way;
 - a hard DELETE arrives as a soft delete, or as a hard delete when the
   pairing says "deletes hard"; with the status column unmapped no delete
   flows at all;
 - the time added travels unchanged with a new record;
 - unmapped columns are never written by sync, and a column mapped
   later catches up on the records that synced before;
 - a record both sides created with the same key of the app's own UNIQUE
   index is linked as one (the differing field a conflict); one the
   constraint refuses and that cannot be linked fails the pass with the
   reason on both sides' status, applies nothing, and flows once the
   data is fixed;
 - on a first sync, --match links existing records instead of duplicating
   them, and an ambiguous match (two records with the key on either
   side) is reported (status ambiguous_matches), never guessed; 20,000 records on each side with an unindexed match
   column link in one pass (fieldsync indexes the column unless the app
   already has an index to search it by, and drops its index again with
   table remove);
 - rows the app's own triggers insert while a peer's change is applied
   get a record and flow like any other, and their edits are captured;
 - a row a REPLACE removed for its UNIQUE value without a delete trigger
   is found by the hourly look and deleted on the peer.
"""

import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (Instance, eq, expect, pair, run, same_rows,  # noqa: E402
                     settle, sync_ok)

COLS = ["name", "phone", "email", "fs_status", "fs_added"]
T = "customers"


def row(inst, sid, cols="name, phone, email, note, fs_status, fs_added"):
    """The row of a record by sync identity, as a dict (None if gone)."""
    rowid = inst.rowid_of(T, sid)
    if rowid is None:
        return None
    names = [c.strip() for c in cols.split(",")]
    r = inst.query("SELECT %s FROM customers WHERE id = ?" % cols, (rowid,))
    return dict(zip(names, r[0])) if r else None


def write(inst, sql, params=()):
    """The branch writes with the sqlite3 shell, hq with Python."""
    if inst.name == "branch":
        inst.shell(sql % tuple(sqlquote(p) for p in params) + ";")
        return None
    return inst.execute(sql.replace("%s", "?"), params)


def sqlquote(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def last_sid(inst):
    return inst.one("SELECT sid FROM _fs_record WHERE tid = ? ORDER BY rid "
                    "DESC LIMIT 1", (inst.tid(T),))


def two_way(env):
    """Every operation flows both ways with two-way fields."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, note) VALUES ('keep b', 'b');")
    hq.execute("INSERT INTO customers(name, note) VALUES ('keep h', 'h')")
    for src, dst in ((br, hq), (hq, br)):
        tag = src.name
        # insert
        write(src, "INSERT INTO customers(name, phone, email, note) VALUES "
              "(%s, %s, %s, %s)", ("Ann " + tag, "111", "ann@" + tag,
                                   "only " + tag))
        sid = last_sid(src)
        added = row(src, sid)["fs_added"]
        expect(added, "%s: time added was not filled" % tag)
        c = sync_ok(br)
        eq(c["conflicts"], 0, "conflicts")
        got = row(dst, sid)
        expect(got is not None, "insert on %s did not reach %s" % (
            tag, dst.name))
        eq(got, {"name": "Ann " + tag, "phone": "111", "email": "ann@" + tag,
                 "note": None, "fs_status": 0, "fs_added": added},
           "new record on %s (time added travels, note stays unmapped)" %
           dst.name)
        # update
        write(src, "UPDATE customers SET phone = %s, note = %s WHERE id = %s",
              ("222", "changed " + tag, src.rowid_of(T, sid)))
        sync_ok(br)
        eq(row(dst, sid)["phone"], "222", "update %s -> %s" % (tag, dst.name))
        eq(row(dst, sid)["note"], None, "unmapped note on %s" % dst.name)
        h = dst.history(T, dst.rowid_of(T, sid))
        upd = [e for e in h["entries"] if e["column"] == "phone"]
        eq(len(upd), 1, "phone entries in %s's log" % dst.name)
        eq((upd[0]["old"], upd[0]["new"], upd[0]["source"]),
           ("111", "222", "b1"), "log entry of the update on %s" % dst.name)
        # soft delete, then restore from the other side
        write(src, "UPDATE customers SET fs_status = 1 WHERE id = %s",
              (src.rowid_of(T, sid),))
        sync_ok(br)
        eq(row(dst, sid)["fs_status"], 1, "soft delete %s -> %s" % (
            tag, dst.name))
        write(dst, "UPDATE customers SET fs_status = 0 WHERE id = %s",
              (dst.rowid_of(T, sid),))
        sync_ok(br)
        eq(row(src, sid)["fs_status"], 0, "restore %s -> %s" % (dst.name,
                                                               tag))
        eq(row(src, sid)["note"], "changed " + tag, "note on %s" % tag)
        # hard delete arrives as a soft delete
        write(src, "DELETE FROM customers WHERE id = %s",
              (src.rowid_of(T, sid),))
        expect(src.rowid_of(T, sid) is None, "row still on %s" % tag)
        sync_ok(br)
        got = row(dst, sid)
        expect(got is not None, "hard delete on %s removed the row on %s "
               "(pairing says soft)" % (tag, dst.name))
        eq(got["fs_status"], 1, "hard delete %s -> %s as soft" % (
            tag, dst.name))
        # ... and restoring that copy brings the row back where it was
        # hard-deleted: the same record, every mapped field as the peer
        # has it (the unmapped note went with the DELETE).
        write(dst, "UPDATE customers SET fs_status = 0 WHERE id = %s",
              (dst.rowid_of(T, sid),))
        c = sync_ok(br)
        eq(c["conflicts"], 0, "conflicts of the restore")
        back = row(src, sid)
        expect(back is not None, "restore on %s of a record hard-deleted "
               "on %s did not bring it back" % (dst.name, tag))
        eq(back, {"name": "Ann " + tag, "phone": "222", "email": "ann@" + tag,
                  "note": None, "fs_status": 0, "fs_added": added},
           "restored row on %s" % tag)
        h = src.history(T, src.rowid_of(T, sid))
        st = [e for e in h["entries"] if e["column"] == "fs_status"]
        eq((st[0]["new"], st[0]["source"]), (0, "b1"),
           "the restore in %s's log" % tag)
        # ... and it is linked again: an edit there flows back.
        write(src, "UPDATE customers SET phone = %s WHERE id = %s",
              ("444", src.rowid_of(T, sid)))
        sync_ok(br)
        eq(row(dst, sid)["phone"], "444", "edit of the restored row %s -> "
           "%s" % (tag, dst.name))
        same_rows(src, dst, T, COLS)
    # Nothing more to move, nothing ever touched note from outside.
    settle(br)
    for inst in (hq, br):
        eq(inst.query("SELECT count(*) FROM _fs_log WHERE fid = ? AND src "
                      "IS NOT NULL", (inst.fid(T, "note"),))[0][0], 0,
           "%s: sync wrote the unmapped note" % inst.name)
    # The two kept rows and the two restored ones.
    eq(len(same_rows(hq, br, T, COLS, where="fs_status = 0")), 4,
       "live records")


def hard_deletes(env):
    """With deletes hard, a hard DELETE removes the row on the peer."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS, deletes="hard")
    br.shell("INSERT INTO customers(name) VALUES ('from branch');")
    hq.execute("INSERT INTO customers(name) VALUES ('from hq')")
    sync_ok(br)
    eq(hq.count(T), 2, "rows on hq")
    eq(br.count(T), 2, "rows on branch")
    s_br = br.sid_of(T, 1)
    s_hq = hq.sid_of(T, 1)
    br.shell("DELETE FROM customers WHERE name = 'from branch';")
    hq.execute("DELETE FROM customers WHERE name = 'from hq'")
    c = sync_ok(br)
    eq(c["conflicts"], 0, "conflicts")
    eq(hq.count(T), 0, "rows on hq after hard deletes both ways")
    eq(br.count(T), 0, "rows on branch after hard deletes both ways")
    for inst in (hq, br):
        for sid in (s_br, s_hq):
            eq(inst.rowid_of(T, sid), None, "%s: tombstone" % inst.name)
    settle(br)
    # Soft deletes still are soft.
    br.shell("INSERT INTO customers(name) VALUES ('soft');")
    sync_ok(br)
    br.shell("UPDATE customers SET fs_status = 1 WHERE name = 'soft';")
    sync_ok(br)
    eq(hq.query("SELECT fs_status FROM customers WHERE name = 'soft'"),
       [(1,)], "soft delete with deletes hard")


def status_unmapped(env):
    """Without the status field mapped no delete flows."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", ["name", "phone"])
    br.shell("INSERT INTO customers(name) VALUES ('a'), ('b');")
    sync_ok(br)
    eq(hq.count(T), 2, "rows on hq")
    br.shell("UPDATE customers SET fs_status = 1 WHERE name = 'a'; "
             "DELETE FROM customers WHERE name = 'b';")
    c = sync_ok(br)
    eq(c["sent"], 0, "values sent for unmapped deletes")
    eq(hq.query("SELECT name, fs_status FROM customers ORDER BY name"),
       [("a", 0), ("b", 0)], "hq rows after unmapped deletes")


# (column, active mode, passive mode, flows a->p, flows p->a)
MODES = [
    ("c01", "two-way", "two-way", True, True),
    ("c02", "upload", "download", True, False),
    ("c03", "download", "upload", False, True),
    ("c04", "upload", "two-way", True, False),
    ("c05", "two-way", "download", True, False),
    ("c06", "download", "two-way", False, True),
    ("c07", "two-way", "upload", False, True),
    ("c08", "upload", "upload", False, False),
    ("c09", "download", "download", False, False),
    ("c10", "off", "two-way", False, False),
    ("c11", "two-way", "off", False, False),
]
MSCHEMA = ("CREATE TABLE m(id INTEGER PRIMARY KEY, %s);" %
           ", ".join("%s TEXT" % c[0] for c in MODES))


def modes(env):
    """Each mode pair flows exactly where DESIGN.md allows."""
    hq = env.instance("hq", MSCHEMA, ("m",))
    br = env.instance("branch", MSCHEMA, ("m",))
    cols = [c[0] for c in MODES]
    fields = [(c, am, pm) for c, am, pm, _, _ in MODES]
    # Deletes one way only: the status field is upload on the branch.
    fields.append(("fs_status", "upload", "download"))
    pair(hq, br, "b1", fields, table="m")
    out = br.fs("pair", "test", "b1")
    for c in ("c08", "c09"):
        expect("m.%s" % c in out and "let nothing flow" in out,
               "pair test does not warn about %s: %r" % (c, out))
    expect("m.c11" in out, "pair test does not warn about the unmapped "
           "c11: %r" % out)

    def vals(inst, sid):
        r = inst.query("SELECT %s FROM m WHERE id = ?" % ", ".join(cols),
                       (inst.rowid_of("m", sid),))
        return dict(zip(cols, r[0]))

    # A record made on the branch: only a->p fields arrive.
    br.shell("INSERT INTO m(%s) VALUES (%s);" % (
        ", ".join(cols), ", ".join("'b-%s'" % c for c in cols)))
    sb = br.sid_of("m", 1)
    sync_ok(br)
    got = vals(hq, sb)
    for c, am, pm, ap, pa in MODES:
        eq(got[c], "b-%s" % c if ap else None,
           "new branch record, %s (%s/%s) on hq" % (c, am, pm))
    # A record made on hq: only p->a fields arrive.
    hq.execute("INSERT INTO m(%s) VALUES (%s)" % (
        ", ".join(cols), ", ".join("'h-%s'" % c for c in cols)))
    sh = hq.one("SELECT sid FROM _fs_record r JOIN m ON m.id = r.lrow "
                "WHERE m.c08 = 'h-c08'")
    sync_ok(br)
    got = vals(br, sh)
    for c, am, pm, ap, pa in MODES:
        eq(got[c], "h-%s" % c if pa else None,
           "new hq record, %s (%s/%s) on branch" % (c, am, pm))
    # Updates on both sides of both records, different fields per side
    # so nothing conflicts: branch writes odd rounds, hq even rounds.
    for rnd in range(2):
        src, dst, tag = (br, hq, "B") if rnd == 0 else (hq, br, "H")
        for sid in (sb, sh):
            before = vals(dst, sid)
            src.execute("UPDATE m SET %s WHERE id = ?" % ", ".join(
                "%s = '%s%d-%s'" % (c, tag, rnd, c) for c in cols),
                (src.rowid_of("m", sid),))
            c = sync_ok(br)
            eq(c["conflicts"], 0, "conflicts")
            after = vals(dst, sid)
            for col, am, pm, ap, pa in MODES:
                flows = ap if src is br else pa
                want = "%s%d-%s" % (tag, rnd, col) if flows else before[col]
                eq(after[col], want, "update on %s of %s (%s/%s) seen on %s"
                   % (src.name, col, am, pm, dst.name))
    # Deletes: hq's soft and hard delete never reach the branch ...
    hq.execute("UPDATE m SET fs_status = 1 WHERE id = ?",
               (hq.rowid_of("m", sb),))
    hq.execute("DELETE FROM m WHERE id = ?", (hq.rowid_of("m", sh),))
    c = sync_ok(br)
    eq(c["received"], 0, "values the branch received for download-only "
       "deletes")
    eq(br.query("SELECT fs_status FROM m ORDER BY id"), [(0,), (0,)],
       "branch rows after hq's deletes")
    # ... but the branch's do reach hq.
    br.shell("UPDATE m SET fs_status = 1 WHERE id = %d;" %
             br.rowid_of("m", sh))
    sync_ok(br)
    eq(hq.one("SELECT fs_status FROM m WHERE id = ?",
              (hq.rowid_of("m", sb),)), 1, "hq's own soft delete")
    eq(hq.rowid_of("m", sh), None, "hq's hard-deleted row came back")
    # The branch deletes and restores sb: both reach hq (whose own
    # delete of it never left hq).
    br.shell("UPDATE m SET fs_status = 1 WHERE id = %d;" %
             br.rowid_of("m", sb))
    sync_ok(br)
    br.shell("UPDATE m SET fs_status = 0 WHERE id = %d;" %
             br.rowid_of("m", sb))
    sync_ok(br)
    eq(hq.one("SELECT fs_status FROM m WHERE id = ?",
              (hq.rowid_of("m", sb),)), 0, "restore branch -> hq")
    settle(br)


def map_added_later(env):
    """A field mapped after records synced catches up, both ways."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", ["name", "fs_status"])
    br.shell("INSERT INTO customers(name, phone) VALUES ('b', 'b-phone');")
    hq.execute("INSERT INTO customers(name, phone) VALUES ('h', 'h-phone')")
    settle(br)
    eq(sorted(hq.query("SELECT name, phone FROM customers")),
       [("b", None), ("h", "h-phone")], "hq before phone is mapped")
    out = br.fs("map", "add", "b1", "customers.phone")
    wire = out.split("as field ")[1].split()[0]
    hq.fs("map", "add", "b1", "customers.phone", "--remote-field", wire)
    settle(br)
    for inst in (hq, br):
        eq(sorted(inst.query("SELECT name, phone FROM customers")),
           [("b", "b-phone"), ("h", "h-phone")],
           "%s after phone is mapped" % inst.name)
    eq(hq.conflicts(True) + br.conflicts(True), [], "conflicts")


def match(env):
    """A first sync links records by --match; ambiguity is reported."""
    hq = env.instance("hq", match={T: "email"})
    br = env.instance("branch", match={T: "email"})
    # Rows that existed before pairing, on both sides.
    hq.executemany("INSERT INTO customers(name, phone, email) VALUES "
                   "(?, ?, ?)", [
                       ("Ann", "1", "ann@x"), ("Bob", "2hq", "bob@x"),
                       ("Dan", "4", "dan@x"), ("Dup1", "5", "dup@x"),
                       ("Dup2", "6", "dup@x"), ("NoMail", "7", None),
                       ("Eve", "8", "eve@x")])
    # The branch's duplicate: the sender's side (its records arrive one
    # by one at hq, where the first would have taken the only eve@x).
    br.shell("INSERT INTO customers(name, phone, email) VALUES "
             "('Ann', '1', 'ann@x'), ('Bob', '2', 'bob@x'), "
             "('Cid', '3', 'cid@x'), ('Dup', '5', 'dup@x'), "
             "('NoMail', '7', NULL), ('Eve1', '8', 'eve@x'), "
             "('Eve2', '9', 'eve@x');")
    pair(hq, br, "b1", ["name", "phone", "email", "fs_status"])
    settle(br)
    # Bob's phone differed: one conflict, decided by the policy (newest:
    # the branch wrote last), both values kept.
    cf = hq.conflicts() + br.conflicts()
    eq([(c["column"], c["local"], c["remote"]) for c in cf],
       [("phone", "2hq", "2")], "conflicts of linked records")
    # ann and bob linked, not duplicated; cid, dan, NoMail copied across.
    for inst in (hq, br):
        for email in ("ann@x", "bob@x", "cid@x", "dan@x"):
            eq(inst.one("SELECT count(*) FROM customers WHERE email = ?",
                        (email,)), 1, "%s: rows with %s" % (inst.name, email))
        eq(inst.one("SELECT count(*) FROM customers WHERE email IS NULL"), 2,
           "%s: rows without a key (never matched)" % inst.name)
    eq(hq.status("b1")["ambiguous_matches"] +
       br.status("b1")["ambiguous_matches"] >= 1, True,
       "ambiguous match reported in status")
    # Not guessed: the branch's single dup row is linked to neither of
    # hq's two, so all three exist on both sides.
    for inst in (hq, br):
        eq(sorted(r[0] for r in inst.query(
            "SELECT name FROM customers WHERE email = 'dup@x'")),
           ["Dup", "Dup1", "Dup2"], "%s: dup@x rows" % inst.name)
        eq(sorted(r[0] for r in inst.query(
            "SELECT name FROM customers WHERE email = 'eve@x'")),
           ["Eve", "Eve1", "Eve2"], "%s: eve@x rows" % inst.name)
    expect(hq.status("b1")["ambiguous_matches"] >= 2,
           "hq counts the branch's two eve@x records as ambiguous: %r" %
           hq.status("b1"))
    same_rows(hq, br, T, ["name", "phone", "email", "fs_status"], "b1", "b1")
    # A linked record stays linked: later edits go to the same row.
    br.shell("UPDATE customers SET phone = '99' WHERE email = 'ann@x';")
    hq.execute("UPDATE customers SET name = 'Robert' WHERE email = 'bob@x'")
    c = sync_ok(br)
    eq(c["conflicts"], 0, "conflicts on linked records")
    for inst in (hq, br):
        eq(inst.query("SELECT name, phone FROM customers WHERE email IN "
                      "('ann@x', 'bob@x') ORDER BY email"),
           [("Ann", "99"), ("Robert", "2")], "%s: linked rows" % inst.name)
    same_rows(hq, br, T, ["name", "phone", "email", "fs_status"], "b1", "b1")


def links_kept(env):
    """Records linked on a first sync (by --match, or by the app's UNIQUE
    index) stay linked when head office removes the pairing and adds it
    again for the same branch: no second copy, no stopped pass, and the
    next edit reaches the linked record."""
    for k, how in enumerate(("match", "unique")):
        if how == "match":
            hq = env.instance("hq%d" % k, match={T: "email"})
            br = env.instance("branch%d" % k, match={T: "email"})
        else:
            hq = env.instance("hq%d" % k, schema=UNIQUE_SCHEMA)
            br = env.instance("branch%d" % k, schema=UNIQUE_SCHEMA)
        for inst in (hq, br):
            inst.shell("INSERT INTO customers(name, phone, email) VALUES "
                       "('Ann', '1', 'ann@x');")
        pair(hq, br, "b1", COLS)
        settle(br)
        hq.fs("pair", "remove", "b1")
        hq.fs("pair", "add", "b1", "--passive", "--password-file",
              env.path("pw"))
        for f in br.fs_json("map", "list", "b1")["fields"]:
            hq.fs("map", "add", "b1", "%s.%s" % (T, f["column"]),
                  "--remote-field", f["field"])
        settle(br)
        hq.shell("UPDATE customers SET phone = 'after' WHERE email = "
                 "'ann@x';")
        settle(br)
        for inst in (hq, br):
            eq(inst.query("SELECT name, phone FROM customers"),
               [("Ann", "after")], "%s (%s): rows" % (inst.name, how))
            eq(inst.status("b1")["state"], "green", "%s (%s): status" % (
                inst.name, how))


def match_many(env):
    """--match on a column the app never indexed: a first sync of 20,000
    records on each side links them all (each lookup reading the whole
    table took minutes and hit the client's timeout)."""
    n = 20000
    cols = ["name", "phone", "email", "fs_status"]
    hq = env.instance("hq", match={T: "email"})
    br = env.instance("branch", match={T: "email"})
    for inst in (hq, br):
        eq(inst.query("SELECT name FROM sqlite_schema WHERE type = 'index' "
                      "AND tbl_name = 'customers'"),
           [("_fs_match_%d" % inst.tid(T),)],
           "%s: the match index fieldsync made" % inst.name)
        inst.executemany("INSERT INTO customers(name, phone, email) VALUES "
                         "(?, ?, ?)", [("c%d" % i, str(i), "c%d@x" % i)
                                       for i in range(n)])
    pair(hq, br, "b1", cols)
    settle(br)
    for inst in (hq, br):
        eq(inst.count(T), n, "%s: rows (linked, not duplicated)" % inst.name)
    eq(hq.status("b1")["ambiguous_matches"], 0, "ambiguous matches")
    same_rows(hq, br, T, cols, "b1", "b1")
    # An index of the app's own makes fieldsync's unnecessary; table
    # remove takes fieldsync's away.
    hq.execute("CREATE INDEX app_email ON customers(email)")
    hq.fs("table", "add", T)
    eq(hq.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND "
                "tbl_name = 'customers' ORDER BY name"), [("app_email",)],
       "indexes with the app's own")
    hq.execute("DROP INDEX app_email")
    hq.fs("table", "add", T)
    hq.fs("table", "remove", T)
    eq(hq.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND "
                "tbl_name = 'customers'"), [], "indexes after table remove")


UNIQUE_SCHEMA = ("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, "
                 "phone TEXT, email TEXT UNIQUE, note TEXT);")


def unique_link(env):
    """Both sides create a record with the same key of the app's own
    UNIQUE index before they meet: the two are linked as one record (as
    --match would), the differing field is a conflict, nothing is stuck."""
    hq = env.instance("hq", schema=UNIQUE_SCHEMA)
    br = env.instance("branch", schema=UNIQUE_SCHEMA)
    cols = ["name", "email", "fs_status"]
    pair(hq, br, "b1", cols)
    hq.execute("INSERT INTO customers(name, email) VALUES ('Ann hq', "
               "'ann@x'), ('Other', 'o@x')")
    time.sleep(0.01)
    br.shell("INSERT INTO customers(name, email) VALUES ('Ann branch', "
             "'ann@x'), ('Bob', 'bob@x');")
    settle(br)
    for inst in (hq, br):
        eq(inst.count(T), 3, "%s: rows (Ann once)" % inst.name)
        eq(inst.query("SELECT name FROM customers WHERE email = 'ann@x'"),
           [("Ann branch",)], "%s: Ann, the newer name" % inst.name)
    cf = hq.conflicts() + br.conflicts()
    eq([(c["column"], c["local"], c["remote"]) for c in cf],
       [("name", "Ann hq", "Ann branch")], "the clash of the two names")
    same_rows(hq, br, T, cols, "b1", "b1")
    # Linked for good: later edits go to the same row on both sides.
    hq.execute("UPDATE customers SET name = 'Ann' WHERE email = 'ann@x'")
    settle(br)
    eq(br.query("SELECT name FROM customers WHERE email = 'ann@x'"),
       [("Ann",)], "edit of the linked record")


def constraint_refused(env):
    """The app's own constraint refuses a record the peer cannot link (the
    row holding its key is one the peer already has): the pass fails
    with the reason on both sides' status, nothing of the batch is
    applied, and once a person fixes the data everything flows."""
    hq = env.instance("hq", schema=UNIQUE_SCHEMA)
    br = env.instance("branch")
    cols = ["name", "email", "fs_status"]
    pair(hq, br, "b1", cols)
    hq.execute("INSERT INTO customers(name, email) VALUES ('Ann', 'ann@x')")
    settle(br)
    br.shell("INSERT INTO customers(name, email) VALUES ('Ann again', "
             "'ann@x'), ('Bob', 'bob@x');")
    before = hq.state_dump()
    r = br.sync("b1", check=False)
    err = r.stderr.decode()
    expect(r.returncode != 0 and "UNIQUE constraint failed: customers.email"
           in err and "to customers" in err,
           "the failed pass said %r" % err)
    for inst in (hq, br):
        st = inst.status("b1")
        expect(st["state"] == "red" and "UNIQUE constraint failed" in
               st["reason"], "%s status %r" % (inst.name, st["reason"]))
        eq(st["error_kind"], "error", "%s: the kind of failure" % inst.name)
    after = hq.state_dump()
    eq([t for t in after if t[0] != "_fs_pair_state"],
       [t for t in before if t[0] != "_fs_pair_state"], "hq's data")
    # A person gives the second one its own address; then all flows.
    br.shell("UPDATE customers SET email = 'ann2@x' WHERE name = "
             "'Ann again';")
    settle(br)
    for inst in (hq, br):
        eq(inst.count(T), 3, "%s: rows" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, cols, "b1", "b1")
    # hq's daemon logged the refusal, the recovery and what moved.
    log = hq.log_text()
    for what, line in (
            ("the refusal", r" warn pairing b1: refused POST "
             r"/sync/v1/exchange from 127\.0\.0\.1: 5\d\d: .*UNIQUE "
             r"constraint failed"),
            ("the recovery", r" info pairing b1: the active side's "
             r"exchanges succeed again$"),
            ("the exchange", r" info pairing b1: exchange: received 6 "
             r"values in 2 records, sent 0 values in 0 records, 0 "
             r"conflicts$")):
        expect(re.search(line, log, re.M), "hq's log lacks %s: %s" % (
            what, log[-1500:]))


def active_refuses(env):
    """The active side's app refuses the passive side's change (its
    NOT NULL, which the passive side's schema lacks): every pass fails
    there, and the passive side, whose requests all succeed, says so
    too, from the next request on, until a request after a pass that
    went through."""
    hq = env.instance("hq")
    br = env.instance("branch", schema="CREATE TABLE customers(id INTEGER "
                      "PRIMARY KEY, name TEXT NOT NULL, phone TEXT, email "
                      "TEXT, note TEXT);")
    cols = ["name", "phone", "fs_status"]
    pair(hq, br, "b1", cols)
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    settle(br)
    hq.shell("UPDATE customers SET name = NULL;")
    for _ in range(2):
        r = br.sync("b1", check=False)
        expect(r.returncode == 1 and b"NOT NULL constraint failed" in
               r.stderr, "branch's pass: %r" % r.stderr)
    st = hq.status("b1")
    expect(st["state"] == "red" and st["reason"].startswith(
        "error: the active side's last pass failed: cannot write the "
        "peer's change of customers.name") and "NOT NULL" in st["reason"],
        "hq's status: %r" % st["reason"])
    expect(re.search(r" warn pairing b1: the active side's last pass "
                     r"failed: .*NOT NULL", hq.log_text()), "hq's log")
    hq.shell("UPDATE customers SET name = 'Ann';")
    settle(br)
    br.sync("b1")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, cols, "b1", "b1")


def recreated_key(env):
    """The branch deletes a customer (a hard DELETE, which reaches hq as
    a soft delete: hq keeps the row) and creates a new one with the same
    UNIQUE email.  The deleted row on hq gives way to the new record
    (deleted for good there, as a change of hq's), and both sides end
    with the new customer only."""
    hq = env.instance("hq", schema=UNIQUE_SCHEMA)
    br = env.instance("branch", schema=UNIQUE_SCHEMA)
    cols = ["name", "email", "fs_status"]
    pair(hq, br, "b1", cols)
    br.shell("INSERT INTO customers(name, email) VALUES ('Ann', 'ann@x');")
    settle(br)
    br.shell("DELETE FROM customers WHERE email = 'ann@x';")
    settle(br)
    old = hq.one("SELECT id FROM customers WHERE email = 'ann@x'")
    eq(hq.one("SELECT fs_status FROM customers"), 1, "hq's soft delete")
    sid = hq.sid_of(T, old)
    br.shell("INSERT INTO customers(name, email) VALUES ('Ann anew', "
             "'ann@x');")
    settle(br)
    for inst in (hq, br):
        eq(inst.query("SELECT name, email, fs_status FROM customers"),
           [("Ann anew", "ann@x", 0)], "%s's customers" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    eq(hq.one("SELECT lrow FROM _fs_record WHERE sid = ?", (sid,)), None,
       "hq: the old record a tombstone")


def copied_database(env):
    """A branch set up from a copy of hq's database (the usual way to seed
    one) has hq's own identity: pairing the two is refused with the way
    out, not a silent "in sync"; after 'init --new-identity' on the copy
    the two converge, with no record doubled and no change lost, also
    the copy's changes from before it got its identity (hq's own, to
    hq: no conflict)."""
    hq = env.instance("hq")
    cols = ["name", "phone", "fs_status"]
    hq.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1'), "
             "('Bob', '2'); UPDATE customers SET phone = '1b' "
             "WHERE name = 'Ann';")
    src = sqlite3.connect(hq.db)
    dst = sqlite3.connect(env.path("branch.db"))
    src.backup(dst)
    src.close()
    dst.close()
    br = Instance(env, "branch")
    env.insts["branch"] = br
    pair(hq, br, "b1", cols)
    br.shell("UPDATE customers SET phone = 'br-edit' WHERE name = 'Ann'; "
             "INSERT INTO customers(name, phone) VALUES ('Cy', '3');")
    before = hq.state_dump()
    r = br.sync("b1", check=False)
    err = r.stderr.decode()
    expect(r.returncode != 0 and "copy of the other" in err and
           "init --new-identity" in err, "the refused pass said %r" % err)
    st = br.status("b1")
    expect(st["state"] == "red" and "copy" in st["reason"],
           "branch status %r" % st)
    eq([t for t in hq.state_dump() if t[0] != "_fs_pair_state"],
       [t for t in before if t[0] != "_fs_pair_state"], "hq after refusal")

    out = br.fs("init", "--new-identity")
    expect("new identity" in out, "init --new-identity said %r" % out)
    expect(hq.one("SELECT value FROM _fs_meta WHERE key = 'instance_id'") !=
           br.one("SELECT value FROM _fs_meta WHERE key = 'instance_id'"),
           "identities still equal")
    settle(br)
    hq.shell("UPDATE customers SET phone = 'hq-edit' WHERE name = 'Bob';")
    br.shell("INSERT INTO customers(name, phone) VALUES ('Dee', '4');")
    settle(br)
    for inst in (hq, br):
        eq(inst.count(T), 4, "%s: rows" % inst.name)
        eq(inst.one("SELECT phone FROM customers WHERE name = 'Ann'"),
           "br-edit", "%s: Ann's phone" % inst.name)
        eq(inst.one("SELECT phone FROM customers WHERE name = 'Bob'"),
           "hq-edit", "%s: Bob's phone" % inst.name)
    same_rows(hq, br, T, cols, "b1", "b1")
    # The copy's edit before its new identity counts as hq's own, later
    # than hq's value: ordered by the clock, no conflict.
    for inst in (hq, br):
        eq(inst.conflicts(), [], "%s: conflicts" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


REBUILD = ("BEGIN; CREATE TABLE customers_new(id INTEGER PRIMARY KEY, "
           "name TEXT, phone TEXT, email TEXT, note TEXT, "
           "fs_status INTEGER NOT NULL DEFAULT 0, fs_added TEXT, vip INTEGER); "
           "INSERT INTO customers_new(id, name, phone, email, note, "
           "fs_status, fs_added) SELECT id, name, phone, email, note, "
           "fs_status, fs_added FROM customers; DROP TABLE customers; "
           "ALTER TABLE customers_new RENAME TO customers; COMMIT;")


def table_rebuilt(env):
    """The app rebuilds an enrolled table (SQLite's way to change a
    column), which drops the capture triggers: the next pass fails on
    that side with the reason and the fix, the status is red, nothing is
    applied to the table; 'table add' puts capture back and all flows.
    On the passive side the same, through the 500 it answers."""
    hq = env.instance("hq")
    br = env.instance("branch")
    cols = ["name", "phone", "fs_status"]
    pair(hq, br, "b1", cols)
    hq.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1'), "
             "('Bob', '2');")
    settle(br)
    for side in (br, hq):
        side.shell(REBUILD)
        listed = side.fs_json("table", "list")
        expect(listed[0]["capture_lost"] is True, "table list %r" % listed)
        other = hq if side is br else br
        other.shell("UPDATE customers SET phone = 'x-%s' WHERE name = "
                    "'Bob';" % other.name)
        before = side.state_dump()
        r = br.sync("b1", check=False)
        err = r.stderr.decode()
        expect(r.returncode != 0 and "lost" in err and
               "fieldsync table add customers" in err,
               "the pass with %s's table rebuilt said %r" % (side.name, err))
        st = side.status("b1")
        expect(st["state"] == "red" and "capture triggers" in st["reason"],
               "%s status %r" % (side.name, st))
        eq([t for t in side.state_dump() if t[0] != "_fs_pair_state"],
           [t for t in before if t[0] != "_fs_pair_state"],
           "%s after the refused pass" % side.name)
        side.fs("table", "add", "customers")
        expect(side.fs_json("table", "list")[0]["capture_lost"] is False,
               "capture back on %s" % side.name)
        side.shell("UPDATE customers SET phone = 'y-%s' WHERE name = "
                   "'Ann';" % side.name)
        settle(br)
        for inst in (hq, br):
            eq(inst.one("SELECT phone FROM customers WHERE name = 'Ann'"),
               "y-%s" % side.name, "%s: Ann" % inst.name)
            eq(inst.one("SELECT phone FROM customers WHERE name = 'Bob'"),
               "x-%s" % other.name, "%s: Bob" % inst.name)
            eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, cols, "b1", "b1")
    eq(hq.count(T), 2, "no record doubled")


def rebuilt_without_system_columns(env):
    """An app's rebuild whose CREATE TABLE names only its own columns
    loses fieldsync's status and time-added columns.  'table add' adds
    them back with their values: each record's status from the change
    log (a deleted record stays deleted), its time added from its
    creation, passed on to the peer so that both sides agree."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    hq.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1'), "
             "('Bob', '2'), ('Cy', '3');")
    settle(br)
    br.shell("UPDATE customers SET fs_status = 1 WHERE name = 'Bob';")
    settle(br)
    hq.shell("UPDATE customers SET fs_status = 1 WHERE name = 'Cy';")
    settle(br)
    br.shell("BEGIN; CREATE TABLE c2(id INTEGER PRIMARY KEY, name TEXT, "
             "phone TEXT, email TEXT, note TEXT, vip INTEGER); INSERT INTO "
             "c2(id, name, phone, email, note) SELECT id, name, phone, "
             "email, note FROM customers; DROP TABLE customers; ALTER TABLE "
             "c2 RENAME TO customers; COMMIT;")
    br.fs("table", "add", "customers")
    eq(br.query("SELECT name, fs_status FROM customers ORDER BY id"),
       [("Ann", 0), ("Bob", 1), ("Cy", 1)], "branch: statuses restored")
    settle(br)
    same_rows(hq, br, T, COLS, "b1", "b1")
    eq(hq.query("SELECT name, fs_status FROM customers ORDER BY id"),
       [("Ann", 0), ("Bob", 1), ("Cy", 1)], "hq")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def column_renamed(env):
    """The app renames a mapped column (ALTER TABLE ... RENAME COLUMN).
    SQLite keeps the capture triggers, under the new name; the next pass
    fails on that side with the column and the fix, instead of sending
    the old column's name as its value (SQLite's reading of an unknown
    name in double quotes), and nothing is applied.  Renamed back, the
    edit made meanwhile flows.  On the passive side the same."""
    hq = env.instance("hq")
    br = env.instance("branch")
    cols = ["name", "phone", "fs_status"]
    pair(hq, br, "b1", cols)
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    settle(br)
    for side, value in ((br, "2"), (hq, "3")):
        other = hq if side is br else br
        side.shell("ALTER TABLE customers RENAME COLUMN phone TO tel;")
        # The edit on the renamed side, and one on the other side.
        side.shell("UPDATE customers SET tel = '%s-%s';" % (value,
                                                            side.name))
        other.shell("UPDATE customers SET name = 'Ann %s';" % other.name)
        before = hq.state_dump()
        r = br.sync("b1", check=False)
        err = r.stderr.decode()
        expect(r.returncode != 0 and "column customers.phone is no longer "
               "in the table (renamed or dropped?)" in err and
               "fieldsync table add customers" in err,
               "the pass with %s's column renamed said %r" % (side.name,
                                                              err))
        st = br.status("b1")
        eq((st["state"], st["error_kind"]), ("red", "error"),
           "branch's status")
        if side is br:
            eq(hq.state_dump(), before, "hq after the refused pass")
        else:
            eq([t for t in hq.state_dump() if t[0] != "_fs_pair_state"],
               [t for t in before if t[0] != "_fs_pair_state"],
               "hq after the refused pass")
        for inst in (hq, br):
            phone = "tel" if inst is side else "phone"
            expect(inst.one("SELECT %s FROM customers" % phone) !=
                   "phone", "%s got the column's name as a value" %
                   inst.name)
        side.shell("ALTER TABLE customers RENAME COLUMN tel TO phone;")
        settle(br)
        for inst in (hq, br):
            eq(inst.query("SELECT name, phone FROM customers"),
               [("Ann %s" % other.name, "%s-%s" % (value, side.name))],
               "%s after the rename back" % inst.name)
            eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    same_rows(hq, br, T, cols, "b1", "b1")


def column_renamed_and_readded(env):
    """The app renames a mapped column and adds a new column under the
    old name (a new format for it).  The capture trigger followed the
    rename, so the pass stops with both names rather than sending the
    new, empty column for the field; 'table add' gives the field to the
    renamed column, which holds its data, and the edit made meanwhile
    flows.  The new column is a field of its own, not mapped."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    settle(br)
    # A new case is no rename to SQL: it syncs on.
    br.shell("ALTER TABLE customers RENAME COLUMN phone TO Phone; UPDATE "
             "customers SET Phone = '1b';")
    settle(br)
    eq(hq.one("SELECT phone FROM customers"), "1b", "hq after a new case")
    br.shell("ALTER TABLE customers RENAME COLUMN phone TO tel; ALTER "
             "TABLE customers ADD COLUMN phone TEXT; UPDATE customers SET "
             "tel = '2' WHERE name = 'Ann';")
    r = br.sync("b1", check=False)
    expect(r.returncode == 1 and b"column customers.phone was renamed to "
           b"tel and a new column took its name" in r.stderr,
           "the pass said %r" % r.stderr)
    eq(hq.one("SELECT phone FROM customers"), "1b", "hq before table add")
    br.fs("table", "add", "customers")
    settle(br)
    eq(hq.one("SELECT phone FROM customers"), "2", "hq after table add")
    mapped = [f["column"] for f in br.fs_json("map", "list", "b1")["fields"]]
    expect("tel" in mapped and "phone" not in mapped, "branch's map %r" %
           mapped)
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def table_renamed(env):
    """The app renames an enrolled table (ALTER TABLE ... RENAME TO),
    and the capture triggers move with it.  The pass stops naming the
    new name and the fix; 'table add NEW' follows the enrolment, with
    its records and maps: nothing doubles, and the edit made meanwhile
    flows."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1'), "
             "('Bob', '2');")
    settle(br)
    br.shell("ALTER TABLE customers RENAME TO clients; UPDATE clients SET "
             "phone = '11' WHERE name = 'Ann';")
    r = br.sync("b1", check=False)
    expect(r.returncode == 1 and b"table customers was renamed to clients"
           in r.stderr and b"'fieldsync table add clients'" in r.stderr,
           "the pass said %r" % r.stderr)
    br.fs("table", "add", "clients")
    settle(br)
    eq(hq.query("SELECT name, phone FROM customers ORDER BY id"),
       [("Ann", "11"), ("Bob", "2")], "hq")
    eq(br.count("clients"), 2, "branch: rows")
    eq(br.one("SELECT count(*) FROM _fs_record"), 2, "branch: records")
    mapped = [f["table"] for f in br.fs_json("map", "list", "b1")["fields"]]
    expect(mapped and all(t == "clients" for t in mapped),
           "branch's map %r" % mapped)
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def app_trigger_rows(env):
    """Rows the app's own triggers insert while sync applies a peer's
    change (a journal kept by the app at head office) get a record like
    any other row: they flow to the peer, and later edits of them are
    captured.  The capture triggers stand aside during an apply, so the
    engine finds them by where each table's row ids ended."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    for inst in (hq, br):
        inst.shell("CREATE TABLE journal(id INTEGER PRIMARY KEY, note "
                   "TEXT);")
        inst.fs("table", "add", "journal")
    out = br.fs("map", "add", "b1", "journal.note")
    wire = re.search(r"as field (\d+)", out).group(1)
    hq.fs("map", "add", "b1", "journal.note", "--remote-field", wire)
    # A batch applied before the app's triggers exist: hq's serve then
    # knows it has none, and must notice when they come.
    br.shell("INSERT INTO customers(name, phone) VALUES ('Bob', '0');")
    settle(br)
    hq.shell("CREATE TRIGGER app_new AFTER INSERT ON customers BEGIN "
             "INSERT INTO journal(note) VALUES ('new ' || new.name); END; "
             "CREATE TRIGGER app_phone AFTER UPDATE OF phone ON customers "
             "BEGIN INSERT INTO journal(note) VALUES ('phone ' || "
             "new.phone); END;")
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    settle(br)
    br.shell("UPDATE customers SET phone = '555' WHERE name = 'Ann';")
    settle(br)
    notes = [("new Ann",), ("phone 555",)]
    for inst in (hq, br):
        eq(inst.query("SELECT note FROM journal ORDER BY note"), notes,
           "%s: journal" % inst.name)
    eq(hq.query("SELECT count(*) FROM journal WHERE id NOT IN (SELECT "
                "lrow FROM _fs_record r JOIN _fs_table t USING (tid) WHERE "
                "t.name = 'journal' AND lrow IS NOT NULL)"), [(0,)],
       "hq's journal rows without a record")
    hq.shell("UPDATE journal SET note = 'phone 555 (checked)' WHERE note = "
             "'phone 555';")
    settle(br)
    eq(br.query("SELECT note FROM journal ORDER BY note"),
       [("new Ann",), ("phone 555 (checked)",)], "branch: edited journal")
    same_rows(hq, br, T, COLS, "b1", "b1")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def links_checked(env):
    """On the passive side a column links to a field number the active
    side publishes, and one column per number.  A link to a number the
    active side does not publish (made before its catalogue was known,
    here written by hand) lets nothing of that column flow, and the rest
    of the pairing still does."""
    hq = env.instance("hq")
    br = env.instance("branch")
    wires = pair(hq, br, "b1", ["name", "phone"])
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    settle(br)
    before = hq.state_dump()
    r = hq.run("map", "add", "b1", "customers.email", "--remote-field", 99,
               check=False)
    expect(r.returncode == 1 and b"publishes no field 99" in r.stderr,
           "unknown number: exit %d, %r" % (r.returncode, r.stderr))
    r = hq.run("map", "add", "b1", "customers.email", "--remote-field",
               wires["phone"], check=False)
    expect(r.returncode == 1 and b"already linked to customers.phone" in
           r.stderr, "taken number: exit %d, %r" % (r.returncode, r.stderr))
    eq(hq.state_dump(), before, "hq's state after the refused links")
    hq.execute("INSERT INTO _fs_map(pid, fid, mode, remote_fid) VALUES "
               "(?, ?, 'two-way', 99)", (hq.pid_of("b1"),
                                         hq.fid(T, "email")))
    hq.shell("UPDATE customers SET email = 'ann@hq', name = 'Ann (hq)';")
    br.shell("INSERT INTO customers(name, phone) VALUES ('Bob', '2');")
    settle(br)
    eq(br.query("SELECT name, phone, email FROM customers ORDER BY id"),
       [("Ann (hq)", "1", None), ("Bob", "2", None)], "branch")
    eq(hq.query("SELECT name FROM customers ORDER BY id"),
       [("Ann (hq)",), ("Bob",)], "hq")
    eq(br.status("b1")["state"], "green", "branch: status")


def replace_same_rowid(env):
    """An INSERT OR REPLACE of a row with its own row id (recursive
    triggers off, as in the sqlite3 shell) is logged as the record's
    re-creation: every field goes to the peer again with the
    re-creation's version, also when the field's last change came from
    the peer, when the peer sends something in the same pass, and when
    the re-creation is deep in a backlog of more than one chunk."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("INSERT INTO customers(name, phone, email) VALUES "
             "('Ann', '1', 'ann@x'), ('Bob', '2', 'bob@x');")
    settle(br)
    br.shell("UPDATE customers SET phone = 'from branch' WHERE id = 1;")
    settle(br)
    hq.shell("INSERT OR REPLACE INTO customers(id, name, phone, email) "
             "VALUES (1, 'Ann (hq)', 'from hq', 'ann@hq');")
    br.shell("UPDATE customers SET name = 'Bob (branch)' WHERE id = 2;")
    settle(br)
    for inst in (hq, br):
        eq(inst.query("SELECT name, phone, email FROM customers ORDER BY "
                      "id"), [("Ann (hq)", "from hq", "ann@hq"),
                              ("Bob (branch)", "2", "bob@x")],
           "%s: after the re-creation" % inst.name)
    same_rows(hq, br, T, COLS, "b1", "b1")
    # The same behind 600 other changes (more than one chunk of the log).
    hq.shell("INSERT OR REPLACE INTO customers(id, name, phone, email) "
             "VALUES (2, 'Bob (hq)', 'from hq', 'bob@hq'); "
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
             "WHERE i < 600) INSERT INTO customers(name) SELECT 'bulk ' || i "
             "FROM n;")
    settle(br)
    eq(br.query("SELECT name, phone, email FROM customers WHERE id = 2"),
       [("Bob (hq)", "from hq", "bob@hq")], "branch: re-created in a backlog")
    same_rows(hq, br, T, COLS, "b1", "b1")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def unique_gives_way(env):
    """With soft deletes (the default) a peer's hard delete keeps the row
    here, holding its UNIQUE value.  A new record the peer then makes
    with that value (after a DELETE, or once the hourly look has found a
    row its INSERT OR REPLACE removed) takes the deleted record's row's
    place, instead of stopping every pass; unrelated changes flow."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    for inst in (hq, br):
        inst.shell("CREATE UNIQUE INDEX app_email ON customers(email);")
    br.shell("INSERT INTO customers(name, phone, email) VALUES "
             "('Ann', '1', 'ann@x'), ('Bob', '2', 'bob@x'), "
             "('Cy', '3', 'cy@x');")
    settle(br)
    br.shell("DELETE FROM customers WHERE name = 'Ann'; INSERT INTO "
             "customers(name, phone, email) VALUES ('Ann 2', '4', 'ann@x'); "
             "UPDATE customers SET phone = '22' WHERE name = 'Bob';")
    hq.shell("UPDATE customers SET phone = '33' WHERE name = 'Cy';")
    settle(br)
    eq(hq.query("SELECT name, phone FROM customers ORDER BY name"),
       [("Ann 2", "4"), ("Bob", "22"), ("Cy", "33")], "hq after a DELETE")
    same_rows(hq, br, T, COLS, "b1", "b1")
    expect("made way for a new record" in hq.log_text(), "hq's log")
    br.shell("INSERT OR REPLACE INTO customers(name, phone, email) VALUES "
             "('Bob 2', '5', 'bob@x');")
    r = br.sync("b1", check=False)
    expect(r.returncode == 1 and b"clears within the hour" in r.stderr,
           "the pass before the look: %r" % r.stderr)
    br.execute("UPDATE _fs_meta SET value = '0' WHERE key = 'swept_at'")
    settle(br)
    eq(hq.query("SELECT name FROM customers ORDER BY name"),
       [("Ann 2",), ("Bob 2",), ("Cy",)], "hq after a REPLACE")
    same_rows(hq, br, T, COLS, "b1", "b1")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def replace_unique(env):
    """A row the app's INSERT OR REPLACE removes for its UNIQUE value
    (recursive triggers off, as in the sqlite3 shell) fires no delete
    trigger; fieldsync's hourly look for records whose row is gone finds
    it, and the peer deletes its copy.  The test moves the last look an
    hour back instead of waiting."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    br.shell("CREATE UNIQUE INDEX app_email ON customers(email);")
    br.shell("INSERT INTO customers(name, phone, email) VALUES "
             "('Ann', '1', 'ann@x');")
    settle(br)
    old = br.sid_of(T, 1)
    br.shell("INSERT OR REPLACE INTO customers(name, phone, email) VALUES "
             "('Ann again', '2', 'ann@x');")
    settle(br)
    eq(hq.query("SELECT name, fs_status FROM customers ORDER BY id"),
       [("Ann", 0), ("Ann again", 0)], "hq before the look (within "
       "the hour)")
    br.execute("UPDATE _fs_meta SET value = '0' WHERE key = 'swept_at'")
    out = br.sync("b1").stdout.decode()
    expect("1 records whose rows were removed without a delete trigger"
           in out, "the sync said %r" % out)
    settle(br)
    eq(hq.query("SELECT name, fs_status FROM customers ORDER BY id"),
       [("Ann", 1), ("Ann again", 0)], "hq: the replaced record deleted")
    eq(br.one("SELECT lrow FROM _fs_record WHERE sid = ?", (old,)), None,
       "branch: the old record a tombstone")
    same_rows(hq, br, T, COLS, "b1", "b1", where="fs_status = 0")
    for inst in (hq, br):
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    # An enrolled table the app dropped is passed over by the look.
    br.shell("CREATE TABLE scratch(id INTEGER PRIMARY KEY, v TEXT);")
    br.fs("table", "add", "scratch")
    br.shell("DROP TABLE scratch;")
    br.execute("UPDATE _fs_meta SET value = '0' WHERE key = 'swept_at'")
    r = br.sync("b1")
    expect(b"looking for rows" not in r.stderr, "the look on a dropped "
           "table: %r" % r.stderr)
    expect(int(br.one("SELECT value FROM _fs_meta WHERE key = "
                      "'swept_at'")) > 0, "the look done")


def touch_trigger(env):
    """The common updated_at trigger (AFTER UPDATE ON the table, updating
    its own row) on both sides: SQLite's default, recursive triggers off,
    keeps it from firing itself, in the app and in fieldsync alike.  It
    neither stops table add on a table with rows nor the peer's writes."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    for inst in (hq, br):
        inst.shell("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, "
                   "updated_at TEXT); INSERT INTO items(name) VALUES "
                   "('old %s'); CREATE TRIGGER touch AFTER UPDATE ON items "
                   "BEGIN UPDATE items SET updated_at = 'touched ' || "
                   "new.name WHERE id = new.id; END;" % inst.name)
        inst.fs("table", "add", "items")
    out = br.fs("map", "add", "b1", "items.name")
    wire = re.search(r"as field (\d+)", out).group(1)
    hq.fs("map", "add", "b1", "items.name", "--remote-field", wire)
    settle(br)
    br.shell("UPDATE items SET name = 'renamed' WHERE name = 'old branch';")
    hq.shell("UPDATE items SET name = 'hq edit' WHERE name = 'old hq';")
    settle(br)
    for inst in (hq, br):
        eq(inst.query("SELECT name, updated_at FROM items ORDER BY name"),
           [("hq edit", "touched hq edit"), ("renamed", "touched renamed")],
           "%s: items" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)


def constraints_across_fields(env):
    """Changes the app made valid as a whole but that pass through an
    invalid state when written one field at a time, in the batch's
    order: a CHECK over two columns set in one UPDATE, a deletion that
    needs a reason, a UNIQUE value that moved to another row after the
    row holding it moved on.  All arrive.  A swap of two UNIQUE values in
    one transaction cannot be written that way: the pass fails naming
    the record, and writes nothing."""
    schema = ("CREATE TABLE r(id INTEGER PRIMARY KEY, lo INTEGER, hi "
              "INTEGER, why TEXT, code TEXT UNIQUE, fs_status INTEGER NOT "
              "NULL DEFAULT 0, CHECK (lo <= hi), CHECK ((fs_status = 0) = "
              "(why IS NULL)));")
    hq = env.instance("hq", schema=schema, tables=("r",))
    br = env.instance("branch", schema=schema, tables=("r",))
    cols = ["lo", "hi", "why", "code", "fs_status"]
    pair(hq, br, "b1", cols, table="r")
    br.shell("INSERT INTO r(lo, hi, code) VALUES (1, 2, 'a'), (3, 4, 'b');")
    settle(br)
    br.shell("UPDATE r SET lo = 10, hi = 20 WHERE code = 'a';"
             "UPDATE r SET fs_status = 1, why = 'gone' WHERE code = 'b';")
    br.shell("UPDATE r SET code = 'c' WHERE code = 'b';"
             "UPDATE r SET code = 'b' WHERE code = 'a';")
    settle(br)
    want = [(10, 20, None, "b", 0), (3, 4, "gone", "c", 1)]
    for inst in (hq, br):
        eq(inst.query("SELECT lo, hi, why, code, fs_status FROM r ORDER BY "
                      "id"), want, "%s: rows" % inst.name)
        eq(inst.status("b1")["state"], "green", "%s: status" % inst.name)
    # The other way too, and a conflict-free edit of the log's versions.
    hq.shell("UPDATE r SET hi = 5, lo = 4 WHERE code = 'b';")
    settle(br)
    eq(br.query("SELECT lo, hi FROM r WHERE code = 'b'"), [(4, 5)],
       "branch: hq's two-column change")
    same_rows(hq, br, "r", cols, "b1", "b1")
    # A swap in one transaction.
    before = hq.state_dump()
    br.shell("BEGIN; UPDATE r SET code = 'tmp' WHERE code = 'b'; "
             "UPDATE r SET code = 'b' WHERE code = 'c'; UPDATE r SET code = "
             "'c' WHERE code = 'tmp'; COMMIT;")
    r = br.sync("b1", check=False)
    err = r.stderr.decode()
    expect(r.returncode == 1 and "UNIQUE constraint failed: r.code" in err
           and "to record" in err, "the swap's pass said %r" % err)
    eq([t for t in hq.state_dump() if t[0] != "_fs_pair_state"],
       [t for t in before if t[0] != "_fs_pair_state"], "hq after the swap")


if __name__ == "__main__":
    run([two_way, hard_deletes, status_unmapped, modes, map_added_later,
         match, links_kept, match_many, unique_link, constraint_refused, active_refuses,
         recreated_key,
         copied_database, table_rebuilt, rebuilt_without_system_columns,
         column_renamed, column_renamed_and_readded, table_renamed,
         app_trigger_rows,
         links_checked, replace_same_rowid, unique_gives_way,
         replace_unique, touch_trigger, constraints_across_fields],
        budget=150)
