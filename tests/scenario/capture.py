#!/usr/bin/env python3
"""capture.py - every writer is captured, exactly (DESIGN.md 1, 3, 7).

Writes with the real sqlite3 shell and with Python's sqlite3 module, then
checks what the triggers put in _fs_log and _fs_record: versions,
sequence numbers, creation rows, per-field changes with exact old and new
values, tombstones, key changes, REPLACE, hostile names, the sync
engine's switch, and that "fieldsync log" shows the same.

After each case the invariants that must hold whatever was written are
checked too (see check_invariants).
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsutil import eq, expect, run  # noqa: E402

I64_MAX = 2 ** 63 - 1
I64_MIN = -2 ** 63

SCHEMA = """
CREATE TABLE v(id INTEGER PRIMARY KEY, i INTEGER, r REAL,
    t TEXT COLLATE NOCASE, b BLOB, a);
"""


def same(x, y):
    """Equal as SQLite values: same type, and reals bit for bit."""
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return struct.pack("<d", x) == struct.pack("<d", y)
    return x == y


def tid_of(c, table):
    return c.query("SELECT tid FROM _fs_table WHERE name = ?", (table,))[0][0]


def fid_of(c, table, col):
    return c.query("SELECT fid FROM _fs_field WHERE tid = ? AND name = ?",
                   (tid_of(c, table), col))[0][0]


def record(c, table, rowid):
    """(rid, sid) of the live record of a row, or None."""
    r = c.query("SELECT rid, sid FROM _fs_record WHERE tid = ? AND lrow = ?",
                (tid_of(c, table), rowid))
    return r[0] if r else None


def log_rows(c, rid=None, since=0):
    """_fs_log rows as dicts, in seq order."""
    sql = ("SELECT seq, rid, fid, hlc, origin, src, kind, old, new "
           "FROM _fs_log WHERE seq > ?")
    params = [since]
    if rid is not None:
        sql += " AND rid = ?"
        params.append(rid)
    keys = "seq rid fid hlc origin src kind old new".split()
    return [dict(zip(keys, r)) for r in
            c.query(sql + " ORDER BY seq", params)]


def max_seq(c):
    return c.query("SELECT coalesce(max(seq), 0) FROM _fs_log")[0][0]


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def check_invariants(c):
    """What must hold after any sequence of writes by any client."""
    n, mx = c.query("SELECT count(*), coalesce(max(seq), 0) FROM _fs_log")[0]
    eq(n, mx, "sequence numbers 1..N without gaps")
    orphans = c.query("SELECT seq FROM _fs_log WHERE rid NOT IN "
                      "(SELECT rid FROM _fs_record)")
    expect(not orphans, "log rows of records that vanished: %r" % orphans)
    # A record is created once; REPLACE without recursive triggers may
    # log a re-creation of the same record (every field sent again).
    bad = c.query("SELECT rid FROM _fs_record r WHERE NOT EXISTS (SELECT 1 "
                  "FROM _fs_log l WHERE l.rid = r.rid AND l.kind & 3 = 1)")
    expect(not bad, "records without a creation row: %r" % bad)
    bad = c.query("SELECT rid FROM _fs_record r WHERE (SELECT min(seq) FROM "
                  "_fs_log l WHERE l.rid = r.rid) <> (SELECT min(seq) FROM "
                  "_fs_log l WHERE l.rid = r.rid AND l.kind & 3 = 1)")
    expect(not bad, "records whose first log row is not a creation: %r" % bad)
    bad = c.query("SELECT rid FROM _fs_record r WHERE lrow IS NULL AND NOT "
                  "EXISTS (SELECT 1 FROM _fs_log l WHERE l.rid = r.rid AND "
                  "l.kind & 3 = 2)")
    expect(not bad, "tombstones whose delete was never logged (the peer "
           "would never hear of it): rids %r" % bad)
    bad = c.query("SELECT count(*) FROM _fs_record GROUP BY sid "
                  "HAVING count(*) > 1")
    expect(not bad, "duplicate sync ids")
    instance = c.query("SELECT instance FROM _fs_origin WHERE id = 0")[0][0]
    for rid, sid in c.query("SELECT rid, sid FROM _fs_record"):
        expect(isinstance(sid, str) and len(sid) == 32 and
               all(ch in "0123456789abcdef" for ch in sid),
               "sync id of record %d is not 32 hex digits: %r" % (rid, sid))
    # Records created here carry this instance's prefix.
    bad = c.query("SELECT r.rid, r.sid FROM _fs_record r JOIN _fs_log l ON "
                  "l.seq = (SELECT min(seq) FROM _fs_log WHERE rid = r.rid) "
                  "WHERE l.origin = 0 AND l.src IS NULL AND "
                  "substr(r.sid, 1, 16) <> ?", (instance[:16],))
    expect(not bad, "local records without the instance prefix: %r" % bad)
    tables = c.query("SELECT tid, name FROM _fs_table WHERE enrolled = 1")
    for tid, name in tables:
        q = quote(name)
        # The INTEGER PRIMARY KEY: "rowid" may be an ordinary column.
        k = quote(c.query("SELECT name FROM _fs_field WHERE tid = ? AND "
                          "role = 'rowid'", (tid,))[0][0])
        missing = c.query(
            "SELECT %s FROM %s WHERE %s NOT IN (SELECT lrow FROM "
            "_fs_record WHERE tid = ? AND lrow IS NOT NULL)" % (k, q, k),
            (tid,))
        expect(not missing, "rows of %s without a record: %r" % (name,
                                                                 missing))
        dangling = c.query(
            "SELECT rid FROM _fs_record WHERE tid = ? AND lrow IS NOT NULL "
            "AND lrow NOT IN (SELECT %s FROM %s)" % (k, q), (tid,))
        expect(not dangling, "records of %s whose row is gone: %r" % (
            name, dangling))
        # The newest logged value of each field (since the record's
        # latest creation) is the row's value now.
        fields = c.query("SELECT fid, name FROM _fs_field WHERE tid = ? AND "
                         "present = 1 AND role <> 'rowid'", (tid,))
        for fid, col in fields:
            rows = c.query(
                "SELECT r.lrow, l.new, t.%s FROM _fs_record r JOIN %s t ON "
                "t.%s = r.lrow JOIN _fs_log l ON l.seq = (SELECT max(seq) "
                "FROM _fs_log WHERE rid = r.rid AND fid = ? AND kind & 3 = 0 "
                "AND seq > (SELECT max(seq) FROM _fs_log WHERE rid = r.rid "
                "AND kind & 3 = 1)) WHERE r.tid = ?" % (quote(col), q, k),
                (fid, tid))
            for lrow, new, cur in rows:
                expect(same(new, cur), "%s row %d: newest logged %s is %r, "
                       "the row holds %r" % (name, lrow, col, new, cur))


def case(fn):
    """Decorator: run the invariants after the case body."""
    def wrapped(c):
        fn(c)
        check_invariants(c)
    wrapped.__name__ = fn.__name__
    return wrapped


@case
def versions_and_sequence(c):
    c.init(SCHEMA, "v")
    t0 = int(time.time() * 1000)
    c.shell("INSERT INTO v(i, t) VALUES (1, 'one'); "
            "INSERT INTO v(i, t) VALUES (2, 'two');")
    py = c.connect()
    py.execute("INSERT INTO v(i, t) VALUES (?, ?)", (3, "three"))
    py.executemany("INSERT INTO v(i) VALUES (?)", [(4,), (5,)])
    py.execute("BEGIN")
    py.execute("UPDATE v SET i = i * 10 WHERE id <= 2")
    py.execute("UPDATE v SET t = 'drei' WHERE id = 3")
    py.execute("COMMIT")
    # A rolled-back write leaves no trace and burns no sequence number.
    py.execute("BEGIN")
    py.execute("UPDATE v SET t = 'gone' WHERE id = 1")
    py.execute("INSERT INTO v(i) VALUES (99)")
    py.execute("ROLLBACK")
    py.close()
    c.shell("UPDATE v SET t = 'uno' WHERE id = 1;")
    t1 = int(time.time() * 1000)

    rows = log_rows(c)
    eq([r["seq"] for r in rows], list(range(1, 10)), "seqs")
    created = [r for r in rows if r["kind"] == 1]
    eq(len(created), 5, "one created row per insert")
    eq(sorted(r["rid"] for r in created), [1, 2, 3, 4, 5], "created rids")
    for r in created:
        eq((r["fid"], r["old"], r["new"]), (0, None, None), "created row")
    for a, b in zip(rows, rows[1:]):
        expect(b["hlc"] > a["hlc"], "hlc not strictly increasing: seq %d "
               "%d, seq %d %d" % (a["seq"], a["hlc"], b["seq"], b["hlc"]))
    for r in rows:
        eq(r["origin"], 0, "origin of a local change")
        eq(r["src"], None, "src of a local change")
        expect(t0 - 5000 <= r["hlc"] >> 16 <= t1 + 5000,
               "hlc %d is not about now (%d)" % (r["hlc"] >> 16, t0))
    changes = [(r["rid"], r["fid"], r["old"], r["new"]) for r in rows
               if r["kind"] == 0]
    fi, ft = fid_of(c, "v", "i"), fid_of(c, "v", "t")
    eq(sorted(changes[:3]), [(1, fi, 1, 10), (2, fi, 2, 20),
                             (3, ft, "three", "drei")], "changes")
    eq(changes[3], (1, ft, "one", "uno"), "last change")
    # The clock holds the newest version handed out.
    eq(c.query("SELECT hlc FROM _fs_clock")[0][0] >= rows[-1]["hlc"], True,
       "clock behind the log")
    # Every record got a sync identity at insert.
    eq(c.query("SELECT count(*) FROM _fs_record WHERE lrow IS NOT NULL")[0][0],
       5, "records")
    # Time added was filled in by the insert trigger.
    eq(c.query("SELECT count(*) FROM v WHERE fs_added IS NULL")[0][0], 0,
       "rows without time added")


VALUES = [
    I64_MAX, I64_MIN, 0, -1, 1, 0.1, -0.0, 1e308, -1e308, 5e-324, 2.5,
    "h\u00e9llo w\u00f6rld \u2713 \U0001F600 \u05e2\u05d1\u05e8\u05d9\u05ea",
    "", "a\u0301", b"\x00\x01\x00\xff\x00", b"", b"\x00", None, "NULL",
    "x\x00y", 1.0, "1",
]


@case
def exact_values_python(c):
    """Bound values from Python reach old/new exactly (type and bits)."""
    c.init(SCHEMA, "v")
    py = c.connect()
    py.execute("INSERT INTO v(id, a) VALUES (1, 42)")
    fa = fid_of(c, "v", "a")
    rid = record(c, "v", 1)[0]
    prev = 42
    for val in VALUES:
        since = max_seq(c)
        py.execute("UPDATE v SET a = ? WHERE id = 1", (val,))
        cur = py.execute("SELECT a FROM v WHERE id = 1").fetchone()[0]
        expect(same(cur, val), "sqlite kept %r as %r" % (val, cur))
        rows = log_rows(c, since=since)
        changed = not same(prev, cur)
        if not changed:
            eq(rows, [], "log for a no-op update to %r" % (val,))
            continue
        eq(len(rows), 1, "log rows for a = %r" % (val,))
        r = rows[0]
        eq((r["rid"], r["fid"], r["kind"]), (rid, fa, 0), "change of a")
        expect(same(r["old"], prev), "old: got %r, expected %r" % (r["old"],
                                                                   prev))
        expect(same(r["new"], cur), "new: got %r, expected %r" % (r["new"],
                                                                  cur))
        prev = cur
    # Typed columns: what the app reads back is what the log holds.
    for col, vals in (("i", [I64_MAX, I64_MIN, 7, None]),
                      ("r", [0.1, 1e308, -1e308, 5e-324, None]),
                      ("t", ["\U0001F600", "", "x\x00y", None]),
                      ("b", [b"\x00\x00", b"\xff" * 300, None])):
        f = fid_of(c, "v", col)
        for val in vals:
            since = max_seq(c)
            old = py.execute("SELECT %s FROM v WHERE id = 1" % col
                             ).fetchone()[0]
            py.execute("UPDATE v SET %s = ? WHERE id = 1" % col, (val,))
            cur = py.execute("SELECT %s FROM v WHERE id = 1" % col
                             ).fetchone()[0]
            rows = [r for r in log_rows(c, since=since) if r["fid"] == f]
            if same(old, cur):
                eq(rows, [], "no-op %s" % col)
                continue
            eq(len(rows), 1, "rows for %s = %r" % (col, val))
            expect(same(rows[0]["old"], old) and same(rows[0]["new"], cur),
                   "%s: logged %r -> %r, expected %r -> %r" % (
                       col, rows[0]["old"], rows[0]["new"], old, cur))
    py.close()


@case
def exact_values_shell(c):
    """SQL literals written by the sqlite3 shell reach old/new exactly."""
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, i, r, t, b, a) VALUES (1, 0, 0.0, '', x'', 0);")
    rid = record(c, "v", 1)[0]
    steps = [
        ("i", "9223372036854775807", I64_MAX),
        ("i", "-9223372036854775808", I64_MIN),
        ("r", "0.1", 0.1),
        ("r", "1e308", 1e308),
        ("r", "-1e308", -1e308),
        ("a", "-0.0", -0.0),
        ("a", "4.9406564584124654e-324", 5e-324),
        ("t", "'\u00fcn\u00efc\u00f8d\u00e9 \u2603 \U0001F40D'",
         "\u00fcn\u00efc\u00f8d\u00e9 \u2603 \U0001F40D"),
        ("t", "CAST(x'610062' AS TEXT)", "a\x00b"),
        ("b", "x'000102000304'", b"\x00\x01\x02\x00\x03\x04"),
        ("b", "NULL", None),
        ("a", "'it''s'", "it's"),
        ("a", "NULL", None),
    ]
    prev = dict(zip("i r t b a".split(), c.query(
        "SELECT i, r, t, b, a FROM v")[0]))
    for col, lit, want in steps:
        since = max_seq(c)
        c.shell("UPDATE v SET %s = %s WHERE id = 1;" % (col, lit))
        cur = c.query("SELECT %s FROM v" % col)[0][0]
        expect(same(cur, want), "%s = %s stored %r" % (col, lit, cur))
        rows = log_rows(c, since=since)
        eq(len(rows), 1, "rows for %s = %s" % (col, lit))
        r = rows[0]
        eq((r["rid"], r["fid"]), (rid, fid_of(c, "v", col)), "field")
        expect(same(r["old"], prev[col]) and same(r["new"], want),
               "%s = %s: logged %r -> %r, expected %r -> %r" % (
                   col, lit, r["old"], r["new"], prev[col], want))
        prev[col] = want
    # The bits of the reals, read with the shell too.
    out = c.shell("SELECT hex(CAST(new AS BLOB)) FROM _fs_log WHERE "
                  "typeof(new) = 'blob';")
    eq(out.split(), ["000102000304"], "blob bytes via the shell")


@case
def noop_updates(c):
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, i, r, t, b, a) VALUES "
            "(1, 5, 1.5, 'abc', x'00ff', 1), (2, 6, 2.5, 'def', NULL, 'x');")
    since = max_seq(c)
    c.shell("UPDATE v SET i = i, r = r, t = t, b = b, a = a;"
            "UPDATE v SET i = 5 WHERE id = 1;"
            "UPDATE v SET i = '5' WHERE id = 1;"   # INTEGER affinity: 5
            "UPDATE v SET i = 5.0 WHERE id = 1;"   # INTEGER affinity: 5
            "UPDATE v SET b = NULL WHERE id = 2;"
            "UPDATE v SET t = 'abc' WHERE id = 1;"
            "UPDATE v SET i = 1 WHERE id = 99;"
            "UPDATE v SET fs_status = 0;")
    py = c.connect()
    py.execute("UPDATE v SET b = ?, r = ? WHERE id = 1", (b"\x00\xff", 1.5))
    py.execute("UPDATE v SET a = ? WHERE id = 2", ("x",))
    eq(log_rows(c, since=since), [], "log rows for updates that change "
       "nothing")
    # Changes the eye might miss are still changes.
    fa, ft = fid_of(c, "v", "a"), fid_of(c, "v", "t")
    py.execute("UPDATE v SET a = 1.0 WHERE id = 1")    # integer -> real
    py.execute("UPDATE v SET t = 'ABC' WHERE id = 1")  # NOCASE, yet changed
    py.execute("UPDATE v SET a = ? WHERE id = 2", (b"x",))  # text -> blob
    # A multi-column UPDATE where only one value changes: one row.
    py.execute("UPDATE v SET i = 5, t = 'ABC', a = 1.0, r = 9.5 WHERE id = 1")
    py.close()
    got = [(r["rid"], r["fid"], r["old"], r["new"])
           for r in log_rows(c, since=since)]
    fr = fid_of(c, "v", "r")
    eq(got, [(1, fa, 1, 1.0), (1, ft, "abc", "ABC"), (2, fa, "x", b"x"),
             (1, fr, 1.5, 9.5)], "changes")
    expect(all(not same(r[2], r[3]) for r in got), "same value logged")


@case
def soft_delete_and_restore(c):
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t) VALUES (1, 'a');")
    fs_ = fid_of(c, "v", "fs_status")
    since = max_seq(c)
    c.shell("UPDATE v SET fs_status = 1 WHERE id = 1;")
    py = c.connect()
    py.execute("UPDATE v SET fs_status = 0 WHERE id = 1")
    py.close()
    got = [(r["fid"], r["kind"], r["old"], r["new"])
           for r in log_rows(c, since=since)]
    eq(got, [(fs_, 0, 0, 1), (fs_, 0, 1, 0)], "soft delete and restore")
    eq(c.query("SELECT lrow FROM _fs_record")[0][0], 1, "record still live")
    out = c.fs("log", "v", "1")
    lines = out.splitlines()
    expect(lines[1].endswith("fs_status: 1 -> 0  [local]"), "log: " + out)
    expect(lines[2].endswith("fs_status: 0 -> 1  [local]"), "log: " + out)


@case
def hard_delete_tombstone(c):
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t) VALUES (1, 'a'), (2, 'b'), (3, 'c');"
            "UPDATE v SET fs_status = 1 WHERE id = 3;")
    fs_ = fid_of(c, "v", "fs_status")
    before = {r: record(c, "v", r) for r in (1, 2, 3)}
    since = max_seq(c)
    c.shell("DELETE FROM v WHERE id = 1;")
    py = c.connect()
    py.execute("DELETE FROM v WHERE id IN (2, 3)")
    py.close()
    rows = log_rows(c, since=since)
    eq(len(rows), 3, "one log row per deleted row")
    for r in rows:
        eq((r["fid"], r["kind"], r["new"]), (fs_, 2, 1), "tombstone row")
    eq(sorted((r["rid"], r["old"]) for r in rows),
       [(before[1][0], 0), (before[2][0], 0), (before[3][0], 1)],
       "tombstone rids and old status")
    for rowid, (rid, sid) in before.items():
        eq(c.query("SELECT lrow, sid FROM _fs_record WHERE rid = ?",
                   (rid,)), [(None, sid)], "tombstone of row %d" % rowid)
    # The row id may be used again: a new record, a new identity.
    c.shell("INSERT INTO v(id, t) VALUES (1, 'again');")
    rid, sid = record(c, "v", 1)
    expect(rid != before[1][0] and sid != before[1][1],
           "a reused row id took the old record")
    p = c.run("-d", c.db, "log", "v", "2", check=False)
    expect(p.returncode != 0, "log of a hard-deleted row succeeded")


@case
def key_change_keeps_link(c):
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t) VALUES (5, 'a'), (6, 'b');")
    rid, sid = record(c, "v", 5)
    since = max_seq(c)
    c.shell("UPDATE v SET id = 100 WHERE id = 5;")
    eq(record(c, "v", 100), (rid, sid), "record after key change")
    eq(record(c, "v", 5), None, "old row id still linked")
    eq(log_rows(c, since=since), [], "the row id is not a synced field")
    py = c.connect()
    py.execute("UPDATE v SET t = 'z', id = 101 WHERE id = 100")
    py.close()
    eq(record(c, "v", 101), (rid, sid), "record after key and value change")
    got = [(r["rid"], r["fid"], r["old"], r["new"])
           for r in log_rows(c, since=since)]
    eq(got, [(rid, fid_of(c, "v", "t"), "a", "z")], "change with the key")
    j = c.fs_json("log", "v", "101")
    eq(j["entries"][0]["new"], "z", "log under the new row id")
    eq(j["sync_id"], sid, "sync id")


def four_rows(c):
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t, i) VALUES (1, 'a', 1), (2, 'b', 2), "
            "(3, 'c', 3), (4, 'd', 4);")
    return {r: record(c, "v", r) for r in (1, 2, 3, 4)}


@case
def upsert(c):
    """INSERT ... ON CONFLICT DO UPDATE is an UPDATE of the record."""
    old = four_rows(c)
    ft = fid_of(c, "v", "t")
    since = max_seq(c)
    c.shell("INSERT INTO v(id, t) VALUES (1, 'x') "
            "ON CONFLICT(id) DO UPDATE SET t = excluded.t;")
    eq(record(c, "v", 1), old[1], "record after upsert")
    eq([(r["rid"], r["fid"], r["old"], r["new"])
        for r in log_rows(c, since=since)], [(old[1][0], ft, "a", "x")],
       "upsert")


def check_replaced(c, old, rowid, val):
    """After REPLACE of row rowid: one live record; the old one, if it
    is not that record, is a tombstone (check_invariants: logged)."""
    rec = record(c, "v", rowid)
    expect(rec is not None, "row %d has no record" % rowid)
    if rec != old[rowid]:
        tomb = c.query("SELECT lrow FROM _fs_record WHERE rid = ?",
                       (old[rowid][0],))
        eq(tomb, [(None,)], "replaced record of row %d" % rowid)
    j = c.fs_json("log", "v", str(rowid))
    expect(j["entries"], "no log for row %d" % rowid)
    eq(c.query("SELECT t FROM v WHERE id = ?", (rowid,)), [(val,)], "row")


@case
def replace_shell(c):
    """REPLACE by the sqlite3 shell (recursive triggers off, the default):
    the replaced row's record must not vanish silently - its delete is
    logged so the peer hears of it (see check_invariants)."""
    old = four_rows(c)
    c.shell("REPLACE INTO v(id, t) VALUES (2, 'B');")
    check_replaced(c, old, 2, "B")


@case
def replace_recursive_triggers(c):
    """INSERT OR REPLACE from Python with recursive triggers on."""
    old = four_rows(c)
    py = c.connect()
    py.execute("PRAGMA recursive_triggers = ON")
    py.execute("INSERT OR REPLACE INTO v(id, t) VALUES (3, 'C')")
    py.close()
    check_replaced(c, old, 3, "C")


@case
def update_or_replace_key(c):
    """UPDATE OR REPLACE moving a row onto another's key: the other row
    is deleted (its record a logged tombstone), the moved row keeps its
    identity.  Both with recursive triggers off and on."""
    old = four_rows(c)
    c.shell("UPDATE OR REPLACE v SET id = 1 WHERE id = 4;")
    eq(record(c, "v", 1), old[4], "moved record keeps its identity")
    eq(c.query("SELECT lrow FROM _fs_record WHERE rid = ?", (old[1][0],)),
       [(None,)], "record of the row replaced by UPDATE OR REPLACE")
    check_invariants(c)
    py = c.connect()
    py.execute("PRAGMA recursive_triggers = ON")
    py.execute("UPDATE OR REPLACE v SET id = 2, t = 'moved' WHERE id = 3")
    py.close()
    eq(record(c, "v", 2), old[3], "moved record keeps its identity "
       "(recursive triggers)")
    eq(c.query("SELECT lrow FROM _fs_record WHERE rid = ?", (old[2][0],)),
       [(None,)], "record replaced by UPDATE OR REPLACE (recursive "
       "triggers)")


@case
def or_ignore(c):
    """Conflicts the app ignores change nothing, in the log either."""
    old = four_rows(c)
    n = max_seq(c)
    c.shell("UPDATE OR IGNORE v SET id = 1, t = 'x' WHERE id = 4;"
            "INSERT OR IGNORE INTO v(id, t) VALUES (2, 'y');"
            "INSERT INTO v(id, t) VALUES (3, 'z') ON CONFLICT DO NOTHING;")
    eq({r: record(c, "v", r) for r in (1, 2, 3, 4)}, old, "records")
    eq(max_seq(c), n, "log")


@case
def multi_row_update(c):
    c.init(SCHEMA, "v")
    py = c.connect()
    py.execute("BEGIN")
    py.executemany("INSERT INTO v(id, i, t) VALUES (?, ?, ?)",
                   [(k, k, "r%d" % k) for k in range(1, 201)])
    py.execute("COMMIT")
    py.close()
    since = max_seq(c)
    c.shell("UPDATE v SET i = i + 1000, t = upper(t) WHERE id % 2 = 0;")
    rows = log_rows(c, since=since)
    fi, ft = fid_of(c, "v", "i"), fid_of(c, "v", "t")
    eq(len(rows), 200, "two changes for each of 100 rows")
    rids = {rid: k for k in range(1, 201)
            for rid in [record(c, "v", k)[0]]}
    got = sorted((rids[r["rid"]], r["fid"], r["old"], r["new"]) for r in rows)
    want = sorted([(k, fi, k, k + 1000) for k in range(2, 201, 2)] +
                  [(k, ft, "r%d" % k, "R%d" % k) for k in range(2, 201, 2)])
    eq(got, want, "multi-row update")
    hlcs = [r["hlc"] for r in rows]
    eq(hlcs, sorted(set(hlcs)), "distinct, increasing versions")


HOSTILE = 'we "say" hi; DROP TABLE v; --'
HOSTILE_SCHEMA = """
CREATE TABLE "we ""say"" hi; DROP TABLE v; --"(
    id INTEGER PRIMARY KEY, "group" TEXT, "a b" INTEGER, "x""y" TEXT,
    "select" BLOB, "');--" TEXT);
