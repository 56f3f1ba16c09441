/*
 * bench-sync.c - sync costs measured beside a baseline in the same run.
 *
 * Everything runs in this process over real HTTP on 127.0.0.1: a
 * libmicrohttpd server with the passive endpoint on one database, the
 * active pass (libcurl) on another.  Each figure is a ratio against raw
 * SQLite (or a bare Digest request) doing the same work on this machine
 * in the same run, because absolute times are noise here.
 *
 *   bench-sync [RECORDS [BIG_ROWS]]   (defaults 100000 and 1000000)
 *   bench-sync --incremental [BIG_ROWS]
 *
 * --incremental measures the 100-record syncs only.  Under valgrind
 * --tool=callgrind --instr-atstart=no it counts the instructions of
 * just those syncs (both sides: the passive runs on a thread here) and
 * of the raw updates, with a dump after each named sync-small,
 * raw-small, sync-big or raw-big (sync-callgrind.sh adds them up).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "active.h"
#include "catalog.h"
#include "changes.h"
#include "pairstate.h"
#include "syncmap.h"
#include "client.h"
#include "endpoint.h"
#include "fieldmap.h"
#include "instance.h"
#include "log.h"
#include "pairing.h"
#include "secret.h"
#include "server.h"
#include "store.h"
#include "util.h"

#ifdef HAVE_VALGRIND_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_DUMP_STATS_AT(what)
#endif

#define NFIELDS 10
#define PASSWORD "bench password"
#define INITIAL_RUNS 5
#define INC_RUNS 15
#define HISTORY 1000

static char dir[256];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct fs_err *err)
{
	fprintf(stderr, "bench-sync: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static void
sql(sqlite3 *db, const char *q)
{
	char *msg = NULL;

	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench-sync: %s: %s\n", q, msg);
		exit(1);
	}
}

static const char SCHEMA[] =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, c1 TEXT, c2 TEXT, c3 TEXT, "
    "c4 INTEGER, c5 INTEGER, c6 REAL, c7 TEXT, c8 TEXT, c9 INTEGER, "
    "c10 TEXT)";

/* Create a database file with n rows; the file settings match fieldsync's. */
static void
make_db(const char *path, int64_t n, double *secs)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0;

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open", NULL);
	sql(db, "PRAGMA journal_mode = WAL");
	sql(db, SCHEMA);
	t0 = now_s();
	sql(db, "BEGIN");
	sqlite3_prepare_v2(db, "INSERT INTO items(c1, c2, c3, c4, c5, c6, c7, "
	    "c8, c9, c10) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1,
	    &st, NULL);
	for (int64_t i = 0; i < n; i++) {
		char a[64], b[64], c[64];

		snprintf(a, sizeof a, "customer %" PRId64, i);
		snprintf(b, sizeof b, "+41 44 %07" PRId64, i);
		snprintf(c, sizeof c, "c%" PRId64 "@example.com", i);
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, c, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, i * 7);
		sqlite3_bind_int64(st, 5, i % 13);
		sqlite3_bind_double(st, 6, (double)i / 3.0);
		sqlite3_bind_text(st, 7, "Bahnhofstrasse 1", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, "8001 Zurich", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, i & 1);
		sqlite3_bind_text(st, 10, "some notes about this customer", -1,
		    SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sql(db, "COMMIT");
	if (secs)
		*secs = now_s() - t0;
	sqlite3_close(db);
}

struct side {
	char path[512];
	struct store *s;
};

static void
setup_side(struct side *sd, const char *name, int64_t rows, int active,
    const char *url)
{
	struct fs_err err;
	int created;
	static const char *cols[NFIELDS] = { "c1", "c2", "c3", "c4", "c5",
	    "c6", "c7", "c8", "c9", "c10" };

	snprintf(sd->path, sizeof sd->path, "%s/%s.db", dir, name);
	make_db(sd->path, rows, NULL);
	if ((sd->s = store_open(sd->path, &err)) == NULL ||
	    instance_init(sd->s, name, &created, &err) == -1 ||
	    catalog_table_add(sd->s, "items", NULL, &err) == -1 ||
	    pairing_add(sd->s, "bench", active ? "active" : "passive",
	    active ? url : NULL, PASSWORD, active ? 1 : -1, &err) == -1)
		die("setup", &err);
	for (int i = 0; i < NFIELDS; i++) {
		char tc[32];
		int64_t fid;

		snprintf(tc, sizeof tc, "items.%s", cols[i]);
		/* Both sides number the same schema alike: field i + 2. */
		if (fieldmap_add(sd->s, "bench", tc, FS_MODE_TWO_WAY,
		    active ? -1 : i + 2, &fid, &err) == -1)
			die("map", &err);
	}
}

