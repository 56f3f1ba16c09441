#!/usr/bin/env python3
"""web-api.py - the web UI's JSON API against a real "fieldsync serve".

Each case starts its own instances on 127.0.0.1:0 (see synclib.py) and
talks HTTP to them with http.client, the way a browser would:

 - every /api/ route, known or not, answers 401 without a session;
 - every change (POST, PATCH, DELETE) without the session's CSRF token,
   with a wrong one, or from a foreign Origin is refused with 403 and
   changes nothing;
 - static files are only the compiled-in web/ files: "..", encoded,
   double-encoded and NUL forms serve nothing else;
 - wrong passwords are slowed down (429 with Retry-After) without
   slowing the server for others, and a right one works after the wait;
   from many addresses, 20 a minute in all;
 - logout ends the session for good, and "passwd" ends them all;
 - malformed JSON, wrong types, unknown keys, hostile names and oversized
   bodies each get one clear 4xx error and leave the database unchanged;
 - "serve --no-ui" answers 404 outside the sync endpoint;
 - on a loopback address, a request naming another Host (DNS
   rebinding) is refused, login included;
 - outside the Digest-protected sync endpoint no body over 64 kB is held
   (a declared one gets 413 at once), and one client address holds at
   most 64 connections while others are still served;
 - a whole pairing made through the API alone: enrol, pair, map with the
   suggestions, test (green), sync now with progress, see the change in
   the records and the change log, resolve a conflict.
"""

import http.client
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (Failure, PASSWORD, eq, expect, pair,  # noqa: E402
                     run, sync_ok, wait_for)

ADMIN = "admin-password-1"


