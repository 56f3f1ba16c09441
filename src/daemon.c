/* daemon.c - the serve loop; see daemon.h. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "active.h"
#include "appschema.h"
#include "client.h"
#include "daemon.h"
#include "endpoint.h"
#include "log.h"
#include "proto.h"
#include "pairing.h"
#include "server.h"
#include "store.h"
#include "util.h"

struct runner {
	int64_t pid;
	int64_t due_ms;
	int failures;
	struct client *cl;
	struct runner *next;
};

struct daemon {
	const struct daemon_opts *o;
	struct store *srv_store;	/* used only by the server thread */
	struct store *loop_store;	/* used only by the main loop */
	struct server *srv;
	struct runner *runners;
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
ha1_lookup(void *ctx, const char *user, unsigned char ha1[32])
{
	struct daemon *d = ctx;

	return endpoint_ha1_lookup(d->srv_store, user, ha1);
}

static void
handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct daemon *d = ctx;

	if (strncmp(req->path, "/sync/", 6) == 0)
		endpoint_sync(d->srv_store, req, resp);
	else
		http_response_error(resp, 404, "not found");
}

static void
server_log(void *ctx, const char *line)
{
	(void)ctx;
	log_info("%s", line);
}

static struct runner *
runner_for(struct daemon *d, int64_t pid)
{
	struct runner *r;

	for (r = d->runners; r; r = r->next)
		if (r->pid == pid)
			return r;
	r = xcalloc(1, sizeof *r);
	r->pid = pid;
	r->next = d->runners;
	d->runners = r;
	return r;
}

static void
run_due(struct daemon *d)
{
	struct fs_err err;
	char **names = pairing_names(d->loop_store, &err);
	int64_t now = util_now_ms();

	if (names == NULL) {
		log_warn("cannot list pairings: %s", err.msg);
		return;
	}
	for (char **n = names; *n && !stopping; n++) {
		struct pairing *p = pairing_get(d->loop_store, *n, &err);
		struct sync_progress prog;
		struct runner *r;
		int fd = -1, rc;

		if (p == NULL || strcmp(p->role, "active") != 0 || !p->enabled) {
			pairing_free(p);
			continue;
		}
		r = runner_for(d, p->pid);
		if (r->due_ms > now) {
			pairing_free(p);
			continue;
		}
		if (active_lock(d->o->db, 0, &fd, &err) == -1) {
			/* A cron "sync" holds it: try again shortly. */
			r->due_ms = now + 1000;
			pairing_free(p);
			continue;
		}
		memset(&prog, 0, sizeof prog);
		fs_err_clear(&err);
		rc = active_sync(d->loop_store, p, &r->cl, r->failures > 0,
		    &prog, &err);
		active_unlock(fd);
		if (rc == 0) {
			if (r->failures > 0)
				log_info("pairing %s: connected again", p->name);
			if (prog.sent_values || prog.recv_values || prog.conflicts)
				log_info("pairing %s: synced: sent %lld values in "
				    "%lld records, received %lld values in %lld "
				    "records, %lld conflicts", p->name,
				    (long long)prog.sent_values,
				    (long long)prog.sent_records,
				    (long long)prog.recv_values,
				    (long long)prog.recv_records,
				    (long long)prog.conflicts);
			r->failures = 0;
			r->due_ms = util_now_ms() + (int64_t)p->interval * 1000;
		} else {
			int64_t wait = p->interval;

			if (r->failures == 0)
				log_warn("pairing %s: %s: %s", p->name,
				    active_error_kind(err.code), err.msg);
			r->failures++;
			for (int i = 0; i < r->failures && wait < FS_MAX_BACKOFF_S;
			    i++)
				wait *= 2;
			if (wait > FS_MAX_BACKOFF_S && p->interval <
			    FS_MAX_BACKOFF_S)
				wait = FS_MAX_BACKOFF_S;
			if (wait < p->interval)
				wait = p->interval;
			/* A dropped connection is not reused. */
			client_free(r->cl);
			r->cl = NULL;
			r->due_ms = util_now_ms() + wait * 1000;
		}
		pairing_free(p);
	}
	appschema_strv_free(names);
}

int
daemon_run(const struct daemon_opts *o, struct fs_err *err)
{
	struct daemon d;
	struct server_config cfg;
	struct sigaction sa;
	int ret = -1;

	memset(&d, 0, sizeof d);
	d.o = o;
	if ((d.loop_store = store_open(o->db, err)) == NULL ||
	    store_check_ready(d.loop_store, err) == -1 ||
	    (d.srv_store = store_open(o->db, err)) == NULL)
		goto out;
	memset(&cfg, 0, sizeof cfg);
	cfg.listen = o->listen ? o->listen : FS_DEFAULT_LISTEN;
	cfg.tls_cert = o->tls_cert;
	cfg.tls_key = o->tls_key;
	cfg.max_body = FS_PROTO_MAX_BODY;
	cfg.digest_prefix = "/sync/";
	cfg.ha1_lookup = ha1_lookup;
	cfg.handle = handle;
	cfg.log = server_log;
	cfg.ctx = &d;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d.srv = server_start(&cfg, err)) == NULL)
		goto out;
	{
		const char *colon = strrchr(cfg.listen, ':');
		int hostlen = colon ? (int)(colon - cfg.listen) :
		    (int)strlen(cfg.listen);

		printf("fieldsync: serving %s on %s://%.*s:%d/\n", o->db,
		    o->tls_cert ? "https" : "http", hostlen, cfg.listen,
		    server_port(d.srv));
	}
	fflush(stdout);
	log_info("listening on %s (port %d)", cfg.listen, server_port(d.srv));
	while (!stopping) {
		run_due(&d);
		usleep(100000);
	}
	log_info("stopping");
	ret = 0;
out:
	server_stop(d.srv);
	while (d.runners) {
		struct runner *r = d.runners;

		d.runners = r->next;
		client_free(r->cl);
		free(r);
	}
	store_close(d.srv_store);
	store_close(d.loop_store);
	return ret;
}
