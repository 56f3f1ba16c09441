/*
 * server.c - the libmicrohttpd daemon: listening, the per-request state
 * machine, Digest checks, the body cap; see server.h.
 *
 * A request goes through server_access several times (libmicrohttpd's
 * protocol): the first call sees only the headers; that is where the
 * throttle, Digest auth and the declared Content-Length are checked, so
 * a refused request is answered before its body is read.  Later calls
 * hand over pieces of the body, which go into a buf capped at max_body;
 * the last call runs the handler.  The per-request state lives in
 * libmicrohttpd's request pointer and is freed by server_completed,
 * whatever way the request ended.
 *
 * Design notes (what must hold, DESIGN.md invariant 8):
 *  - no handler runs for a path under digest_prefix unless the Digest
 *    check and the replay check passed for that very request;
 *  - a body is never held beyond max_body bytes;
 *  - a refused client costs one short answer, never a sleep.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "buf.h"
#include "secret.h"
#include "server.h"
#include "server-int.h"
#include "util.h"

#define SERVER_DEFAULT_MAX_BODY (1024 * 1024)
#define SERVER_NONCE_NC_SIZE 4096	/* live nonces libmicrohttpd tracks */
#define SERVER_CONN_LIMIT 512
/*
 * Connections one client address may hold: many branches behind one NAT
 * each keep one, a browser a few; one client alone cannot take them all.
 */
#define SERVER_CONN_PER_ADDR 64
/* Idle seconds before a close: above libcurl's default 118 s connection
 * age, so a poller with an interval under two minutes keeps its
 * connection (and its TLS session). */
#define SERVER_CONN_TIMEOUT 120
#define SERVER_TLS_FILE_MAX (1024 * 1024)

struct server {
	struct MHD_Daemon *mhd;
	struct sockaddr_storage sa;
	char *listen;
	char *prefix;
	size_t prefix_len;
	size_t max_body;
	size_t max_open_body;	/* outside the Digest prefix */
	int (*ha1_lookup)(void *, const char *, unsigned char[32]);
	void (*handle)(void *, const struct http_request *,
	    struct http_response *);
	void (*log)(void *, const char *);
	void *ctx;
	char *tls_cert;
	char *tls_key;
	size_t tls_key_len;
	unsigned char seed[32];		/* nonce secret, lives with mhd */
	char opaque[33];
	struct server_throttle *throttle;
	struct server_replay *replay;
	char lastlog[256];		/* libmicrohttpd's complaints at start */
	atomic_int starting;		/* inside MHD_start_daemon */
	struct {
		atomic_ulong requests, handled, challenged, auth_ok;
		atomic_ulong auth_failed, stale, throttled, too_large;
	} st;
};

/* State of one request, in libmicrohttpd's per-request pointer. */
struct server_req {
	struct buf body;
	char addr[FS_ADDR_MAX];
	char *user;		/* Digest user once the check passed */
	int answered;		/* refused before the body was read */
	int too_big;
	size_t cap;		/* the largest body this request may have */
	size_t dropped;		/* body bytes thrown away after too_big */
};

static void server_logf(struct server *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
server_logf(struct server *srv, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (srv->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	srv->log(srv->ctx, line);
}

static void server_mhd_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/*
 * libmicrohttpd's own messages.  Those of a start that fails are kept
 * for server_start's one error line (not logged as well); later ones
 * are logged.
 */
static void
server_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *srv = cls;
	char msg[256];
	const char *m = msg;
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (!srv->starting) {
		server_logf(srv, "httpd: %s", msg);
		return;
	}
	/* "Failed to bind to port 0: E": the port is in our own message. */
	if (strncmp(m, "Failed to bind to port ", 23) == 0 &&
	    strstr(m, ": ") != NULL)
		m = strstr(m, ": ") + 2;
	n = strlen(srv->lastlog);
	snprintf(srv->lastlog + n, sizeof srv->lastlog - n, "%s%s",
	    n > 0 ? "; " : "", m);
}

/* A peer-chosen string made safe for one log line. */
static void
server_printable(const char *s, char *out, size_t outsz)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 1 < outsz; s++)
		out[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[n] = '\0';
}

static void
server_peer(struct MHD_Connection *c, char out[FS_ADDR_MAX])
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, FS_ADDR_MAX, "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, out, FS_ADDR_MAX);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], out,
			    FS_ADDR_MAX);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, out, FS_ADDR_MAX);
	}
}

