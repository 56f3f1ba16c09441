"""synclib.py - helpers for the sync scenario tests (sync-*.py).

The sync tests run real fieldsync processes on 127.0.0.1: a passive side
serving /sync/v1/ and an active side that either runs "fieldsync sync"
(one pass, deterministic) or its own "fieldsync serve" loop (every
interval).  App rows are written with the real sqlite3 shell and with
Python's sqlite3 module, never through fieldsync.

What this module promises a test script:

 - Every case runs in its own temporary directory, kept (and named on
   stderr) when the case fails, removed when it passes.
 - Every process a case starts is tracked by its own PID and is always
   stopped when the case ends, however it ends: SIGTERM, then SIGKILL if
   it does not exit in time.  Nothing else is ever signalled.
 - A server's port is read from the line it prints on stdout, never
   guessed: every server listens on 127.0.0.1:0 unless it is restarted on
   the port it had.
 - Waiting is polling a condition against a deadline (wait_for), never a
   fixed sleep; a deadline that passes fails the case with what was last
   seen.
 - A server log that shows a sanitizer report fails the case.
 - A whole script has a time budget (run(..., budget=S)); past it, the
   script fails instead of hanging.
"""

import hashlib
import json
import os
import re
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsutil import (FIELDSYNC, SKIP, Failure, eq, expect,  # noqa: E402,F401
                    skip)

PASSWORD = "correct horse battery staple"
REALM = "fieldsync"
KDF_SALT = b"fieldsync-pairing-v1"
KDF_ROUNDS = 20000

SCHEMA = ("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, "
          "phone TEXT, email TEXT, note TEXT);")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ThreadSanitizer")

_live = []      # every Proc started and not yet reaped, for the last resort


def now():
    return time.monotonic()


def wait_for(cond, timeout, what, interval=0.05):
    """Poll cond() until it returns something true; return that.

    cond may raise Failure while the state is not there yet; the last
    value or failure is shown when the deadline passes.
    """
    deadline = now() + timeout
    last = None
    while True:
        try:
            v = cond()
            if v:
                return v
            last = v
        except Failure as e:
            last = "failure: %s" % e
        if now() >= deadline:
            raise Failure("timed out after %.1f s waiting for %s (last: %s)"
                          % (timeout, what, _short(last)))
        time.sleep(interval)


