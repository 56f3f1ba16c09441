#!/usr/bin/env python3
"""sync-cli.py - the sync commands as cron, scripts and operators see them.

Real fieldsync processes on 127.0.0.1 (issue 3, items 2 and 8; DESIGN.md
"Exit status 0 on success; non-zero with one clear line on stderr").

Proves:
 - "sync" runs from cron may overlap on one database: a run started
   while DB-fieldsync.lock is held waits for it; two runs started at once
   against a passive with thousands of pending changes both exit 0, one
   moves everything and the other nothing, nothing is applied twice;
 - "sync" exits 0 when every pairing succeeded and 1, with exactly one
   stderr line naming the failed pairing, when one of two passives is
   down (the other still syncs); a disabled pairing is skipped by "sync"
   but run by "sync PAIR"; "sync PAIR" on a passive pairing is a usage
   error (2), an unknown PAIR an error (1);
 - "serve" on a port in use (by a plain socket, or by another
   "fieldsync serve") fails with one clear line and a non-zero exit;
   "serve" with only one of --tls-cert/--tls-key is a usage error;
   SIGTERM and SIGINT stop "serve" promptly even in the middle of a long
   pass, with exit 0 and a "stopping" log line, and both databases pass
   PRAGMA integrity_check and then converge;
 - "status --json" has every documented key with the right type, for
   active and passive pairings, and the state and reason for: never
   synced / not connected yet, in sync, unreachable, auth refused, map
   mismatch, N conflict(s) waiting, disabled; a passive pairing turns red
   "no contact from the active side" once the active has been silent for
   more than three intervals, and not while it polls;
 - "pair test" says green with the clock offset, or red on one stderr
   line saying exactly what is wrong (unreachable, refused
   authentication, another protocol version, a non-JSON peer, a map
   through which nothing flows), exit 1; "--json" has the documented
   keys;
 - the daemons' logs and the commands' output never contain the
   password, the derived key the active stores, the HA1 the passive
   stores, nor any Authorization value, even for hostile requests.
"""

import fcntl
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (FIELDSYNC, PASSWORD, REALM, Failure, derive_key,  # noqa
                     duplicate_creations, duplicate_versions, eq, expect,
                     now, pair, run, same_rows, settle, sync_ok, wait_for)

T = "customers"
COLS = ["name", "phone", "email", "fs_status", "fs_added"]


def one_err(p, what):
    """The one stderr line of a failed command (and its exit status)."""
    lines = p.stderr.decode(errors="replace").splitlines()
    expect(len(lines) == 1 and lines[0].startswith("fieldsync: "),
           "%s: stderr should be one 'fieldsync:' line, got %r" % (
               what, lines))
    return lines[0]


def raw_run(inst, *args, timeout=60):
    e = dict(os.environ)
    e.pop("FIELDSYNC_DB", None)
    return subprocess.run([FIELDSYNC, "-d", inst.db] + [str(a) for a in args],
                          capture_output=True, env=e, cwd=inst.env.dir,
                          timeout=timeout)


def sync_lines(out):
    """{pair: (sent, received)} from sync's stdout."""
    got = {}
    for ln in out.splitlines():
        m = re.match(r"(\S+): sent (\d+) values in (\d+) records, received "
                     r"(\d+) values in (\d+) records, (\d+) conflicts$", ln)
        expect(m, "unexpected sync line %r" % ln)
        got[m.group(1)] = (int(m.group(3)), int(m.group(5)))
    return got


def lock_path(inst):
    return inst.db + "-fieldsync.lock"


# --- overlapping cron runs ----------------------------------------------

