#!/usr/bin/env python3
"""rss-bench.py - peak memory of both processes during an initial sync.

Usage: rss-bench.py FIELDSYNC [RECORDS]   (default 1,000,000)

A passive "fieldsync serve" and an active "fieldsync sync" run as real
processes on 127.0.0.1.  The active side's table holds RECORDS rows of
10 fields; both peaks are read from the kernel (VmHWM of the server,
ru_maxrss of the sync process) and printed beside the time taken and
the database sizes, so memory can be seen not to grow with the table.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

COLS = ["c%d" % i for i in range(1, 11)]
SCHEMA = ("CREATE TABLE items(id INTEGER PRIMARY KEY, c1 TEXT, c2 TEXT, "
          "c3 TEXT, c4 INTEGER, c5 INTEGER, c6 REAL, c7 TEXT, c8 TEXT, "
          "c9 INTEGER, c10 TEXT);")


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          **kw).stdout


def main():
    fs = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    d = tempfile.mkdtemp(prefix="fieldsync-rss-")
    server = None
    try:
        a, p, pw = (os.path.join(d, x) for x in ("active.db", "passive.db",
                                                   "pw"))
        with open(pw, "w") as f:
            f.write("rss bench\n")
        sh("sqlite3", a, "PRAGMA journal_mode=WAL;" + SCHEMA +
           "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
           "WHERE i < %d) INSERT INTO items(c1, c2, c3, c4, c5, c6, c7, c8, "
           "c9, c10) SELECT 'customer ' || i, '+41 44 ' || i, 'c' || i || "
           "'@example.com', i * 7, i %% 13, i / 3.0, 'Bahnhofstrasse 1', "
           "'8001 Zurich', i & 1, 'some notes about this customer' FROM s;"
           % n)
        sh("sqlite3", p, "PRAGMA journal_mode=WAL;" + SCHEMA)
        for db, name in ((a, "active"), (p, "passive")):
            sh(fs, "-d", db, "init", "--name", name)
            sh(fs, "-d", db, "table", "add", "items")
        sh(fs, "-d", p, "pair", "add", "bench", "--passive",
           "--password-file", pw)
        server = subprocess.Popen([fs, "-d", p, "serve", "--listen",
                                   "127.0.0.1:0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline()
        port = re.search(r":(\d+)/$", line.strip()).group(1)
        sh(fs, "-d", a, "pair", "add", "bench", "--active", "--url",
           "http://127.0.0.1:%s/" % port, "--password-file", pw)
        for c in COLS:
            out = sh(fs, "-d", a, "map", "add", "bench", "items." + c)
            fid = re.search(r"as field (\d+)", out).group(1)
            sh(fs, "-d", p, "map", "add", "bench", "items." + c,
               "--remote-field", fid)
        t0 = time.monotonic()
        proc = subprocess.Popen([fs, "-d", a, "sync", "bench"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - t0
        out = proc.stdout.read()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("rss-bench: sync failed: " + proc.stderr.read())
        with open("/proc/%d/status" % server.pid) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        got = sh("sqlite3", p, "SELECT count(*) FROM items").strip()
        if int(got) != n:
            sys.exit("rss-bench: passive has %s rows, expected %d" % (got, n))
        print("peak RSS, initial sync of %d records x 10 fields (%.1f s, %s):"
              % (n, elapsed, out.strip()))
        print("  active  'fieldsync sync'  %6.1f MB   (target < 64 MB)" %
              (usage.ru_maxrss / 1024.0))
        print("  passive 'fieldsync serve' %6.1f MB   (target < 64 MB)" %
              (hwm / 1024.0))
        print("  database sizes: active %.0f MB, passive %.0f MB" % (
              os.path.getsize(a) / 1e6, os.path.getsize(p) / 1e6))
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