static int
lookup(void *ctx, const char *user, unsigned char ha1[32])
{
	return endpoint_ha1_lookup(ctx, user, ha1);
}

static void
handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	if (strcmp(req->path, "/sync/bare") == 0) {	/* Digest, nothing else */
		resp->status = 200;
		resp->content_type = "application/json";
		resp->body = xstrdup("{}");
		resp->body_len = 2;
		return;
	}
	endpoint_sync(ctx, req, resp);
}

static double
sync_once(struct side *a, struct client **cl, struct sync_progress *prog)
{
	struct pairing *p;
	struct fs_err err;
	double t0;

	if ((p = pairing_get(a->s, "bench", &err)) == NULL)
		die("pairing", &err);
	memset(prog, 0, sizeof *prog);
	t0 = now_s();
	if (active_sync(a->s, p, cl, 0, prog, &err) == -1)
		die("sync", &err);
	t0 = now_s() - t0;
	pairing_free(p);
	return t0;
}

static double
raw_updates(const char *path, int n, int64_t rows)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0;

	sqlite3_open(path, &db);
	sqlite3_prepare_v2(db, "UPDATE items SET c2 = ?1 WHERE id = ?2", -1, &st,
	    NULL);
	t0 = now_s();
	sql(db, "BEGIN");
	for (int i = 0; i < n; i++) {
		char v[64];

		snprintf(v, sizeof v, "+41 44 %d changed %f", i, t0);
		sqlite3_bind_text(st, 1, v, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, 1 + (int64_t)i * (rows / n));
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sql(db, "COMMIT");
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t0;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n), n <= 64; v keeps its order (rounds pair up). */
static double
median(const double *v, int n)
{
	double c[64];

	memcpy(c, v, (size_t)n * sizeof *c);
	qsort(c, (size_t)n, sizeof *c, cmp_d);
	return c[n / 2];
}

/*
 * Incremental: 100 changed records, in a synced pair of a small and of a
 * big table.  The two pairs are measured in alternating rounds: one
 * round of each is a few milliseconds apart, so both see the machine in
 * the same state, and big/small is the median of the rounds' own ratios.
 * (Measured one table after the other, tens of seconds apart, the ratio
 * swung with whatever else the machine was doing in between.)
 */
struct inc_pair {
	const char *name;	/* "small" or "big": names the callgrind dumps */
	int64_t rows;
	struct side a, p;
	struct server *srv;
	struct client *cl;
	char plain[600];	/* the same table, with no fieldsync */
	double tsync[INC_RUNS], traw[INC_RUNS];
};

