/* daemon.c - the serve loop; see daemon.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "active.h"
#include "api.h"
#include "appschema.h"
#include "buf.h"
#include "catalog.h"
#include "client.h"
#include "daemon.h"
#include "endpoint.h"
#include "jobs.h"
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
	int interval;		/* the one due_ms was counted with */
	int enabled;
	char *peer;		/* what cl was made with (runner_follow) */
	struct client *cl;
	struct runner *next;
};

struct daemon {
	const struct daemon_opts *o;
	struct store *srv_store;	/* used only by the server thread */
	struct store *loop_store;	/* used only by the main loop */
	struct server *srv;
	struct runner *runners;
	int64_t next_scan_ms;		/* when run_due next reads pairings */
	struct job_board *jobs;		/* UI requests for the loop */
	struct api *api;		/* the web UI, server thread only */
};

static volatile sig_atomic_t stopping;

/*
 * The database holds each pairing's key (the passive side its Digest
 * HA1): whoever reads the file can sync as that pairing.  The app may
 * mean its group to read it, so this is said, not refused.
 */
static void
warn_readable(const char *db)
{
	struct stat sb;

	if (stat(db, &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)) != 0)
		log_warn("%s can be read by other users of this machine, and it "
		    "holds the pairing keys: chmod go-r %s (and its -wal and "
		    "-shm files)", db, db);
}

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
	else if (d->o->no_ui) {
		http_response_error(resp, 404, "this server has its web UI "
		    "turned off (serve --no-ui): it serves /sync/v1/ only");
		http_response_header(resp, "X-Content-Type-Options", "nosniff");
	} else
		api_handle(d->api, req, resp);
}

static void
server_log(void *ctx, const char *line)
{
	(void)ctx;
	/* It says only what went wrong: refused logins, libmicrohttpd. */
	log_warn("%s", line);
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
	r->enabled = 1;
	r->next = d->runners;
	d->runners = r;
	return r;
}

/*
 * Settings changed while the daemon runs (pair set, the web UI): a new
 * URL, password or CA file needs a new connection; a new interval, or
 * the pairing enabled again, counts from now, not from when the old
 * schedule would have run it (a day, for a mistaken interval).
 */
static void
runner_follow(struct runner *r, const struct pairing *p, int64_t now)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s\n%s\n%s", p->url ? p->url : "",
	    p->secret ? p->secret : "", p->ca_file ? p->ca_file : "");
	if (r->peer == NULL || strcmp(r->peer, b.data) != 0) {
		/*
		 * The back-off was for the old address or password: the new
		 * one is tried now (a moved peer, a fixed typo).
		 */
		if (r->peer != NULL && r->failures > 0) {
			r->failures = 0;
			r->due_ms = now;
		}
		client_free(r->cl);
		r->cl = NULL;
		free(r->peer);
		r->peer = xstrdup(b.data);
	}
	buf_free(&b);
	if (!p->enabled)
		r->enabled = 0;
	else if (!r->enabled || (r->interval != 0 &&
	    r->interval != p->interval)) {
		if (r->due_ms > now + (int64_t)p->interval * 1000)
			r->due_ms = now + (int64_t)p->interval * 1000;
		if (!r->enabled)
			r->due_ms = now;
		r->enabled = 1;
	}
	r->interval = p->interval;
}

struct job_ctx {
	struct job_board *jobs;
	int64_t id;
};

static void
job_progress(void *ctx, const struct sync_progress *p)
{
	struct job_ctx *j = ctx;

	jobs_progress(j->jobs, j->id, p);
}

/*
 * Run the oldest job the UI posted: a connection test, or a pass under
 * the sync lock (a cron "sync" holding it makes the job wait).  Passes
 * share the pairing's runner, so its connection is reused and a success
 * ends its back-off.
 */
static void
run_job(struct daemon *d)
{
	char name[FS_JOB_NAME];
	enum job_kind kind;
	struct fs_err err;
	struct pairing *p;
	struct runner *r;
	struct job_ctx jc;
	struct sync_progress prog;
	cJSON *report = NULL;
	int64_t id;
	int fd = -1, rc;

	if ((id = jobs_claim(d->jobs, name, &kind)) == 0)
		return;
	fs_err_clear(&err);
	if ((p = pairing_get(d->loop_store, name, &err)) == NULL) {
		jobs_finish(d->jobs, id, 0, &err, NULL);
		return;
	}
	if (kind == JOB_TEST) {
		log_info("pairing %s: connection test from the UI", p->name);
		if (active_test(d->loop_store, p, &report, &err) == -1)
			jobs_finish(d->jobs, id, 0, &err, NULL);
		else
			jobs_finish(d->jobs, id, cJSON_IsTrue(
			    cJSON_GetObjectItem(report, "ok")), NULL, report);
		pairing_free(p);
		return;
	}
	if (active_lock(d->o->db, 0, &fd, &err) == -1) {
		jobs_requeue(d->jobs, id, "waiting for another sync of this "
		    "database to finish");
		pairing_free(p);
		return;
	}
	log_info("pairing %s: sync started from the UI", p->name);
	r = runner_for(d, p->pid);
	runner_follow(r, p, util_now_ms());
	memset(&prog, 0, sizeof prog);
	jc.jobs = d->jobs;
	jc.id = id;
	prog.cb = job_progress;
	prog.ctx = &jc;
	prog.stop = &stopping;
	rc = active_sync(d->loop_store, p, &r->cl, 1, &prog, &err);
	active_unlock(fd);
	if (rc == 0) {
		r->failures = 0;
		r->due_ms = util_now_ms() + (int64_t)p->interval * 1000;
		log_info("pairing %s: synced from the UI: sent %lld values, "
		    "received %lld values, %lld conflicts", p->name,
		    (long long)prog.sent_values, (long long)prog.recv_values,
		    (long long)prog.conflicts);
	} else {
		log_warn("pairing %s: %s: %s", p->name,
		    active_error_kind(err.code), err.msg);
		client_free(r->cl);
		r->cl = NULL;
	}
	jobs_finish(d->jobs, id, rc == 0, rc == 0 ? NULL : &err, NULL);
	pairing_free(p);
}

