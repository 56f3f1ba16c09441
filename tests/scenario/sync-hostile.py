#!/usr/bin/env python3
"""sync-hostile.py - nobody gets in, bad input changes nothing (DESIGN.md 8).

A real passive "hq" serving; a real active "branch" that has said hello.
The hostile requests are made with Python's http.client on 127.0.0.1 and
a Digest SHA-256 client written here (RFC 7616, qop=auth), so the test
can send exactly the bytes it wants: no auth, a wrong password, an
unknown user, a replayed request, and with valid auth every kind of bad
body.

For each one the test checks the status (401, 413, 400, 409, 405, 404),
that the body is a JSON object {"error": "<text>"}, that the passive's
database file is byte-for-byte what it was (its app rows and _fs_* state
are compared too, to say what changed), that hq logged the refusal in
one line, and that the server still answers a valid request afterwards.  Repeated wrong passwords from one
address get 429, while other addresses are not slowed.  At the end the
real active still syncs.
"""

import hashlib
import http.client
import json
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synclib import (REALM, Failure, derive_key, eq, expect,  # noqa: E402
                     pair, run, sync_ok)

T = "customers"
COLS = ["name", "phone", "email", "fs_status"]


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


class Digest:
    """A Digest SHA-256 client (RFC 7616) that can misbehave on request."""

    def __init__(self, port, user, key, source="127.0.0.1"):
        self.port = port
        self.user = user
        self.key = key
        self.source = source

    def raw(self, method, path, body=b"", headers=None, length=None):
        """One request on a new connection; (status, headers, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                       source_address=(self.source, 0))
        try:
            c.putrequest(method, path, skip_accept_encoding=True)
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            h["Content-Length"] = str(len(body) if length is None
                                      else length)
            for k, v in h.items():
                c.putheader(k, v)
            c.endheaders()
            if body:
                try:
                    c.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass    # refused before the body was read
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in
                                  r.getheaders()), data
        finally:
            c.close()

    def challenge(self, method, path):
        """Ask for a fresh nonce for method and path (a 401)."""
        st, h, body = self.raw(method, path)
        eq(st, 401, "status without credentials")
        www = h.get("www-authenticate", "")
        expect(www.startswith("Digest "), "no Digest challenge: %r" % www)
        params = dict((m.group(1).lower(), m.group(3) if m.group(3)
                       is not None else m.group(4))
                      for m in re.finditer(
                          r'(\w+)=("([^"]*)"|([^,\s]*))', www))
        eq(params.get("realm"), REALM, "realm")
        eq(params.get("algorithm", "").upper(), "SHA-256", "algorithm")
        expect("auth" in params.get("qop", ""), "qop %r" % params)
        return params

    def header(self, method, path, ch, nc=1, key=None, user=None,
               cnonce=None, algorithm="SHA-256"):
        user = user or self.user
        cnonce = cnonce or uuid.uuid4().hex
        ha1 = sha256("%s:%s:%s" % (user, REALM, key or self.key))
        ha2 = sha256("%s:%s" % (method, path))
        ncs = "%08x" % nc
        resp = sha256("%s:%s:%s:%s:auth:%s" % (ha1, ch["nonce"], ncs, cnonce,
                                                ha2))
        h = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
             '%sqop=auth, nc=%s, cnonce="%s", response="%s"' % (
                 user, REALM, ch["nonce"], path, "algorithm=%s, " % algorithm
                 if algorithm else "", ncs, cnonce, resp))
        if "opaque" in ch:
            h += ', opaque="%s"' % ch["opaque"]
        return h

    def post(self, path, body, key=None, user=None, length=None):
        """An authenticated POST; (status, headers, body, Authorization)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        ch = self.challenge("POST", path)
        auth = self.header("POST", path, ch, key=key, user=user)
        st, h, data = self.raw("POST", path, body,
                               {"Authorization": auth}, length)
        return st, h, data, auth


