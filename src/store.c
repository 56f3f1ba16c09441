/*
 * store.c - opening an instance database, migrations, transactions and
 * the statement cache; see store.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "embedded.h"
#include "store.h"
#include "util.h"

static const char SQL_META_GET[] =
    "SELECT value FROM _fs_meta WHERE key = ?1";
static const char SQL_META_SET[] =
    "INSERT INTO _fs_meta(key, value) VALUES (?1, ?2) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value";

/* Another program's write transaction outlasted our wait. */
static int
locked_out(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* The file system failed SQLite (read-only, full, an I/O error). */
static int
cannot_open(int rc)
{
	return (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR ||
	    (rc & 0xff) == SQLITE_FULL;
}

/* What SQLite says of a file this user may not write, said plainly. */
static int
read_only(int rc)
{
	return (rc & 0xff) == SQLITE_READONLY;
}

int
store_dberr(struct store *s, struct fs_err *err, const char *what)
{
	if (s->db != NULL && locked_out(sqlite3_errcode(s->db)))
		return fs_err_set(err, FS_EBUSY, "%s: the database is locked: "
		    "another program is holding a write transaction on it (or, "
		    "in rollback-journal mode, a read transaction)", what);
	if (s->db != NULL && cannot_open(sqlite3_errcode(s->db))) {
		/* Not the ENOENT of SQLite's read-only retry: it misleads. */
		int e = sqlite3_system_errno(s->db) == ENOENT ? 0 :
		    sqlite3_system_errno(s->db);

		return fs_err_set(err, FS_EIO, "%s: cannot read or write %s "
		    "or the -wal and -shm files beside it: %s%s%s", what,
		    s->path, sqlite3_errmsg(s->db), e ? ": " : "",
		    e ? strerror(e) : "");
	}
	if (s->db != NULL && read_only(sqlite3_errcode(s->db)))
		return fs_err_set(err, FS_EIO, "cannot write to %s: this user "
		    "may not write the file, or its directory (SQLite keeps "
		    "its -wal and -shm files there)", s->path);
	return fs_err_set(err, FS_EDB, "%s: %s", what,
	    s->db ? sqlite3_errmsg(s->db) : "no database");
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/*
 * Before SQLite initialises: no global memory statistics, whose mutex
 * every allocation would otherwise take (we never read them).
 */
static void
configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/*
	 * A file name is a file name, whatever it contains: Debian's SQLite
	 * takes "file:..." as a URI by default, so -d file:x.db would open
	 * x.db.
	 */
	sqlite3_config(SQLITE_CONFIG_URI, 0);
}

/*
 * An instance made by an older fieldsync is brought up to this one's
 * state schema when it is first opened, in one transaction: whoever
 * opens it first does it, the others then find nothing left to do.
 */
static int
store_upgrade(struct store *s, struct fs_err *err)
{
	int v = store_schema_version(s, err);

	if (v <= 0 || v >= FS_SCHEMA_VERSION)
		return v == -1 ? -1 : 0;
	if (store_begin(s, err) == -1)
		goto fail;
	if (store_migrate(s, err) == -1) {
		store_rollback(s);
		goto fail;
	}
	if (store_commit(s, err) == -1)
		goto fail;
	return 0;
fail:
	{
		char m[sizeof err->msg];

		snprintf(m, sizeof m, "%s", err ? err->msg : "");
		return fs_err_set(err, FS_EDB, "cannot upgrade fieldsync's "
		    "state in %s from version %d to %d: %s", s->path, v,
		    FS_SCHEMA_VERSION, m);
	}
}

struct store *
store_open(const char *path, struct fs_err *err)
{
	struct store *s;
	struct stat sb;

	if (path == NULL || *path == '\0') {
		fs_err_set(err, FS_EINVAL,
		    "no database given: use -d DB or set FIELDSYNC_DB");
		return NULL;
	}
	if (stat(path, &sb) == -1) {
		fs_err_set(err, FS_ENOTFOUND, "database %s does not exist",
		    path);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		fs_err_set(err, FS_EINVAL, "%s is not a regular file", path);
		return NULL;
	}
	pthread_once(&config_once, configure_sqlite);
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		fs_err_set(err, FS_EIO, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_dberr(s, err, path);
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* Reading the schema proves the file is a database (first:
	 * some pragmas below read the file and would fail less clearly). */
	if (store_exec(s, "SELECT count(*) FROM sqlite_schema", NULL) == -1) {
		/*
		 * WAL mode: even a reader must be able to make the -shm.  In
		 * rollback mode another program's exclusive lock bars reads.
		 */
		if (read_only(sqlite3_errcode(s->db)) ||
		    locked_out(sqlite3_errcode(s->db)) ||
		    cannot_open(sqlite3_errcode(s->db)))
			store_dberr(s, err, path);
		else
			fs_err_set(err, FS_EINVAL, "%s is not an SQLite "
			    "database: %s", path, sqlite3_errmsg(s->db));
		store_close(s);
		return NULL;
	}
	/*
	 * Our own writes behave the same whatever the build's default.
	 * synchronous = NORMAL (for this connection only; the app keeps its
	 * own) skips the fsync per commit in WAL mode.  A power cut may then
	 * lose our newest commits, but never half of one, and each side's
	 * cursor about its peer lives in the same commit as the data it
	 * describes: the peer sees the older cursor and sends again (see
	 * fieldsync-protocol(7)).  A killed process loses nothing.
	 *
	 * The page cache is a bound, filled only as pages are read: 16 MiB
	 * keeps the pages a sync round touches in a big table (records,
	 * log index, app rows) between rounds of a long-running serve,
	 * instead of reading them again through the OS, and still keeps
	 * memory flat however big the table.  (A write by another
	 * connection empties it anyway: that is SQLite's WAL rule.)
	 *
	 * Recursive triggers off, as in the app's own connections (SQLite's
	 * default): an app trigger that updates its own row (an updated_at
	 * stamp) would otherwise fire itself until SQLite gives up, and
	 * every write of a peer's change to that table would fail.
	 */
	if (store_exec(s, "PRAGMA recursive_triggers = OFF; "
	    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384",
	    err) == -1 || store_upgrade(s, err) == -1) {
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	/* Before the statements they hold are orphaned by sqlite3_close. */
	if (s->maps_free != NULL)
		s->maps_free(s->maps);
	for (int i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
}

int
store_exec(struct store *s, const char *sql, struct fs_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (locked_out(rc) || read_only(rc))
			store_dberr(s, err, "cannot write");
		else
			fs_err_set(err, FS_EDB, "%s", msg ? msg : "SQL error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s, struct fs_err *err)
{
	if (store_exec(s, "BEGIN IMMEDIATE", err) == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

int
store_commit(struct store *s, struct fs_err *err)
{
	if (store_exec(s, "COMMIT", err) == -1) {
		store_rollback(s);
		return -1;
	}
	s->in_tx = 0;
	return 0;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

sqlite3_stmt *
store_stmt(struct store *s, const char *sql, struct fs_err *err)
{
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < s->ncache; i++) {
		if (s->cache[i].sql == sql) {
			st = s->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK) {
		store_dberr(s, err, "prepare");
		return NULL;
	}
	if (s->ncache == FS_STMT_CACHE) {
		/* Full: evict the oldest; callers never hold two of them long. */
		sqlite3_finalize(s->cache[0].stmt);
		memmove(s->cache, s->cache + 1,
		    (FS_STMT_CACHE - 1) * sizeof s->cache[0]);
		s->ncache--;
	}
	s->cache[s->ncache].sql = sql;
	s->cache[s->ncache].stmt = st;
	s->ncache++;
	return st;
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql, struct fs_err *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_dberr(s, err, "prepare");
		return NULL;
	}
	return st;
}

int
store_step_done(struct store *s, sqlite3_stmt *st, struct fs_err *err)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "step");
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

char *
store_meta_get(struct store *s, const char *key, struct fs_err *err)
{
	sqlite3_stmt *st;
	char *v = NULL;
	int rc;

	if ((st = store_stmt(s, SQL_META_GET, err)) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_dberr(s, err, "read meta");
	else
		fs_err_set(err, FS_ENOTFOUND, "no meta key %s", key);
	sqlite3_reset(st);
	return v;
}

int
store_meta_set(struct store *s, const char *key, const char *value,
    struct fs_err *err)
{
	sqlite3_stmt *st;

	if ((st = store_stmt(s, SQL_META_SET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return store_step_done(s, st, err);
}

int
store_schema_version(struct store *s, struct fs_err *err)
{
	sqlite3_stmt *st;
	int rc, have, v = 0;

	st = store_prepare(s, "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'table' AND name = '_fs_meta'", err);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	have = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (!have)
		return 0;
	/* Not ours if it lacks our columns: an app table of that name. */
	st = store_prepare(s, "SELECT (SELECT count(*) FROM "
	    "pragma_table_info('_fs_meta') WHERE name IN ('key', 'value')) = 2",
	    err);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	have = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!have)
		return fs_err_set(err, FS_EINVAL, "%s has a table _fs_meta "
		    "that is not fieldsync's: fieldsync keeps its state in "
		    "tables named _fs_*, so it cannot use this database",
		    s->path);
	st = store_prepare(s, "SELECT value FROM _fs_meta "
	    "WHERE key = 'schema_version'", err);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* A positive whole number, or the state is damaged. */
		const char *t = (const char *)sqlite3_column_text(st, 0);
		char *end = NULL;
		long n = t ? strtol(t, &end, 10) : 0;

		if (t == NULL || end == t || *end != '\0' || n < 1 ||
		    n > 1000000) {
			fs_err_set(err, FS_EDB, "fieldsync's state in %s is "
			    "damaged: its schema_version is '%s', not a version "
			    "number", s->path, t ? t : "NULL");
			sqlite3_finalize(st);
			return -1;
		}
		v = (int)n;
	}
	sqlite3_finalize(st);
	return v;
}

int
store_check_ready(struct store *s, struct fs_err *err)
{
	int v = store_schema_version(s, err);

	if (v == -1)
		return -1;
	if (v == 0)
		return fs_err_set(err, FS_ESCHEMA, "%s is not a fieldsync "
		    "instance: run 'fieldsync -d %s init' first", s->path,
		    s->path);
	if (v > FS_SCHEMA_VERSION)
		return fs_err_set(err, FS_ESCHEMA, "%s has fieldsync schema "
		    "version %d, newer than this program's %d: upgrade "
		    "fieldsync", s->path, v, FS_SCHEMA_VERSION);
	return 0;
}

int
store_check_writable(struct store *s, struct fs_err *err)
{
	int rc;

	/* SQLite opens a file it may not write read-only, without a word. */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return fs_err_set(err, FS_EIO, "cannot write to %s: this user "
		    "may not write the file", s->path);
	/*
	 * A write made and rolled back: a directory that refuses the -wal,
	 * -shm or -journal file shows only here.  Another program's write
	 * transaction is no reason to refuse; the busy wait is not waited.
	 */
	sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE; INSERT OR REPLACE INTO "
	    "_fs_meta (key, value) VALUES ('write check', 1)", NULL, NULL,
	    NULL);
	store_rollback(s);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK && !locked_out(rc))
		return fs_err_set(err, FS_EIO, "cannot write to %s: this user "
		    "may not write the file, or its directory (SQLite keeps "
		    "its -wal, -shm and -journal files there): %s", s->path,
		    sqlite3_errstr(rc));
	return 0;
}

/* Migration files are named NNN-what.sql; NNN is the version they reach. */
int
store_migrate(struct store *s, struct fs_err *err)
{
	const struct embedded_file *f;
	char num[16];
	int v;

	if ((v = store_schema_version(s, err)) == -1)
		return -1;
	if (v > FS_SCHEMA_VERSION)
		return store_check_ready(s, err);
	for (f = embedded_sql; f->name != NULL; f++) {
		int fv = atoi(f->name);

		if (fv <= v || fv > FS_SCHEMA_VERSION)
			continue;
		if (store_exec(s, (const char *)f->data, err) == -1) {
			char m[sizeof err->msg];

			snprintf(m, sizeof m, "%s", err ? err->msg : "");
			return fs_err_set(err, FS_EDB, "migration %s: %s",
			    f->name, m);
		}
		snprintf(num, sizeof num, "%d", fv);
		if (store_meta_set(s, "schema_version", num, err) == -1)
			return -1;
		v = fv;
	}
	return 0;
}

char *
store_instance_id(struct store *s, struct fs_err *err)
{
	return store_meta_get(s, "instance_id", err);
}

void
store_now_iso(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}