def _short(v, n=600):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def derive_key(password=PASSWORD):
    """The Digest password: PBKDF2-SHA256 of the pairing password, hex."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), KDF_SALT,
                               KDF_ROUNDS, 32).hex()


class Proc:
    """One fieldsync serve process of an instance."""

    def __init__(self, inst, popen, log):
        self.inst = inst
        self.p = popen
        self.log = log
        self.port = None

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        """SIGKILL this process (ours) and reap it."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=30)
        self._forget()

    def stop(self, timeout=20):
        """SIGTERM, wait, SIGKILL if needed; return the exit status."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=30)
        self._forget()
        return self.p.returncode

    def _forget(self):
        if self.p.stdout:
            self.p.stdout.close()
            self.p.stdout = None
        if self in _live:
            _live.remove(self)


class Instance:
    """One application database and the fieldsync commands run on it."""

    def __init__(self, env, name):
        self.env = env
        self.name = name
        self.db = env.path(name + ".db")
        self.log = env.path(name + ".log")
        self.server = None
        self.port = None

    # --- fieldsync ---------------------------------------------------
    def run(self, *args, check=True, timeout=120):
        e = dict(os.environ)
        e.pop("FIELDSYNC_DB", None)
        p = subprocess.run([FIELDSYNC, "-d", self.db] +
                           [str(a) for a in args], capture_output=True,
                           env=e, cwd=self.env.dir, timeout=timeout)
        if check and (p.returncode != 0 or p.stderr):
            raise Failure("%s: fieldsync %s: exit %d, stderr %r" % (
                self.name, " ".join(map(str, args)), p.returncode,
                p.stderr.decode(errors="replace")))
        return p

    def fs(self, *args, check=True, timeout=120):
        return self.run(*args, check=check, timeout=timeout).stdout.decode()

    def fs_json(self, *args):
        return json.loads(self.fs(*args, "--json"))

    def sync(self, pair=None, check=True, timeout=120):
        """One "fieldsync sync" pass; returns the CompletedProcess."""
        args = ["sync"] + ([pair] if pair else [])
        return self.run(*args, check=check, timeout=timeout)

    def status(self, pair):
        for p in self.fs_json("status"):
            if p["pair"] == pair:
                return p
        raise Failure("%s: no pairing %s in status" % (self.name, pair))

    def conflicts(self, all_=False):
        return self.fs_json("conflicts", *(["--all"] if all_ else []))

    def history(self, table, rowid):
        return self.fs_json("log", table, rowid)

    # --- the app's own writes ------------------------------------------
    def shell(self, sql):
        """Run SQL with the real sqlite3 shell, as an app would."""
        p = subprocess.run(["sqlite3", "-batch", "-bail", self.db],
                           input=(".timeout 30000\n" + sql).encode(),
                           capture_output=True, timeout=120)
        if p.returncode != 0 or p.stderr:
            raise Failure("%s: sqlite3 failed (%d): %s\nSQL: %s" % (
                self.name, p.returncode, p.stderr.decode(errors="replace"),
                sql[:500]))
        return p.stdout.decode(errors="replace")

    def connect(self, raw=False):
        """Python connection, autocommit (explicit BEGIN when wanted).

        raw: text comes back as bytes (for invalid UTF-8).
        """
        c = sqlite3.connect(self.db, isolation_level=None, timeout=30)
        if raw:
            c.text_factory = bytes
        return c

    def query(self, sql, params=(), raw=False):
        c = self.connect(raw)
        try:
            return c.execute(sql, params).fetchall()
        finally:
            c.close()

    def one(self, sql, params=()):
        r = self.query(sql, params)
        return r[0][0] if r else None

    def execute(self, sql, params=()):
        """One write with Python's sqlite3, committed; returns lastrowid."""
        c = self.connect()
        try:
            cur = c.execute(sql, params)
            return cur.lastrowid
        finally:
            c.close()

    def executemany(self, sql, seq):
        c = self.connect()
        try:
            c.execute("BEGIN IMMEDIATE")
            c.executemany(sql, seq)
            c.execute("COMMIT")
        finally:
            c.close()

    # --- the daemon ------------------------------------------------------
    def serve(self, port=0, timeout=30, env=None, args=()):
        """Start "fieldsync serve" on 127.0.0.1:port; return the Proc.

        env: more environment for it, e.g. libfaketime's LD_PRELOAD;
        args: more options of serve.
        """
        expect(self.server is None or not self.server.alive(),
               "%s: already serving" % self.name)
        e = dict(os.environ)
        e.pop("FIELDSYNC_DB", None)
        if env:
            e.update(env)
            if "LD_PRELOAD" in env:
                # The preloaded library comes before ASan's runtime.
                e["ASAN_OPTIONS"] = ":".join(filter(None, [
                    e.get("ASAN_OPTIONS", ""),
                    "verify_asan_link_order=0"]))
        logf = open(self.log, "ab")
        logf.write(("--- %s: serve on port %s at %.3f\n" % (
            self.name, port or "any", time.time())).encode())
        logf.flush()
        p = subprocess.Popen([FIELDSYNC, "-d", self.db, "serve", "--listen",
                              "127.0.0.1:%d" % port] + list(args),
                             stdout=subprocess.PIPE, stderr=logf,
                             stdin=subprocess.DEVNULL, env=e,
                             cwd=self.env.dir)
        logf.close()
        proc = Proc(self, p, self.log)
        _live.append(proc)
        self.env.procs.append(proc)
        self.server = proc
        line = b""
        deadline = now() + timeout
        while not line.endswith(b"\n"):
            left = deadline - now()
            if left <= 0 or p.poll() is not None:
                proc.stop()
                raise Failure("%s: serve printed no address (exit %s): %s"
                              % (self.name, p.returncode,
                                 self.log_tail()))
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                ch = os.read(p.stdout.fileno(), 1)
                if not ch:
                    continue
                line += ch
        m = re.match(rb"fieldsync: serving .* on http://127\.0\.0\.1:(\d+)/",
                     line)
        if not m:
            proc.stop()
            raise Failure("%s: unexpected serve line %r" % (self.name, line))
        proc.port = int(m.group(1))
        if port:
            eq(proc.port, port, "%s: port after restart" % self.name)
        self.port = proc.port
        return proc

    def restart(self, timeout=30, env=None):
        """Serve again on the port the instance had (after a kill)."""
        expect(self.port is not None, "%s never served" % self.name)
        deadline = now() + timeout
        while True:
            try:
                return self.serve(self.port, env=env)
            except Failure:
                # The port may linger for a moment after a SIGKILL.
                if now() > deadline:
                    raise
                time.sleep(0.1)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=2000):
        return self.log_text()[-n:]

    # --- state ------------------------------------------------------------
    def tid(self, table):
        return self.one("SELECT tid FROM _fs_table WHERE name = ?", (table,))

    def fid(self, table, col):
        return self.one("SELECT fid FROM _fs_field WHERE tid = ? AND "
                        "name = ?", (self.tid(table), col))

    def pid_of(self, pair):
        return self.one("SELECT pid FROM _fs_pair WHERE name = ?", (pair,))

    def rowid_of(self, table, sid):
        return self.one("SELECT lrow FROM _fs_record WHERE tid = ? AND "
                        "sid = ?", (self.tid(table), sid))

    def sid_of(self, table, rowid):
        return self.one("SELECT sid FROM _fs_record WHERE tid = ? AND "
                        "lrow = ?", (self.tid(table), rowid))

    def snapshot(self, table, cols, pair=None, where="1"):
        """{sync identity: (value, ...)} of the live rows of table.

        Values are exact: (typeof, value) with text as bytes and reals as
        their 8 bytes, so 0.0 and -0.0 differ and invalid UTF-8 survives.
        A record this side linked by a match key is keyed by the peer's
        identity in pairing pair (as the peer knows it).
        """
        sel = ", ".join("typeof(a.%s), a.%s" % (q(c), q(c)) for c in cols)
        link = ""
        key = "r.sid"
        if pair is not None:
            link = ("LEFT JOIN _fs_link l ON l.rid = r.rid AND l.pid = "
                    "(SELECT pid FROM _fs_pair WHERE name = '%s')" % pair)
            key = "coalesce(l.rsid, r.sid)"
        rows = self.query("SELECT %s, %s FROM %s a JOIN _fs_record r ON "
                          "r.tid = %d AND r.lrow = a.rowid %s WHERE %s" % (
                              key, sel, q(table), self.tid(table), link,
                              where), raw=True)
        out = {}
        for r in rows:
            vals = []
            for i in range(len(cols)):
                vals.append(exact(r[1 + 2 * i], r[2 + 2 * i]))
            expect(r[0] not in out, "%s: sync identity %s twice" % (
                self.name, _sid(r[0])))
            out[r[0]] = tuple(vals)
        return out

    def count(self, table, where="1"):
        return self.one("SELECT count(*) FROM %s WHERE %s" % (q(table),
                                                             where))

    def state_dump(self):
        """Everything in the file, app rows and _fs_* state, in order;
        but the time of fieldsync's last look for rows removed without a
        delete (_fs_meta swept_at), which any pass may note."""
        c = self.connect(raw=True)
        try:
            out = []
            for (name,) in c.execute("SELECT name FROM sqlite_schema WHERE "
                                     "type = 'table' ORDER BY name"):
                name = name.decode()
                rows = c.execute("SELECT * FROM %s %s ORDER BY 1" % (
                    q(name), "WHERE key <> 'swept_at'"
                    if name == "_fs_meta" else ""))
                out.append((name, [tuple(exact_any(v) for v in r)
                                   for r in rows]))
            return out
        finally:
            c.close()


