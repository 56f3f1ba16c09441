/* endpoint.c - /sync/v1/ over HTTP; see endpoint.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "log.h"
#include "pairing.h"
#include "passive.h"
#include "util.h"

int
endpoint_ha1_lookup(struct store *s, const char *user, unsigned char ha1[32])
{
	struct pairing *p;
	int ret = -1;

	if (!pairing_name_valid(user))
		return -1;
	if ((p = pairing_get(s, user, NULL)) == NULL)
		return -1;
	/*
	 * A disabled pairing still authenticates: the exchange is then
	 * refused with 403 and that reason, not as a wrong password (which
	 * would also count towards the address's lockout).
	 */
	if (strcmp(p->role, "passive") == 0 &&
	    util_unhex(p->secret, ha1, 32) == 0)
		ret = 0;
	pairing_free(p);
	return ret;
}

int
endpoint_status(int code)
{
	switch (code) {
	case FS_EINVAL:
		return 400;
	case FS_EAUTH:
		return 401;
	case FS_ENOTFOUND:
		return 403;
	case FS_ECONFLICT:
		return 409;
	case FS_EBUSY:
		return 503;
	default:
		return 500;
	}
}

/*
 * Every refusal is logged as well as answered: the passive side's admin
 * sees why a branch fails without asking for the branch's log.
 */
static void
refuse(const struct http_request *req, struct http_response *resp,
    int status, const char *msg)
{
	log_warn("pairing %s: refused %s %s from %s: %d: %s",
	    req->auth_user ? req->auth_user : "(none)", req->method, req->path,
	    req->client_addr ? req->client_addr : "?", status, msg);
	http_response_error(resp, status, "%s", msg);
}

void
endpoint_sync(struct store *s, const struct http_request *req,
    struct http_response *resp)
{
	struct fs_err err;
	struct buf out;
	int r, hello;

	fs_err_clear(&err);
	if (strcmp(req->method, "POST") != 0) {
		refuse(req, resp, 405, "use POST");
		http_response_header(resp, "Allow", "POST");
		return;
	}
	if (req->auth_user == NULL) {
		refuse(req, resp, 401, "authentication required");
		return;
	}
	hello = strcmp(req->path, "/sync/v1/hello") == 0;
	if (!hello && strcmp(req->path, "/sync/v1/exchange") != 0) {
		refuse(req, resp, 404, "no such endpoint: use /sync/v1/hello or "
		    "/sync/v1/exchange");
		return;
	}
	buf_init(&out, 0);
	/*
	 * This thread serves every request, the web UI's too: behind an
	 * app's long write transaction it waits briefly and answers 503;
	 * the active side tries again at its next pass.
	 */
	sqlite3_busy_timeout(s->db, ENDPOINT_BUSY_MS);
	if (hello)
		r = passive_hello(s, req->auth_user, req->body, req->body_len,
		    &out, &err);
	else
		r = passive_exchange(s, req->auth_user, req->body,
		    req->body_len, &out, &err);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (r == -1) {
		int status = endpoint_status(err.code);

		buf_free(&out);
		if (status >= 500)
			passive_record_failure(s, req->auth_user, &err);
		refuse(req, resp, status, err.msg);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body_len = out.len;
	resp->body = buf_steal(&out);
}
