"""fsutil.py - shared helpers for the Python scenario tests.

The scripts run under automake's test driver with FIELDSYNC (the built
program), TOP_SRCDIR and TOP_BUILDDIR in the environment; exit status 0
pass, 1 fail, 77 skip.

A script lists its cases and calls run(); each case gets a Case with its
own temporary directory, kept (and named on stderr) when the case fails,
removed when it passes.  Cases are independent: one failing does not
stop the others, so a run reports every broken behaviour at once.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback

FIELDSYNC = os.environ.get("FIELDSYNC")
TOP_SRCDIR = os.environ.get("TOP_SRCDIR", ".")
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR", ".")
SKIP = 77


class Failure(Exception):
    """A check did not hold."""


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(actual, expected, what="value"):
    if actual != expected or type(actual) is not type(expected):
        raise Failure("%s: got %r, expected %r" % (what, actual, expected))


def skip(why):
    print("SKIP: " + why, file=sys.stderr)
    sys.exit(SKIP)


class Case:
    """One test case: a directory, an app database, ways to write it."""

    def __init__(self, name, directory):
        self.name = name
        self.dir = directory
        self.db = os.path.join(directory, "app.db")

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args, check=True, env=None):
        """Run fieldsync with args; return the CompletedProcess."""
        e = dict(os.environ)
        e.pop("FIELDSYNC_DB", None)
        if env:
            e.update(env)
        p = subprocess.run([FIELDSYNC] + [str(a) for a in args],
                           capture_output=True, env=e, cwd=self.dir,
                           timeout=60)
        if check and (p.returncode != 0 or p.stderr):
            raise Failure("fieldsync %s: exit %d, stderr %r" % (
                " ".join(map(str, args)), p.returncode,
                p.stderr.decode(errors="replace")))
        return p

    def fs(self, *args, check=True):
        """Run fieldsync -d DB args; return its stdout as text."""
        p = self.run("-d", self.db, *args, check=check)
        return p.stdout.decode()

    def fs_json(self, *args):
        return json.loads(self.fs(*args, "--json"))

    def shell(self, sql, db=None):
        """Run SQL with the real sqlite3 shell, as an app would."""
        p = subprocess.run(["sqlite3", "-batch", "-bail", db or self.db],
                           input=sql.encode(), capture_output=True,
                           timeout=60)
        if p.returncode != 0 or p.stderr:
            raise Failure("sqlite3 failed (%d): %s\nSQL: %s" % (
                p.returncode, p.stderr.decode(errors="replace"), sql))
        return p.stdout.decode()

    def connect(self, db=None):
        """A Python sqlite3 connection in autocommit mode (explicit BEGIN)."""
        c = sqlite3.connect(db or self.db, isolation_level=None, timeout=10)
        return c

    def query(self, sql, params=()):
        """Read with a fresh Python connection; returns all rows."""
        c = self.connect()
        try:
            return c.execute(sql, params).fetchall()
        finally:
            c.close()

    def init(self, schema, *tables, name=None):
        """Create the app schema with the shell, init, enrol tables."""
        self.shell(schema)
        if name:
            self.fs("init", "--name", name)
        else:
            self.fs("init")
        for t in tables:
            self.fs("table", "add", t)


def run(cases):
    """Run each case function(Case) in its own directory; exit."""
    if not FIELDSYNC:
        print("FIELDSYNC is not set", file=sys.stderr)
        sys.exit(99)
    if shutil.which("sqlite3") is None:
        skip("the sqlite3 shell is not installed")
    script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    only = sys.argv[1:]
    failed = []
    for fn in cases:
        name = fn.__name__
        if only and name not in only:
            continue
        d = tempfile.mkdtemp(prefix="fs-%s-%s." % (script, name))
        try:
            fn(Case(name, d))
        except Exception as e:  # Failure or a bug in the test itself
            failed.append(name)
            print("FAIL %s: %s" % (name, e), file=sys.stderr)
            if not isinstance(e, Failure):
                traceback.print_exc()
            print("  kept %s" % d, file=sys.stderr)
            continue
        print("ok   %s" % name)
        shutil.rmtree(d, ignore_errors=True)
    print("%s: %d failed" % (script, len(failed)))
    sys.exit(1 if failed else 0)