def q(name):
    return '"' + name.replace('"', '""') + '"'


def exact(typ, v):
    typ = typ.decode() if isinstance(typ, bytes) else typ
    if typ == "real":
        return ("real", struct.pack("<d", v))
    if typ == "text":
        return ("text", v if isinstance(v, bytes) else v.encode())
    return (typ, v)


def exact_any(v):
    if isinstance(v, float):
        return ("real", struct.pack("<d", v))
    return v


class Env:
    """One case: a directory, instances, processes."""

    def __init__(self, name, directory):
        self.name = name
        self.dir = directory
        self.procs = []
        self.insts = {}
        with open(self.path("pw"), "w") as f:
            f.write(PASSWORD + "\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def instance(self, name, schema=SCHEMA, tables=("customers",),
                 match=None):
        """A new app database with schema, fieldsync init, tables enrolled.

        match: {table: "col[,col]"} for --match.
        """
        inst = Instance(self, name)
        inst.shell(schema)
        inst.fs("init", "--name", name)
        for t in tables:
            extra = []
            if match and t in match:
                extra = ["--match", match[t]]
            inst.fs("table", "add", t, *extra)
        self.insts[name] = inst
        return inst

    def cleanup(self):
        """Stop every process this case started; report sanitizer output."""
        problems = []
        for p in self.procs:
            if p.alive():
                p.stop()
        for inst in self.insts.values():
            text = inst.log_text()
            for mark in SANITIZER_MARKS:
                if mark in text:
                    problems.append("%s: %s in %s" % (inst.name, mark,
                                                       inst.log))
                    break
        return problems


