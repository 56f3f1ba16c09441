/*
 * server-digest.c - what the server checks in a Digest Authorization
 * header beyond what libmicrohttpd does.
 *
 * libmicrohttpd 0.9.75 issues and validates nonces and checks the
 * response.  Its nonce is a hash of (seconds since start, method, URI,
 * realm, our random seed): every challenge for the same method and URI
 * within one second carries the same nonce, and issuing it again resets
 * libmicrohttpd's nc record for it.  Three consequences, handled here:
 *
 *  - Replays.  A captured request could pass again after anyone provoked
 *    a challenge for its URI in the same second; and libmicrohttpd's nc
 *    window accepts, once, an nc below the highest seen that was never
 *    marked used.  The replay table below is keyed by (nonce, cnonce) --
 *    a client draws a fresh cnonce for every challenge it answers, and
 *    nobody without the key can make up a new one -- and demands that nc
 *    grow strictly for each key, which is what a client sending one
 *    request at a time (libcurl) does.
 *
 *  - Clients sharing a nonce (challenged in the same second) disturb each
 *    other's nc record at libmicrohttpd, which then says "no" to a client
 *    that knows the key.  server_digest_correct recomputes the response
 *    from the stored HA1, so such a request gets "stale, retry" instead
 *    of counting as a guess.
 *
 *  - A nonce is bound to its URI and method: a client alternating paths
 *    pays a stale round trip per switch (see client.h).
 *
 * Only headers that libmicrohttpd accepted enter the replay table, so it
 * holds pairs of clients that know the key; it is bounded, and a pair is
 * forgotten once its nonce has expired at libmicrohttpd too.  Nothing
 * here logs or keeps a response or an HA1.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "secret.h"
#include "server.h"
#include "server-int.h"
#include "util.h"

#define REPLAY_SLOTS 8192
#define REPLAY_PROBE 16
#define REPLAY_NONCE_MAX 160
#define REPLAY_KEEP_MS ((int64_t)(FS_NONCE_TIMEOUT + 60) * 1000)

/* One (nonce, cnonce) pair a client authenticated with. */
struct replay_entry {
	unsigned char key[32];	/* SHA-256 of "nonce:cnonce" */
	uint64_t nc;		/* highest nc accepted */
	int64_t first;		/* first accepted use; 0 = free */
};

struct server_replay {
	struct replay_entry e[REPLAY_SLOTS];
};

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int
server_digest_param(const char *hdr, const char *key, char *out,
    size_t outsz)
{
	const char *p = hdr;
	size_t klen = strlen(key);

	if (hdr == NULL || outsz == 0 || strncasecmp(p, "Digest", 6) != 0 ||
	    !is_ows(p[6]))
		return -1;
	p += 6;
	for (;;) {
		const char *name;
		size_t nlen, n = 0;
		int match;

		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			return -1;
		name = p;
		while (*p != '\0' && *p != '=' && *p != ',' && !is_ows(*p))
			p++;
		nlen = (size_t)(p - name);
		while (is_ows(*p))
			p++;
		if (*p != '=' || nlen == 0)
			return -1;
		p++;
		while (is_ows(*p))
			p++;
		match = nlen == klen && strncasecmp(name, key, klen) == 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return -1;
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (match) {
					if (n + 1 >= outsz)
						return -1;
					out[n++] = *p;
				}
			}
			p++;
		} else {
			for (; *p != '\0' && *p != ',' && !is_ows(*p); p++) {
				if (match) {
					if (n + 1 >= outsz)
						return -1;
					out[n++] = *p;
				}
			}
		}
		if (match) {
			out[n] = '\0';
			return 0;
		}
	}
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char h[32];

	if (secret_sha256(s, len, h) == -1)
		memset(h, 0, sizeof h);
	util_hex(h, sizeof h, out);
}

int
server_digest_sha256(const char *hdr)
{
	char alg[32];

	return hdr != NULL && server_digest_param(hdr, "algorithm", alg,
	    sizeof alg) == 0 && strcasecmp(alg, "SHA-256") == 0;
}