def file_hash(inst):
    with open(inst.db, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Passive:
    """The passive under attack and what a valid request looks like."""

    def __init__(self, env):
        self.hq = env.instance("hq")
        self.br = env.instance("branch")
        self.wires = pair(self.hq, self.br, "b1", COLS)
        self.br.shell("INSERT INTO customers(name) VALUES ('before');")
        sync_ok(self.br)
        self.inst = self.br.one("SELECT value FROM _fs_meta WHERE key = "
                                "'instance_id'")
        self.d = Digest(self.hq.port, "b1", derive_key())
        self.hq_rows = self.hq.count(T)

    def exchange(self, changes=(), **over):
        body = {"protocol": 1, "instance": self.inst, "policy": "newest",
                "since": "0", "from": "0", "to": "0",
                "origins": [self.inst],
                "changes": list(changes) if isinstance(changes, (
                    list, tuple)) else changes}
        body.update(over)
        return body

    def change(self, name="Eve", wire=None, sid=None):
        hlc = (int(time.time() * 1000) << 16)
        return {"r": sid or uuid.uuid4().hex, "c": [str(hlc), 0],
                "f": [[wire or self.wires["name"], "t:" + name]]}

    def valid(self):
        """The server still answers a valid request with 200 JSON."""
        st, h, data, _ = self.d.post("/sync/v1/exchange", self.exchange())
        eq(st, 200, "status of a valid exchange: %r" % data[:300])
        j = json.loads(data)
        expect("ack" in j and "changes" in j, "valid exchange answer %r" % j)

    def refused(self, what, status, send, error_re=None, as_json=True):
        """send() must be refused with status and change nothing.

        A refusal made after authentication (not a 401 or 413, which
        the server makes itself) is also one line in hq's log, written
        before the answer.
        """
        before_hash = file_hash(self.hq)
        before = self.hq.state_dump()
        logged = len(self.hq.log_text())
        st, h, data = send()
        if st != status:
            raise Failure("%s: status %d, expected %d; body %r" % (
                what, st, status, data[:300]))
        if status not in (401, 413):
            new = self.hq.log_text()[logged:].splitlines()
            line = r"^\S+ warn pairing b1: refused [A-Z]+ /.* from " \
                r"127\.0\.0\.1: %d: \S" % status
            expect(len(new) == 1 and re.search(line, new[0]),
                   "%s: hq logged %r" % (what, new))
        if not as_json:
            data = b'{"error": "(not checked)"}'
            h = {"content-type": "application/json"}
        try:
            j = json.loads(data)
        except ValueError:
            raise Failure("%s: body is not JSON: %r" % (what, data[:300]))
        expect(isinstance(j, dict) and isinstance(j.get("error"), str) and
               j["error"], "%s: body %r is not {\"error\": ...}" % (what, j))
        expect(h.get("content-type", "").startswith("application/json"),
               "%s: content type %r" % (what, h.get("content-type")))
        if error_re:
            expect(re.search(error_re, j["error"]),
                   "%s: error %r does not match %r" % (what, j["error"],
                                                        error_re))
        after = self.hq.state_dump()
        if after != before:
            diff = [(a[0], len(a[1]), len(b[1])) for a, b in
                    zip(before, after) if a != b]
            raise Failure("%s changed the passive: %r" % (what, diff))
        eq(file_hash(self.hq), before_hash, "%s: database file" % what)
        return j


def auth(env):
    """No auth, wrong password, unknown user, replay: 401, no change."""
    p = Passive(env)
    d = p.d
    body = json.dumps(p.exchange([p.change()])).encode()
    p.refused("no auth", 401, lambda: d.raw("POST", "/sync/v1/exchange",
                                            body))
    p.refused("no auth on hello", 401, lambda: d.raw(
        "POST", "/sync/v1/hello", b"{}"))
    p.refused("wrong password", 401, lambda: d.post(
        "/sync/v1/exchange", body, key=derive_key("wrong"))[:3])
    p.refused("raw password instead of the derived key", 401, lambda: d.post(
        "/sync/v1/exchange", body, key="correct horse battery staple")[:3])
    p.refused("unknown user", 401, lambda: d.post(
        "/sync/v1/exchange", body, user="nobody")[:3])

    def bad_nonce():
        ch = d.challenge("POST", "/sync/v1/exchange")
        n = ch["nonce"]     # change one hex digit of its hash part
        ch["nonce"] = ("1" if n[0] != "1" else "2") + n[1:]
        return d.raw("POST", "/sync/v1/exchange", body, {
            "Authorization": d.header("POST", "/sync/v1/exchange", ch)})
    p.refused("forged nonce", 401, bad_nonce)

    def other_uri():
        ch = d.challenge("POST", "/sync/v1/hello")
        return d.raw("POST", "/sync/v1/exchange", body, {
            "Authorization": d.header("POST", "/sync/v1/hello", ch)})
    p.refused("Digest for another URI", 401, other_uri)

    def other_algorithm(alg):
        # The SHA-256 response, labelled as another algorithm (or none,
        # which means MD5): not what the challenge asked for.
        ch = d.challenge("POST", "/sync/v1/exchange")
        return d.raw("POST", "/sync/v1/exchange", body, {
            "Authorization": d.header("POST", "/sync/v1/exchange", ch,
                                      algorithm=alg)})
    p.refused("algorithm=MD5", 401, lambda: other_algorithm("MD5"))
    p.refused("no algorithm", 401, lambda: other_algorithm(None))
    p.valid()
    p.valid()
    # Replay: a valid request that creates a record, sent twice.
    n = p.hq.count(T)
    st, h, data, hdr = d.post("/sync/v1/exchange", body)
    eq(st, 200, "the original request: %r" % data[:300])
    eq(p.hq.count(T), n + 1, "the original request's record")
    p.refused("replayed request", 401, lambda: d.raw(
        "POST", "/sync/v1/exchange", body, {"Authorization": hdr}))

    def after_challenge():
        # Someone provokes a new challenge for the same URI (within the
        # same second libmicrohttpd hands out the same nonce again).
        d.challenge("POST", "/sync/v1/exchange")
        return d.raw("POST", "/sync/v1/exchange", body,
                     {"Authorization": hdr})
    p.refused("replay after a fresh challenge", 401, after_challenge)
    # A captured request with an older nc than one already used by the
    # same client (same nonce and cnonce) is refused too.
    ch = d.challenge("POST", "/sync/v1/exchange")
    h1 = d.header("POST", "/sync/v1/exchange", ch, nc=1, cnonce="c0ffee")
    h2 = d.header("POST", "/sync/v1/exchange", ch, nc=2, cnonce="c0ffee")
    st, _, _ = d.raw("POST", "/sync/v1/exchange", b"",
                     {"Authorization": h2})
    eq(st, 400, "an empty body with valid credentials")
    p.refused("nc going backwards", 401, lambda: d.raw(
        "POST", "/sync/v1/exchange", body, {"Authorization": h1}))
    eq(p.hq.count(T), n + 1, "records after the replays")
    p.valid()
    sync_ok(p.br)


def guessing(env):
    """Repeated wrong passwords for a pairing from one address get 429;
    other pairings from there, and other addresses, pass; unknown names
    from one address get 429 too."""
    p = Passive(env)
    guess = Digest(p.hq.port, "b1", derive_key("guess"), "127.0.0.77")
    body = json.dumps(p.exchange()).encode()
    statuses = []
    ex = "/sync/v1/exchange"
    for i in range(8):
        st, h, data = guess.raw("POST", ex)     # a nonce, or 429
        if st == 401:
            auth = guess.header("POST", ex, guess.challenge("POST", ex))
            st, h, data = guess.raw("POST", ex, body,
                                    {"Authorization": auth})
        statuses.append(st)
        if st == 429:
            break
    # Five failures are free (FS_AUTH_FREE_FAILURES), then 429.
    eq(statuses, [401] * 5 + [429], "answers to repeated wrong passwords")
    # The blocked pairing is refused from there at once, even with the
    # right key.
    right = Digest(p.hq.port, "b1", derive_key(), "127.0.0.77")
    st, h, data = right.raw("POST", ex, body, {"Authorization":
                            right.header("POST", ex, right.challenge(
                                "POST", ex))})
    eq(st, 429, "blocked pairing with the right key")
    expect(h.get("retry-after", "").isdigit(), "Retry-After %r" % h)
    expect("error" in json.loads(data), "429 body %r" % data)
    # Another pairing behind the same address (a branch office's NAT) is
    # not locked out by b1's failures, nor is anybody elsewhere.
    p.hq.fs("pair", "add", "b2", "--passive", "--password-file",
            env.path("pw"))
    other = Digest(p.hq.port, "b2", derive_key(), "127.0.0.77")
    st, h, data, _ = other.post("/sync/v1/hello", {
        "protocol": 1, "instance": "ab" * 16, "name": "b2", "fields": []})
    eq(st, 200, "another pairing from the blocked address: %r" % data[:200])
    p.valid()
    sync_ok(p.br)
    # Names tried at random count against the address itself.
    statuses = []
    for i in range(8):
        d = Digest(p.hq.port, "nobody%d" % i, derive_key(), "127.0.0.78")
        st, h, data = d.raw("POST", ex)     # a nonce, or 429
        if st == 401:
            st, h, data = d.raw("POST", ex, body, {
                "Authorization": d.header("POST", ex, d.challenge("POST",
                                                                  ex))})
        statuses.append(st)
        if st == 429:
            break
    eq(statuses, [401] * 5 + [429], "unknown users from one address")


def bad_bodies(env):
    """Every bad body with valid auth: 4xx, JSON error, nothing changed."""
    p = Passive(env)
    d = p.d
    ex = "/sync/v1/exchange"
    good = p.change("Mallory")
    w = p.wires["name"]

    def post(body, path=ex, **kw):
        return lambda: d.post(path, body, **kw)[:3]

    def ex_with(**over):
        over.setdefault("changes", [good])
        return post(p.exchange(**over))

    def rec(**over):
        r = dict(good)
        r.update(over)
        return post(p.exchange([r]))

    cases = [
        ("malformed JSON", 400, post('{"protocol": 1, "instance": '), "JSON"),
        ("trailing garbage", 400, post(json.dumps(p.exchange()) + " x"),
         None),
        ("not an object", 400, post("[1, 2, 3]"), "object"),
        ("empty body", 400, post(b""), None),
        ("deeply nested JSON", 400, post('{"a":' + "[" * 100000 +
                                         "]" * 100000 + "}"), None),
        ("deeply nested inside a change", 400, rec(
            f=[[w, "t:x"]] + [json.loads("[" * 900 + "]" * 900)]), None),
        ("invalid UTF-8", 400, post(json.dumps(p.exchange([good])).encode()
                                    .replace(b"Mallory", b"Mall\xffory")),
         "UTF-8"),
        ("overlong UTF-8", 400, post(json.dumps(p.exchange([good])).encode()
                                     .replace(b"Mallory", b"\xc0\xaf")),
         "UTF-8"),
        ("\\u0000 in a string", 400, post(json.dumps(p.exchange([good]))
                                          .replace("Mallory",
                                                   "Mal\\u0000lory")),
         None),
        ("raw NUL byte", 400, post(json.dumps(p.exchange([good])).encode()
                                   .replace(b"Mallory", b"Mal\x00lory")),
         None),
        ("protocol as a string word", 400, ex_with(protocol="one"),
         "protocol"),
        ("since as a boolean", 400, ex_with(since=True), "since"),
        ("since negative", 400, ex_with(since="-1"), "since"),
        ("since too large", 400, ex_with(since="99999999999999999999"),
         "since"),
        ("since fractional", 400, ex_with(since=1.5), "since"),
        ("to before from", 400, ex_with(**{"from": "5", "to": "4"}), None),
        ("changes as an object", 400, ex_with(changes={}), "changes"),
        ("origins as a string", 400, ex_with(origins="x"), "origins"),
        ("origins not hex", 400, ex_with(origins=["zz" * 16]), "origins"),
        ("policy unknown", 400, ex_with(policy="mine"), "policy"),
        ("instance not hex", 400, ex_with(instance="x" * 32), "instance"),
        ("missing members", 400, post({"protocol": 1}), None),
        ("wrong protocol version", 409, ex_with(protocol=2), "protocol"),
        ("another instance", 409, ex_with(instance="ab" * 16), None),
        ("change not an object", 400, post(p.exchange(["x"])), None),
        ("sync identity not hex", 400, rec(r="not a sync identity"), None),
        ("sync identity as a number", 400, rec(r=12), None),
        ("field number as a string", 400, rec(f=[[str(w), "t:x"]]),
         "field"),
        ("field number fractional", 400, rec(f=[[w + 0.5, "t:x"]]), "field"),
        ("field number negative", 400, rec(f=[[-w, "t:x"]]), "field"),
        ("unknown field number", 400, rec(f=[[9999, "t:x"]]),
         "unknown field"),
        ("huge field number", 400, rec(f=[[1e300, "t:x"]]), "field"),
        ("value as a JSON number", 400, rec(f=[[w, 42]]), "value"),
        ("value with an unknown tag", 400, rec(f=[[w, "q:x"]]), "tag"),
        ("value untagged", 400, rec(f=[[w, "Mallory"]]), "value"),
        ("integer value not a number", 400, rec(f=[[w, "i:12x"]]),
         "integer"),
        ("integer value too large", 400, rec(
            f=[[w, "i:9223372036854775808"]]), "integer"),
        ("real value NaN", 400, rec(f=[[w, "r:nan"]]), "real"),
        ("blob value bad base64", 400, rec(f=[[w, "b:!!!!"]]), "base64"),
        ("field change too short", 400, rec(f=[[w]]), None),
        ("field version not a string", 400, rec(f=[[w, "t:x", 5, 0]]),
         "clock"),
        ("origin index out of range", 400, rec(c=["1", 7]), None),
        ("record version malformed", 400, rec(c="now"), None),
        ("hard flag wrong", 400, rec(h=2), None),
        ("remapped not an array", 400, ex_with(remapped={"1": 1}),
         "'remapped'"),
        ("remapped holding text", 400, ex_with(remapped=["1"]),
         "'remapped'"),
        ("remapped holding a fraction", 400, ex_with(remapped=[1.5]),
         "'remapped'"),
        ("fields not an array", 400, rec(f={"1": "t:x"}), "'f'"),
        ("priors not an array", 400, rec(p={"1": 1}), "'p'"),
        ("prior too short", 400, rec(p=[[w, "1"]]), "prior"),
        ("prior of an unknown field", 400, rec(p=[[9999, "1", 0]]),
         "unknown field"),
        ("prior origin out of range", 400, rec(p=[[w, "1", 7]]), "origin"),
        ("prior clock not a string", 400, rec(p=[[w, 1, 0]]), "clock"),
        ("too many priors", 400, rec(f=[[w, "t:x", "5", 0]],
                                     p=[[w, "1", 0]] * 4), "priors"),
        ("failed not a string", 400, ex_with(failed=5), "failed"),
        ("hello with wrong types", 400, post(
            {"protocol": 1, "instance": p.inst, "name": 5, "fields": []},
            "/sync/v1/hello"), "name"),
        ("hello with a bad catalogue", 400, post(
            {"protocol": 1, "instance": p.inst, "name": "x",
             "fields": [{"field": "one"}]}, "/sync/v1/hello"), None),
        ("hello from another instance", 409, post(
            {"protocol": 1, "instance": "cd" * 16, "name": "x",
             "fields": []}, "/sync/v1/hello"),
         "remove and add the pairing again on the passive side"),
        ("unknown endpoint", 404, post(p.exchange(), "/sync/v1/nope"),
         None),
        # A newline in the (decoded) path must not forge a log line.
        ("unknown endpoint with a newline", 404, post(
            p.exchange(), "/sync/v1/x%0A2026-01-01T00:00:00Z%20info%20"
            "forged"), None),
        ("GET", 405, lambda: d.raw(
            "GET", ex, b"", {"Authorization": d.header(
                "GET", ex, d.challenge("GET", ex))}), None),
    ]
    # A good change followed by a bad one: the whole batch is refused.
    bad_after_good = p.exchange([good, {"r": uuid.uuid4().hex,
                                        "c": good["c"],
                                        "f": [[9999, "t:x"]]}])
    cases.append(("good change then an unknown field", 400,
                  post(bad_after_good), "unknown field"))
    failures = []
    for what, status, send, err_re in cases:
        try:
            p.refused(what, status, send, err_re)
            p.valid()
        except Failure as e:
            failures.append(str(e))
    eq(p.hq.count(T), p.hq_rows, "records on hq")
    expect(not failures, "%d of %d bad bodies: %s" % (
        len(failures), len(cases), "; ".join(failures)))
    sync_ok(p.br)


def oversized(env):
    """A body over the limit: 413 before it is read (401 if no auth)."""
    p = Passive(env)
    d = p.d
    ex = "/sync/v1/exchange"
    huge = 257 * 2 ** 20

    def declared():
        ch = d.challenge("POST", ex)
        return d.raw("POST", ex, b"{", {
            "Authorization": d.header("POST", ex, ch)}, length=huge)
    p.refused("declared length over the limit", 413, declared)
    p.refused("oversized without auth", 401, lambda: d.raw(
        "POST", ex, b"{", length=huge))

    def absurd():
        ch = d.challenge("POST", ex)
        return d.raw("POST", ex, b"{", {
            "Authorization": d.header("POST", ex, ch)},
            length=99999999999999999999999)
    # libmicrohttpd 0.9.75 answers a Content-Length it cannot parse
    # itself, before fieldsync sees the request, with an HTML body (and
    # its header block twice): only the status and "nothing changed" are
    # fieldsync's to keep here.
    p.refused("absurd declared length", 413, absurd, as_json=False)
    p.valid()
    sync_ok(p.br)


if __name__ == "__main__":
    run([auth, guessing, bad_bodies, oversized], budget=110)