def pair(passive, active, name, fields, interval=1, table="customers",
         serve=True, policy=None, deletes=None):
    """Pair passive and active as name, mapping fields of table.

    fields: list of column names, or of (column, active_mode,
    passive_mode).  The active maps first (its field numbers are the wire
    contract); the passive links each column to that number.  The passive
    is started (if not serving yet) so the active knows its URL.
    Returns {column: wire field number}.
    """
    pw = passive.env.path("pw")
    if serve and (passive.server is None or not passive.server.alive()):
        passive.serve()
    passive.fs("pair", "add", name, "--passive", "--password-file", pw)
    active.fs("pair", "add", name, "--active", "--url",
              "http://127.0.0.1:%d/" % passive.port, "--password-file", pw,
              "--interval", interval)
    wires = {}
    for f in fields:
        if isinstance(f, str):
            f = (f, "two-way", "two-way")
        col, am, pm = f
        out = active.fs("map", "add", name, "%s.%s" % (table, col),
                        "--mode", am)
        m = re.search(r"as field (\d+)", out)
        expect(m, "map add printed no field number: %r" % out)
        wires[col] = int(m.group(1))
        passive.fs("map", "add", name, "%s.%s" % (table, col),
                   "--remote-field", wires[col], "--mode", pm)
    for side in (passive, active):
        if policy:
            side.fs("pair", "set", name, "policy", policy)
        if deletes:
            side.fs("pair", "set", name, "deletes", deletes)
    return wires


def sync_ok(active, pair=None):
    """One sync pass that must succeed; returns the parsed counts."""
    out = active.sync(pair).stdout.decode()
    m = re.search(r"sent (\d+) values in (\d+) records, received (\d+) "
                  r"values in (\d+) records, (\d+) conflicts", out)
    expect(m, "%s: unexpected sync output %r" % (active.name, out))
    keys = ("sent", "sent_records", "received", "received_records",
            "conflicts")
    return dict(zip(keys, map(int, m.groups())))


def settle(active, pair=None, rounds=10):
    """Sync until a pass moves nothing; returns the passes' counts."""
    seen = []
    for _ in range(rounds):
        c = sync_ok(active, pair)
        seen.append(c)
        if c["sent"] == 0 and c["received"] == 0:
            return seen
    raise Failure("%s: still moving values after %d passes: %r" % (
        active.name, rounds, seen))


