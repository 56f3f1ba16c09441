/*
 * endpoint.h - the passive sync endpoint over HTTP: routes /sync/v1/...
 * requests to passive.h and maps its errors to HTTP statuses.
 *
 * The server (server.h) has already checked Digest auth, replay, throttle
 * and the body cap; req->auth_user is the pairing name.
 */
#ifndef FS_ENDPOINT_H
#define FS_ENDPOINT_H

#include "server.h"
#include "store.h"

/*
 * How long a sync request waits for another program's write transaction
 * before it is answered 503 (shorter than STORE_BUSY_MS: one thread
 * serves every request).
 */
#define ENDPOINT_BUSY_MS 2000

/* server_config.ha1_lookup for passive pairings of store s (ctx). */
int endpoint_ha1_lookup(struct store *s, const char *user,
    unsigned char ha1[32]);
/* Handle a request under /sync/. */
void endpoint_sync(struct store *s, const struct http_request *req,
    struct http_response *resp);
/* HTTP status for an fs_err code. */
int endpoint_status(int code);

#endif
