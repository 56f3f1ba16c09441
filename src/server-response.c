/*
 * server-response.c - building plain HTTP responses; see server.h.
 *
 * No libmicrohttpd here: handlers and their tests build responses with
 * these functions and never touch a socket.  The server turns the result
 * into a libmicrohttpd response (server.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "util.h"

void
http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof *resp);
}

void
http_response_clear(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	for (int i = 0; i < resp->nhdr; i++) {
		free(resp->hdr[i].name);
		free(resp->hdr[i].value);
	}
	memset(resp, 0, sizeof *resp);
}

void
http_response_json(struct http_response *resp, int status, cJSON *json)
{
	char *s = json != NULL ? cJSON_PrintUnformatted(json) : NULL;

	cJSON_Delete(json);
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->content_type = "application/json";
	if (s == NULL) {
		/* Out of memory or no tree: a fixed body that needs none. */
		static const char oom[] =
		    "{\"error\":\"cannot build response\"}";

		resp->status = 500;
		resp->body = xstrdup(oom);
		resp->body_len = sizeof oom - 1;
		return;
	}
	resp->status = status;
	resp->body = s;
	resp->body_len = strlen(s);
}

void
http_response_error(struct http_response *resp, int status,
    const char *fmt, ...)
{
	char msg[512];
	cJSON *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	j = cJSON_CreateObject();
	if (j != NULL && cJSON_AddStringToObject(j, "error", msg) == NULL) {
		cJSON_Delete(j);
		j = NULL;
	}
	http_response_json(resp, status, j);
	resp->status = status;
}

static int
header_text_ok(const char *s, int is_name)
{
	if (s == NULL || (is_name && *s == '\0'))
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n' || (is_name &&
		    (*s == ':' || *s == ' ' || *s == '\t')))
			return 0;
	}
	return 1;
}

int
http_response_header(struct http_response *resp, const char *name,
    const char *value)
{
	if (resp->nhdr >= FS_HTTP_MAX_HEADERS || !header_text_ok(name, 1) ||
	    !header_text_ok(value, 0))
		return -1;
	resp->hdr[resp->nhdr].name = xstrdup(name);
	resp->hdr[resp->nhdr].value = xstrdup(value);
	resp->nhdr++;
	return 0;
}

const char *
http_status_text(int status)
{
	static const struct {
		int status;
		const char *text;
	} texts[] = {
		{ 200, "OK" },
		{ 201, "Created" },
		{ 204, "No Content" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 409, "Conflict" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
	};

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (texts[i].status == status)
			return texts[i].text;
	if (status >= 500)
		return "Server Error";
	if (status >= 400)
		return "Client Error";
	return "OK";
}