/*
 * Hand resp to libmicrohttpd (the body without a copy) and clear it.
 * challenge: -1 a plain response, 0 a Digest challenge, 1 a challenge
 * saying the nonce was stale (the client retries without asking anyone).
 */
static enum MHD_Result
server_queue(struct server *srv, struct MHD_Connection *c,
    struct http_response *resp, int challenge)
{
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;

	if (resp->status < 100 || resp->status > 599) {
		server_logf(srv, "handler left an invalid status %d",
		    resp->status);
		http_response_clear(resp);
		http_response_error(resp, 500, "internal error");
	}
	if (resp->status >= 400 && resp->body == NULL)
		http_response_error(resp, resp->status, "%s",
		    http_status_text(resp->status));
	if (resp->body != NULL && resp->body_len > 0) {
		r = MHD_create_response_from_buffer(resp->body_len, resp->body,
		    MHD_RESPMEM_MUST_FREE);
		if (r != NULL)
			resp->body = NULL;	/* libmicrohttpd frees it */
	} else
		r = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		goto out;
	if (resp->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp->content_type);
	for (int i = 0; i < resp->nhdr; i++)
		if (MHD_add_response_header(r, resp->hdr[i].name,
		    resp->hdr[i].value) == MHD_NO)
			server_logf(srv, "cannot add response header %s",
			    resp->hdr[i].name);
	/* Refusals made here, before any handler, are JSON all the same. */
	if (MHD_get_response_header(r, "X-Content-Type-Options") == NULL)
		MHD_add_response_header(r, "X-Content-Type-Options",
		    "nosniff");
	if (challenge >= 0)
		ret = MHD_queue_auth_fail_response2(c, FS_REALM, srv->opaque,
		    r, challenge ? MHD_YES : MHD_NO, MHD_DIGEST_ALG_SHA256);
	else
		ret = MHD_queue_response(c, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
out:
	http_response_clear(resp);
	return ret;
}

static enum MHD_Result
server_refuse(struct server *srv, struct MHD_Connection *c,
    struct server_req *rq, int status, int challenge, const char *msg)
{
	struct http_response resp;

	rq->answered = 1;
	http_response_init(&resp);
	http_response_error(&resp, status, "%s", msg);
	return server_queue(srv, c, &resp, challenge);
}

static enum MHD_Result
server_throttled(struct server *srv, struct MHD_Connection *c,
    struct server_req *rq, int64_t wait_ms)
{
	struct http_response resp;
	char secs[32];
	long long s = (wait_ms + 999) / 1000;

	atomic_fetch_add(&srv->st.throttled, 1);
	rq->answered = 1;
	snprintf(secs, sizeof secs, "%lld", s);
	http_response_init(&resp);
	http_response_error(&resp, 429, "too many failed authentication "
	    "attempts from %s; retry after %lld s", rq->addr, s);
	http_response_header(&resp, "Retry-After", secs);
	return server_queue(srv, c, &resp, -1);
}

/*
 * Digest check of a request under digest_prefix, on its headers alone.
 * Sets *passed and rq->user on success; otherwise queues the 401 (or the
 * stale challenge) and counts a failure against the address when the
 * client proved it does not know the key.
 */
static enum MHD_Result
server_auth(struct server *srv, struct MHD_Connection *c,
    struct server_req *rq, const char *method, int *passed)
{
	unsigned char ha1[32];
	char *user, shown[80], ukey[FS_ADDR_MAX + 80];
	const char *hdr;
	int r, stale = 0, unknown = 0;
	int64_t now = server_clock_ms(), wait;
	enum MHD_Result ret;

