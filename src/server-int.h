/*
 * server-int.h - pieces the server files share and nothing else sees
 * (except session.c, which brakes UI logins with the same throttle).
 *
 * The guessing brake (server-throttle.c) and the Digest bookkeeping
 * (server-digest.c) are plain data structures with no libmicrohttpd
 * types, so they are small enough to reason about on their own.  All of
 * them are used from the server thread only and take no locks.
 */
#ifndef FS_SERVER_INT_H
#define FS_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>

#define FS_ADDR_MAX 64		/* textual IPv4 or IPv6 address and NUL */

/* Milliseconds on a clock that never jumps. */
int64_t server_clock_ms(void);

/* --- server-throttle.c: per-address failed-attempt brake ---------------- */

struct server_throttle;

struct server_throttle *server_throttle_new(void);
void server_throttle_free(struct server_throttle *t);
/* Milliseconds addr must still wait, 0 if it may try now. */
int64_t server_throttle_wait(struct server_throttle *t, const char *addr,
    int64_t now);
/* Record a failure; returns the new wait in ms (0 while still free). */
int64_t server_throttle_fail(struct server_throttle *t, const char *addr,
    int64_t now);
/* A success forgets the address's failures. */
void server_throttle_ok(struct server_throttle *t, const char *addr);

/* --- server-digest.c: Digest header fields, responses, replays ------------ */

/*
 * Copy the value of parameter key (case-insensitive) of a
 * "Digest k=v, k="v"" header into out; -1 when absent, malformed or
 * longer than outsz - 1.
 */
int server_digest_param(const char *hdr, const char *key, char *out,
    size_t outsz);
/*
 * 1 when hdr carries the correct SHA-256 Digest response for this method
 * and the given raw HA1, whatever the state of its nonce; else 0.  Tells
 * a wrong password from a nonce that is merely stale or reused.
 */
/* Whether the Authorization header hdr names algorithm=SHA-256. */
int server_digest_sha256(const char *hdr);
int server_digest_correct(const char *hdr, const char *method,
    const unsigned char ha1[32]);

struct server_replay;

struct server_replay *server_replay_new(void);
void server_replay_free(struct server_replay *r);
/*
 * Record a use of (nonce, cnonce, nc) from an accepted Authorization
 * header.  -1 when this (nonce, cnonce) was already used with an nc as
 * large or larger (a replay), 0 otherwise.  Remembers a pair for
 * FS_NONCE_TIMEOUT after its first use, which outlives the nonce itself.
 */
int server_replay_check(struct server_replay *r, const char *hdr,
    int64_t now);

#endif
