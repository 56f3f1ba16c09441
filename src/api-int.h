/*
 * api-int.h - what the API's files share (api.c: routing, sessions,
 * static files, request helpers; api-pair.c: pairings, maps, jobs;
 * api-data.c: instance, tables, conflicts, records).
 */
#ifndef FS_API_INT_H
#define FS_API_INT_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "api.h"
#include "session.h"

struct api {
	struct store *s;
	struct job_board *jobs;
	struct session_table *sessions;
	int tls;
	int loopback;		/* listening on a loopback address only */
	unsigned char pwtag[32];	/* adminpw_tag when sessions began */
	char cookie[48];	/* the session cookie's name */
};

/* One API request as the handlers see it. */
struct api_call {
	struct api *a;
	const struct http_request *req;
	struct http_response *resp;
	const char *seg[4];	/* path segments after /api/ (NULL-padded) */
	int nseg;
	char *segbuf;		/* storage of seg */
	cJSON *body;		/* the parsed request body, or NULL */
};

/* Answer with the status fitting err's code and its message. */
void api_fail(struct api_call *c, const struct fs_err *err);
/* Answer 200 (or status) with json (consumed). */
void api_ok(struct api_call *c, int status, cJSON *json);
/* Answer {"ok": true}. */
void api_done(struct api_call *c);

/*
 * Parse the body into c->body: a JSON object whose keys are all in
 * allowed (NULL-terminated).  On failure answers 400/415 and returns -1.
 */
int api_body(struct api_call *c, const char *const *allowed);
/*
 * Typed members of c->body.  Each returns 1 when present and valid, 0
 * when absent (answering 400 and returning -1 when required), -1 after
 * answering 400 for a wrong type or value.
 */
int api_str(struct api_call *c, const char *key, int required, size_t max,
    const char **out);
int api_int(struct api_call *c, const char *key, int required,
    long long min, long long max, long long *out);
int api_bool(struct api_call *c, const char *key, int required, int *out);
/* A query argument: NULL when absent. */
const char *api_arg(struct api_call *c, const char *name);
/* An integer query argument in [min, max]; def when absent; -1 on junk
 * (after answering 400). */
int api_arg_int(struct api_call *c, const char *name, long long min,
    long long max, long long def, long long *out);
/* Log one line about a change made through the UI. */
void api_log(struct api_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Route c under /api/; the session and CSRF checks have passed. */
void api_pair_route(struct api_call *c);	/* pairings... */
void api_data_route(struct api_call *c);	/* everything else */

#endif