	*passed = 0;
	if ((user = MHD_digest_auth_get_username(c)) == NULL) {
		atomic_fetch_add(&srv->st.challenged, 1);
		return server_refuse(srv, c, rq, 401, 0,
		    "authentication required (HTTP Digest, SHA-256)");
	}
	/* This user's failures from this address (server-throttle.c). */
	snprintf(ukey, sizeof ukey, "%s %s", rq->addr, user);
	if ((wait = server_throttle_wait(srv->throttle, ukey, now)) > 0) {
		MHD_free(user);
		return server_throttled(srv, c, rq, wait);
	}
	hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	server_printable(user, shown, sizeof shown);
	if (srv->ha1_lookup == NULL ||
	    srv->ha1_lookup(srv->ctx, user, ha1) == -1) {
		/*
		 * Unknown user: the same answer as a wrong key, after the
		 * same work, so neither tells which pairing names exist.
		 */
		memset(ha1, 0, sizeof ha1);
		(void)MHD_digest_auth_check_digest2(c, FS_REALM, user, ha1,
		    sizeof ha1, FS_NONCE_TIMEOUT, MHD_DIGEST_ALG_SHA256);
		r = MHD_NO;
		unknown = 1;
		server_logf(srv, "auth: unknown user \"%s\" from %s", shown,
		    rq->addr);
	} else {
		r = MHD_digest_auth_check_digest2(c, FS_REALM, user, ha1,
		    sizeof ha1, FS_NONCE_TIMEOUT, MHD_DIGEST_ALG_SHA256);
		/*
		 * libmicrohttpd computes SHA-256 whatever the header says; a
		 * header that names another algorithm (or none: MD5) is not
		 * what the challenge asked for.
		 */
		if (r == MHD_YES && !server_digest_sha256(hdr)) {
			r = MHD_NO;
			server_logf(srv, "auth: \"%s\" from %s named another "
			    "algorithm than SHA-256", shown, rq->addr);
		} else if (r == MHD_YES) {
			if (server_replay_check(srv->replay, hdr, now) == 0) {
				*passed = 1;
				rq->user = xstrdup(user);
				server_throttle_ok(srv->throttle, ukey);
				atomic_fetch_add(&srv->st.auth_ok, 1);
				ret = MHD_YES;
				goto out;
			}
			server_logf(srv, "auth: replayed request for \"%s\" "
			    "from %s refused", shown, rq->addr);
			stale = 1;
		} else if (r == MHD_INVALID_NONCE ||
		    server_digest_correct(hdr, method, ha1)) {
			/* Right key, but the nonce expired or was reused. */
			stale = 1;
		} else
			server_logf(srv, "auth: wrong key for \"%s\" from %s",
			    shown, rq->addr);
	}
	atomic_fetch_add(&srv->st.challenged, 1);
	if (stale) {
		atomic_fetch_add(&srv->st.stale, 1);
		ret = server_refuse(srv, c, rq, 401, 1, "nonce expired or "
		    "already used; retry with the new nonce");
		goto out;
	}
	atomic_fetch_add(&srv->st.auth_failed, 1);
	/* Names tried at random count against the address itself. */
	wait = server_throttle_fail(srv->throttle, unknown ? rq->addr : ukey,
	    now);
	if (wait > 0 && unknown)
		server_logf(srv, "auth: %s blocked for %lld ms after repeated "
		    "failures", rq->addr, (long long)wait);
	else if (wait > 0)
		server_logf(srv, "auth: \"%s\" from %s blocked for %lld ms "
		    "after repeated failures", shown, rq->addr,
		    (long long)wait);
	ret = server_refuse(srv, c, rq, 401, 0, "authentication failed");
out:
	explicit_bzero(ha1, sizeof ha1);
	MHD_free(user);
	return ret;
}

/* Whether url is under the Digest-protected prefix. */
static int
in_prefix(const struct server *srv, const char *url)
{
	return srv->prefix != NULL &&
	    strncmp(url, srv->prefix, srv->prefix_len) == 0;
}

/* First call for a request: only its headers have arrived. */
static enum MHD_Result
server_begin(struct server *srv, struct MHD_Connection *c,
    struct server_req *rq, const char *url, const char *method)
{
	const char *cl;

	if (in_prefix(srv, url)) {
		int64_t wait;
		int passed;
		enum MHD_Result ret;

		wait = server_throttle_wait(srv->throttle, rq->addr,
		    server_clock_ms());
		if (wait > 0)
			return server_throttled(srv, c, rq, wait);
		ret = server_auth(srv, c, rq, method, &passed);
		if (!passed)
			return ret;
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == ERANGE || n > rq->cap) {
			atomic_fetch_add(&srv->st.too_large, 1);
			return server_refuse(srv, c, rq, 413, -1,
			    "request body larger than the limit");
		}
	}
	return MHD_YES;
}