def _sid(k):
    """A sync identity for a message (text in the state tables)."""
    if isinstance(k, bytes):
        try:
            return k.decode("ascii")
        except UnicodeDecodeError:
            return k.hex()
    return str(k)


def same_rows(a, b, table, cols, pair_a=None, pair_b=None, where="1"):
    """The mapped columns of every live record equal on both sides."""
    sa = a.snapshot(table, cols, pair_a, where)
    sb = b.snapshot(table, cols, pair_b, where)
    if sa == sb:
        return sa
    only_a = [_sid(k) for k in sa if k not in sb][:5]
    only_b = [_sid(k) for k in sb if k not in sa][:5]
    diff = [(_sid(k), sa[k], sb[k]) for k in sa if k in sb and
            sa[k] != sb[k]][:5]
    raise Failure("%s and %s differ: %d vs %d records; only in %s: %s; "
                  "only in %s: %s; different: %s" % (
                      a.name, b.name, len(sa), len(sb), a.name, only_a,
                      b.name, only_b, _short(diff)))


def duplicate_versions(inst):
    """Log rows applying the same version of a field twice (must be []).
    A clash's winner logged again for the peer (kind 8) applies nothing."""
    return inst.query("SELECT rid, fid, hlc, origin, count(*) FROM _fs_log "
                      "WHERE fid <> 0 AND src IS NOT NULL AND kind & 8 = 0 "
                      "GROUP BY rid, fid, hlc, origin HAVING count(*) > 1 "
                      "LIMIT 5")


def duplicate_creations(inst):
    """Records with more than one creation row (must be [])."""
    return inst.query("SELECT rid, count(*) FROM _fs_log WHERE kind & 3 = 1 "
                      "GROUP BY rid HAVING count(*) > 1 LIMIT 5")


def _on_alarm(signum, frame):
    raise Failure("script time budget exceeded")


def _last_resort(signum, frame):
    for p in list(_live):
        try:
            p.kill9()
        except Exception:
            pass
    sys.exit(1)


def run(cases, budget=110):
    """Run each case(Env) in its own directory; exit 0 pass, 1 fail.

    Arguments on the command line pick cases by name.
    """
    if not FIELDSYNC:
        print("FIELDSYNC is not set", file=sys.stderr)
        sys.exit(99)
    if shutil.which("sqlite3") is None:
        skip("the sqlite3 shell is not installed")
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _last_resort)
    signal.signal(signal.SIGHUP, _last_resort)
    signal.alarm(int(budget))
    script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    only = sys.argv[1:]
    failed = []
    t_all = now()
    for fn in cases:
        name = fn.__name__
        if only and name not in only:
            continue
        d = tempfile.mkdtemp(prefix="fs-%s-%s." % (script, name))
        env = Env(name, d)
        t0 = now()
        err = None
        try:
            fn(env)
        except Exception as e:  # Failure, a budget overrun, a test bug
            err = e
            tb = traceback.format_exc()
        finally:
            try:
                problems = env.cleanup()
            except Exception as e:
                problems = ["cleanup failed: %s" % e]
        if err is None and problems:
            err = Failure("; ".join(problems))
            tb = None
        if err is not None:
            failed.append(name)
            print("FAIL %s (%.1f s): %s" % (name, now() - t0, err),
                  file=sys.stderr)
            if tb and not isinstance(err, Failure):
                print(tb, file=sys.stderr)
            elif tb:
                # Where in the test the check failed.
                print("".join(l for l in tb.splitlines(True)
                              if l.startswith("  File") and
                              "synclib.py" not in l), file=sys.stderr)
            print("  kept %s" % d, file=sys.stderr)
            if isinstance(err, Failure) and "budget" in str(err):
                break
            continue
        print("ok   %s (%.1f s)" % (name, now() - t0))
        shutil.rmtree(d, ignore_errors=True)
    signal.alarm(0)
    print("%s: %d failed, %.1f s" % (script, len(failed), now() - t_all))
    sys.exit(1 if failed else 0)
