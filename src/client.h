/*
 * client.h - the active side's HTTP client (libcurl's only door).
 *
 * A client talks to one peer: a base URL, the pairing name as Digest
 * user name and the derived key as Digest password (see secret.h; the
 * key is all the peer can check, the clear password never leaves the
 * process that read it).  It keeps one libcurl easy handle, so the TCP
 * connection, the TLS session and the Digest nonce are reused from one
 * call to the next: after the first exchange a call is one round trip.
 *
 * TLS certificates are always verified, peer and host name, against the
 * system CAs or the pairing's CA file.  Responses are collected in a
 * capped buffer: a peer cannot make us allocate more than the caller
 * allowed.
 *
 * Two things callers must know, both measured in tests/unit/test_http.c:
 *
 *  - The server's Digest nonce is bound to the method and the path (not
 *    the query string).  Calls that keep one method and one path cost one
 *    request each; every switch of path or method costs a second request
 *    (a "stale" challenge and libcurl's automatic retry).  So a protocol
 *    should put all its calls on one POST path, e.g. /sync/v1?op=NAME.
 *
 *  - Until a server has challenged it, libcurl sends each POST twice:
 *    first with an empty body as an authentication probe, then for real.
 *    On a path that requires Digest the probe gets the 401 and nothing
 *    else happens; on a path that does not, the handler sees both.  So
 *    every path this client calls must require Digest.
 *
 * Deliberately not here: what the bodies mean (see the protocol and
 * sync modules), retries and back-off (the caller's loop decides),
 * more than one request at a time.  A client is used by one thread at
 * a time.
 */
#ifndef FS_CLIENT_H
#define FS_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include "err.h"

#define FS_CLIENT_CONNECT_MS 10000	/* default connect timeout */
#define FS_CLIENT_TOTAL_MS 300000	/* default whole-call timeout */
#define FS_CLIENT_HELLO_MS 15000	/* whole-call timeout of a hello */

struct client;

/* An absolute http:// or https:// URL with a host; else FS_EINVAL. */
int client_url_check(const char *url, struct fs_err *err);

/*
 * base_url is checked with client_url_check; ca_file (NULL = system
 * CAs) must be readable.  user and key are copied; the copy of key is
 * wiped when the client is freed.
 */
struct client *client_new(const char *base_url, const char *user,
    const char *key, const char *ca_file, struct fs_err *err);
/*
 * Every call from now on gives up at once (FS_ENET) when *flag becomes
 * non-zero: a daemon's stop signal.  Set before any client runs.
 */
void client_stop_on(volatile sig_atomic_t *flag);
/* Timeouts in ms; 0 leaves one unchanged. */
void client_set_timeouts(struct client *cl, long connect_ms, long total_ms);
/*
 * POST body (len bytes, Content-Type application/json) to base_url +
 * path (path starts with '/').  On 0, *status is the HTTP status and
 * *resp (malloc'd, NUL-terminated, the caller's) the body, whatever the
 * status, except these, which fail:
 *   FS_ENET   peer unreachable, timed out, connection cut, TLS failed
 *             (the message is libcurl's);
 *   FS_EAUTH  401 after authenticating (wrong key or unknown pairing
 *             name), or 429 (the peer blocks us after such failures);
 *   FS_EPROTO a response over max_resp bytes, or not HTTP.
 * *status is set whenever a status arrived.
 */
int client_post(struct client *cl, const char *path, const char *body,
    size_t len, size_t max_resp, int *status, char **resp, size_t *resp_len,
    struct fs_err *err);
/*
 * The same POST on a thread of its own (client-async.c): start it, do
 * other work, then wait for its outcome, exactly client_post's.  body
 * must live, and cl stay untouched, until client_post_wait returns; a
 * started call must always be waited for.
 */
struct client_call;
struct client_call *client_post_start(struct client *cl, const char *path,
    const char *body, size_t len, size_t max_resp);
int client_post_wait(struct client_call *call, int *status, char **resp,
    size_t *resp_len, struct fs_err *err);
/* The same for GET. */
int client_get(struct client *cl, const char *path, size_t max_resp,
    int *status, char **resp, size_t *resp_len, struct fs_err *err);
void client_free(struct client *cl);

#endif
