/*
 * testhelp.c - fixtures for the unit tests; see testhelp.h.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance.h"
#include "store.h"
#include "testhelp.h"

static char *
xsprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = malloc((size_t)n + 1)) == NULL)
		fail_msg("out of memory");
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct th *
th_new_dir(void)
{
	struct th *t = calloc(1, sizeof *t);
	const char *tmp = getenv("TMPDIR");

	if (t == NULL)
		fail_msg("out of memory");
	t->dir = xsprintf("%s/fieldsync-unit-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		fail_msg("mkdtemp %s: %s", t->dir, strerror(errno));
	t->path = xsprintf("%s/app.db", t->dir);
	return t;
}

static void
create_db(struct th *t, const char *app_sql)
{
	sqlite3 *db;
	char *msg = NULL;

	if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail_msg("create %s: %s", t->path, sqlite3_errmsg(db));
	/* An empty file is not yet a database; give it a schema page. */
	if (sqlite3_exec(db, app_sql ? app_sql :
	    "PRAGMA user_version = 0; CREATE TABLE app_placeholder(x); "
	    "DROP TABLE app_placeholder", NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("app schema: %s", msg);
	sqlite3_close(db);
}

struct th *
th_new_uninit(const char *app_sql)
{
	struct th *t = th_new_dir();

	create_db(t, app_sql);
	if ((t->s = store_open(t->path, &t->err)) == NULL)
		fail_msg("store_open: %s", t->err.msg);
	return t;
}

struct th *
th_new(const char *app_sql)
{
	struct th *t = th_new_uninit(app_sql);
	int created = -1;

	if (instance_init(t->s, NULL, &created, &t->err) == -1)
		fail_msg("instance_init: %s", t->err.msg);
	if (created != 1)
		fail_msg("instance_init: created = %d on a fresh file",
		    created);
	return t;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

void
th_close_store(struct th *t)
{
	store_close(t->s);
	t->s = NULL;
}

void
th_free(struct th *t)
{
	if (t == NULL)
		return;
	th_close_store(t);
	if (t->dir != NULL && getenv("TH_KEEP") == NULL)
		nftw(t->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(t->dir);
	free(t->path);
	free(t);
}

int
th_setup(void **state)
{
	*state = th_new(NULL);
	return 0;
}

int
th_setup_uninit(void **state)
{
	*state = th_new_uninit(NULL);
	return 0;
}

int
th_setup_dir(void **state)
{
	*state = th_new_dir();
	return 0;
}

int
th_teardown(void **state)
{
	th_free(*state);
	*state = NULL;
	return 0;
}

void
th_reopen(struct th *t)
{
	th_close_store(t);
	if ((t->s = store_open(t->path, &t->err)) == NULL)
		fail_msg("store_open: %s", t->err.msg);
}

char *
th_file(struct th *t, const char *name)
{
	return xsprintf("%s/%s", t->dir, name);
}

char *
th_write_file(struct th *t, const char *name, const void *data, size_t len)
{
	char *path = th_file(t, name);
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		fail_msg("create %s: %s", path, strerror(errno));
	if (len > 0 && fwrite(data, 1, len, f) != len)
		fail_msg("write %s", path);
	if (fclose(f) != 0)
		fail_msg("close %s", path);
	return path;
}

unsigned char *
th_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((p = realloc(p, cap)) == NULL)
				fail_msg("out of memory");
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return p;
}

sqlite3 *
th_conn(struct th *t, int recursive_triggers)
{
	sqlite3 *db;

	if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		fail_msg("open %s: %s", t->path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	if (recursive_triggers == 0)
		th_db_exec(db, "PRAGMA recursive_triggers = OFF");
	else if (recursive_triggers == 1)
		th_db_exec(db, "PRAGMA recursive_triggers = ON");
	return db;
}

void
th_conn_close(sqlite3 *db)
{
	if (sqlite3_close(db) != SQLITE_OK)
		fail_msg("close: %s", sqlite3_errmsg(db));
}

static char *
vsql(const char *fmt, va_list ap)
{
	char *sql = sqlite3_vmprintf(fmt, ap);

	if (sql == NULL)
		fail_msg("out of memory");
	return sql;
}

static int
db_vtry(sqlite3 *db, int must, const char *fmt, va_list ap)
{
	char *sql = vsql(fmt, ap), *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && must)
		fail_msg("SQL failed: %s\n  in: %s", msg ? msg : "?", sql);
	sqlite3_free(msg);
	sqlite3_free(sql);
	return rc;
}

void
th_exec(struct th *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	db_vtry(t->s->db, 1, fmt, ap);
	va_end(ap);
}

void
th_db_exec(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	db_vtry(db, 1, fmt, ap);
	va_end(ap);
}

int
th_db_try(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = db_vtry(db, 0, fmt, ap);
	va_end(ap);
	return rc;
}

/* Prepare and step once; the caller reads column 0 and finalizes. */
static sqlite3_stmt *
first_row(sqlite3 *db, const char *fmt, va_list ap)
{
	char *sql = vsql(fmt, ap);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s\n  in: %s", sqlite3_errmsg(db), sql);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		fail_msg("%s\n  in: %s", rc == SQLITE_DONE ? "no row" :
		    sqlite3_errmsg(db), sql);
	}
	sqlite3_free(sql);
	return st;
}

static int64_t
vint(sqlite3 *db, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = first_row(db, fmt, ap);
	int64_t v = sqlite3_column_int64(st, 0);

	sqlite3_finalize(st);
	return v;
}

static char *
vtext(sqlite3 *db, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = first_row(db, fmt, ap);
	char *v = NULL;

	if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (v = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
		fail_msg("out of memory");
	sqlite3_finalize(st);
	return v;
}

int64_t
th_int(struct th *t, const char *fmt, ...)
{
	va_list ap;
	int64_t v;

	va_start(ap, fmt);
	v = vint(t->s->db, fmt, ap);
	va_end(ap);
	return v;
}

int64_t
th_db_int(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	int64_t v;

	va_start(ap, fmt);
	v = vint(db, fmt, ap);
	va_end(ap);
	return v;
}

char *
th_text(struct th *t, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = vtext(t->s->db, fmt, ap);
	va_end(ap);
	return v;
}

char *
th_db_text(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = vtext(db, fmt, ap);
	va_end(ap);
	return v;
}