static enum MHD_Result
server_dispatch(struct server *srv, struct MHD_Connection *c,
    struct server_req *rq, const char *url, const char *method)
{
	struct http_request req;
	struct http_response resp;

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = url;
	req.body = rq->body.data != NULL ? rq->body.data : "";
	req.body_len = rq->body.len;
	req.auth_user = rq->user;
	req.client_addr = rq->addr;
	req.priv = c;
	http_response_init(&resp);
	atomic_fetch_add(&srv->st.handled, 1);
	if (srv->handle != NULL)
		srv->handle(srv->ctx, &req, &resp);
	else
		http_response_error(&resp, 404, "nothing is served here");
	return server_queue(srv, c, &resp, -1);
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct server_req *rq = *con_cls;

	if (rq == NULL) {
		rq = xcalloc(1, sizeof *rq);
		/*
		 * Only a request that passed Digest may send a large body:
		 * anyone else would have the server hold it just for a 4xx.
		 */
		rq->cap = in_prefix(srv, url) ? srv->max_body :
		    srv->max_open_body;
		buf_init(&rq->body, rq->cap);
		server_peer(c, rq->addr);
		*con_cls = rq;
		atomic_fetch_add(&srv->st.requests, 1);
		return server_begin(srv, c, rq, url, method);
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (rq->answered)
			return MHD_YES;
		if (!rq->too_big && buf_add(&rq->body, upload, n) == 0)
			return MHD_YES;
		if (!rq->too_big) {
			/* Past the cap (a chunked body): drop what we have. */
			rq->too_big = 1;
			rq->dropped = rq->body.len;
			buf_free(&rq->body);
		}
		rq->dropped += n;
		/* Read on to answer 413, but not forever. */
		return rq->dropped > 2 * rq->cap + 65536 ? MHD_NO :
		    MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->too_big) {
		atomic_fetch_add(&srv->st.too_large, 1);
		return server_refuse(srv, c, rq, 413, -1,
		    "request body larger than the limit");
	}
	return server_dispatch(srv, c, rq, url, method);
}

static void
server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct server_req *rq = *con_cls;

	if (rq == NULL)
		return;
	buf_free(&rq->body);
	free(rq->user);
	free(rq);
	*con_cls = NULL;
}

/*
 * "ADDR:PORT" with a numeric IPv4 address, or "[ADDR]:PORT" with IPv6;
 * the port may be 0.
 */
static int
server_parse_listen(const char *s, struct sockaddr_storage *ss, int *v6,
    struct fs_err *err)
{
	char host[64];
	const char *colon, *hs, *he;
	long long port;

	memset(ss, 0, sizeof *ss);
	*v6 = 0;
	if (s == NULL || *s == '\0')
		return fs_err_set(err, FS_EINVAL, "no listen address");
	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			goto bad;
		colon = he + 1;
		*v6 = 1;
	} else {
		hs = s;
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return fs_err_set(err, FS_EINVAL, "invalid listen "
			    "address %s: write IPv6 as [ADDR]:PORT", s);
		he = colon;
		*v6 = 0;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof host)
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (util_parse_int(colon + 1, 0, 65535, &port) == -1)
		return fs_err_set(err, FS_EINVAL, "invalid port in listen "
		    "address %s (0-65535)", s);
	if (*v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	return fs_err_set(err, FS_EINVAL, "invalid listen address %s: "
	    "expected IPv4:PORT or [IPv6]:PORT, numeric", s);
}

static char *
server_read_pem(const char *path, const char *what, size_t *len,
    struct fs_err *err)
{
	char *p;

	errno = 0;
	if ((p = util_read_file(path, SERVER_TLS_FILE_MAX, len)) == NULL) {
		/* Too big is bad input; unreadable, a file that failed. */
		fs_err_set(err, errno == EFBIG ? FS_EINVAL : FS_EIO,
		    "cannot read TLS %s %s: %s", what, path, errno == EFBIG ?
		    "larger than 1 MiB" : errno != 0 ? strerror(errno) :
		    "read error");
		return NULL;
	}
	if (strstr(p, "-----BEGIN ") == NULL) {
		fs_err_set(err, FS_EINVAL, "TLS %s %s is not PEM", what, path);
		explicit_bzero(p, *len);
		free(p);
		return NULL;
	}
	return p;
}

