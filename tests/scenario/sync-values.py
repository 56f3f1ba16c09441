#!/usr/bin/env python3
"""sync-values.py - values arrive exactly as written (DESIGN.md 7).

A passive "hq" serving and an active "branch" running "fieldsync sync"
passes.  Values are written with Python's sqlite3 (bound parameters, so
they are exactly what Python holds) and with the sqlite3 shell (invalid
UTF-8 as CAST(x'..' AS TEXT)); both databases are then read back with
Python, type and bytes, reals bit for bit.

Proves, in both directions, on inserts and on updates:
 - integers 0, +-1, 2^53+1, 2^63-1 and -2^63;
 - reals 0.1, 1/3, 0.0 and -0.0 (sign bit checked), 1e308, the largest
   and smallest normal and subnormal doubles (5e-324), +-inf;
 - text in many scripts, emoji with joiners, combining marks, control
   characters, quotes and backslashes, U+2028, a BOM;
 - text holding NUL bytes and text that is not valid UTF-8 (stray
   continuation bytes, overlong forms, encoded surrogates, > U+10FFFF);
 - blobs with NUL bytes, all 256 byte values, an empty blob, 1 MB of
   random bytes;
 - NULL, the empty string and the empty blob stay three different things;
 - a value changing type (integer -> text -> NULL -> blob -> real);
 - a 20 MB text value in one record, each way.
"""

import math
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (Failure, eq, expect, pair, run, settle,  # noqa: E402
                     sync_ok)

SCHEMA = ("CREATE TABLE vals(id INTEGER PRIMARY KEY, label TEXT, v, "
          "vi INTEGER, vr REAL, vt TEXT, vb BLOB);")
COLS = ["label", "v", "vi", "vr", "vt", "vb"]

I64_MAX = 2 ** 63 - 1
I64_MIN = -2 ** 63
MAX_DOUBLE = 1.7976931348623157e308
MIN_NORMAL = 2.2250738585072014e-308
MIN_SUBNORMAL = 5e-324

INTS = [0, 1, -1, 2 ** 53 + 1, -(2 ** 53 + 1), I64_MAX, I64_MIN]
# -0.0 is real3 (checked by name below).  No update below turns 0.0 into
# -0.0 or back: SQLite compares them equal, so the capture triggers do
# not see such an update at all (a known gap of capture, not of sync).
REALS = [0.1, 1 / 3, 1e308, -0.0, -1e308, 0.0, MAX_DOUBLE, MIN_NORMAL,
         MIN_SUBNORMAL, -MIN_SUBNORMAL, math.inf, -math.inf, 123456789.125]
TEXTS = [
    "", "plain ascii", "Привет, мир", "こんにちは世界", "你好，世界",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "Γειά σου Κόσμε", "ሰላም ልዑል", "😀👩‍👩‍👧‍👦🏳️‍🌈🇫🇷", "𝄞 𝕏 \U0010fffd",
    "e\u0301 combining", "zero\u200bwidth\u200d", "\ufeffBOM first",
    "quote \" backslash \\ slash / newline \n tab \t cr \r end",
    "\x01\x02\x1f\x7f controls", "\u2028line\u2029para", "{\"json\": [1]}",
    "t:looks tagged", "i:42", "null", "\\u0000 not a NUL",
    "x" * 70000 + "é",
]
NUL_TEXTS = ["a\x00b", "\x00", "\x00\x00trailing", "ünï\x00cödé\x00"]
# Invalid UTF-8, written through the shell as CAST(x'..' AS TEXT).
BAD_UTF8 = ["ff", "fe", "80", "c0af", "c080", "eda080", "f4908080",
            "e282", "41ff42", "f8888080", "c3"]
rnd = random.Random(7)
BLOBS = [b"", b"\x00", b"\x00\x01\x02\x00", bytes(range(256)),
         b"\xff\xfe\x00\x00",
         bytes(rnd.getrandbits(8) for _ in range(2 ** 20))]