CREATE TABLE "order"(id INTEGER PRIMARY KEY, "from" TEXT, "where" INTEGER);
CREATE TABLE v(id INTEGER PRIMARY KEY, t TEXT);
"""


@case
def hostile_names(c):
    c.init(HOSTILE_SCHEMA, HOSTILE, "order", "v")
    names = [t["table"] for t in c.fs_json("table", "list")]
    eq(sorted(names), sorted([HOSTILE, "order", "v"]), "enrolled tables")
    qh = quote(HOSTILE)
    c.shell('INSERT INTO %s("group", "a b", "x""y", "select", "\');--") '
            "VALUES ('g', 1, 'q', x'00', 'z');"
            'UPDATE %s SET "group" = \'G\', "x""y" = \'Q"\';'
            'INSERT INTO "order"("from", "where") VALUES (\'f\', 1);'
            'UPDATE "order" SET "where" = 2;' % (qh, qh))
    py = c.connect()
    py.execute('UPDATE %s SET "a b" = 2, "\');--" = ?' % qh, ("';--",))
    py.execute('DELETE FROM "order"')
    py.close()
    eq(c.query("SELECT count(*) FROM v")[0][0], 0, "v still there")
    j = c.fs_json("log", HOSTILE, "1")
    got = sorted((e["column"], e["old"], e["new"]) for e in j["entries"]
                 if e["kind"] == "change")
    eq(got, [("');--", "z", "';--"), ("a b", 1, 2), ("group", "g", "G"),
             ('x"y', "q", 'Q"')], "hostile column changes")
    fid = fid_of(c, "order", "where")
    rows = [(r["fid"], r["kind"]) for r in log_rows(c)
            if r["rid"] == c.query("SELECT rid FROM _fs_record WHERE tid = ?",
                                   (tid_of(c, "order"),))[0][0]]
    eq(rows, [(0, 1), (fid, 0), (fid_of(c, "order", "fs_status"), 2)],
       "order: created, changed, deleted")
    # Removing and re-adding leaves no stray triggers behind.
    c.fs("table", "remove", HOSTILE)
    eq(c.query("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' "
               "AND tbl_name = ?", (HOSTILE,))[0][0], 0, "triggers left")
    c.fs("table", "add", HOSTILE)


@case
def shadowed_rowid_names(c):
    """Ordinary columns named rowid, oid and _rowid_ shadow the real row
    id in SQL; capture must still follow the INTEGER PRIMARY KEY."""
    c.init("CREATE TABLE s(pk INTEGER PRIMARY KEY, rowid TEXT, oid INTEGER, "
           "_rowid_ BLOB, v TEXT);", "s")
    c.shell("INSERT INTO s(pk, rowid, oid, _rowid_, v) VALUES "
            "(10, 'r', 77, x'01', 'a'), (20, 'q', 10, NULL, 'b');"
            "UPDATE s SET v = 'A', rowid = 'R', oid = 20 WHERE pk = 10;")
    py = c.connect()
    py.execute("UPDATE s SET pk = 30 WHERE pk = 20")
    py.execute("UPDATE s SET v = 'B' WHERE pk = 30")
    py.execute("DELETE FROM s WHERE pk = 10")
    py.close()
    r30 = record(c, "s", 30)
    expect(r30 is not None, "row 30 lost its record")
    got = [(r["fid"], r["old"], r["new"]) for r in log_rows(c, rid=r30[0])
           if r["kind"] == 0]
    eq(got, [(fid_of(c, "s", "v"), "b", "B")], "changes of row 30")
    tomb = c.query("SELECT lrow FROM _fs_record WHERE rid <> ?", (r30[0],))
    eq(tomb, [(None,)], "row 10 is a tombstone")
    j = c.fs_json("log", "s", "30")
    eq(j["entries"][0]["new"], "B", "log of row 30")


@case
def engine_switch(c):
    """Writes inside the engine's switch carry the peer's stamps."""
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t) VALUES (1, 'local');")
    pw = c.path("pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    c.fs("pair", "add", "peer", "--passive", "--password-file", pw)
    pid = c.query("SELECT pid FROM _fs_pair WHERE name = 'peer'")[0][0]
    peer = "ab" * 16
    c.shell("INSERT INTO _fs_origin(id, instance) VALUES (7, '%s');" % peer)
    local_hlc = c.query("SELECT hlc FROM _fs_clock")[0][0]
    ap_hlc = local_hlc - (5000 << 16)   # the peer's change is older
    sid = "%016x%016x" % (0xfeedface, 12345)
    since = max_seq(c)
    py = c.connect()
    py.execute("BEGIN IMMEDIATE")
    py.execute("UPDATE _fs_clock SET ap_src = ?, ap_hlc = ?, ap_origin = 7, "
               "ap_sid = ?", (pid, ap_hlc, sid))
    py.execute("INSERT INTO v(id, t) VALUES (2, 'from peer')")
    py.execute("UPDATE v SET t = 'peer edit' WHERE id = 1")
    # Cleared as the engine does (src/merge.c).
    py.execute("UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, "
               "ap_origin = NULL, ap_sid = NULL, hlc = max(hlc, ?)", (ap_hlc,))
    py.execute("COMMIT")
    rows = log_rows(c, since=since)
    eq([(r["kind"], r["hlc"], r["origin"], r["src"]) for r in rows],
       [(1, ap_hlc, 7, pid), (0, ap_hlc, 7, pid)], "stamps from the switch")
    eq(record(c, "v", 2)[1], sid, "record created with the peer's sync id")
    eq([r["seq"] for r in rows], [since + 1, since + 2],
       "applied changes still get local sequence numbers")
    # After commit, every writer is local again.
    since = max_seq(c)
    c.shell("UPDATE v SET t = 'mine' WHERE id = 2;")
    py.execute("INSERT INTO v(id, t) VALUES (3, 'new')")
    rows = log_rows(c, since=since)
    eq([(r["origin"], r["src"]) for r in rows], [(0, None), (0, None)],
       "local after the switch")
    expect(rows[0]["hlc"] > local_hlc, "local clock went backwards")
    expect(record(c, "v", 3)[1] != sid, "sync id reused")
    # A switch that is rolled back leaves nothing behind.
    py.execute("BEGIN IMMEDIATE")
    py.execute("UPDATE _fs_clock SET ap_src = ?, ap_hlc = 1, ap_origin = 7",
               (pid,))
    py.execute("UPDATE v SET t = 'never' WHERE id = 1")
    py.execute("ROLLBACK")
    py.close()
    eq(c.query("SELECT ap_src, ap_hlc, ap_origin, ap_sid FROM _fs_clock"),
       [(None, None, None, None)], "switch after rollback")
    since = max_seq(c)
    c.shell("UPDATE v SET t = 'later' WHERE id = 1;")
    eq([(r["origin"], r["src"], r["old"]) for r in log_rows(c, since=since)],
       [(0, None, "peer edit")], "local write after a rolled-back switch")
    # The change log names the pairing and the origin instance.
    j = c.fs_json("log", "v", "1")
    eq([(e["source"], e["origin"]) for e in j["entries"]],
       [("local", c.query("SELECT instance FROM _fs_origin WHERE id = 0"
                          )[0][0]), ("peer", peer),
        ("local", j["entries"][0]["origin"])], "log sources")
    out = c.fs("log", "v", "1")
    expect("t: 'local' -> 'peer edit'  [peer]" in out, "log text: " + out)


@case
def clock_after_future_peer_change(c):
    """Hybrid clock receive rule: a peer's change stamped ahead of our
    clock (its wall clock is fast) is applied; a local change made after
    it must still get a greater version, or "newest" would let the older
    remote value beat the later local edit.  The engine's part of the
    contract (src/merge.c): clearing the switch folds the peer's version
    into the clock."""
    c.init(SCHEMA, "v")
    c.shell("INSERT INTO v(id, t) VALUES (1, 'a');")
    pw = c.path("pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    c.fs("pair", "add", "peer", "--passive", "--password-file", pw)
    pid = c.query("SELECT pid FROM _fs_pair WHERE name = 'peer'")[0][0]
    c.shell("INSERT INTO _fs_origin(id, instance) VALUES (7, '%s');" %
            ("cd" * 16))
    ahead = c.query("SELECT hlc FROM _fs_clock")[0][0] + (60000 << 16)
    py = c.connect()
    py.execute("BEGIN IMMEDIATE")
    py.execute("UPDATE _fs_clock SET ap_src = ?, ap_hlc = ?, ap_origin = 7",
               (pid, ahead))
    py.execute("UPDATE v SET t = 'peer' WHERE id = 1")
    py.execute("UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, "
               "ap_origin = NULL, ap_sid = NULL, hlc = max(hlc, ?)", (ahead,))
    py.execute("COMMIT")
    py.close()
    since = max_seq(c)
    c.shell("UPDATE v SET t = 'mine, later' WHERE id = 1;")
    mine = log_rows(c, since=since)[0]["hlc"]
    expect(mine > ahead, "a local change after a peer's change got an "
           "older version (%d <= %d): the clock must take the peer's "
           "version into account when applying it" % (mine, ahead))


def sql_to_json(v):
    """What fieldsync log --json shows for an SQLite value."""
    if isinstance(v, bytes):
        return {"blob": v.hex()}
    return v


@case
def log_command_agrees(c):
    c.init(SCHEMA, "v")
    py = c.connect()
    py.execute("INSERT INTO v(id, i, r, t, b, a) VALUES (1, 1, 0.5, 'a', "
               "x'00', 1)")
    for col, val in (("i", I64_MAX), ("i", I64_MIN), ("r", 0.1),
                     ("r", 1e308), ("a", -0.0), ("a", 5e-324),
                     ("t", "\u2603 \U0001F600"), ("b", b"\x00\x01\x00"),
                     ("b", None), ("a", "quote ' \" \\ end"),
                     ("fs_status", 1), ("fs_status", 0)):
        py.execute("UPDATE v SET %s = ? WHERE id = 1" % col, (val,))
    py.close()
    rid = record(c, "v", 1)[0]
    rows = list(reversed(log_rows(c, rid=rid)))
    j = c.fs_json("log", "v", "1")
    eq(len(j["entries"]), len(rows), "entries")
    names = dict(c.query("SELECT fid, name FROM _fs_field"))
    origin = c.query("SELECT instance FROM _fs_origin WHERE id = 0")[0][0]
    for e, r in zip(j["entries"], rows):
        eq(e["seq"], r["seq"], "seq")
        eq(e["field"], r["fid"], "field")
        eq(e["column"], names.get(r["fid"]), "column")
        eq(e["kind"], {0: "change", 1: "created", 2: "hard-delete"}[
            r["kind"] & 3], "kind")
        eq(e["origin"], origin, "origin")
        eq(e["source"], "local", "source")
        eq(e["conflict"], False, "conflict")
        ms = r["hlc"] >> 16
        want = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) \
            + ".%03dZ" % (ms % 1000)
        eq(e["time"], want, "time of seq %d" % r["seq"])
        for k in ("old", "new"):
            v = r[k]
            if isinstance(v, float):
                expect(isinstance(e[k], float) and
                       same(e[k], v), "%s: %r vs %r" % (k, e[k], v))
            else:
                eq(e[k], sql_to_json(v), "%s of seq %d" % (k, r["seq"]))
    # Big integers are JSON numbers, exact, not rounded through a double.
    raw = c.fs("log", "v", "1", "--json")
    expect("9223372036854775807" in raw and "-9223372036854775808" in raw,
           "64-bit integers not exact in JSON")
    # The text form shows the same, newest first.
    text = c.fs("log", "v", "1").splitlines()
    eq(len(text), len(rows) + 1, "text lines")
    expect(text[1].endswith("fs_status: 1 -> 0  [local]"), text[1])
    expect(text[-1].endswith("created  [local]"), text[-1])
    # --limit
    eq(len(c.fs_json("log", "v", "1", "--limit", "3")["entries"]), 3,
       "--limit 3")


@case
def enrol_existing_rows(c):
    """Rows that exist before table add, and re-enrolment."""
    c.shell(SCHEMA + "INSERT INTO v(id, t) VALUES (1, 'a'), (2, 'b'), "
            "(3, 'c');")
    c.fs("init")
    py = c.connect()   # an app connection open across the enrolment
    py.execute("INSERT INTO v(id, t) VALUES (4, 'd')")
    c.fs("table", "add", "v")
    eq(c.query("SELECT count(*) FROM _fs_record")[0][0], 4, "records")
    eq(c.query("SELECT count(*) FROM _fs_log WHERE kind = 1")[0][0], 4,
       "created rows")
    py.execute("UPDATE v SET t = 'A' WHERE id = 1")
    py.execute("INSERT INTO v(id, t) VALUES (5, 'e')")
    eq([(r["kind"], r["old"], r["new"]) for r in log_rows(c, since=4)],
       [(0, "a", "A"), (1, None, None)], "writes by a connection opened "
       "before enrolment")
    # Enrolling again changes nothing that exists.
    before = c.query("SELECT * FROM _fs_record ORDER BY rid")
    n = max_seq(c)
    c.fs("table", "add", "v")
    eq(c.query("SELECT * FROM _fs_record ORDER BY rid"), before, "records "
       "after enrolling again")
    eq(max_seq(c), n, "log after enrolling again")
    # Writes while not enrolled: a deleted row becomes a logged tombstone
    # and a new row a new record when the table is enrolled again.
    c.fs("table", "remove", "v")
    py.execute("DELETE FROM v WHERE id = 2")
    py.execute("INSERT INTO v(id, t) VALUES (6, 'f')")
    eq(max_seq(c), n, "log while not enrolled")
    c.fs("table", "add", "v")
    rows = log_rows(c, since=n)
    eq(sorted(r["kind"] for r in rows), [1, 2], "re-enrolment rows")
    py.close()


@case
def generated_columns(c):
    c.init("CREATE TABLE g(id INTEGER PRIMARY KEY, a INTEGER, "
           "b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, "
           "s TEXT GENERATED ALWAYS AS ('x' || a) STORED);", "g")
    cols = [f["column"] for f in c.fs_json("table", "list")[0]["fields"]]
    expect("b" not in cols and "s" not in cols, "generated columns got "
           "field numbers: %r" % cols)
    c.shell("INSERT INTO g(id, a) VALUES (1, 1); UPDATE g SET a = 2;")
    eq([(r["kind"], r["old"], r["new"]) for r in log_rows(c)],
       [(1, None, None), (0, 1, 2)], "generated columns")


@case
def app_triggers_write_enrolled(c):
    """The app's own triggers write to another enrolled table."""
    c.shell("CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT);"
            "CREATE TABLE hist(id INTEGER PRIMARY KEY, what TEXT);"
            "CREATE TRIGGER app_upd AFTER UPDATE ON c BEGIN "
            "INSERT INTO hist(what) VALUES ('changed ' || new.name); END;"
            "CREATE TRIGGER app_ins AFTER INSERT ON c BEGIN "
            "INSERT INTO hist(what) VALUES ('added ' || new.name); END;")
    c.fs("init")
    c.fs("table", "add", "hist")
    c.fs("table", "add", "c")
    # Filling time added is an UPDATE of the new row, which fires the
    # app's update trigger, whose insert is captured in the middle of
    # the creation of the record of c.
    c.shell("INSERT INTO c(name) VALUES ('one');")
    py = c.connect()
    py.execute("INSERT INTO c(name) VALUES ('two')")
    py.execute("UPDATE c SET name = 'TWO' WHERE name = 'two'")
    py.close()
    eq(c.query("SELECT name FROM c ORDER BY id"), [("one",), ("TWO",)],
       "app rows")
    eq(c.query("SELECT count(*) FROM _fs_record r JOIN _fs_table t USING "
               "(tid) WHERE t.name = 'c'")[0][0], 2, "records of c")
    n = c.query("SELECT count(*) FROM hist")[0][0]
    eq(c.query("SELECT count(*) FROM _fs_record r JOIN _fs_table t USING "
               "(tid) WHERE t.name = 'hist'")[0][0], n, "records of hist")
    # Each record's identity is the clock value of its own creation.
    for sid, hlc in c.query("SELECT r.sid, l.hlc FROM _fs_record r JOIN "
                            "_fs_log l ON l.rid = r.rid AND l.kind = 1"):
        eq(int(sid[16:], 16), hlc, "sync identity of %s" % sid)


if __name__ == "__main__":
    run([versions_and_sequence, exact_values_python, exact_values_shell,
         noop_updates, soft_delete_and_restore, hard_delete_tombstone,
         key_change_keeps_link, upsert, replace_shell,
         replace_recursive_triggers, update_or_replace_key, or_ignore,
         multi_row_update,
         hostile_names, shadowed_rowid_names, engine_switch,
         clock_after_future_peer_change, log_command_agrees,
         enrol_existing_rows, generated_columns,
         app_triggers_write_enrolled])
