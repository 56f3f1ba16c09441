/*
 * api.h - the web UI: its JSON API under /api/ and its static files.
 *
 * Every page of the UI is backed by the API, and every API handler is a
 * thin adapter over the same core calls the command line makes (no
 * logic of its own), so the UI can never do what the CLI cannot.  What
 * the API itself enforces:
 *
 *  - a session (session.h) on every /api/ path but POST /api/login: 401
 *    without one, whatever the path;
 *  - the session's CSRF token in X-CSRF-Token on every POST, PUT, PATCH
 *    and DELETE (and a same-origin Origin header when the browser sends
 *    one): 403 otherwise, before anything is looked at;
 *  - request bodies: a JSON object of at most FS_API_MAX_BODY bytes,
 *    valid UTF-8, only the known keys, each of the right type; any
 *    violation is one 400 and nothing changes;
 *  - errors as {"error": "..."} with a fitting 4xx (5xx for our faults).
 *
 * Static files are only ever the names compiled into embedded_web: a
 * request path is looked up as a whole name in that table, never joined
 * to a directory, so no "..", encoded or not, can reach outside web/.
 *
 * A pass or a connection test never runs here (this is the server
 * thread, which also serves the sync endpoint): they are posted to the
 * job board (jobs.h) that the daemon loop works through, and the page
 * polls it.  All of this runs in the server thread, one request at a
 * time, with the server thread's own store.
 */
#ifndef FS_API_H
#define FS_API_H

#include "jobs.h"
#include "server.h"
#include "store.h"

#define FS_API_MAX_BODY (64 * 1024)

struct api;

struct api_config {
	struct store *store;	/* used by the server thread only */
	struct job_board *jobs;
	int tls;		/* served over TLS: cookies get Secure */
	int loopback;		/* listening on a loopback address only */
};

struct api *api_new(const struct api_config *cfg, struct fs_err *err);
void api_free(struct api *a);
/* Answer a request for anything outside /sync/ (the UI and /api/). */
void api_handle(struct api *a, const struct http_request *req,
    struct http_response *resp);

#endif
