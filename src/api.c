/*
 * api.c - the web UI's front door: sessions, CSRF, routing, request
 * helpers and the compiled-in static files; see api.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adminpw.h"
#include "api-int.h"
#include "embedded.h"
#include "endpoint.h"
#include "ident.h"
#include "instance.h"
#include "log.h"
#include "server-int.h"
#include "util.h"

struct api *
api_new(const struct api_config *cfg, struct fs_err *err)
{
	struct api *a;
	char *id;

	if ((id = store_instance_id(cfg->store, err)) == NULL)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->s = cfg->store;
	a->jobs = cfg->jobs;
	a->tls = cfg->tls;
	a->loopback = cfg->loopback;
	a->sessions = session_table_new();
	adminpw_tag(a->s, a->pwtag);
	/*
	 * Cookies are per host, not per port: two instances served on one
	 * host must not overwrite each other's login, so the name carries
	 * the instance's identity.
	 */
	snprintf(a->cookie, sizeof a->cookie, "fs_ui_%.12s", id);
	free(id);
	return a;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	session_table_free(a->sessions);
	free(a);
}

/* --- answers -------------------------------------------------------------- */

static int
status_of(int code)
{
	switch (code) {
	case FS_EINVAL:
		return 400;
	case FS_ENOTFOUND:
		return 404;
	case FS_EEXIST:
	case FS_ECONFLICT:
	case FS_EBUSY:
	case FS_ESCHEMA:
	case FS_EAGAIN_HELLO:
		return 409;
	case FS_EAUTH:
		return 403;
	case FS_ENET:
	case FS_EPROTO:
		return 502;
	default:
		return 500;
	}
}

void
api_fail(struct api_call *c, const struct fs_err *err)
{
	char msg[sizeof err->msg];

	fs_err_oneline(msg, sizeof msg, err->msg[0] ? err->msg : "failed");
	http_response_error(c->resp, status_of(err->code), "%s", msg);
}

void
api_ok(struct api_call *c, int status, cJSON *json)
{
	http_response_json(c->resp, status, json);
}

void
api_done(struct api_call *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 1);
	api_ok(c, 200, o);
}

void
api_log(struct api_call *c, const char *fmt, ...)
{
	char line[512], safe[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fs_err_oneline(safe, sizeof safe, line);
	log_info("ui: %s (from %s)", safe, c->req->client_addr ?
	    c->req->client_addr : "?");
}

/* --- request helpers ------------------------------------------------------ */

int
api_body(struct api_call *c, const char *const *allowed)
{
	const struct http_request *req = c->req;
	const char *ct;
	cJSON *it;

	if (c->body == NULL) {
		if (req->body_len == 0) {
			c->body = cJSON_CreateObject();
		} else {
			ct = http_request_header(req, "Content-Type");
			if (ct == NULL || strncasecmp(ct, "application/json",
			    16) != 0 || (ct[16] != '\0' && ct[16] != ';' &&
			    ct[16] != ' ')) {
				http_response_error(c->resp, 415, "send the "
				    "request body as application/json");
				return -1;
			}
			if (req->body_len > FS_API_MAX_BODY) {
				http_response_error(c->resp, 413, "request "
				    "body larger than %d bytes",
				    FS_API_MAX_BODY);
				return -1;
			}
			if (!utf8_valid(req->body, req->body_len) ||
			    memchr(req->body, '\0', req->body_len) != NULL) {
				http_response_error(c->resp, 400, "request "
				    "body is not valid UTF-8");
				return -1;
			}
			/* The length counts the NUL the server adds, which
			 * is what cJSON's "nothing after the value" needs. */
			c->body = cJSON_ParseWithLengthOpts(req->body,
			    req->body_len + 1, NULL, 1);
			if (c->body == NULL) {
				http_response_error(c->resp, 400, "request "
				    "body is not valid JSON");
				return -1;
			}
		}
		if (!cJSON_IsObject(c->body)) {
			http_response_error(c->resp, 400, "request body must "
			    "be a JSON object");
			return -1;
		}
	}
	cJSON_ArrayForEach(it, c->body) {
		int known = 0;

		for (const char *const *k = allowed; k && *k; k++)
			if (it->string && strcmp(it->string, *k) == 0)
				known = 1;
		if (!known) {
			char name[80];

			fs_err_oneline(name, sizeof name, it->string ?
			    it->string : "");
			http_response_error(c->resp, 400, "unknown field '%s' in "
			    "the request body", name);
			return -1;
		}
	}
	return 0;
}

static cJSON *
member(struct api_call *c, const char *key, int required, int *ret)
{
	cJSON *v = c->body ? cJSON_GetObjectItemCaseSensitive(c->body, key) :
	    NULL;

	if (v == NULL || cJSON_IsNull(v)) {
		if (required) {
			http_response_error(c->resp, 400, "'%s' is required",
			    key);
			*ret = -1;
		} else
			*ret = 0;
		return NULL;
	}
	*ret = 1;
	return v;
}

int
api_str(struct api_call *c, const char *key, int required, size_t max,
    const char **out)
{
	int r;
	cJSON *v = member(c, key, required, &r);

	*out = NULL;
	if (v == NULL)
		return r;
	if (!cJSON_IsString(v)) {
		http_response_error(c->resp, 400, "'%s' must be a string", key);
		return -1;
	}
	if (strlen(v->valuestring) > max) {
		http_response_error(c->resp, 400, "'%s' is longer than %zu "
		    "bytes", key, max);
		return -1;
	}
	*out = v->valuestring;
	return 1;
}

int
api_int(struct api_call *c, const char *key, int required, long long min,
    long long max, long long *out)
{
	int r;
	cJSON *v = member(c, key, required, &r);

	if (v == NULL)
		return r;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)
	    v->valuedouble || v->valuedouble < (double)min ||
	    v->valuedouble > (double)max) {
		http_response_error(c->resp, 400, "'%s' must be a whole number "
		    "from %lld to %lld", key, min, max);
		return -1;
	}
	*out = (long long)v->valuedouble;
	return 1;
}