def as_exact(v):
    """What synclib.snapshot gives for a Python value."""
    if v is None:
        return ("null", None)
    if isinstance(v, bool):
        raise TypeError(v)
    if isinstance(v, int):
        return ("integer", v)
    if isinstance(v, float):
        return ("real", struct.pack("<d", v))
    if isinstance(v, str):
        return ("text", v.encode("utf-8", "surrogatepass"))
    if isinstance(v, bytes):
        return ("blob", v)
    raise TypeError(v)


def cases():
    """(label, v, vi, vr, vt, vb) rows for Python's sqlite3."""
    out = []
    for i, x in enumerate(INTS):
        out.append(("int%d" % i, x, x, None, None, None))
    for i, x in enumerate(REALS):
        # A REAL column stores an integral real as an integer on disk, so
        # SQLite itself turns -0.0 into 0.0 there; v keeps the sign.
        out.append(("real%d" % i, x, None, 0.0 if x == 0 else x, None,
                    None))
    for i, x in enumerate(TEXTS + NUL_TEXTS):
        out.append(("text%d" % i, x, None, None, x, None))
    for i, x in enumerate(BLOBS):
        out.append(("blob%d" % i, x, None, None, None, x))
    out.append(("null", None, None, None, None, None))
    out.append(("empty", "", None, None, "", b""))
    return out


def check_side(inst, want):
    """inst holds exactly want ({label: row tuple}) in vals."""
    got = {}
    for row in inst.snapshot("vals", COLS).values():
        got[row[0][1].decode()] = row
    for label, row in want.items():
        expect(label in got, "%s: no row %s" % (inst.name, label))
        if got[label] != row:
            for c, a, b in zip(COLS, got[label], row):
                if a != b:
                    raise Failure("%s: %s.%s: got %s, expected %s" % (
                        inst.name, label, c, short(a), short(b)))
    eq(len(got), len(want), "%s: rows" % inst.name)


def short(v):
    s = repr(v)
    return s if len(s) < 200 else s[:200] + "... (%d chars)" % len(s)


def expected(rows, prefix):
    return {prefix + r[0]: tuple(as_exact(prefix + r[0] if i == 0 else x)
                                 for i, x in enumerate(r)) for r in rows}


def write_rows(inst, rows, prefix):
    inst.executemany("INSERT INTO vals(label, v, vi, vr, vt, vb) VALUES "
                     "(?, ?, ?, ?, ?, ?)",
                     [(prefix + r[0],) + tuple(r[1:]) for r in rows])


def write_bad(inst, prefix):
    inst.shell("".join(
        "INSERT INTO vals(label, v, vt) VALUES ('%sbad%d', CAST(x'%s' AS "
        "TEXT), CAST(x'%s' AS TEXT));\n" % (prefix, i, h, h)
        for i, h in enumerate(BAD_UTF8)))
    return {"%sbad%d" % (prefix, i): (
        ("text", ("%sbad%d" % (prefix, i)).encode()),
        ("text", bytes.fromhex(h)), ("null", None), ("null", None),
        ("text", bytes.fromhex(h)), ("null", None))
        for i, h in enumerate(BAD_UTF8)}


def setup(env):
    hq = env.instance("hq", SCHEMA, ("vals",))
    br = env.instance("branch", SCHEMA, ("vals",))
    pair(hq, br, "b1", COLS, table="vals")
    return hq, br


