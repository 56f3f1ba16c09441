/*
 * server-request.c - looking up headers, query arguments and cookies of
 * a request; see server.h.
 *
 * A request from the server carries its libmicrohttpd connection in
 * priv; a request built by a handler test carries a kv table instead.
 */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <microhttpd.h>

#include "server.h"

static const char *
request_lookup(const struct http_request *req, enum http_kv_kind kind,
    const char *name)
{
	enum MHD_ValueKind mk;

	if (req == NULL || name == NULL)
		return NULL;
	if (req->priv == NULL) {
		const struct http_kv *kv = req->kv;

		for (; kv != NULL && kv->name != NULL; kv++) {
			if (kv->kind != kind)
				continue;
			if (kind == HTTP_KV_HEADER ?
			    strcasecmp(kv->name, name) == 0 :
			    strcmp(kv->name, name) == 0)
				return kv->value;
		}
		return NULL;
	}
	switch (kind) {
	case HTTP_KV_HEADER:
		mk = MHD_HEADER_KIND;
		break;
	case HTTP_KV_ARG:
		mk = MHD_GET_ARGUMENT_KIND;
		break;
	default:
		mk = MHD_COOKIE_KIND;
		break;
	}
	return MHD_lookup_connection_value(req->priv, mk, name);
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return request_lookup(req, HTTP_KV_HEADER, name);
}

const char *
http_request_arg(const struct http_request *req, const char *name)
{
	return request_lookup(req, HTTP_KV_ARG, name);
}

const char *
http_request_cookie(const struct http_request *req, const char *name)
{
	return request_lookup(req, HTTP_KV_COOKIE, name);
}
