/*
 * server.h - the HTTP transport of the passive side (libmicrohttpd's
 * only door).
 *
 * The server accepts connections, enforces what every request must pass
 * before any handler sees it, and hands the handler a plain request (a
 * complete, size-capped body) and takes back a plain response.  What it
 * enforces:
 *
 *  - HTTP Digest with SHA-256 (realm FS_REALM) on every path under
 *    digest_prefix, checked on the headers, before the body is read;
 *  - replay refusal: nc must grow strictly for each (nonce, cnonce) a
 *    client answers with, so no Authorization header is accepted twice;
 *    nonces expire after FS_NONCE_TIMEOUT seconds (server-digest.c says
 *    what this adds to libmicrohttpd's own check);
 *  - slowing down guessing: after FS_AUTH_FREE_FAILURES failed attempts
 *    from one client address, that address gets 429 with Retry-After for
 *    a window that doubles with every further failure (bounded table of
 *    addresses, nothing ever sleeps);
 *  - the body cap: a declared or accumulated body over max_body (under
 *    digest_prefix, once Digest passed) or max_open_body (elsewhere) is
 *    answered 413 and never buffered;
 *  - at most 64 connections from one client address (512 in all);
 *  - every error response carries a JSON body {"error": "..."}.
 *
 * One internal polling thread runs everything, so handlers run one at a
 * time, always in that thread: a handler may own state (an SQLite
 * connection) that nothing else touches.  A handler that takes long
 * delays every other request; that is the price of that simplicity.
 *
 * Deliberately not here: routing (the handler switches on method and
 * path), sync semantics, the UI's own login, JSON parsing of requests.
 * Nothing logged here ever contains a password, a key, an HA1 or a
 * Digest response.
 */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "err.h"

#define FS_NONCE_TIMEOUT 300		/* seconds a Digest nonce lives */
#define FS_AUTH_FREE_FAILURES 5		/* failures before 429 starts */
#define FS_HTTP_MAX_HEADERS 8		/* extra headers per response */

/*
 * Request fields a handler can look up by name.  A handler test without
 * a socket fills http_request.kv (and leaves priv NULL) instead.
 */
enum http_kv_kind {
	HTTP_KV_HEADER,
	HTTP_KV_ARG,
	HTTP_KV_COOKIE
};

struct http_kv {
	enum http_kv_kind kind;
	const char *name;
	const char *value;
};

/* Everything points into server memory valid during the handler call. */
struct http_request {
	const char *method;	/* "GET", "POST", ... */
	const char *path;	/* URL path without query string */
	const char *body;	/* NUL-terminated copy, may contain NULs */
	size_t body_len;
	const char *auth_user;	/* Digest user if the path required it */
	const char *client_addr;	/* textual peer address */
	void *priv;		/* opaque: the MHD connection */
	const struct http_kv *kv;	/* if priv is NULL; ends at name NULL */
};

/* NULL when absent.  Header names compare case-insensitively. */
const char *http_request_header(const struct http_request *req,
    const char *name);
const char *http_request_arg(const struct http_request *req,
    const char *name);
const char *http_request_cookie(const struct http_request *req,
    const char *name);

struct http_response_header {
	char *name;
	char *value;
};

/*
 * A response starts zeroed (the server does that before calling the
 * handler; a test uses http_response_init).  body is malloc'd and owned
 * by the response; the server hands it to libmicrohttpd without a copy.
 * A handler that leaves status 0 produces a 500; one that leaves body
 * NULL on a status >= 400 gets {"error": <reason phrase>}.
 */
struct http_response {
	int status;
	const char *content_type;	/* static string */
	char *body;
	size_t body_len;
	struct http_response_header hdr[FS_HTTP_MAX_HEADERS];
	int nhdr;
};

void http_response_init(struct http_response *resp);
/* Free body and headers and zero the response (for handler tests). */
void http_response_clear(struct http_response *resp);
/*
 * Serialise json (consumed, freed here even on failure) unformatted as
 * the body, Content-Type application/json.  Replaces an earlier body.
 * NULL json (a failed allocation) or a failed print gives a 500.  The
 * body comes from cJSON's allocator, which must be malloc (the default).
 */
void http_response_json(struct http_response *resp, int status,
    cJSON *json);
/* Body {"error": "<formatted message>"} with the given status. */
void http_response_error(struct http_response *resp, int status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Add a header (copied).  -1 when the table is full or the name or value
 * would break the header block (CR, LF, NUL, ':' in the name, empty name).
 */
int http_response_header(struct http_response *resp, const char *name,
    const char *value);
/* The standard reason phrase of a status ("Not Found"), never NULL. */
const char *http_status_text(int status);

struct server_config {
	/* "127.0.0.1:0", "[::1]:8080", "0.0.0.0:8080"; port 0 = any free */
	const char *listen;
	/* PEM file paths, both or neither */
	const char *tls_cert;
	const char *tls_key;
	/* larger request bodies get 413 without being buffered; 0 = 1 MiB */
	size_t max_body;
	/* the same outside digest_prefix, where anyone may ask; 0 = max_body */
	size_t max_open_body;
	/* every path under it requires Digest (e.g. "/sync/"); NULL = none */
	const char *digest_prefix;
	/*
	 * The raw HA1 (SHA-256 of "user:fieldsync:key") of a Digest user;
	 * -1 if the user is unknown.  Runs in the server thread.
	 */
	int (*ha1_lookup)(void *ctx, const char *user, unsigned char ha1[32]);
	/* Fill resp for req.  Runs in the server thread, one at a time. */
	void (*handle)(void *ctx, const struct http_request *req,
	    struct http_response *resp);
	/* One line per event, no newline; NULL = silent. Server thread. */
	void (*log)(void *ctx, const char *line);
	void *ctx;
};

/* Counters since start, for tests and benchmarks; read from any thread. */
struct server_stats {
	unsigned long requests;		/* every request that reached us */
	unsigned long handled;		/* passed to the handler */
	unsigned long challenged;	/* 401 answers */
	unsigned long auth_ok;		/* Digest checks passed */
	unsigned long auth_failed;	/* wrong user, password or replay */
	unsigned long stale;		/* expired or foreign nonces */
	unsigned long throttled;	/* 429 answers */
	unsigned long too_large;	/* 413 answers */
};

/*
 * Bind exactly config->listen and start serving.  The config's strings
 * are copied; ctx must outlive the server.  NULL and err on failure
 * (FS_EINVAL: bad address or TLS files; FS_EIO: cannot bind).
 */
struct server *server_start(const struct server_config *config,
    struct fs_err *err);
/* The port actually bound (useful with port 0). */
int server_port(const struct server *srv);
void server_stats(const struct server *srv, struct server_stats *out);
/* Stop serving, wait for the server thread, free everything. */
void server_stop(struct server *srv);

#endif