def exact_values(env):
    """Every kind of value, inserted on each side, arrives bit-exact."""
    hq, br = setup(env)
    rows = cases()
    want = {}
    write_rows(br, rows, "br-")
    want.update(expected(rows, "br-"))
    want.update(write_bad(br, "br-"))
    write_rows(hq, rows, "hq-")
    want.update(expected(rows, "hq-"))
    want.update(write_bad(hq, "hq-"))
    # The writers wrote what we meant (-0.0 kept its sign, and so on).
    check_side(br, {k: v for k, v in want.items() if k.startswith("br-")})
    check_side(hq, {k: v for k, v in want.items() if k.startswith("hq-")})
    settle(br)
    check_side(br, want)
    check_side(hq, want)
    neg = hq.query("SELECT v FROM vals WHERE label = 'br-real3'")[0][0]
    eq(math.copysign(1.0, neg), -1.0, "sign bit of -0.0 on hq")
    # Updates: every row takes the value of another row, both ways, and
    # values change type along the way.
    labels = sorted(want)
    perm = labels[1:] + labels[:1]
    src = dict(want)
    for side, sign in ((br, "br-"), (hq, "hq-")):
        c = side.connect()
        c.execute("BEGIN IMMEDIATE")
        for a, b in zip(labels, perm):
            if not a.startswith(sign):
                continue
            c.execute("UPDATE vals SET v = (SELECT v FROM vals WHERE "
                      "label = ?), vt = (SELECT vt FROM vals WHERE "
                      "label = ?), vb = (SELECT vb FROM vals WHERE "
                      "label = ?) WHERE label = ?", (b, b, b, a))
        c.execute("COMMIT")
        c.close()
    for a, b in zip(labels, perm):
        r = list(src[a])
        r[1], r[4], r[5] = src[b][1], src[b][4], src[b][5]
        want[a] = tuple(r)
    settle(br)
    check_side(br, want)
    check_side(hq, want)


def type_changes(env):
    """One field goes through every type, each step synced."""
    hq, br = setup(env)
    br.execute("INSERT INTO vals(label, v) VALUES ('x', 1)")
    sync_ok(br)
    steps = [I64_MIN, "text", None, b"\x00blob", -0.0, "", b"", None, 0.1,
             I64_MAX, "é"]
    for i, x in enumerate(steps):
        side, other = (br, hq) if i % 2 == 0 else (hq, br)
        side.execute("UPDATE vals SET v = ? WHERE label = 'x'", (x,))
        c = sync_ok(br)
        eq(c["conflicts"], 0, "conflicts")
        got = other.snapshot("vals", ["v"])
        eq(list(got.values()), [(as_exact(x),)], "step %d (%r) on %s" % (
            i, x, other.name))
    settle(br)


def huge_text(env):
    """A 20 MB text value goes through, each way."""
    hq, br = setup(env)
    piece = "Grüße, 世界! \"quoted\" \\ back\nslash 😀\t"
    n = 20 * 2 ** 20
    big = (piece * (n // len(piece.encode()) + 1)).encode()[:n]
    while True:     # do not cut a character in two
        try:
            big = big.decode()
            break
        except UnicodeDecodeError:
            big = big[:-1]
    expect(len(big.encode()) > 20 * 10 ** 6, "value smaller than 20 MB")
    br.execute("INSERT INTO vals(label, vt) VALUES ('big-br', ?)", (big,))
    br.execute("INSERT INTO vals(label, vt) VALUES ('small', 'after')")
    c = sync_ok(br, )
    eq(c["sent_records"], 2, "records sent")
    got = hq.query("SELECT vt, typeof(vt) FROM vals WHERE label = 'big-br'")
    eq(got[0][1], "text", "type of the big value on hq")
    expect(got[0][0] == big, "big value differs on hq (%d vs %d chars)" % (
        len(got[0][0]), len(big)))
    eq(hq.one("SELECT vt FROM vals WHERE label = 'small'"), "after",
       "the record after the big one")
    # And back: hq replaces it with another 20 MB text.
    big2 = big[::-1]
    hq.execute("UPDATE vals SET vt = ? WHERE label = 'big-br'", (big2,))
    c = sync_ok(br)
    eq(c["received"], 1, "values received")
    expect(br.one("SELECT vt FROM vals WHERE label = 'big-br'") == big2,
           "big value differs on the branch")
    settle(br)


if __name__ == "__main__":
    run([exact_values, type_changes, huge_text], budget=110)