static void
inc_setup(struct inc_pair *ip, const char *name, int64_t rows)
{
	struct server_config cfg;
	struct sync_progress prog;
	struct fs_err err;
	char url[128], pname[64];

	memset(ip, 0, sizeof *ip);
	ip->name = name;
	ip->rows = rows;
	snprintf(pname, sizeof pname, "passive-%s", name);
	setup_side(&ip->p, pname, 0, 0, NULL);
	memset(&cfg, 0, sizeof cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.max_body = (size_t)256 << 20;
	cfg.digest_prefix = "/sync/";
	cfg.ha1_lookup = lookup;
	cfg.handle = handle;
	cfg.ctx = ip->p.s;
	if ((ip->srv = server_start(&cfg, &err)) == NULL)
		die("server", &err);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", server_port(ip->srv));
	snprintf(pname, sizeof pname, "active-%s", name);
	setup_side(&ip->a, pname, rows, 1, url);
	sync_once(&ip->a, &ip->cl, &prog);	/* initial, not measured here */
	snprintf(ip->plain, sizeof ip->plain, "%s/plain-%s.db", dir, name);
	make_db(ip->plain, rows, NULL);
}

/* One round: the app changes 100 records, then the sync; raw updates. */
static void
inc_round(struct inc_pair *ip, int k)
{
	struct sync_progress prog;
	char dump[32];

	raw_updates(ip->a.path, 100, ip->rows);
	CALLGRIND_START_INSTRUMENTATION;
	ip->tsync[k] = sync_once(&ip->a, &ip->cl, &prog);
	CALLGRIND_STOP_INSTRUMENTATION;
	snprintf(dump, sizeof dump, "sync-%s", ip->name);
	CALLGRIND_DUMP_STATS_AT(dump);
	if (prog.sent_values != 100) {
		fprintf(stderr, "bench-sync: expected 100 values, sent "
		    "%" PRId64 "\n", prog.sent_values);
		exit(1);
	}
	CALLGRIND_START_INSTRUMENTATION;
	ip->traw[k] = raw_updates(ip->plain, 100, ip->rows);
	CALLGRIND_STOP_INSTRUMENTATION;
	snprintf(dump, sizeof dump, "raw-%s", ip->name);
	CALLGRIND_DUMP_STATS_AT(dump);
}

/*
 * The same 100 records changed and synced `history` times more, then
 * measured again: a field's long history must not slow the sync of its
 * next change.
 */
static double
inc_history(struct inc_pair *ip, int history)
{
	struct sync_progress prog;
	double t[INC_RUNS];

	for (int k = 0; k < history; k++) {
		raw_updates(ip->a.path, 100, ip->rows);
		sync_once(&ip->a, &ip->cl, &prog);
	}
	for (int k = 0; k < INC_RUNS; k++) {
		raw_updates(ip->a.path, 100, ip->rows);
		t[k] = sync_once(&ip->a, &ip->cl, &prog);
	}
	return median(t, INC_RUNS);
}

/* Wire bytes: the batch 100 changed records make, per field. */
static double
inc_wire(struct inc_pair *ip)
{
	struct pairing *pr;
	struct pairstate ps;
	struct syncmap *m;
	struct batch_out bo;
	struct buf out;
	struct fs_err err;
	double bpf;

	raw_updates(ip->a.path, 100, ip->rows);
	buf_init(&out, 0);
	if ((pr = pairing_get(ip->a.s, "bench", &err)) == NULL ||
	    pairstate_load(ip->a.s, pr->pid, &ps, &err) == -1 ||
	    (m = syncmap_load(ip->a.s, pr, &err)) == NULL ||
	    changes_build(ip->a.s, m, ps.sent_seq, 0, (size_t)4 << 20, &out,
	    &bo, &err) == -1)
		die("batch", &err);
	bpf = (double)out.len / (double)bo.values;
	buf_free(&out);
	syncmap_free(m);
	pairstate_clear(&ps);
	pairing_free(pr);
	return bpf;
}

static void
inc_teardown(struct inc_pair *ip)
{
	client_free(ip->cl);
	store_close(ip->a.s);
	server_stop(ip->srv);
	store_close(ip->p.s);
}

/* The median over rounds of x[k] / y[k]. */
static double
median_ratio(const double *x, const double *y, int n)
{
	double r[INC_RUNS];

	for (int k = 0; k < n; k++)
		r[k] = x[k] / y[k];
	return median(r, n);
}

static void
incremental(int64_t big, int history)
{
	struct inc_pair sm, bg;
	double s_small, s_hist, bpf;

	inc_setup(&sm, "small", 1000);
	inc_setup(&bg, "big", big);
	for (int k = 0; k < INC_RUNS; k++) {
		inc_round(&sm, k);
		inc_round(&bg, k);
	}
	s_small = median(sm.tsync, INC_RUNS);
	printf("incremental sync of 100 records (medians of %d alternating "
	    "rounds): 1000-row table %.2f ms (ratio %.2fx vs raw updates)  "
	    "%" PRId64 "-row table %.2f ms (ratio %.2fx)  big/small %.2f "
	    "(target <= 1.20; raw updates big/small %.2f)\n", INC_RUNS,
	    s_small * 1e3, median_ratio(sm.tsync, sm.traw, INC_RUNS), big,
	    median(bg.tsync, INC_RUNS) * 1e3,
	    median_ratio(bg.tsync, bg.traw, INC_RUNS),
	    median_ratio(bg.tsync, sm.tsync, INC_RUNS),
	    median_ratio(bg.traw, sm.traw, INC_RUNS));
	inc_teardown(&bg);
	if (history > 0) {
		s_hist = inc_history(&sm, history);
		printf("incremental sync of 100 records after %d more changes "
		    "of each: %.2f ms (%.2fx the first rounds; a field's "
		    "history must not slow its next change)\n", history,
		    s_hist * 1e3, s_hist / s_small);
	}
	bpf = inc_wire(&sm);
	printf("wire: %.1f bytes of batch per changed field (a ~30-byte text "
	    "value with its record identity and version)\n", bpf);
	inc_teardown(&sm);
}

/* 1. Initial sync of n records x 10 fields; 2. idle polls. */
static void
initial_and_idle(int64_t n)
{
	struct side a, p;
	struct server *srv;
	struct server_config cfg;
	struct client *cl = NULL;
	struct sync_progress prog;
	struct fs_err err;
	char url[128], plain[600];
	double raw, t, idle[21], bare[21];
	double raws[INITIAL_RUNS], ts[INITIAL_RUNS], ratios[INITIAL_RUNS];

	/* 1. Initial sync of n records x 10 fields vs raw inserts. */
	snprintf(plain, sizeof plain, "%s/plain.db", dir);
	/*
	 * Five runs of each, alternating: the ratio is the median of each
	 * run's sync time over the raw insert just before it.  One run of
	 * either swings by half on this kind of machine (a shared virtual
	 * CPU), and a pair measured together swings alike.
	 */
	for (int k = 0; k < INITIAL_RUNS; k++) {
		make_db(plain, n, &raws[k]);
		if (k > 0) {
			client_free(cl);
			cl = NULL;
			store_close(a.s);
			server_stop(srv);
			store_close(p.s);
		}
		setup_side(&p, "passive", 0, 0, NULL);
		memset(&cfg, 0, sizeof cfg);
		cfg.listen = "127.0.0.1:0";
		cfg.max_body = (size_t)256 << 20;
		cfg.digest_prefix = "/sync/";
		cfg.ha1_lookup = lookup;
		cfg.handle = handle;
		cfg.ctx = p.s;
		if ((srv = server_start(&cfg, &err)) == NULL)
			die("server", &err);
		snprintf(url, sizeof url, "http://127.0.0.1:%d/",
		    server_port(srv));
		setup_side(&a, "active", n, 1, url);
		ts[k] = sync_once(&a, &cl, &prog);
		if (prog.sent_values != n * NFIELDS) {
			fprintf(stderr, "bench-sync: initial sync sent %" PRId64
			    " values, not %" PRId64 "\n", prog.sent_values,
			    n * NFIELDS);
			exit(1);
		}
	}
	for (int k = 0; k < INITIAL_RUNS; k++)
		ratios[k] = ts[k] / raws[k];
	raw = median(raws, INITIAL_RUNS);
	t = median(ts, INITIAL_RUNS);
	printf("initial sync: %" PRId64 " records x %d fields  raw insert "
	    "%.3f s  sync %.3f s (%" PRId64 " round trips; medians of %d "
	    "runs)  ratio %.2fx (target <= 5x)\n", n, NFIELDS, raw, t,
	    prog.rounds, INITIAL_RUNS, median(ratios, INITIAL_RUNS));

	/* 2. Idle poll vs a bare Digest-authenticated request. */
	{
		struct client *bc = client_new(url, "bench", NULL, NULL, &err);
		char key[FS_KEY_HEX];
		int status;
		char *resp;
		size_t rlen;

		secret_derive_key(PASSWORD, key, &err);
		client_free(bc);
		if ((bc = client_new(url, "bench", key, NULL, &err)) == NULL)
			die("client", &err);
		for (int k = 0; k < 21; k++) {
			double t0 = now_s();

			if (client_post(bc, "/sync/bare", "{}", 2, 1024, &status,
			    &resp, &rlen, &err) == -1 || status != 200)
				die("bare request", &err);
			free(resp);
			bare[k] = now_s() - t0;
			idle[k] = sync_once(&a, &cl, &prog);
			if (prog.rounds != 1 || prog.sent_values != 0) {
				fprintf(stderr, "bench-sync: idle poll was not one "
				    "empty request\n");
				exit(1);
			}
		}
		client_free(bc);
		printf("idle poll: 1 request  bare Digest request %.3f ms  idle "
		    "poll %.3f ms  ratio %.2fx (target <= 3x)\n",
		    median(bare, 21) * 1e3, median(idle, 21) * 1e3,
		    median(idle, 21) / median(bare, 21));
	}
	client_free(cl);
	cl = NULL;
	store_close(a.s);
	server_stop(srv);
	store_close(p.s);
}

int
main(int argc, char **argv)
{
	int only_inc = argc > 1 && strcmp(argv[1], "--incremental") == 0;
	int64_t n = argc > 1 && !only_inc ? atoll(argv[1]) : 100000;
	int64_t big = argc > 2 ? atoll(argv[2]) : 1000000;

	log_quiet(1);	/* the passive's line per exchange, thousands here */
	snprintf(dir, sizeof dir, "/tmp/fieldsync-bench-XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	if (!only_inc)
		initial_and_idle(n);

	/* 3. Incremental: 100 changed records, small and big table. */
	incremental(big, only_inc ? 0 : HISTORY);
	{
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