def overlapping_sync(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    n_br, n_hq = 4000, 3000
    br.executemany("INSERT INTO customers(name, phone, email) VALUES "
                   "(?, ?, ?)", [("b%d" % i, "p%d" % i, "b%d@x" % i)
                                 for i in range(n_br)])
    hq.executemany("INSERT INTO customers(name, phone, email) VALUES "
                   "(?, ?, ?)", [("h%d" % i, "q%d" % i, "h%d@x" % i)
                                 for i in range(n_hq)])

    # A run started while the lock is held waits, then does its work;
    # also one given another path to the database (a symbolic link).
    link = env.path("branch-link.db")
    os.symlink(br.db, link)
    fd = os.open(lock_path(br), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        p = subprocess.Popen([FIELDSYNC, "-d", link, "sync"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            t0 = now()
            while now() - t0 < 1.5:
                expect(p.poll() is None, "sync did not wait for the lock "
                       "(exit %s)" % p.returncode)
                eq(hq.count(T), n_hq, "hq rows while the lock is held")
                time.sleep(0.1)
        except BaseException:
            p.kill()
            p.wait()
            raise
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = p.communicate(timeout=120)
    eq((p.returncode, err), (0, b""), "the waiting sync")
    eq(sync_lines(out.decode()), {"b1": (n_br, n_hq)}, "the waiting sync")

    # Two runs at once: one does everything, the other finds nothing.
    br.executemany("UPDATE customers SET phone = ? WHERE id = ?",
                   [("x%d" % i, i) for i in range(1, n_br + 1)])
    hq.executemany("UPDATE customers SET email = ? WHERE id = ?",
                   [("y%d@x" % i, i) for i in range(1, n_hq + 1)])
    procs = [subprocess.Popen([FIELDSYNC, "-d", br.db, "sync"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    holders = set()
    ino = os.stat(lock_path(br)).st_ino
    expect(os.path.exists("/proc/locks"), "no /proc/locks")
    pids = {p.pid for p in procs}
    while any(p.poll() is None for p in procs):
        with open("/proc/locks") as f:
            for ln in f:
                parts = ln.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
                if len(parts) >= 6 and parts[1] == "FLOCK" and \
                        int(parts[5].split(":")[-1]) == ino:
                    holders.add(int(parts[4]))
        time.sleep(0.005)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        eq((p.returncode, err), (0, b""), "an overlapping sync")
        results.append(sync_lines(out.decode())["b1"])
    eq(sorted(results), [(0, 0), (n_br, n_hq)],
       "records (sent, received) of the two runs")
    expect(holders & pids, "no run was seen holding %s (holders %r)" % (
        lock_path(br), holders))
    for inst in (hq, br):
        eq(duplicate_versions(inst), [], "%s: a version applied twice" %
           inst.name)
        eq(duplicate_creations(inst), [], "%s: a record created twice" %
           inst.name)
    eq(len(same_rows(hq, br, T, COLS)), n_br + n_hq, "records on both")
    settle(br)


# --- exit status ----------------------------------------------------------

def sync_exit_status(env):
    hq1 = env.instance("hq1")
    hq2 = env.instance("hq2")
    br = env.instance("branch")
    pair(hq1, br, "p1", COLS)
    pair(hq2, br, "p2", COLS)
    br.shell("INSERT INTO customers(name) VALUES ('one');")
    r = br.sync()
    eq(sync_lines(r.stdout.decode()), {"p1": (1, 0), "p2": (1, 0)},
       "both pairings")
    hq2.server.stop()
    br.shell("INSERT INTO customers(name) VALUES ('two');")
    r = br.sync(check=False)
    eq(r.returncode, 1, "sync with one passive down")
    line = one_err(r, "sync with one passive down")
    expect(line.startswith("fieldsync: pairing p2: unreachable: "),
           "the failure line %r" % line)
    eq(sync_lines(r.stdout.decode()), {"p1": (1, 0)},
       "the pairing that worked")
    eq(hq1.count(T), 2, "rows on hq1")
    r = br.sync("p1")
    eq(sync_lines(r.stdout.decode()), {"p1": (0, 0)}, "sync p1")
    r = br.sync("p2", check=False)
    eq(r.returncode, 1, "sync p2 with its passive down")
    expect("pairing p2: unreachable" in one_err(r, "sync p2"), "sync p2")
    # Disabled: skipped by "sync", run by "sync PAIR".
    br.fs("pair", "set", "p2", "enabled", "no")
    r = br.sync()
    eq(sync_lines(r.stdout.decode()), {"p1": (0, 0)}, "sync, p2 disabled")
    r = br.sync("p2", check=False)
    eq(r.returncode, 1, "sync of the disabled p2")
    one_err(r, "sync of the disabled p2")
    # Disabled on the passive side: refused as that, not as a password.
    br.fs("pair", "set", "p2", "enabled", "yes")
    hq2.fs("pair", "set", "p2", "enabled", "no")
    hq2.restart()
    r = br.sync("p2", check=False)
    eq(r.returncode, 1, "sync of p2 disabled on hq2")
    err = one_err(r, "sync of p2 disabled on hq2")
    expect("403" in err and "pairing p2 is disabled on this side" in err,
           "sync of p2 disabled on hq2: %r" % err)
    expect("wrong key" not in hq2.log_text() and "unknown user" not in
           hq2.log_text(), "hq2 logged the disabled pairing as a bad login")
    hq2.fs("pair", "set", "p2", "enabled", "yes")
    eq(sync_lines(br.sync("p2").stdout.decode()), {"p2": (1, 0)},
       "sync p2 enabled again (the record it missed while down)")
    hq2.server.stop()
    br.fs("pair", "set", "p2", "enabled", "no")
    # With no enabled active pairing at all: exit 0, a note.
    br.fs("pair", "set", "p1", "enabled", "no")
    eq(br.fs("sync"), "no enabled active pairings\n", "nothing to do")
    # Usage and lookup errors.
    r = hq1.sync("p1", check=False)
    eq(r.returncode, 2, "sync of a passive pairing")
    expect("passive" in one_err(r, "sync of a passive pairing"),
           "sync of a passive pairing")
    r = br.sync("nope", check=False)
    eq(r.returncode, 1, "sync of an unknown pairing")
    expect("nope" in one_err(r, "sync of an unknown pairing"),
           "sync of an unknown pairing")
    r = br.run("sync", "p1", "p2", check=False)
    eq(r.returncode, 2, "sync with two pairings")
    one_err(r, "sync with two pairings")
    eq(r.stdout, b"", "stdout of a usage error")
    # Both passives down: one line for each pairing.
    br.fs("pair", "set", "p1", "enabled", "yes")
    br.fs("pair", "set", "p2", "enabled", "yes")
    hq1.server.stop()
    r = br.sync(check=False)
    eq(r.returncode, 1, "sync with both passives down")
    lines = r.stderr.decode().splitlines()
    eq(sorted(ln.split(": unreachable: ")[0] for ln in lines),
       ["fieldsync: pairing p1", "fieldsync: pairing p2"],
       "sync's stderr with both passives down (%r)" % lines)
    eq(r.stdout, b"", "sync's stdout with both passives down")


# --- serve: start errors, signals ------------------------------------------

def serve_errors(env):
    hq = env.instance("hq")
    other = env.instance("other")
    # A database others may read holds the pairing keys: a warning.
    os.chmod(hq.db, 0o644)
    hq.serve()
    hq.server.stop()
    expect(re.search(r" warn .*hq\.db can be read by other users .*chmod "
                     r"go-r ", hq.log_text()), "no warning of a database "
           "others may read: %r" % hq.log_text()[-500:])
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(hq.db + suffix):
            os.chmod(hq.db + suffix, 0o600)
    n = len(hq.log_text())
    hq.serve()
    hq.server.stop()
    expect("can be read by other" not in hq.log_text()[n:],
           "the warning on a database only its owner reads")
    # A port held by a plain listening socket.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = raw_run(hq, "serve", "--listen", "127.0.0.1:%d" % port)
        expect(r.returncode != 0, "serve on a port in use exited 0")
        eq(r.stdout, b"", "stdout of serve on a port in use")
        line = one_err(r, "serve on a port in use")
        expect("127.0.0.1:%d" % port in line and "in use" in line,
               "serve on a port in use: %r" % line)
    finally:
        s.close()
    # A port held by another fieldsync serve: the second must not share it.
    hq.serve()
    p = subprocess.Popen([FIELDSYNC, "-d", other.db, "serve", "--listen",
                          "127.0.0.1:%d" % hq.port], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise Failure("a second serve on port %d of a running serve kept "
                      "running (it printed %r)" % (hq.port, out))
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    expect(r.returncode != 0, "a second serve on the same port exited 0")
    line = one_err(r, "a second serve on the same port")
    expect("in use" in line, "a second serve on the same port: %r" % line)
    expect(hq.server.alive(), "the first serve died")
    # Only half of the TLS pair.
    for args in (["--tls-cert", env.path("pw")],
                 ["--tls-key", env.path("pw")]):
        r = raw_run(other, "serve", "--listen", "127.0.0.1:0", *args)
        eq(r.returncode, 2, "serve %s" % " ".join(args))
        expect("--tls-cert" in one_err(r, "serve %s" % args[0]),
               "serve %s" % args[0])
        eq(r.stdout, b"", "stdout of serve %s" % args[0])
    # The database file replaced under a running serve (a copy moved over
    # it): its connections would go on writing to the old, deleted file.
    src = sqlite3.connect(hq.db)
    dst = sqlite3.connect(hq.db + ".new")
    src.backup(dst)
    src.close()
    dst.close()
    os.replace(hq.db + ".new", hq.db)
    try:
        rc = hq.server.p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise Failure("serve kept running on a replaced database")
    eq(rc, 1, "serve's exit status after its database was replaced")
    expect(re.search(r" warn .*hq\.db was replaced or removed while serve "
                     r"ran: stopped", hq.log_text()),
           "the reason in the log: %r" % hq.log_text()[-400:])
    hq.server.stop()
    hq.serve()
    expect(hq.server.alive(), "serve on the new file")


def integrity(inst):
    eq(inst.query("PRAGMA integrity_check"), [("ok",)],
       "%s: integrity_check" % inst.name)


def stop_with(proc, sig, what):
    """Send sig to a serve of ours; its exit status and how long it took."""
    t0 = now()
    os.kill(proc.pid, sig)
    try:
        proc.p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise Failure("%s: serve still running 20 s after %s" % (
            what, signal.Signals(sig).name))
    took = now() - t0
    rc = proc.stop()
    return rc, took


def serve_signals(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    n = 60000
    br.executemany("INSERT INTO customers(name, phone, email) VALUES "
                   "(?, ?, ?)", [("b%d" % i, "p%d" % i, "e%d" % i)
                                 for i in range(n)])
    hq.executemany("INSERT INTO customers(name) VALUES (?)",
                   [("h%d" % i,) for i in range(2000)])
    bp = br.serve()
    # SIGTERM to the active daemon in the middle of its long first pass.
    wait_for(lambda: hq.count(T) > 2000, 60, "the pass under way")
    rc, took = stop_with(bp, signal.SIGTERM, "branch")
    eq(rc, 0, "branch's exit status after SIGTERM")
    moved = hq.count(T) - 2000
    expect(moved < n, "the whole pass (%d records) ran before the daemon "
           "stopped; the test needs a longer pass" % n)
    expect(took < 5, "the daemon took %.1f s to stop after SIGTERM" % took)
    # SIGINT to the passive (idle now).
    rc, took2 = stop_with(hq.server, signal.SIGINT, "hq")
    eq(rc, 0, "hq's exit status after SIGINT")
    expect(took2 < 5, "hq took %.1f s to stop after SIGINT" % took2)
    for inst in (hq, br):
        last = inst.log_text().rstrip("\n").splitlines()[-1]
        expect(re.search(r" info stopping$", last),
               "%s: last log line %r" % (inst.name, last))
        integrity(inst)
    # Both come back and converge; nothing was applied twice.
    hq.restart()
    settle(br)
    # SIGHUP (a closed terminal) is the same clean stop.
    rc, _ = stop_with(hq.server, signal.SIGHUP, "hq")
    eq(rc, 0, "hq's exit status after SIGHUP")
    last = hq.log_text().rstrip("\n").splitlines()[-1]
    expect(re.search(r" info stopping$", last), "hq: last log line after "
           "SIGHUP %r" % last)
    hq.restart()
    eq(hq.count(T), n + 2000, "rows on hq")
    eq(br.count(T), n + 2000, "rows on branch")
    for inst in (hq, br):
        eq(duplicate_creations(inst), [], "%s: a record created twice" %
           inst.name)
    print("  stopped after %.2f s (SIGTERM, %d of %d records sent), "
          "%.2f s (SIGINT)" % (took, moved, n, took2))


# --- status --json -------------------------------------------------------

STR, NUM, BOOL, NONE = str, (int, float), bool, type(None)
STATUS_KEYS = {
    "pair": STR, "role": STR, "enabled": BOOL, "state": STR, "reason": STR,
    "last_ok": (STR, NONE), "last_attempt": (STR, NONE),
    "last_error": (STR, NONE), "error_kind": (STR, NONE),
    "pending_out": NUM, "pending_in": (NUM, NONE), "conflicts": NUM,
    "ambiguous_matches": NUM, "clock_offset_ms": (NUM, NONE),
    "clock_warning": (STR, NONE),
    "peer_instance": (STR, NONE), "peer_name": (STR, NONE),
}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def checked_status(inst, name):
    """The status entry of a pairing, its keys and types checked."""
    st = inst.status(name)
    eq(sorted(st), sorted(STATUS_KEYS), "%s: status keys of %s" % (
        inst.name, name))
    for k, t in STATUS_KEYS.items():
        v = st[k]
        expect(isinstance(v, t) and not (t is NUM and isinstance(v, bool)),
               "%s: status %s.%s = %r has the wrong type" % (
                   inst.name, name, k, v))
    expect(st["state"] in ("green", "red"), "state %r" % st["state"])
    eq(st["pair"], name, "pair")
    for k in ("last_ok", "last_attempt"):
        expect(st[k] is None or ISO.match(st[k]), "%s %r" % (k, st[k]))
    eq(st["state"] == "green", st["reason"] == "in sync",
       "%s: green exactly when 'in sync' (%r)" % (inst.name, st))
    return st


def red(inst, name, reason_re, kind="any"):
    st = checked_status(inst, name)
    expect(st["state"] == "red" and re.match(reason_re, st["reason"]),
           "%s: %s should be red with %r: %r" % (inst.name, name, reason_re,
                                                 st))
    if kind != "any":
        eq(st["error_kind"], kind, "%s: error_kind" % inst.name)
    return st


def green(inst, name):
    st = checked_status(inst, name)
    eq((st["state"], st["reason"]), ("green", "in sync"),
       "%s: %s status (%r)" % (inst.name, name, st))
    return st


def status_json(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    st = red(br, "b1", r"never synced$", None)
    eq((st["role"], st["enabled"], st["last_ok"], st["pending_in"],
        st["clock_offset_ms"], st["peer_instance"]),
       ("active", True, None, None, None, None), "a new active pairing")
    st = red(hq, "b1", r"the active side has not connected yet$", None)
    eq(st["role"], "passive", "role")
    br.shell("INSERT INTO customers(name) VALUES ('a'), ('b');")
    eq(checked_status(br, "b1")["pending_out"], 2, "pending before sync")
    sync_ok(br)
    for inst, peer in ((br, hq), (hq, br)):
        st = green(inst, "b1")
        eq((st["pending_out"], st["conflicts"], st["last_error"],
            st["error_kind"], st["peer_name"]),
           (0, 0, None, None, peer.name), "%s after a sync" % inst.name)
        expect(st["last_ok"] is not None and st["last_attempt"] is not
               None, "%s: times after a sync" % inst.name)
    expect(isinstance(checked_status(br, "b1")["clock_offset_ms"], NUM),
           "the active knows the clock offset")
    eq(checked_status(br, "b1")["pending_in"], 0, "pending in")

    # Conflicts: the same field changed on both sides, twice.
    for i, rid in enumerate((1, 2)):
        br.execute("UPDATE customers SET phone = ? WHERE id = ?",
                   ("br%d" % i, rid))
        hq.execute("UPDATE customers SET phone = ? WHERE id = ?",
                   ("hq%d" % i, rid))
        sync_ok(br)
        waiting = [s for s in (checked_status(br, "b1"),
                               checked_status(hq, "b1"))
                   if s["conflicts"]]
        expect(len(waiting) >= 1, "no side counts the conflict")
        for s in waiting:
            want = "1 conflict waiting" if i == 0 else "2 conflicts waiting"
            eq((s["state"], s["reason"], s["conflicts"]),
               ("red", want, i + 1), "status with conflicts")
    for inst in (hq, br):
        for c in inst.conflicts():
            inst.fs("conflicts", "resolve", c["id"], "--keep", "local")
    settle(br)
    green(br, "b1")
    green(hq, "b1")

    # Disabled, on either side.
    for inst in (br, hq):
        inst.fs("pair", "set", "b1", "enabled", "no")
        st = red(inst, "b1", r"disabled$")
        eq(st["enabled"], False, "enabled")
        inst.fs("pair", "set", "b1", "enabled", "yes")
        green(inst, "b1")

    # Unreachable.
    port = hq.port
    hq.server.stop()
    expect(br.sync(check=False).returncode == 1, "sync with hq down")
    st = red(br, "b1", r"unreachable: 127\.0\.0\.1:%d: " % port,
             "unreachable")
    eq(st["reason"].count("unreachable"), 1, "reason says unreachable once")
    eq(st["last_error"], st["reason"][len("unreachable: "):], "last_error")
    hq.restart()
    sync_ok(br)
    green(br, "b1")

    # Auth refused: the active's password differs.
    with open(env.path("pw2"), "w") as f:
        f.write("not the password\n")
    br.fs("pair", "set", "b1", "password-file", env.path("pw2"))
    expect(br.sync(check=False).returncode == 1, "sync, wrong password")
    red(br, "b1", r"auth refused: .*refused authentication", "auth refused")
    br.fs("pair", "set", "b1", "password-file", env.path("pw"))
    sync_ok(br)
    green(br, "b1")

    # Map mismatch: both sides only upload, so nothing can flow.
    for col in COLS:
        br.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "upload")
        hq.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "upload")
    r = br.run("pair", "test", "b1", check=False)
    eq(r.returncode, 1, "pair test with a map through which nothing flows")
    red(br, "b1", r"map mismatch: ", "map mismatch")
    # Head office's map list says so too, from the test's hello.
    wire = [f["field"] for f in br.fs_json("map", "list", "b1")["fields"]
            if f["column"] == "name"][0]
    expect("%s.name: the active side has field %d upload, this side upload; "
           "nothing flows" % (T, wire) in hq.fs_json("map", "list",
                                                    "b1")["warnings"],
           "hq's map list warnings")
    expect(br.sync(check=False).returncode == 1, "sync, map mismatch")
    red(br, "b1", r"map mismatch: ", "map mismatch")
    br.fs("map", "set", "b1", "%s.name" % T, "--mode", "two-way")
    br.fs("pair", "test", "b1")
    green(br, "b1")
    sync_ok(br)
    green(br, "b1")


def passive_no_contact(env):
    """The passive turns red after three silent intervals, not before."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS, interval=1)
    bp = br.serve()
    wait_for(lambda: hq.status("b1")["state"] == "green", 30,
             "hq green while the active polls")
    # While it polls every second, the passive stays green (idle polls
    # refresh the time of contact only every few seconds).
    t0 = now()
    while now() - t0 < 7.5:
        green(hq, "b1")
        time.sleep(0.3)
    expect(bp.alive(), "the active daemon died")
    bp.stop()
    t_stop = now()
    st = wait_for(lambda: (lambda s: s if s["state"] == "red" else None)(
        checked_status(hq, "b1")), 20, "hq red after the active stopped")
    took = now() - t_stop
    expect(re.match(r"unreachable: no contact from the active side since "
                    r"\S+ \(is it running, and does it reach this machine\? "
                    r"this side's log shows any request it refused, a wrong "
                    r"password among them\)$", st["reason"]),
           "hq's reason %r" % st["reason"])
    expect(took >= 3, "red %.1f s after the active stopped: not three "
           "intervals" % took)
    green(br, "b1")
    print("  passive red %.1f s after the active (interval 1 s) stopped" %
          took)
    # The passive machine's clock set back an hour: its time of contact
    # is then ahead, and silence cannot be measured from it.  Red with
    # that reason, until the next contact writes the time again.
    ahead = (time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                           time.gmtime(time.time() + 3600)))
    hq.execute("UPDATE _fs_pair_state SET last_attempt = ?, last_ok = ?",
               (ahead, ahead))
    st = checked_status(hq, "b1")
    expect(st["state"] == "red" and "ahead of this machine's clock" in
           st["reason"], "hq with its clock set back: %r" % st)
    br.sync("b1")
    green(hq, "b1")


# --- pair test -----------------------------------------------------------

class FakePeer:
    """A peer answering /sync/v1/hello with what the test chooses."""

    def __init__(self, body, status=200, ctype="application/json"):
        peer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                if peer.drop > 0:
                    # Reset the connection without a word (RST).
                    peer.drop -= 1
                    peer.dropped += 1
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                peer.requests.append(self.path)
                if peer.silent:
                    # Take the request, then say nothing until released.
                    peer.release.wait(60)
                    self.close_connection = True
                    return
                b = peer.body.encode()
                self.send_response(peer.status)
                self.send_header("Content-Type", peer.ctype)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def log_message(self, *a):
                pass

        self.body = body
        self.status = status
        self.ctype = ctype
        self.requests = []
        self.drop = 0           # connections to reset before answering
        self.dropped = 0
        self.silent = False     # take requests, never answer
        self.release = threading.Event()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever,
                                  kwargs={"poll_interval": 0.05},
                                  daemon=True)
        self.t.start()

    def close(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()
        self.t.join(5)


def pair_test_red(br, what, want_re, kind):
    r = br.run("pair", "test", "b1", check=False)
    eq(r.returncode, 1, "pair test, %s: exit status" % what)
    line = one_err(r, "pair test, %s" % what)
    expect(re.match(r"fieldsync: b1: red: " + want_re, line),
           "pair test, %s: %r" % (what, line))
    r = br.run("pair", "test", "b1", "--json", check=False)
    eq(r.returncode, 1, "pair test --json, %s: exit status" % what)
    eq(r.stderr, b"", "pair test --json, %s: stderr" % what)
    rep = json.loads(r.stdout)
    eq((rep["ok"], rep["kind"]), (False, kind), "report, %s" % what)
    expect(re.match(want_re, rep["problem"]), "problem, %s: %r" % (
        what, rep["problem"]))
    return rep


def pair_test(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS)
    # Green, with the clock offset; the report's keys.
    out = br.fs("pair", "test", "b1")
    m = re.match(r"green: b1 reached peer hq \(([0-9a-f]+)\), protocol 1, "
                 r"5 fields flow, clock offset (-?\d+) ms\n$", out)
    expect(m, "green pair test: %r" % out)
    rep = br.fs_json("pair", "test", "b1")
    eq(sorted(rep), sorted(["ok", "peer", "name", "protocol",
                            "clock_offset_ms", "flows", "warnings"]),
       "keys of a green report")
    eq((rep["ok"], rep["peer"], rep["name"], rep["protocol"], rep["flows"],
        rep["warnings"]), (True, m.group(1), "hq", 1, 5, []),
       "green report")
    expect(isinstance(rep["clock_offset_ms"], int) and
           abs(rep["clock_offset_ms"]) < 5000, "clock offset %r" %
           rep["clock_offset_ms"])
    eq(m.group(1), hq.one("SELECT value FROM _fs_meta WHERE key = "
                          "'instance_id'"), "the peer's identity")

    # Map mismatch: a warning per field, the problem, exit 1.
    for col in COLS:
        hq.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "upload")
        br.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "upload")
    rep = pair_test_red(br, "map mismatch", r"map mismatch: ",
                        "map mismatch")
    eq(len(rep["warnings"]), len(COLS), "warnings: %r" % rep["warnings"])
    expect(all("let nothing flow" in w for w in rep["warnings"]),
           "warnings %r" % rep["warnings"])
    r = br.run("pair", "test", "b1", check=False)
    eq(r.stdout.decode().count("warning: "), len(COLS), "warning lines")
    for col in COLS:
        hq.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "two-way")
        br.fs("map", "set", "b1", "%s.%s" % (T, col), "--mode", "two-way")
    br.fs("pair", "test", "b1")

    # Auth refused.
    with open(env.path("pw2"), "w") as f:
        f.write("not the password\n")
    br.fs("pair", "set", "b1", "password-file", env.path("pw2"))
    pair_test_red(br, "wrong password", r"auth refused: 127\.0\.0\.1:%d refused "
                  r"authentication as \"b1\"" % hq.port, "auth refused")
    br.fs("pair", "set", "b1", "password-file", env.path("pw"))
    br.fs("pair", "test", "b1")

    # A URL whose path this fieldsync does not serve (a reverse proxy's
    # prefix given to fieldsync itself).
    br.fs("pair", "set", "b1", "url", "http://127.0.0.1:%d/fieldsync/" %
          hq.port)
    pair_test_red(br, "wrong path", r"protocol: peer answered 404: not found: "
                  r"fieldsync serves its sync endpoint at /sync/v1/ \(check "
                  r"the path of the pairing's URL\)$", "protocol")
    br.fs("pair", "set", "b1", "url", "http://127.0.0.1:%d/" % hq.port)
    br.fs("pair", "test", "b1")

    # A green test clears what a test sees, not what only a pass sees.
    pid = br.pid_of("b1")
    br.sync("b1")
    for kind, cleared in (("protocol", False), ("error", False),
                          ("unreachable", True), ("auth refused", True)):
        br.execute("UPDATE _fs_pair_state SET error_kind = ?, last_error "
                   "= 'a pass failed' WHERE pid = ?", (kind, pid))
        br.fs("pair", "test", "b1")
        eq(br.status("b1")["state"], "green" if cleared else "red",
           "status after a green test over %s" % kind)
    br.execute("UPDATE _fs_pair_state SET error_kind = NULL, last_error = "
               "NULL WHERE pid = ?", (pid,))

    # Unreachable.
    port = hq.port
    hq.server.stop()
    pair_test_red(br, "peer down", r"unreachable: 127\.0\.0\.1:%d: " % port,
                  "unreachable")

    # Another protocol version; a peer that is not fieldsync.
    hello = {"protocol": 99, "instance": "0" * 32, "name": "future",
             "time_ms": str(int(time.time() * 1000)), "epoch": "1",
             "fields": []}
    fake = FakePeer(json.dumps(hello))
    try:
        br.fs("pair", "set", "b1", "url", "http://127.0.0.1:%d/" % fake.port)
        pair_test_red(br, "protocol 99", r"protocol: peer speaks protocol 99, this "
                      r"side 1$", "protocol")
        # A connection the peer resets before answering is tried once
        # more on a new one (twice is still a failure).
        fake.drop = 1
        pair_test_red(br, "protocol 99 after a reset", r"protocol: peer "
                      r"speaks protocol 99, this side 1$", "protocol")
        eq((fake.drop, fake.dropped), (0, 1), "connections reset")
        fake.drop = 4           # two for each of pair_test_red's runs
        pair_test_red(br, "two resets", r"unreachable: 127\.0\.0\.1:%d: " %
                      fake.port, "unreachable")
        eq(fake.drop, 0, "resets left")
        # A peer that takes the request and never answers: a hello asks
        # for no work, so it is given up on well before an exchange
        # would be (a minute without a byte).
        fake.silent = True
        r = br.run("pair", "test", "b1", "--json", check=False)
        eq(r.returncode, 1, "pair test, silent peer: exit status")
        rep = json.loads(r.stdout)
        eq((rep["ok"], rep["kind"]), (False, "unreachable"),
           "report, silent peer")
        m = re.match(r"unreachable: 127\.0\.0\.1:%d: it took the request "
                     r"but did not answer \(Operation timed out after "
                     r"(\d+) milliseconds" % fake.port, rep["problem"])
        expect(m and int(m.group(1)) < 60000, "problem, silent peer: %r" %
               rep["problem"])
        # A daemon stopped while it waits on that peer stops at once.
        n = len(fake.requests)
        bp = br.serve()
        wait_for(lambda: len(fake.requests) > n, 30, "the daemon's hello")
        rc, took = stop_with(bp, signal.SIGTERM, "branch")
        eq(rc, 0, "exit status after SIGTERM during a silent hello")
        expect(took < 5, "the daemon took %.1f s to stop while waiting on "
               "a silent peer" % took)
        fake.silent = False
        fake.release.set()
        fake.body = "<html>hello</html>"
        fake.ctype = "text/html"
        pair_test_red(br, "not JSON", r"protocol: peer sent a bad response",
                      "protocol")
        fake.status = 404
        fake.body = "{\"error\":\"no such thing\"}"
        pair_test_red(br, "404", r"protocol: peer answered 404: no such thing$",
                      "protocol")
        expect(all(p == "/sync/v1/hello" for p in fake.requests),
               "requests %r" % fake.requests)
    finally:
        fake.close()

    # Not on a passive pairing, not on an unknown one.
    r = hq.run("pair", "test", "b1", check=False)
    expect(r.returncode != 0, "pair test of a passive pairing")
    expect("passive" in one_err(r, "pair test of a passive pairing"),
           "pair test of a passive pairing")
    r = br.run("pair", "test", "nope", check=False)
    eq(r.returncode, 1, "pair test of an unknown pairing")
    one_err(r, "pair test of an unknown pairing")


# --- secrets stay out of the logs ------------------------------------------

def digest_header(user, marker):
    return ('Digest username="%s", realm="%s", nonce="%s", uri="/sync/v1/'
            'hello", cnonce="%s", nc=00000001, qop=auth, response="%s", '
            'opaque="%s", algorithm=SHA-256' % (user, REALM, marker * 2,
                                                marker, marker * 2, marker))


def poke(port, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/sync/v1/hello", body=b"{}", headers=dict(
            headers, **{"Content-Type": "application/json"}))
        return c.getresponse().status
    finally:
        c.close()


def log_secrets(env):
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS, interval=1)
    key = br.one("SELECT secret FROM _fs_pair WHERE name = 'b1'")
    ha1 = hq.one("SELECT secret FROM _fs_pair WHERE name = 'b1'")
    eq(key, derive_key(), "the active stores the derived key")
    eq(ha1, hashlib.sha256(("b1:%s:%s" % (REALM, key)).encode()).hexdigest(),
       "the passive stores the HA1")
    bp = br.serve()
    br.shell("INSERT INTO customers(name) VALUES ('a');")
    wait_for(lambda: hq.count(T) == 1, 30, "the first record")
    # Hostile requests with recognisable Authorization values.
    marker = "feedfacecafe0123"
    eq(poke(hq.port, {"Authorization": digest_header("b1", marker)}), 401,
       "a forged Digest answer")
    eq(poke(hq.port, {"Authorization": digest_header("nobody\\r\\nX", marker
                                                     )}), 401,
       "an unknown user")
    eq(poke(hq.port, {"Authorization": "Basic " + marker}), 401, "Basic")
    # A wrong password on the active (logged as a failure), then right.
    with open(env.path("pw2"), "w") as f:
        f.write("another password entirely\n")
    bp.stop()
    br.fs("pair", "set", "b1", "password-file", env.path("pw2"))
    key2 = br.one("SELECT secret FROM _fs_pair WHERE name = 'b1'")
    bp = br.serve()
    wait_for(lambda: br.status("b1")["error_kind"] == "auth refused", 30,
             "auth refused")
    bp.stop()
    br.fs("pair", "set", "b1", "password-file", env.path("pw"))
    bp = br.serve()
    br.shell("INSERT INTO customers(name) VALUES ('b');")
    wait_for(lambda: hq.count(T) == 2, 30, "the second record")
    outputs = [br.run("pair", "test", "b1"), br.run("sync"),
               br.run("pair", "show", "b1"), hq.run("pair", "show", "b1"),
               br.run("status")]
    bp.stop()
    hq.server.stop()
    texts = {"branch log": br.log_text(), "hq log": hq.log_text()}
    for i, p in enumerate(outputs):
        texts["output %d" % i] = (p.stdout + p.stderr).decode()
    for ln in (' warn auth: wrong key for "b1"',
               ' warn auth: unknown user "nobody'):
        expect(ln in texts["hq log"], "hq's log lacks %r: %s" % (
            ln, texts["hq log"][-800:]))
    expect("auth refused" in texts["branch log"], "the branch's log lacks "
           "the refused authentication")
    secrets = {"password": PASSWORD, "second password":
               "another password entirely", "derived key": key,
               "second derived key": key2, "HA1": ha1,
               "Authorization value": marker}
    for where, text in texts.items():
        low = text.lower()
        for what, s in secrets.items():
            expect(s.lower() not in low, "%s contains the %s" % (where, what))
        expect("authorization" not in low, "%s mentions an Authorization "
               "header" % where)
        expect("response=" not in low and "cnonce" not in low,
               "%s contains Digest fields" % where)


def daemon_follows_settings(env):
    """A running daemon follows its pairing's settings: a shorter
    interval counts from now, not from the end of the old one, and so
    does a pairing enabled again, or given a new URL while it backs off
    from an unreachable one."""
    hq = env.instance("hq")
    br = env.instance("branch")
    pair(hq, br, "b1", COLS, interval=3600)
    bp = br.serve()
    wait_for(lambda: br.status("b1")["last_ok"], 30, "the first pass")
    br.fs("pair", "set", "b1", "interval", "1")
    br.shell("INSERT INTO customers(name) VALUES ('after the change');")
    wait_for(lambda: hq.count(T) == 1, 20, "the row, at the new interval")
    br.fs("pair", "set", "b1", "enabled", "false")
    time.sleep(1.5)     # the daemon has seen it disabled
    br.fs("pair", "set", "b1", "interval", "3600")
    br.fs("pair", "set", "b1", "enabled", "true")
    br.shell("INSERT INTO customers(name) VALUES ('enabled again');")
    wait_for(lambda: hq.count(T) == 2, 20, "the row, once enabled again")
    # A wrong URL backs off (1, 2, 4, 8, then 16 s); the right one given
    # while it waits is tried at once.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    br.fs("pair", "set", "b1", "interval", "1")
    br.fs("pair", "set", "b1", "url", "http://127.0.0.1:%d/" % dead)
    time.sleep(16)
    eq(br.status("b1")["error_kind"], "unreachable", "the wrong URL")
    br.fs("pair", "set", "b1", "url", "http://127.0.0.1:%d/" % hq.port)
    br.shell("INSERT INTO customers(name) VALUES ('new URL');")
    wait_for(lambda: hq.count(T) == 3, 5, "the row, at the new URL")
    rc, _ = stop_with(bp, signal.SIGTERM, "branch")
    eq(rc, 0, "exit status")


if __name__ == "__main__":
    run([overlapping_sync, sync_exit_status, serve_errors, serve_signals,
         status_json, passive_no_contact, pair_test, log_secrets,
         daemon_follows_settings],
        budget=180)
