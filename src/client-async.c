/*
 * client-async.c - one POST run on its own thread, so the caller can
 * prepare the next request meanwhile; see client.h.
 *
 * The thread only runs client_post: it touches the client and nothing
 * else (no store, no cJSON), and the caller must not use the client
 * until client_post_wait has returned.  If no thread can be started the
 * call runs at once in client_post_start, which is slower but the same.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "util.h"

struct client_call {
	struct client *cl;
	char *path;
	const char *body;
	size_t len, max_resp;
	pthread_t thread;
	int threaded;
	/* The outcome, written by the thread, read after the join. */
	int rc, status;
	char *resp;
	size_t resp_len;
	struct fs_err err;
};

static void *
call_run(void *arg)
{
	struct client_call *c = arg;

	c->rc = client_post(c->cl, c->path, c->body, c->len, c->max_resp,
	    &c->status, &c->resp, &c->resp_len, &c->err);
	return NULL;
}

struct client_call *
client_post_start(struct client *cl, const char *path, const char *body,
    size_t len, size_t max_resp)
{
	struct client_call *c = xcalloc(1, sizeof *c);

	c->cl = cl;
	c->path = xstrdup(path);
	c->body = body;
	c->len = len;
	c->max_resp = max_resp;
	if (pthread_create(&c->thread, NULL, call_run, c) == 0)
		c->threaded = 1;
	else
		call_run(c);
	return c;
}

int
client_post_wait(struct client_call *c, int *status, char **resp,
    size_t *resp_len, struct fs_err *err)
{
	int rc;

	if (c->threaded)
		pthread_join(c->thread, NULL);
	rc = c->rc;
	*status = c->status;
	*resp = c->resp;
	*resp_len = c->resp_len;
	if (rc == -1 && err != NULL)
		*err = c->err;
	free(c->path);
	free(c);
	return rc;
}