int
server_digest_correct(const char *hdr, const char *method,
    const unsigned char ha1[32])
{
	char nonce[REPLAY_NONCE_MAX], uri[2048], qop[16], nc[32], cnonce[256];
	char resp[80], ha1hex[65], ha2hex[65], want[65];
	struct buf b;
	int ok = 0;

	if (server_digest_param(hdr, "nonce", nonce, sizeof nonce) == -1 ||
	    server_digest_param(hdr, "uri", uri, sizeof uri) == -1 ||
	    server_digest_param(hdr, "response", resp, sizeof resp) == -1 ||
	    strlen(resp) != 64)
		return 0;
	if (!server_digest_sha256(hdr))
		return 0;
	for (char *p = resp; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	buf_init(&b, 0);
	util_hex(ha1, 32, ha1hex);
	if (buf_printf(&b, "%s:%s", method, uri) == -1)
		goto out;
	sha256_hex(b.data, b.len, ha2hex);
	buf_reset(&b);
	if (server_digest_param(hdr, "qop", qop, sizeof qop) == 0) {
		if (strcmp(qop, "auth") != 0 ||
		    server_digest_param(hdr, "nc", nc, sizeof nc) == -1 ||
		    server_digest_param(hdr, "cnonce", cnonce,
		    sizeof cnonce) == -1)
			goto out;
		if (buf_printf(&b, "%s:%s:%s:%s:%s:%s", ha1hex, nonce, nc,
		    cnonce, qop, ha2hex) == -1)
			goto out;
	} else if (buf_printf(&b, "%s:%s:%s", ha1hex, nonce, ha2hex) == -1)
		goto out;
	sha256_hex(b.data, b.len, want);
	ok = secret_equal(want, resp);
out:
	explicit_bzero(ha1hex, sizeof ha1hex);
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return ok;
}

struct server_replay *
server_replay_new(void)
{
	return xcalloc(1, sizeof(struct server_replay));
}

void
server_replay_free(struct server_replay *r)
{
	free(r);
}

static int
parse_nc(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (n >= 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

int
server_replay_check(struct server_replay *r, const char *hdr, int64_t now)
{
	char nonce[REPLAY_NONCE_MAX], cnonce[256], ncs[32];
	struct replay_entry *e, *spot = NULL, *oldest = NULL;
	unsigned char key[32];
	struct buf b;
	uint64_t nc;
	uint32_t h;

	if (server_digest_param(hdr, "nonce", nonce, sizeof nonce) == -1 ||
	    nonce[0] == '\0')
		return -1;
	/* Without qop there is no nc nor cnonce: one use per nonce. */
	if (server_digest_param(hdr, "nc", ncs, sizeof ncs) == -1) {
		nc = 1;
		cnonce[0] = '\0';
	} else if (parse_nc(ncs, &nc) == -1 || nc == 0 ||
	    server_digest_param(hdr, "cnonce", cnonce, sizeof cnonce) == -1)
		return -1;
	buf_init(&b, 0);
	if (buf_printf(&b, "%s:%s", nonce, cnonce) == -1 ||
	    secret_sha256(b.data, b.len, key) == -1) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	memcpy(&h, key, sizeof h);
	for (size_t i = 0; i < REPLAY_PROBE; i++) {
		e = &r->e[(h + i) % REPLAY_SLOTS];
		if (e->first != 0 && memcmp(e->key, key, sizeof key) == 0 &&
		    now - e->first <= REPLAY_KEEP_MS) {
			if (nc <= e->nc)
				return -1;
			e->nc = nc;
			return 0;
		}
		if (spot == NULL && (e->first == 0 ||
		    now - e->first > REPLAY_KEEP_MS))
			spot = e;
		if (oldest == NULL || e->first < oldest->first)
			oldest = e;
	}
	/*
	 * All probed slots hold live pairs: reuse the oldest.  Its client
	 * loses nothing (its next use looks new); a replay of its old
	 * requests then meets only libmicrohttpd's own nc check.
	 */
	if (spot == NULL)
		spot = oldest;
	memcpy(spot->key, key, sizeof key);
	spot->nc = nc;
	spot->first = now;
	return 0;
}
