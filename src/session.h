/*
 * session.h - logged-in browsers of the web UI, and the brake on
 * password guessing.
 *
 * A session is two random 256-bit values: the token, which only ever
 * travels in the HttpOnly cookie, and the CSRF token, which the page
 * reads from the login answer (or GET /api/session) and sends back in
 * the X-CSRF-Token header of every request that changes something.  A
 * cross-site page can make the browser send the cookie (SameSite=Strict
 * already stops that in current browsers) but cannot read the CSRF
 * token, so it cannot forge a change.
 *
 * Sessions live in the daemon's memory, never in the database: a copy
 * or backup of the database file never carries a live login, and a
 * restart of "fieldsync serve" logs everybody out, which for an admin
 * UI is the safe side.  Only the SHA-256 of a token is kept, so even a
 * memory dump does not hand out a usable cookie.  The table is bounded
 * (FS_SESSION_MAX; the least recently used session gives way).
 *
 * A session ends on logout, after FS_SESSION_IDLE_S without a request,
 * or FS_SESSION_LIFE_S after login, whichever comes first; all of them
 * when the admin password changes (the API notices, session_close_all).
 *
 * Failed logins are counted per client address with the server's
 * guessing brake (server-int.h): after FS_AUTH_FREE_FAILURES failures
 * an address gets 429 with Retry-After for a window that doubles; no
 * one ever sleeps in the server thread.
 *
 * Everything here runs in the server thread only: no locks.
 */
#ifndef FS_SESSION_H
#define FS_SESSION_H

#include <stdint.h>

#define FS_SESSION_MAX 64
#define FS_SESSION_IDLE_S (30 * 60)
#define FS_SESSION_LIFE_S (12 * 60 * 60)
#define FS_SESSION_HEX 65	/* 64 hex digits and NUL */
#define FS_LOGIN_FAILS_MAX 20
#define FS_LOGIN_FAILS_WINDOW_MS (60 * 1000)

struct session_table;

struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);

/*
 * Open a session at now_ms (a monotonic clock); fills the cookie token
 * and the CSRF token.  -1 only when no random bytes can be had.
 */
int session_open(struct session_table *t, int64_t now_ms,
    char token[FS_SESSION_HEX], char csrf[FS_SESSION_HEX]);
/*
 * Find the live session of token (NULL or garbage is simply not found)
 * and mark it used; copies its CSRF token into csrf.  0 found, -1 not.
 * *left_s receives the seconds until it expires if left idle.
 */
int session_find(struct session_table *t, const char *token, int64_t now_ms,
    char csrf[FS_SESSION_HEX], int64_t *left_s);
/* End the session of token, if any. */
void session_close(struct session_table *t, const char *token);
/* End every session (the admin password changed). */
void session_close_all(struct session_table *t);
/* Whether header (may be NULL) is this session's CSRF token. */
int session_csrf_ok(const char csrf[FS_SESSION_HEX], const char *header);

/*
 * Every address together: after FS_LOGIN_FAILS_MAX wrong passwords in
 * FS_LOGIN_FAILS_WINDOW_MS, logins wait (each check costs ~0.1 s of the
 * one server thread, and addresses are cheap to an attacker).  The
 * milliseconds until one may be tried, 0 if now.
 */
int64_t session_login_busy(struct session_table *t, int64_t now_ms);
/* Milliseconds addr must wait before it may try a login, 0 if none. */
int64_t session_login_wait(struct session_table *t, const char *addr,
    int64_t now_ms);
/* A failed login from addr; returns the wait it now has (0 if none). */
int64_t session_login_failed(struct session_table *t, const char *addr,
    int64_t now_ms);
void session_login_ok(struct session_table *t, const char *addr);

#endif