int
api_bool(struct api_call *c, const char *key, int required, int *out)
{
	int r;
	cJSON *v = member(c, key, required, &r);

	if (v == NULL)
		return r;
	if (!cJSON_IsBool(v)) {
		http_response_error(c->resp, 400, "'%s' must be true or false",
		    key);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

const char *
api_arg(struct api_call *c, const char *name)
{
	return http_request_arg(c->req, name);
}

int
api_arg_int(struct api_call *c, const char *name, long long min,
    long long max, long long def, long long *out)
{
	const char *v = api_arg(c, name);

	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	if (util_parse_int(v, min, max, out) == -1) {
		http_response_error(c->resp, 400, "query argument '%s' must be "
		    "a whole number from %lld to %lld", name, min, max);
		return -1;
	}
	return 0;
}

/* --- sessions --------------------------------------------------------------- */

static void
set_cookie(struct api_call *c, const char *value, int clear)
{
	char h[256];

	snprintf(h, sizeof h, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
	    c->a->cookie, value, clear ? "; Max-Age=0" : "",
	    c->a->tls ? "; Secure" : "");
	http_response_header(c->resp, "Set-Cookie", h);
}

static cJSON *
session_json(struct api_call *c, const char *csrf, int64_t left)
{
	struct fs_err err;
	cJSON *o = cJSON_CreateObject(), *info;

	cJSON_AddStringToObject(o, "csrf", csrf);
	cJSON_AddNumberToObject(o, "expires_in", (double)left);
	fs_err_clear(&err);
	if ((info = instance_info(c->a->s, &err)) != NULL)
		cJSON_AddItemToObject(o, "instance", info);
	return o;
}

static void
login(struct api_call *c)
{
	static const char *const keys[] = { "password", NULL };
	const char *addr = c->req->client_addr ? c->req->client_addr : "?";
	char token[FS_SESSION_HEX], csrf[FS_SESSION_HEX];
	const char *pw;
	struct fs_err err;
	int64_t now = server_clock_ms(), wait;
	int ok;

	if ((wait = session_login_wait(c->a->sessions, addr, now)) > 0) {
		char secs[32];
		long long s = (wait + 999) / 1000;

		snprintf(secs, sizeof secs, "%lld", s);
		http_response_error(c->resp, 429, "too many wrong passwords "
		    "from %s; try again in %lld s", addr, s);
		http_response_header(c->resp, "Retry-After", secs);
		return;
	}
	if ((wait = session_login_busy(c->a->sessions, now)) > 0) {
		char secs[32];
		long long s = (wait + 999) / 1000;

		snprintf(secs, sizeof secs, "%lld", s);
		http_response_error(c->resp, 429, "too many wrong passwords on "
		    "this server in the last minute, from every address "
		    "together; try again in %lld s", s);
		http_response_header(c->resp, "Retry-After", secs);
		return;
	}
	if (api_body(c, keys) == -1 ||
	    api_str(c, "password", 1, FS_ADMINPW_MAX, &pw) == -1)
		return;
	fs_err_clear(&err);
	ok = adminpw_check(c->a->s, pw, &err);
	if (ok == -1) {
		if (err.code == FS_ENOTFOUND)
			http_response_error(c->resp, 409, "%s", err.msg);
		else
			api_fail(c, &err);
		return;
	}
	if (!ok) {
		wait = session_login_failed(c->a->sessions, addr, now);
		log_warn("ui: wrong password from %s%s", addr, wait > 0 ?
		    "; further attempts refused for a while" : "");
		http_response_error(c->resp, 401, "wrong password");
		return;
	}
	session_login_ok(c->a->sessions, addr);
	if (session_open(c->a->sessions, now, token, csrf) == -1) {
		http_response_error(c->resp, 500, "cannot get random bytes");
		return;
	}
	log_info("ui: login from %s", addr);
	set_cookie(c, token, 0);
	api_ok(c, 200, session_json(c, csrf, FS_SESSION_IDLE_S));
	explicit_bzero(token, sizeof token);
}

/*
 * A browser names the page's origin on cross-origin and on most
 * same-origin changes; when it does, it must be this server.
 */
static int
same_origin(const struct http_request *req)
{
	const char *origin = http_request_header(req, "Origin");
	const char *host = http_request_header(req, "Host");
	const char *o;

	if (origin == NULL)
		return 1;
	if (host == NULL)
		return 0;
	if (strncmp(origin, "http://", 7) == 0)
		o = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		o = origin + 8;
	else
		return 0;
	return strcasecmp(o, host) == 0;
}

/*
 * On a loopback address, the Host a request names must be one too.  A
 * page whose own name an attacker has pointed at 127.0.0.1 (DNS
 * rebinding) is same-origin to the browser, but still names that name.
 */
static int
host_allowed(const struct api *a, const struct http_request *req)
{
	const char *host = http_request_header(req, "Host");
	size_t n;

	if (!a->loopback)
		return 1;
	if (host == NULL)
		return 0;
	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0 &&
		    (host[5] == '\0' || host[5] == ':');
	n = strcspn(host, ":");
	if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
		return 1;
	if (strncmp(host, "127.", 4) != 0)
		return 0;
	/* A dotted quad: a name like 127.evil.example is no address. */
	for (size_t i = 4; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return 0;
	return 1;
}

static int
split_path(struct api_call *c, const char *sub)
{
	char *p, *save = NULL, *tok;

	c->segbuf = xstrdup(sub);
	for (p = c->segbuf; (tok = strtok_r(p, "/", &save)) != NULL; p = NULL) {
		if (c->nseg == 4)
			return -1;
		c->seg[c->nseg++] = tok;
	}
	return c->nseg > 0 ? 0 : -1;
}

static int
is_change(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0;
}

static void
api_serve(struct api *a, const struct http_request *req,
    struct http_response *resp)
{
	struct api_call c;
	char csrf[FS_SESSION_HEX];
	const char *token;
	int64_t left = 0;

	memset(&c, 0, sizeof c);
	c.a = a;
	c.req = req;
	c.resp = resp;
	if (!host_allowed(a, req)) {
		http_response_error(resp, 403, "this server listens on a "
		    "loopback address: name it as 127.0.0.1, [::1] or "
		    "localhost in the URL");
		goto out;
	}
	{
		/* "fieldsync passwd" ends every session, as a restart would. */
		unsigned char tag[32];

		adminpw_tag(a->s, tag);
		if (memcmp(tag, a->pwtag, sizeof tag) != 0) {
			session_close_all(a->sessions);
			memcpy(a->pwtag, tag, sizeof tag);
			log_info("ui: the admin password changed: every session "
			    "ended");
		}
	}
	if (strcmp(req->path, "/api/login") == 0) {
		if (strcmp(req->method, "POST") != 0) {
			http_response_error(resp, 405, "use POST");
			http_response_header(resp, "Allow", "POST");
		} else if (!same_origin(req))
			http_response_error(resp, 403, "cross-origin request "
			    "refused");
		else
			login(&c);
		goto out;
	}
	token = http_request_cookie(req, a->cookie);
	if (session_find(a->sessions, token, server_clock_ms(), csrf,
	    &left) == -1) {
		http_response_error(resp, 401, "not logged in");
		goto out;
	}
	if (is_change(req->method)) {
		if (!same_origin(req)) {
			http_response_error(resp, 403, "cross-origin request "
			    "refused");
			goto out;
		}
		if (!session_csrf_ok(csrf, http_request_header(req,
		    "X-CSRF-Token"))) {
			http_response_error(resp, 403, "missing or wrong "
			    "X-CSRF-Token header");
			goto out;
		}
	}
	if (split_path(&c, req->path + 4) == -1) {
		http_response_error(resp, 404, "no such API route");
		goto out;
	}
	if (strcmp(c.seg[0], "session") == 0 && c.nseg == 1) {
		if (strcmp(req->method, "GET") != 0)
			http_response_error(resp, 405, "use GET");
		else
			api_ok(&c, 200, session_json(&c, csrf, left));
	} else if (strcmp(c.seg[0], "logout") == 0 && c.nseg == 1) {
		if (strcmp(req->method, "POST") != 0)
			http_response_error(resp, 405, "use POST");
		else if (api_body(&c, NULL) == 0) {
			session_close(a->sessions, token);
			set_cookie(&c, "", 1);
			api_log(&c, "logout");
			api_done(&c);
		}
	} else if (strcmp(c.seg[0], "pairings") == 0)
		api_pair_route(&c);
	else
		api_data_route(&c);
	if (is_change(req->method) && resp->status >= 200 &&
	    resp->status < 300 && strcmp(c.seg[0], "logout") != 0)
		api_log(&c, "%s %s", req->method, req->path);
out:
	explicit_bzero(csrf, sizeof csrf);
	cJSON_Delete(c.body);
	free(c.segbuf);
	http_response_header(resp, "Cache-Control", "no-store");
}

/* --- static files ------------------------------------------------------------ */

static const char *
content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t k = strlen(types[i].ext);

		if (n > k && strcmp(name + n - k, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void
static_serve(const struct http_request *req, struct http_response *resp)
{
	const struct embedded_file *f;
	const char *name;

	/* Only a whole name from the table: never a path on disk. */
	name = strcmp(req->path, "/") == 0 ? "index.html" : req->path + 1;
	if (req->path[0] != '/' || (f = embedded_find(embedded_web,
	    name)) == NULL) {
		/* An active side whose URL has a path this server lacks. */
		if (ends_with(req->path, "/sync/v1/exchange") ||
		    ends_with(req->path, "/sync/v1/hello"))
			http_response_error(resp, 404, "not found: fieldsync "
			    "serves its sync endpoint at /sync/v1/ (check the "
			    "path of the pairing's URL)");
		else
			http_response_error(resp, 404, "not found");
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_response_error(resp, 405, "use GET");
		http_response_header(resp, "Allow", "GET, HEAD");
		return;
	}
	resp->status = 200;
	resp->content_type = content_type(f->name);
	resp->body = xmalloc(f->len + 1);
	memcpy(resp->body, f->data, f->len + 1);
	resp->body_len = f->len;
	http_response_header(resp, "Cache-Control", "no-cache");
	if (strcmp(resp->content_type, "text/html; charset=utf-8") == 0)
		http_response_header(resp, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' data:; "
		    "frame-ancestors 'none'; base-uri 'none'; "
		    "form-action 'self'");
}

void
api_handle(struct api *a, const struct http_request *req,
    struct http_response *resp)
{
	if (strcmp(req->path, "/api") == 0 ||
	    strncmp(req->path, "/api/", 5) == 0) {
		/*
		 * This thread serves the sync endpoint too: behind an app's
		 * long write transaction the UI waits as briefly as a peer.
		 */
		sqlite3_busy_timeout(a->s->db, ENDPOINT_BUSY_MS);
		api_serve(a, req, resp);
		sqlite3_busy_timeout(a->s->db, STORE_BUSY_MS);
	} else
		static_serve(req, resp);
	http_response_header(resp, "X-Content-Type-Options", "nosniff");
	http_response_header(resp, "X-Frame-Options", "DENY");
	http_response_header(resp, "Referrer-Policy", "no-referrer");
}