static void
run_due(struct daemon *d)
{
	struct fs_err err;
	char **names;
	int64_t now = util_now_ms();

	/*
	 * Pairings are read again when one is due, or after a second at the
	 * latest (so a pairing added or enabled meanwhile starts soon), not
	 * on every tick of the loop.
	 */
	if (now < d->next_scan_ms)
		return;
	{
		/* Deletes no trigger saw (catalog_sweep), at most hourly. */
		int64_t gone;

		fs_err_clear(&err);
		if (catalog_sweep(d->loop_store, &gone, &err) == -1 &&
		    err.code != FS_EBUSY)
			log_warn("looking for rows removed without a delete: %s",
			    err.msg);
		else if (gone > 0)
			log_info("%lld records whose rows were removed without a "
			    "delete trigger (a REPLACE) are now deleted",
			    (long long)gone);
	}
	d->next_scan_ms = now + 1000;
	if ((names = pairing_names(d->loop_store, &err)) == NULL) {
		log_warn("cannot list pairings: %s", err.msg);
		return;
	}
	for (char **n = names; *n && !stopping; n++) {
		struct pairing *p = pairing_get(d->loop_store, *n, &err);
		struct sync_progress prog;
		struct runner *r;
		int fd = -1, rc;

		if (p == NULL || strcmp(p->role, "active") != 0) {
			pairing_free(p);
			continue;
		}
		r = runner_for(d, p->pid);
		runner_follow(r, p, now);
		if (!p->enabled) {
			pairing_free(p);
			continue;
		}
		if (r->due_ms > now) {
			if (r->due_ms < d->next_scan_ms)
				d->next_scan_ms = r->due_ms;
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
		prog.stop = &stopping;
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
		if (r->due_ms < d->next_scan_ms)
			d->next_scan_ms = r->due_ms;
		pairing_free(p);
	}
	appschema_strv_free(names);
}

/* Whether ADDR:PORT names a loopback address (127.0.0.0/8 or [::1]). */
static int
listen_is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 ||
	    strncmp(listen, "[::1]:", 6) == 0 ||
	    strncmp(listen, "localhost:", 10) == 0;
}

/* Whether path names another file than it did (or none). */
static int
replaced(const char *path, const struct stat *was)
{
	struct stat now;

	if (stat(path, &now) == -1)
		return errno == ENOENT || errno == ENOTDIR;
	return now.st_dev != was->st_dev || now.st_ino != was->st_ino;
}

int
daemon_run(const struct daemon_opts *o, struct fs_err *err)
{
	struct daemon d;
	struct server_config cfg;
	struct sigaction sa;
	struct stat opened;
	int ret = -1;

	memset(&d, 0, sizeof d);
	d.o = o;
	if ((d.loop_store = store_open(o->db, err)) == NULL ||
	    (stat(o->db, &opened) == -1 && fs_err_set(err, FS_EIO,
	    "cannot stat %s: %s", o->db, strerror(errno)) == -1) ||
	    store_check_ready(d.loop_store, err) == -1 ||
	    store_check_writable(d.loop_store, err) == -1 ||
	    (d.srv_store = store_open(o->db, err)) == NULL)
		goto out;
	d.jobs = jobs_new();
	{
		struct api_config ac = { d.srv_store, d.jobs,
		    o->tls_cert != NULL, listen_is_loopback(o->listen ?
		    o->listen : FS_DEFAULT_LISTEN) };

		if ((d.api = api_new(&ac, err)) == NULL)
			goto out;
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.listen = o->listen ? o->listen : FS_DEFAULT_LISTEN;
	cfg.tls_cert = o->tls_cert;
	cfg.tls_key = o->tls_key;
	cfg.max_body = FS_PROTO_MAX_BODY;
	cfg.max_open_body = FS_API_MAX_BODY;
	cfg.digest_prefix = "/sync/";
	cfg.ha1_lookup = ha1_lookup;
	cfg.handle = handle;
	cfg.log = server_log;
	cfg.ctx = &d;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed terminal: the same clean stop, not a death mid-pass. */
	sigaction(SIGHUP, &sa, NULL);
	client_stop_on(&stopping);
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
	warn_readable(o->db);
	while (!stopping) {
		run_job(&d);
		run_due(&d);
		if (replaced(o->db, &opened)) {
			/*
			 * Our connections still hold the old file: what they
			 * wrote now would be lost with it, and acknowledged.
			 */
			fs_err_set(err, FS_EIO, "%s was replaced or removed "
			    "while serve ran: stopped, so that nothing more "
			    "goes into the old file; start serve again", o->db);
			log_warn("%s", err->msg);
			goto out;
		}
		usleep(100000);
	}
	log_info("stopping");
	ret = 0;
out:
	server_stop(d.srv);
	api_free(d.api);
	jobs_free(d.jobs);
	while (d.runners) {
		struct runner *r = d.runners;

		d.runners = r->next;
		client_free(r->cl);
		free(r->peer);
		free(r);
	}
	store_close(d.srv_store);
	store_close(d.loop_store);
	return ret;
}