class Web:
    """A browser's view of one instance's UI: a cookie and a CSRF token."""

    def __init__(self, inst):
        self.inst = inst
        self.port = inst.port
        self.cookie = None
        self.csrf = None

    def req(self, method, path, body=None, raw=None, headers=None,
            csrf=True, cookie=True, ctype="application/json"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        if raw is not None:
            data = raw
        if data is not None and ctype:
            h["Content-Type"] = ctype
        if cookie and self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            b = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return r.status, hdrs, b
        finally:
            c.close()

    def json(self, method, path, body=None, status=200, **kw):
        st, h, b = self.req(method, path, body, **kw)
        try:
            j = json.loads(b) if b else None
        except ValueError:
            raise Failure("%s %s: not JSON: %r" % (method, path, b[:200]))
        if st != status:
            raise Failure("%s %s: status %d, expected %d: %r" % (
                method, path, st, status, j))
        return j

    def login(self, password=ADMIN):
        st, h, b = self.req("POST", "/api/login", {"password": password},
                            cookie=False, csrf=False)
        eq(st, 200, "login status (%r)" % b)
        sc = h.get("set-cookie", "")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
            expect(attr in sc, "session cookie lacks %s: %r" % (attr, sc))
        expect("Secure" not in sc, "Secure cookie over plain HTTP: %r" % sc)
        self.cookie = sc.split(";")[0]
        self.csrf = json.loads(b)["csrf"]
        expect(len(self.csrf) == 64, "csrf token %r" % self.csrf)
        return self


def ui_instance(env, name, **kw):
    inst = env.instance(name, **kw)
    with open(env.path("admin"), "w") as f:
        f.write(ADMIN + "\n")
    inst.fs("passwd", "--password-file", env.path("admin"))
    inst.serve()
    return inst


def state(inst):
    """Everything in the database except the clock and log timestamps."""
    return inst.state_dump()


# Every route of the API, with a body a logged-in user could send.
ROUTES = [
    ("GET", "/api/session", None),
    ("POST", "/api/logout", {}),
    ("GET", "/api/instance", None),
    ("GET", "/api/tables", None),
    ("POST", "/api/tables", {"table": "customers"}),
    ("DELETE", "/api/tables?table=customers", None),
    ("GET", "/api/app-tables", None),
    ("GET", "/api/pairings", None),
    ("POST", "/api/pairings", {"name": "p", "role": "passive",
                               "password": "x"}),
    ("GET", "/api/pairings/p", None),
    ("PATCH", "/api/pairings/p", {"interval": 5}),
    ("DELETE", "/api/pairings/p", None),
    ("GET", "/api/pairings/p/test", None),
    ("POST", "/api/pairings/p/test", {}),
    ("GET", "/api/pairings/p/sync", None),
    ("POST", "/api/pairings/p/sync", {}),
    ("GET", "/api/pairings/p/map", None),
    ("POST", "/api/pairings/p/map", {"column": "customers.name"}),
    ("PATCH", "/api/pairings/p/map", {"column": "customers.name",
                                      "mode": "off"}),
    ("DELETE", "/api/pairings/p/map?column=customers.name", None),
    ("GET", "/api/conflicts", None),
    ("POST", "/api/conflicts/1/resolve", {"keep": "local"}),
    ("POST", "/api/conflicts/resolve", {"keep": "winner"}),
    ("GET", "/api/records?table=customers", None),
    ("GET", "/api/record?table=customers&rowid=1", None),
]
CHANGES = [r for r in ROUTES if r[0] != "GET"]


def no_session_401(env):
    a = ui_instance(env, "a")
    a.shell("INSERT INTO customers(name) VALUES ('Ann');")
    w = Web(a)
    before = state(a)
    extra = [("GET", "/api", None), ("GET", "/api/", None),
             ("GET", "/api/nope", None), ("PUT", "/api/tables", {}),
             ("GET", "/api/pairings/x/y/z/w", None),
             ("GET", "/api/../api/tables", None)]
    for method, path, body in ROUTES + extra:
        st, h, b = w.req(method, path, body)
        eq(st, 401, "%s %s without a session" % (method, path))
        expect(b"error" in b, "%s %s: no error body: %r" % (method, path, b))
    # A made-up or stale cookie is no session either.
    for cookie in ("fs_ui_x=1", "%s=%s" % ("fs_ui_" + "0" * 12, "a" * 64),
                   "garbage"):
        st, _, _ = w.req("GET", "/api/tables", headers={"Cookie": cookie})
        eq(st, 401, "GET /api/tables with cookie %r" % cookie)
    eq(state(a), before, "database after unauthenticated calls")
    # The login page itself is served without a session.
    st, h, b = w.req("GET", "/")
    eq(st, 200, "GET /")
    expect(h["content-type"].startswith("text/html"), "type of /: %r" % h)
    expect("default-src 'self'" in h.get("content-security-policy", ""),
           "no CSP on the page: %r" % h)


def csrf_required(env):
    a = ui_instance(env, "a")
    a.shell("INSERT INTO customers(name) VALUES ('Ann');")
    w = Web(a).login()
    before = state(a)
    for method, path, body in CHANGES:
        for how, kw in (("no token", {"csrf": False}),
                        ("wrong token", {"headers": {"X-CSRF-Token":
                                                     "0" * 64}}),
                        ("empty token", {"headers": {"X-CSRF-Token": ""}}),
                        ("foreign origin", {"headers": {
                            "Origin": "http://evil.example"}})):
            st, _, b = w.req(method, path, body, **kw)
            eq(st, 403, "%s %s with %s (%r)" % (method, path, how, b))
    eq(state(a), before, "database after refused changes")
    # The session survived all that, and the right token works.
    w.json("GET", "/api/session")
    p = w.json("POST", "/api/pairings", {"name": "p", "role": "passive",
                                         "password": PASSWORD}, status=201)
    eq(p["name"], "p", "pairing made with the token")
    expect("password" not in json.dumps(p) and "secret" not in p,
           "the pairing answer shows its secret: %r" % p)
    # A same-origin Origin header is fine.
    w.json("PATCH", "/api/pairings/p", {"enabled": False},
           headers={"Origin": "http://127.0.0.1:%d" % a.port})
    # Login itself refuses a foreign origin.
    st, _, _ = w.req("POST", "/api/login", {"password": ADMIN},
                     headers={"Origin": "http://evil.example"}, csrf=False)
    eq(st, 403, "login from a foreign origin")


TRAVERSALS = [
    "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/..%2f..%2f..%2fetc%2fpasswd",
    "/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/%25252e%25252e/etc/passwd", "/.%2e/.%2e/etc/passwd",
    "/index.html/../../../../etc/passwd", "/web/../../etc/passwd",
    "//etc/passwd", "/%2fetc%2fpasswd", "/etc/passwd",
    "/..\\..\\etc\\passwd", "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/./index.html/..", "/README.md",
    "/Makefile.am", "/001-state.sql", "/sql/001-state.sql",
    "/web/app.js", "/src/api.c", "/.git/config", "/../web/index.html",
]


def traversal(env):
    a = ui_instance(env, "a")
    w = Web(a).login()
    for path in TRAVERSALS:
        for cookie in (True, False):
            st, h, b = w.req("GET", path, cookie=cookie)
            expect(st in (400, 404), "GET %s: status %d" % (path, st))
            expect(b"root:" not in b and b"#include" not in b and
                   b"CREATE TABLE" not in b and b"[core]" not in b,
                   "GET %s served a file outside web/: %r" % (path, b[:80]))
    # A NUL ends the decoded path: at most the web/ file before it.
    st, h, b = w.req("GET", "/app.js%00../../etc/passwd")
    _, _, js = w.req("GET", "/app.js")
    expect(st in (400, 404) or (st == 200 and b == js),
           "GET /app.js%%00../../etc/passwd: %d %r" % (st, b[:80]))
    # What web/ has is served, with the right types.
    for path, ctype in (("/", "text/html"), ("/index.html", "text/html"),
                        ("/app.js", "text/javascript"),
                        ("/i18n.js", "text/javascript"),
                        ("/style.css", "text/css")):
        st, h, b = w.req("GET", path)
        eq(st, 200, "GET %s" % path)
        expect(h["content-type"].startswith(ctype), "type of %s: %r" % (
            path, h["content-type"]))
        eq(h.get("x-content-type-options"), "nosniff", "nosniff on %s" % path)
        expect(len(b) > 100, "%s is nearly empty" % path)
    st, _, _ = w.req("POST", "/index.html", {})
    eq(st, 405, "POST to a static file")


def login_throttled(env):
    a = ui_instance(env, "a")
    w = Web(a)
    for i in range(5):
        st, _, b = w.req("POST", "/api/login", {"password": "wrong%d" % i})
        eq(st, 401, "wrong password %d (%r)" % (i + 1, b))
    t0 = time.monotonic()
    st, h, b = w.req("POST", "/api/login", {"password": ADMIN})
    eq(st, 429, "login right after 5 wrong passwords (%r)" % b)
    expect(time.monotonic() - t0 < 1.0, "the 429 was not immediate")
    retry = int(h.get("retry-after", "0"))
    expect(1 <= retry <= 60, "Retry-After %r" % h.get("retry-after"))
    # The server still serves others (the sync endpoint, static files).
    st, _, _ = w.req("GET", "/app.js")
    eq(st, 200, "static file while a client is throttled")
    st, _, _ = w.req("POST", "/sync/v1/hello", raw=b"{}")
    eq(st, 401, "sync endpoint while a client is throttled")
    time.sleep(retry + 0.2)
    w.login()
    w.json("GET", "/api/session")
    # A wrong login never gave a cookie.
    st, h, _ = Web(a).req("POST", "/api/login", {"password": "nope"})
    eq(st, 401, "wrong password after the wait")
    expect("set-cookie" not in h, "a wrong password set a cookie")
    # Passwords never reach the log.
    expect(ADMIN not in a.log_text() and "wrong0" not in a.log_text(),
           "a password is in the daemon log")


def login_flood(env):
    """Wrong passwords from many addresses (each under its own brake):
    after 20 in a minute from all of them together, every login waits,
    so a flood cannot keep the server thread checking passwords."""
    a = ui_instance(env, "a")

    def login(src, password):
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60,
                                       source_address=(src, 0))
        try:
            c.request("POST", "/api/login", body=json.dumps(
                {"password": password}), headers={
                    "Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.getheader("Retry-After"), r.read()
        finally:
            c.close()
    for i in range(20):
        st, _, _ = login("127.0.0.%d" % (i + 2), "wrong password %d" % i)
        eq(st, 401, "wrong password %d, from its own address" % i)
    st, after, b = login("127.0.0.50", "another wrong one")
    eq(st, 429, "the 21st wrong password in a minute")
    expect(b"every address together" in b and after and int(after) > 0,
           "the reason and Retry-After: %r %r" % (b, after))
    st, _, _ = login("127.0.0.1", ADMIN)
    eq(st, 429, "even the right password waits")


def logout_ends_session(env):
    a = ui_instance(env, "a")
    w = Web(a).login()
    w2 = Web(a).login()
    expect(w.cookie != w2.cookie and w.csrf != w2.csrf,
           "two logins got the same tokens")
    w.json("GET", "/api/tables")
    old_cookie, old_csrf = w.cookie, w.csrf
    st, h, _ = w.req("POST", "/api/logout", {})
    eq(st, 200, "logout")
    expect("Max-Age=0" in h.get("set-cookie", ""), "logout keeps the cookie")
    for method, path, body in ROUTES:
        st, _, _ = w.req(method, path, body,
                         headers={"Cookie": old_cookie,
                                  "X-CSRF-Token": old_csrf})
        eq(st, 401, "%s %s after logout" % (method, path))
    # The other session is untouched.
    w2.json("GET", "/api/tables")
    # The other session's CSRF token does not work with this cookie.
    w3 = Web(a).login()
    st, _, _ = w3.req("POST", "/api/tables", {"table": "customers"},
                      headers={"X-CSRF-Token": w2.csrf})
    eq(st, 403, "another session's CSRF token")


def passwd_ends_sessions(env):
    """'fieldsync passwd' ends every open session (a leaked cookie stops
    working without a restart); the new password logs in, the old one
    does not."""
    a = ui_instance(env, "a")
    w = Web(a).login()
    w2 = Web(a).login()
    w.json("GET", "/api/pairings")
    with open(env.path("admin2"), "w") as f:
        f.write("another admin password\n")
    a.fs("passwd", "--password-file", env.path("admin2"))
    for web in (w, w2):
        st, _, _ = web.req("GET", "/api/pairings")
        eq(st, 401, "a session from before passwd")
    st, _, _ = Web(a).req("POST", "/api/login", {"password": ADMIN},
                          cookie=False, csrf=False)
    eq(st, 401, "the old password")
    w3 = Web(a).login("another admin password")
    w3.json("GET", "/api/pairings")
    st, _, _ = w.req("GET", "/api/pairings")
    eq(st, 401, "the old cookie after a new login")
    expect("every session ended" in a.log_text(), "the log says so")


def bad_input(env):
    schema = ('CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, '
              'phone TEXT, email TEXT, note TEXT);'
              'CREATE TABLE "we""ird; DROP TABLE customers;--"'
              '(id INTEGER PRIMARY KEY, v TEXT);')
    a = ui_instance(env, "a", schema=schema)
    a.shell("INSERT INTO customers(name) VALUES ('Ann');")
    w = Web(a).login()
    w.json("POST", "/api/pairings", {"name": "p", "role": "passive",
                                     "password": PASSWORD}, status=201)
    before = state(a)
    cases = [
        ("POST", "/api/pairings", b"{", 400),
        ("POST", "/api/pairings", b"[1,2]", 400),
        ("POST", "/api/pairings", b'"x"', 400),
        ("POST", "/api/pairings", b'{"name":"q"} trailing', 400),
        ("POST", "/api/pairings", b'{"name":"q"}\x00{"x":1}', 400),
        ("POST", "/api/pairings", b'{"name":"\xff\xfe"}', 400),
        ("POST", "/api/pairings", b'{"name":' + b"[" * 5000 + b"]" * 5000 +
         b"}", 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"passive",'
         b'"password":"x","bogus":1}', 400),
        ("POST", "/api/pairings", b'{"name":1,"role":"passive",'
         b'"password":"x"}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"both",'
         b'"password":"x"}', 400),
        ("POST", "/api/pairings", b'{"name":"../x","role":"passive",'
         b'"password":"x"}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"passive",'
         b'"password":"a\\nb"}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"passive",'
         b'"password":"x","policy":"loudest"}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"active",'
         b'"password":"x","url":"ftp://x/"}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"active",'
         b'"password":"x","url":"http://127.0.0.1:1/","interval":0}', 400),
        ("POST", "/api/pairings", b'{"name":"p","role":"passive",'
         b'"password":"x"}', 409),
        ("POST", "/api/pairings", b'{"name":"q","role":"passive",'
         b'"password":"x","interval":5}', 400),
        ("POST", "/api/pairings", b'{"name":"q","role":"active",'
         b'"password":"x","url":"http://u:pw@127.0.0.1:1/"}', 400),
        ("PATCH", "/api/pairings/p", b'{"interval":5}', 400),
        ("PATCH", "/api/pairings/p", b'{"interval":"5"}', 400),
        ("PATCH", "/api/pairings/p", b'{"interval":1.5}', 400),
        ("PATCH", "/api/pairings/p", b'{"enabled":"yes"}', 400),
        ("PATCH", "/api/pairings/p", b'{"policy":"newest","deletes":"x"}',
         400),
        ("PATCH", "/api/pairings/nope", b'{"interval":5}', 404),
        ("PATCH", "/api/pairings/p", b'{"url":"http://x/"}', 400),
        ("POST", "/api/tables", b'{"table":"nope"}', 404),
        ("POST", "/api/tables", b'{"table":"customers","match":"nope"}',
         404),
        ("POST", "/api/tables", b'{"table":"customers","match":[1]}', 400),
        ("POST", "/api/tables", b'{"table":"_fs_meta"}', 400),
        ("POST", "/api/tables", b'{"table":"sqlite_schema"}', 400),
        ("POST", "/api/tables", b'{"table":"customers",'
         b'"status_column":"id"}', 400),
        ("DELETE", "/api/tables?table=we%22ird", None, 404),
        ("POST", "/api/pairings/p/map", b'{"column":"customers.nope"}',
         404),
        ("POST", "/api/pairings/p/map", b'{"column":"nodot"}', 400),
        ("POST", "/api/pairings/p/map", b'{"column":"customers.name",'
         b'"mode":"sideways"}', 400),
        ("POST", "/api/pairings/p/map", b'{"column":"customers.name",'
         b'"remote_field":-3}', 400),
        ("POST", "/api/pairings/p/map", b'{"column":"customers.id"}', 400),
        ("PATCH", "/api/pairings/p/map", b'{"column":"customers.name"}',
         400),
        ("PATCH", "/api/pairings/p/map", b'{"column":"customers.name",'
         b'"mode":"off"}', 404),
        ("DELETE", "/api/pairings/p/map", None, 400),
        ("POST", "/api/conflicts/1/resolve", b'{"keep":"both"}', 400),
        ("POST", "/api/conflicts/99/resolve", b'{"keep":"local"}', 404),
        ("POST", "/api/conflicts/x/resolve", b'{"keep":"local"}', 404),
        ("POST", "/api/pairings/p/sync", b"{}", 400),
        ("POST", "/api/pairings/p/test", b'{"now":true}', 400),
        ("GET", "/api/records?table=nope", None, 404),
        ("GET", "/api/records?table=customers&limit=0", None, 400),
        ("GET", "/api/records?table=customers&limit=x", None, 400),
        ("GET", "/api/records?table=customers&offset=-1", None, 400),
        ("GET", "/api/records", None, 400),
        ("GET", "/api/records?table=_fs_log", None, 404),
        ("GET", "/api/record?table=customers&rowid=abc", None, 400),
        ("GET", "/api/record?table=customers&rowid=999", None, 404),
        ("GET", "/api/conflicts?all=7", None, 400),
        ("GET", "/api/conflicts?limit=0", None, 400),
        ("GET", "/api/conflicts?limit=501", None, 400),
        ("GET", "/api/conflicts?offset=-1", None, 400),
        ("POST", "/api/conflicts/resolve", b'{"keep":"both"}', 400),
        ("POST", "/api/conflicts/resolve", b'{}', 400),
        ("GET", "/api/conflicts/resolve", None, 405),
    ]
    for method, path, raw, status in cases:
        st, h, b = w.req(method, path, raw=raw)
        eq(st, status, "%s %s %r -> %r" % (method, path, (raw or b"")[:60],
                                             b[:200]))
        j = json.loads(b)
        expect(isinstance(j.get("error"), str) and j["error"],
               "%s %s: no error message: %r" % (method, path, b))
        expect("\n" not in j["error"], "multi-line error %r" % j["error"])
    # Not JSON at all, and too big.
    st, _, _ = w.req("POST", "/api/pairings", raw=b"name=q",
                     ctype="application/x-www-form-urlencoded")
    eq(st, 415, "form-encoded body")
    st, _, _ = w.req("POST", "/api/pairings", raw=b'{"name":"' +
                     b"x" * 70000 + b'"}')
    eq(st, 413, "70 kB body")
    # The hostile table name is only ever a bound value or quoted.
    w.json("GET", "/api/records?table=customers&q=%27%29%3B%20DROP%20TABLE"
           "%20customers%3B--")
    eq(state(a), before, "database after bad input")
    # ...and it can be enrolled and browsed like any other.
    hostile = 'we"ird; DROP TABLE customers;--'
    w.json("POST", "/api/tables", {"table": hostile}, status=201)
    a.execute('INSERT INTO "we""ird; DROP TABLE customers;--"(v) '
              "VALUES ('%x_\\')")
    r = w.json("GET", "/api/records?table=%s&q=%%25x_%%5C" % (
        urllib.parse.quote(hostile)))
    eq(r["total"], 1, "search for a LIKE wildcard found")
    r = w.json("GET", "/api/records?table=%s&q=%%25y" % (
        urllib.parse.quote(hostile)))
    eq(r["total"], 0, "a literal %y found")
    eq(a.count("customers"), 1, "customers still there")
    expect(a.server.alive(), "the server died")


def api_pairing_flow(env):
    p = ui_instance(env, "head", match={"customers": "email"})
    b = ui_instance(env, "branch", match={"customers": "email"})
    p.shell("INSERT INTO customers(name, phone, email) VALUES "
            "('Ann', '1', 'ann@x'), ('Bob', '2', 'bob@x');")
    b.shell("INSERT INTO customers(name, phone, email) VALUES "
            "('Ann', '1', 'ann@x');")
    wp = Web(p).login()
    wb = Web(b).login()
    wp.json("POST", "/api/pairings", {"name": "br", "role": "passive",
                                      "password": PASSWORD}, status=201)
    wb.json("POST", "/api/pairings", {
        "name": "br", "role": "active", "password": PASSWORD,
        "url": "http://127.0.0.1:%d/" % p.port, "interval": 3600,
        "policy": "newest"}, status=201)
    # The daemon runs a new pairing at once; with nothing mapped that
    # pass fails (and then waits an interval).  Let it happen first, so
    # the first pass that moves records is the one made below.
    wait_for(lambda: wb.json("GET", "/api/pairings/br")["status"][
        "last_attempt"], 30, "the daemon's first pass of br")
    for col in ("name", "phone", "email", "fs_status"):
        wb.json("POST", "/api/pairings/br/map", {"column": "customers." + col,
                                                "mode": "two-way"},
                status=201)
    # A test from the active: reachable, but nothing flows yet.
    wb.json("POST", "/api/pairings/br/test", status=202)
    st, _, _ = wb.req("POST", "/api/pairings/br/test", {})
    expect(st in (202, 409), "second test while one runs: %d" % st)
    j = wait_for(lambda: (lambda x: x if x["state"] == "done" else None)(
        wb.json("GET", "/api/pairings/br/test")), 30, "first test")
    eq(j["ok"], False, "test before the passive mapped anything")
    # Now the passive has the active's catalogue, with suggestions.
    m = wp.json("GET", "/api/pairings/br/map")
    eq(m["peer"]["known"], True, "passive knows the active after hello")
    sug = {s["column"]: s for s in m["peer"]["suggestions"]}
    eq(sorted(sug), ["email", "fs_status", "name", "phone"], "suggestions")
    for s in sug.values():
        eq(s["exact"], True, "suggestion exactness %r" % s)
        eq(s["remote_field"], b.fid("customers", s["column"]),
           "suggested active field for %s" % s["column"])
        wp.json("POST", "/api/pairings/br/map", {
            "column": "customers." + s["column"], "mode": s["mode"],
            "remote_field": s["remote_field"]}, status=201)
    m = wp.json("GET", "/api/pairings/br/map")
    eq(m["peer"]["suggestions"], [], "suggestions after accepting them")
    eq(m["peer"]["warnings"], [], "warnings of a good map")
    # Test again: green.
    wb.json("POST", "/api/pairings/br/test", status=202)
    j = wait_for(lambda: (lambda x: x if x["state"] == "done" else None)(
        wb.json("GET", "/api/pairings/br/test")), 30, "second test")
    eq(j["ok"], True, "test after mapping: %r" % j)
    eq(j["report"]["flows"], 4, "fields that flow")
    # Sync now, through the daemon loop.
    wb.json("POST", "/api/pairings/br/sync", status=202)
    j = wait_for(lambda: (lambda x: x if x["state"] == "done" else None)(
        wb.json("GET", "/api/pairings/br/sync")), 60, "sync job")
    eq(j["ok"], True, "sync job: %r" % j)
    expect(j["recv_values"] > 0, "sync received nothing: %r" % j)
    eq(b.count("customers"), 2, "branch rows after sync")
    # An edit with sqlite3 on the passive reaches the active's records
    # view and change log.
    p.shell("UPDATE customers SET phone = '555' WHERE email = 'bob@x';")
    wb.json("POST", "/api/pairings/br/sync", status=202)
    wait_for(lambda: wb.json("GET", "/api/pairings/br/sync")["state"] ==
             "done", 60, "second sync")
    r = wb.json("GET", "/api/records?table=customers&q=555")
    eq(r["total"], 1, "records search for the new phone")
    rowid = r["rows"][0]["rowid"]
    rec = wb.json("GET", "/api/record?table=customers&rowid=%d" % rowid)
    vals = {c["name"]: c["value"] for c in rec["record"]["columns"]}
    eq(vals["phone"], "555", "phone in the record view")
    e = [x for x in rec["log"]["entries"] if x["column"] == "phone"][0]
    eq((e["old"], e["new"], e["source"]), ("2", "555", "br"),
       "the change log entry of the synced edit")
    # Status on both sides.
    ps = wb.json("GET", "/api/pairings")[0]["status"]
    eq(ps["state"], "green", "active status: %r" % ps)
    ps = wp.json("GET", "/api/pairings/br")["status"]
    eq(ps["state"], "green", "passive status: %r" % ps)
    # A conflict, resolved through the API; the choice syncs.
    p.shell("UPDATE customers SET name = 'Ann P' WHERE email = 'ann@x';")
    time.sleep(0.01)
    b.shell("UPDATE customers SET name = 'Ann B' WHERE email = 'ann@x';")
    wb.json("POST", "/api/pairings/br/sync", status=202)
    j = wait_for(lambda: (lambda x: x if x["state"] == "done" else None)(
        wb.json("GET", "/api/pairings/br/sync")), 60, "conflict sync")
    # The passive applied both edits, so it holds the conflict.
    cs = wp.json("GET", "/api/conflicts")
    eq(len(cs), 1, "open conflicts on the passive")
    c = cs[0]
    eq((c["winner"], c["local"], c["remote"]), ("remote", "Ann P", "Ann B"),
       "newest wins: the branch's edit")
    eq(wp.json("GET", "/api/pairings/br")["status"]["state"], "red",
       "passive status with a conflict waiting")
    eq(wp.json("POST", "/api/conflicts/%d/resolve" % c["id"],
               {"keep": "local"}), {"ok": True, "superseded": False},
       "resolving one")
    eq(wp.json("GET", "/api/conflicts"), [], "conflicts after resolving")
    eq(len(wp.json("GET", "/api/conflicts?all=1")), 1, "resolved listed")
    eq(len(wp.json("GET", "/api/conflicts?all=1&limit=1")), 1, "a page of 1")
    eq(wp.json("GET", "/api/conflicts?all=1&offset=1"), [], "past the end")
    eq(wp.json("POST", "/api/conflicts/resolve", {"keep": "winner"}),
       {"resolved": 0, "skipped": 0, "superseded": 0},
       "resolving all with none open")
    st, _, _ = wp.req("POST", "/api/conflicts/%d/resolve" % c["id"],
                      {"keep": "remote"})
    eq(st, 409, "resolving twice")
    wb.json("POST", "/api/pairings/br/sync", status=202)
    wait_for(lambda: wb.json("GET", "/api/pairings/br/sync")["state"] ==
             "done", 60, "sync of the resolution")
    eq(b.one("SELECT name FROM customers WHERE email = 'ann@x'"), "Ann P",
       "kept value on the active")
    eq(p.one("SELECT name FROM customers WHERE email = 'ann@x'"), "Ann P",
       "kept value on the passive")
    # Sync and test are for active pairings only.
    st, _, _ = wp.req("POST", "/api/pairings/br/sync", {})
    eq(st, 400, "sync now on the passive side")
    # Edit and remove through the API.
    j = wb.json("PATCH", "/api/pairings/br", {"interval": 7, "policy":
                                               "passive",
                                               "password": PASSWORD})
    eq((j["interval"], j["policy"]), (7, "passive"), "edited pairing")
    wb.json("DELETE", "/api/pairings/br/map?column=customers.phone")
    wb.json("DELETE", "/api/pairings/br")
    eq(wb.json("GET", "/api/pairings"), [], "pairings after remove")
    expect(PASSWORD not in b.log_text() and PASSWORD not in p.log_text(),
           "a pairing password is in a daemon log")


SESSION_GET = b"GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def raw_answer(sock, timeout=10, head=None):
    """The status of the answer on sock (None if it was closed unanswered);
    its header block goes into the list head, if given."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            got = sock.recv(4096)
            if not got:
                break
            data += got
    except ConnectionResetError:
        pass
    if not data:
        return None
    if head is not None:
        head.append(data.split(b"\r\n\r\n")[0].lower())
    return int(data.split(b" ", 2)[1])


def open_limits(env):
    """Before a login, the server holds no large body (413 on the declared
    length, or once a chunked one passes the API's 64 kB), and no client
    address can hold all its connections."""
    a = ui_instance(env, "a")
    before = state(a)
    for path in ("/api/login", "/api/pairings", "/", "/nosuch"):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n{" %
                  (path.encode(), 250 * 2 ** 20))
        head = []
        eq(raw_answer(s, head=head), 413, "%s: 250 MB declared, 1 byte "
           "sent" % path)
        expect(b"x-content-type-options: nosniff" in head[0] and
               b"content-type: application/json" in head[0],
               "%s: the 413's headers: %r" % (path, head[0]))
        s.close()
    # Chunked, no length: refused once past the cap, not at 256 MB.
    s = socket.create_connection(("127.0.0.1", a.port))
    s.sendall(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 16384
    st = None
    try:
        for _ in range(64):    # 1 MiB at most
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except (BrokenPipeError, ConnectionResetError):
        pass
    else:
        try:
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
    st = raw_answer(s)
    expect(st in (413, None), "chunked 1 MiB to the login: %r" % st)
    s.close()
    # 64 connections from one address: the next one from it is closed
    # unanswered, one from another address is served.
    held = [socket.create_connection(("127.0.0.1", a.port))
            for _ in range(64)]
    try:
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", a.port))
        extra.sendall(SESSION_GET)
        eq(raw_answer(extra), None, "65th connection from 127.0.0.1")
        extra.close()
        other = socket.create_connection(("127.0.0.1", a.port),
                                         source_address=("127.0.0.2", 0))
        other.sendall(SESSION_GET)
        eq(raw_answer(other), 401, "a connection from 127.0.0.2")
        other.close()
    finally:
        for h in held:
            h.close()
    time.sleep(0.3)
    w = Web(a).login()
    w.json("GET", "/api/session")
    eq(state(a), before, "database after the refusals")
    expect(a.server.alive(), "the server died")


def foreign_host(env):
    """On a loopback address the API answers only requests that name it
    by a loopback address or localhost: a page whose name was pointed at
    127.0.0.1 (DNS rebinding) cannot log in or use a session."""
    a = ui_instance(env, "a")
    w = Web(a).login()
    before = state(a)
    for host in ("attacker.example:%d" % a.port, "127.evil.example",
                 "[::2]:%d" % a.port, "localhost.example"):
        st, _, b = w.req("POST", "/api/login", {"password": ADMIN},
                         cookie=False, csrf=False,
                         headers={"Host": host,
                                  "Origin": "http://%s" % host})
        eq(st, 403, "login naming Host %s: %r" % (host, b))
        expect(b"loopback" in b, "the reason: %r" % b)
        st, _, _ = w.req("GET", "/api/pairings", headers={"Host": host})
        eq(st, 403, "a session's GET naming Host %s" % host)
        st, _, _ = w.req("PATCH", "/api/pairings/nosuch", {"interval": 5},
                         headers={"Host": host,
                                  "Origin": "http://%s" % host})
        eq(st, 403, "a session's change naming Host %s" % host)
    for host in ("127.0.0.1:%d" % a.port, "localhost:%d" % a.port,
                 "LocalHost", "127.1.2.3"):
        st, _, _ = w.req("GET", "/api/session", headers={"Host": host})
        eq(st, 200, "GET naming Host %s" % host)
    eq(state(a), before, "database after foreign hosts")


def no_ui(env):
    """serve --no-ui serves the sync endpoint alone: the UI's page, its
    files and every /api/ route answer 404 (a login is not even offered),
    while a branch syncs as ever."""
    hq = env.instance("hq")
    br = env.instance("branch")
    with open(env.path("admin"), "w") as f:
        f.write(ADMIN + "\n")
    hq.fs("passwd", "--password-file", env.path("admin"))
    hq.serve(args=["--no-ui"])
    pair(hq, br, "b1", ["name", "phone", "fs_status"])
    br.shell("INSERT INTO customers(name, phone) VALUES ('Ann', '1');")
    sync_ok(br)
    eq(hq.count("customers"), 1, "the record synced")
    w = Web(hq)
    for method, path in (("GET", "/"), ("GET", "/app.js"),
                         ("POST", "/api/login"), ("GET", "/api/session")):
        st, h, b = w.req(method, path, {"password": ADMIN}
                         if method == "POST" else None, cookie=False,
                         csrf=False)
        eq(st, 404, "%s %s with --no-ui" % (method, path))
        expect(b"--no-ui" in b and h.get("content-type", "").startswith(
            "application/json"), "%s %s: %r" % (method, path, b))


def ui_busy(env):
    """Behind an app's long write transaction a UI change waits as
    briefly as a peer's exchange (2 s, not the CLI's 10 s), so the one
    server thread is not held: it answers 409 with the reason, and
    works once the transaction ends."""
    a = ui_instance(env, "a")
    w = Web(a).login()
    w.json("POST", "/api/pairings", {"name": "p", "role": "passive",
                                     "password": "x"}, status=201)
    before = state(a)
    app = sqlite3.connect(a.db, isolation_level=None, timeout=30,
                          check_same_thread=False)
    app.execute("BEGIN IMMEDIATE")
    app.execute("UPDATE customers SET name = name")
    released = threading.Timer(5, app.execute, ("COMMIT",))
    released.start()
    try:
        j = w.json("PATCH", "/api/pairings/p", {"deletes": "hard"},
                   status=409)
        expect("locked" in j["error"], "the reason: %r" % j["error"])
    finally:
        released.join()
        app.close()
    eq(state(a), before, "database after the busy change")
    w.json("PATCH", "/api/pairings/p", {"deletes": "hard"})


if __name__ == "__main__":
    run([no_session_401, csrf_required, traversal, login_throttled,
         login_flood, logout_ends_session, passwd_ends_sessions, bad_input, open_limits,
         foreign_host, no_ui, ui_busy, api_pairing_flow],
        budget=300)