struct server *
server_start(const struct server_config *cfg, struct fs_err *err)
{
	struct server *srv;
	unsigned char op[16];
	unsigned int flags;
	size_t len;
	int v6 = 0;

	srv = xcalloc(1, sizeof *srv);
	if (server_parse_listen(cfg->listen, &srv->sa, &v6, err) == -1)
		goto fail;
	srv->listen = xstrdup(cfg->listen);
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		fs_err_set(err, FS_EINVAL, "TLS needs both a certificate and "
		    "a key (--tls-cert F --tls-key F)");
		goto fail;
	}
	if (cfg->tls_cert != NULL) {
		if ((srv->tls_cert = server_read_pem(cfg->tls_cert,
		    "certificate", &len, err)) == NULL)
			goto fail;
		if ((srv->tls_key = server_read_pem(cfg->tls_key, "key",
		    &srv->tls_key_len, err)) == NULL)
			goto fail;
	}
	srv->max_body = cfg->max_body ? cfg->max_body : SERVER_DEFAULT_MAX_BODY;
	srv->max_open_body = cfg->max_open_body ? cfg->max_open_body :
	    srv->max_body;
	if (cfg->digest_prefix != NULL && *cfg->digest_prefix != '\0') {
		srv->prefix = xstrdup(cfg->digest_prefix);
		srv->prefix_len = strlen(srv->prefix);
	}
	srv->ha1_lookup = cfg->ha1_lookup;
	srv->handle = cfg->handle;
	srv->log = cfg->log;
	srv->ctx = cfg->ctx;
	if (util_random(srv->seed, sizeof srv->seed) == -1 ||
	    util_random(op, sizeof op) == -1) {
		fs_err_set(err, FS_EIO, "cannot get random bytes: %s",
		    strerror(errno));
		goto fail;
	}
	util_hex(op, sizeof op, srv->opaque);
	srv->throttle = server_throttle_new();
	srv->replay = server_replay_new();

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (srv->tls_cert != NULL)
		flags |= MHD_USE_TLS;
	/*
	 * The logger comes first so libmicrohttpd prints nothing itself.
	 * The TLS options come last: without TLS the first of them is
	 * MHD_OPTION_END and libmicrohttpd reads no further.
	 */
	srv->starting = 1;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL,
	    server_access, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->sa,
	    MHD_OPTION_NOTIFY_COMPLETED, server_completed, srv,
	    MHD_OPTION_DIGEST_AUTH_RANDOM, sizeof srv->seed,
	    (const char *)srv->seed,
	    MHD_OPTION_NONCE_NC_SIZE, (unsigned int)SERVER_NONCE_NC_SIZE,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVER_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)SERVER_CONN_PER_ADDR,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_CONN_TIMEOUT,
	    srv->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END,
	    (const char *)srv->tls_key,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)srv->tls_cert,
	    MHD_OPTION_END);
	srv->starting = 0;
	if (srv->mhd == NULL) {
		fs_err_set(err, FS_EIO, "cannot listen on %s%s%s",
		    cfg->listen, srv->lastlog[0] ? ": " : "", srv->lastlog);
		goto fail;
	}
	return srv;
fail:
	server_stop(srv);
	return NULL;
}

int
server_port(const struct server *srv)
{
	const union MHD_DaemonInfo *di;

	if (srv == NULL || srv->mhd == NULL)
		return -1;
	di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? (int)di->port : -1;
}

void
server_stats(const struct server *srv, struct server_stats *out)
{
	/* atomic_load takes a non-const pointer in C11. */
	struct server *s = (struct server *)srv;

	memset(out, 0, sizeof *out);
	if (s == NULL)
		return;
	out->requests = atomic_load(&s->st.requests);
	out->handled = atomic_load(&s->st.handled);
	out->challenged = atomic_load(&s->st.challenged);
	out->auth_ok = atomic_load(&s->st.auth_ok);
	out->auth_failed = atomic_load(&s->st.auth_failed);
	out->stale = atomic_load(&s->st.stale);
	out->throttled = atomic_load(&s->st.throttled);
	out->too_large = atomic_load(&s->st.too_large);
}

void
server_stop(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->mhd != NULL)
		MHD_stop_daemon(srv->mhd);
	server_throttle_free(srv->throttle);
	server_replay_free(srv->replay);
	if (srv->tls_key != NULL) {
		explicit_bzero(srv->tls_key, srv->tls_key_len);
		free(srv->tls_key);
	}
	free(srv->tls_cert);
	free(srv->prefix);
	free(srv->listen);
	explicit_bzero(srv->seed, sizeof srv->seed);
	free(srv);
}
