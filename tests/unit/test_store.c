/*
 * test_store.c - opening an instance, init and migrations, transactions,
 * the statement cache, and the promise that a failing command leaves the
 * database file byte for byte as it was.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "fieldmap.h"
#include "instance.h"
#include "pairing.h"
#include "store.h"
#include "testhelp.h"

static void
test_open_errors(void **state)
{
	struct th *t = *state;
	char *path;
	unsigned char *before, *after;
	size_t nb, na;
	static const char junk[] = "this is a plain text file, not SQLite\n"
	    "with a few lines of text in it that go on and on and on.\n";

	th_assert_fails_null(t, FS_EINVAL, store_open(NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "-d DB"));
	th_assert_fails_null(t, FS_EINVAL, store_open("", &t->err));

	/* A missing file is not created. */
	path = th_file(t, "missing.db");
	th_assert_fails_null(t, FS_ENOTFOUND, store_open(path, &t->err));
	assert_non_null(strstr(t->err.msg, "does not exist"));
	assert_int_equal(access(path, F_OK), -1);
	free(path);

	th_assert_fails_null(t, FS_EINVAL, store_open(t->dir, &t->err));
	assert_non_null(strstr(t->err.msg, "not a regular file"));

	/* A text file: a clear error, and the file is not touched. */
	path = th_write_file(t, "notes.txt", junk, sizeof junk - 1);
	th_assert_fails_null(t, FS_EINVAL, store_open(path, &t->err));
	assert_non_null(strstr(t->err.msg, "not an SQLite database"));
	before = th_read_file(path, &nb);
	assert_non_null(before);
	assert_int_equal(nb, sizeof junk - 1);
	assert_memory_equal(before, junk, nb);
	free(before);
	free(path);

	/* A file that starts like SQLite but is truncated garbage. */
	{
		char hdr[512];

		memset(hdr, 0x5a, sizeof hdr);
		memcpy(hdr, "SQLite format 3", 16);
		path = th_write_file(t, "broken.db", hdr, sizeof hdr);
		before = th_read_file(path, &nb);
		th_assert_fails_null(t, FS_EINVAL, store_open(path, &t->err));
		after = th_read_file(path, &na);
		assert_int_equal(na, nb);
		assert_memory_equal(before, after, nb);
		free(before);
		free(after);
		free(path);
	}
}

static void
test_uninitialised(void **state)
{
	struct th *t = *state;

	assert_int_equal(store_schema_version(t->s, &t->err), 0);
	th_assert_fails(t, FS_ESCHEMA, store_check_ready(t->s, &t->err));
	assert_non_null(strstr(t->err.msg, "init"));
	/* Domain calls refuse it the same way. */
	th_assert_fails(t, FS_ESCHEMA, catalog_table_add(t->s, "x", NULL,
	    &t->err));
	th_assert_fails(t, FS_ESCHEMA, pairing_add(t->s, "p", "passive", NULL,
	    "pw", -1, &t->err));
	/* Nothing of fieldsync's appeared in the file. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name LIKE '\\_fs\\_%%' ESCAPE '\\'"), 0);
}

static void
test_init_creates_instance(void **state)
{
	struct th *t = *state;
	sqlite3 *db;
	char *mode, *id;
	int created = -1;
	cJSON *info;

	/* Before init the file is in rollback-journal mode. */
	db = th_conn(t, -1);
	mode = th_db_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "delete");
	free(mode);
	th_conn_close(db);

	th_assert_ok(t, instance_init(t->s, NULL, &created, &t->err));
	assert_int_equal(created, 1);
	assert_int_equal(store_schema_version(t->s, &t->err),
	    FS_SCHEMA_VERSION);
	th_assert_ok(t, store_check_ready(t->s, &t->err));

	id = store_instance_id(t->s, &t->err);
	assert_non_null(id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	/* Origin 0 is this instance; the clock starts near now. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_origin "
	    "WHERE id = 0 AND instance = %Q", id), 1);
	assert_in_range(th_int(t, "SELECT abs((hlc >> 16) - "
	    "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) "
	    "FROM _fs_clock WHERE id = 1"), 0, 60000);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_clock WHERE "
	    "ap_src IS NULL AND ap_hlc IS NULL AND ap_origin IS NULL AND "
	    "ap_sid IS NULL"), 1);

	/* The name defaults to the file's base name without extension. */
	{
		char *name = store_meta_get(t->s, "name", &t->err);

		assert_string_equal(name, "app");
		free(name);
	}
	info = instance_info(t->s, &t->err);
	assert_non_null(info);
	assert_string_equal(cJSON_GetObjectItem(info, "instance")->valuestring,
	    id);
	assert_int_equal(cJSON_GetObjectItem(info, "schema_version")->valueint,
	    FS_SCHEMA_VERSION);
	assert_string_equal(cJSON_GetObjectItem(info, "database")->valuestring,
	    t->path);
	cJSON_Delete(info);

	/* WAL is on, as any other client sees it. */
	db = th_conn(t, -1);
	mode = th_db_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	th_conn_close(db);
	free(id);
}

static void
test_init_twice_harmless(void **state)
{
	struct th *t = *state;
	char *id1, *id2, *name;
	int created = -1;
	int64_t tables;

	th_assert_ok(t, instance_init(t->s, "head-office", &created, &t->err));
	assert_int_equal(created, 1);
	id1 = store_instance_id(t->s, &t->err);
	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, v)");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	tables = th_int(t, "SELECT count(*) FROM sqlite_schema");

	th_reopen(t);
	th_assert_ok(t, instance_init(t->s, NULL, &created, &t->err));
	assert_int_equal(created, 0);
	id2 = store_instance_id(t->s, &t->err);
	assert_string_equal(id1, id2);
	name = store_meta_get(t->s, "name", &t->err);
	assert_string_equal(name, "head-office");	/* kept */
	free(name);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema"),
	    tables);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_origin"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_clock"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_table"), 1);
	/* A migration on an up-to-date file does nothing. */
	th_assert_ok(t, store_migrate(t->s, &t->err));

	/* A third init may rename; a bad name is refused. */
	th_assert_ok(t, instance_init(t->s, "renamed", &created, &t->err));
	name = store_meta_get(t->s, "name", &t->err);
	assert_string_equal(name, "renamed");
	free(name);
	th_assert_fails(t, FS_EINVAL, instance_init(t->s, "bad\nname",
	    &created, &t->err));
	free(id1);
	free(id2);
}

/*
 * An instance an older fieldsync made is upgraded when first opened:
 * the version-1 state (without the clock index of sql/002, the marks
 * of sql/003 and the acknowledgements of sql/004) gets them, once, with
 * its data untouched.
 */
static void
test_upgrades_older_schema(void **state)
{
	struct th *t = *state;
	int created = -1;
	char *id;

	th_assert_ok(t, instance_init(t->s, NULL, &created, &t->err));
	id = store_instance_id(t->s, &t->err);
	th_exec(t, "DROP INDEX _fs_log_hlc; "
	    "ALTER TABLE _fs_pair_state DROP COLUMN recv_mark; "
	    "ALTER TABLE _fs_pair_state DROP COLUMN echo_want; "
	    "ALTER TABLE _fs_pair_state DROP COLUMN echo_give; "
	    "ALTER TABLE _fs_log DROP COLUMN at; "
	    "ALTER TABLE _fs_pair_state DROP COLUMN acked_seq; "
	    "ALTER TABLE _fs_map DROP COLUMN floor_seq; "
	    "ALTER TABLE _fs_map DROP COLUMN remap_seq; "
	    "ALTER TABLE _fs_log DROP COLUMN prior_hlc; "
	    "ALTER TABLE _fs_log DROP COLUMN prior_origin; "
	    "DROP TABLE _fs_pair_gone; "
	    "UPDATE _fs_meta SET value = '1' WHERE key = 'schema_version'");
	th_reopen(t);
	assert_int_equal(store_schema_version(t->s, &t->err),
	    FS_SCHEMA_VERSION);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name = '_fs_log_hlc'"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info("
	    "'_fs_pair_state') WHERE name IN ('recv_mark', 'echo_want', "
	    "'echo_give')"), 3);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info("
	    "'_fs_log') WHERE name = 'at'"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info("
	    "'_fs_map') WHERE name IN ('floor_seq', 'remap_seq')"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info("
	    "'_fs_pair_state') WHERE name = 'acked_seq'"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info("
	    "'_fs_log') WHERE name IN ('prior_hlc', 'prior_origin')"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name = '_fs_pair_gone'"), 1);
	{
		char *again = store_instance_id(t->s, &t->err);

		assert_non_null(again);
		assert_string_equal(again, id);
		free(again);
	}
	th_assert_ok(t, store_check_ready(t->s, &t->err));
	/* Opened again: nothing left to do. */
	th_reopen(t);
	assert_int_equal(store_schema_version(t->s, &t->err),
	    FS_SCHEMA_VERSION);
	free(id);
}

/*
 * A copy gets its own identity: row 0 of _fs_origin and the sync
 * identity prefix change, and what was made before is the old
 * identity's, in the log and in conflicts alike.
 */
static void
test_new_identity(void **state)
{
	struct th *t = *state;
	int created = -1;
	char *old, *new;
	int64_t oid;

	th_assert_ok(t, instance_init(t->s, NULL, &created, &t->err));
	old = store_instance_id(t->s, &t->err);
	th_exec(t, "INSERT INTO _fs_log(rid, fid, hlc, origin, kind) VALUES "
	    "(1, 0, 5, 0, 1), (1, 2, 6, 0, 0)");
	th_assert_ok(t, instance_new_identity(t->s, &t->err));
	new = store_instance_id(t->s, &t->err);
	assert_non_null(new);
	assert_string_not_equal(old, new);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_origin WHERE "
	    "id = 0 AND instance = %Q", new), 1);
	oid = th_int(t, "SELECT id FROM _fs_origin WHERE instance = %Q", old);
	assert_true(oid > 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "origin = %lld", (long long)oid), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "origin = 0"), 0);
	assert_int_equal(th_int(t, "SELECT sid_prefix = substr(%Q, 1, 16) "
	    "FROM _fs_clock", new), 1);
	/* A peer with our identity is refused, with the way out. */
	th_assert_fails(t, FS_ECONFLICT, instance_check_peer(new, new, "x",
	    &t->err));
	assert_non_null(strstr(t->err.msg, "--new-identity"));
	assert_int_equal(instance_check_peer(new, old, "x", &t->err), 0);
	free(old);
	free(new);
}

static void
test_refuses_newer_schema(void **state)
{
	struct th *t = *state;
	unsigned char *before, *after;
	size_t nb, na;
	int created = -1;

	th_assert_ok(t, instance_init(t->s, NULL, &created, &t->err));
	th_exec(t, "UPDATE _fs_meta SET value = '%d' WHERE key = "
	    "'schema_version'", FS_SCHEMA_VERSION + 1);
	th_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
	th_reopen(t);
	before = th_read_file(t->path, &nb);

	assert_int_equal(store_schema_version(t->s, &t->err),
	    FS_SCHEMA_VERSION + 1);
	th_assert_fails(t, FS_ESCHEMA, store_check_ready(t->s, &t->err));
	assert_non_null(strstr(t->err.msg, "newer"));
	th_assert_fails(t, FS_ESCHEMA, instance_init(t->s, NULL, &created,
	    &t->err));
	th_assert_fails(t, FS_ESCHEMA, instance_init(t->s, "new-name",
	    &created, &t->err));
	th_assert_fails(t, FS_ESCHEMA, store_migrate(t->s, &t->err));
	th_assert_fails(t, FS_ESCHEMA, pairing_add(t->s, "p", "passive", NULL,
	    "pw", -1, &t->err));
	th_assert_fails(t, FS_ESCHEMA, catalog_table_add(t->s, "t", NULL,
	    &t->err));

	th_close_store(t);
	after = th_read_file(t->path, &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	free(before);
	free(after);
}

/* The database and its WAL, after a checkpoint that empties the WAL. */
struct snap {
	unsigned char *db, *wal;
	size_t ndb, nwal;
};

static void
snap_take(struct th *t, struct snap *sn)
{
	char *wal = th_file(t, "app.db-wal");

	sn->ndb = sn->nwal = 0;
	sn->db = th_read_file(t->path, &sn->ndb);
	sn->wal = th_read_file(wal, &sn->nwal);
	free(wal);
}

static void
snap_same(struct th *t, struct snap *a, int with_wal)
{
	struct snap b;

	snap_take(t, &b);
	assert_int_equal(a->ndb, b.ndb);
	assert_memory_equal(a->db, b.db, a->ndb);
	if (with_wal) {
		assert_int_equal(a->wal != NULL, b.wal != NULL);
		assert_int_equal(a->nwal, b.nwal);
		if (a->nwal > 0)
			assert_memory_equal(a->wal, b.wal, a->nwal);
	}
	free(b.db);
	free(b.wal);
}

static void
test_failing_commands_leave_file_untouched(void **state)
{
	struct th *t = *state;
	struct table_opts o;
	struct snap sn;

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, email TEXT, v);"
	    "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
	    "CREATE TABLE nokey(a, b);"
	    "INSERT INTO c(email, v) VALUES ('a@x', 1), ('b@x', 2)");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	th_assert_ok(t, pairing_add(t->s, "p", "passive", NULL, "pw", -1,
	    &t->err));
	th_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
	snap_take(t, &sn);
	assert_true(sn.ndb > 0);

	th_assert_fails(t, FS_ENOTFOUND, catalog_table_add(t->s, "missing",
	    NULL, &t->err));
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "w", NULL,
	    &t->err));
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "nokey", NULL,
	    &t->err));
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "_fs_log", NULL,
	    &t->err));
	/* Validation happens before the new system columns are added. */
	th_exec(t, "CREATE TABLE d(id INTEGER PRIMARY KEY, v)");
	th_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
	free(sn.db);
	free(sn.wal);
	snap_take(t, &sn);
	o = (struct table_opts){ "new_status", "new_added", "nosuchcol" };
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_add(t->s, "d", &o,
	    &t->err));
	o = (struct table_opts){ "same", "SAME", NULL };
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "d", &o,
	    &t->err));
	o = (struct table_opts){ "id", NULL, NULL };
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "d", &o,
	    &t->err));
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_remove(t->s, "d",
	    &t->err));
	th_assert_fails(t, FS_EEXIST, pairing_add(t->s, "p", "passive", NULL,
	    "pw", -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "q", "active",
	    "ftp://host/", "pw", -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "bad name", "passive",
	    NULL, "pw", -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "p", "interval", "0",
	    &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "p", "colour", "red",
	    &t->err));
	th_assert_fails(t, FS_ENOTFOUND, pairing_remove(t->s, "nope",
	    &t->err));
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "p", "c.v", -1, -1,
	    NULL, &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "p", "c.nope",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_set(t->s, "p", "c.v",
	    FS_MODE_OFF, &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_remove(t->s, "p", "c.v",
	    &t->err));
	snap_same(t, &sn, 1);
	/* Still the same after the store lets go of the file (and the
	 * empty WAL goes away). */
	th_close_store(t);
	snap_same(t, &sn, 0);
	free(sn.db);
	free(sn.wal);
}

static void
test_transactions(void **state)
{
	struct th *t = *state;

	th_exec(t, "CREATE TABLE k(v)");
	th_assert_ok(t, store_begin(t->s, &t->err));
	assert_int_equal(t->s->in_tx, 1);
	th_exec(t, "INSERT INTO k VALUES (1)");
	store_rollback(t->s);
	assert_int_equal(t->s->in_tx, 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM k"), 0);
	store_rollback(t->s);	/* nothing open: harmless */

	th_assert_ok(t, store_begin(t->s, &t->err));
	th_exec(t, "INSERT INTO k VALUES (2)");
	th_assert_ok(t, store_commit(t->s, &t->err));
	assert_int_equal(t->s->in_tx, 0);
	th_reopen(t);
	assert_int_equal(th_int(t, "SELECT v FROM k"), 2);

	/* BEGIN IMMEDIATE inside a transaction is an error, reported. */
	th_assert_ok(t, store_begin(t->s, &t->err));
	th_assert_fails(t, FS_EDB, store_begin(t->s, &t->err));
	store_rollback(t->s);

	th_assert_fails(t, FS_EDB, store_exec(t->s, "SELEC 1", &t->err));
	assert_non_null(strstr(t->err.msg, "syntax error"));

	/*
	 * A file this user may not write (query_only fails writes the same
	 * way): one plain line naming the file, not SQLite's wording.
	 */
	th_exec(t, "PRAGMA query_only = 1");
	th_assert_fails(t, FS_EIO, store_exec(t->s, "INSERT INTO k VALUES (3)",
	    &t->err));
	assert_non_null(strstr(t->err.msg, "cannot write to "));
	assert_non_null(strstr(t->err.msg, t->s->path));
	assert_null(strstr(t->err.msg, "readonly"));
	{
		sqlite3_stmt *st = store_prepare(t->s, "INSERT INTO k VALUES "
		    "(4)", &t->err);

		assert_non_null(st);
		th_assert_fails(t, FS_EIO, store_step_done(t->s, st,
		    &t->err));
		assert_non_null(strstr(t->err.msg, "may not write the file"));
		sqlite3_finalize(st);
	}
	th_exec(t, "PRAGMA query_only = 0");
}

static void
test_meta(void **state)
{
	struct th *t = *state;
	char *v;

	th_assert_fails_null(t, FS_ENOTFOUND, store_meta_get(t->s, "nope",
	    &t->err));
	th_assert_ok(t, store_meta_set(t->s, "k", "one", &t->err));
	v = store_meta_get(t->s, "k", &t->err);
	assert_string_equal(v, "one");
	free(v);
	th_assert_ok(t, store_meta_set(t->s, "k", "two", &t->err));
	v = store_meta_get(t->s, "k", &t->err);
	assert_string_equal(v, "two");
	free(v);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_meta WHERE "
	    "key = 'k'"), 1);
}

/* 70 distinct constants: more than the cache holds. */
#define Q(n) "SELECT " #n " + ?1"
static const char *const many_sql[] = {
	Q(0), Q(1), Q(2), Q(3), Q(4), Q(5), Q(6), Q(7), Q(8), Q(9),
	Q(10), Q(11), Q(12), Q(13), Q(14), Q(15), Q(16), Q(17), Q(18), Q(19),
	Q(20), Q(21), Q(22), Q(23), Q(24), Q(25), Q(26), Q(27), Q(28), Q(29),
	Q(30), Q(31), Q(32), Q(33), Q(34), Q(35), Q(36), Q(37), Q(38), Q(39),
	Q(40), Q(41), Q(42), Q(43), Q(44), Q(45), Q(46), Q(47), Q(48), Q(49),
	Q(50), Q(51), Q(52), Q(53), Q(54), Q(55), Q(56), Q(57), Q(58), Q(59),
	Q(60), Q(61), Q(62), Q(63), Q(64), Q(65), Q(66), Q(67), Q(68), Q(69),
};

static int64_t
run_cached(struct th *t, const char *sql, int64_t arg)
{
	sqlite3_stmt *st = store_stmt(t->s, sql, &t->err);
	int64_t v;

	assert_non_null(st);
	sqlite3_bind_int64(st, 1, arg);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

static void
test_statement_cache(void **state)
{
	struct th *t = *state;
	static const char sql_bind[] = "SELECT ?1";
	sqlite3_stmt *a, *b;

	a = store_stmt(t->s, sql_bind, &t->err);
	sqlite3_bind_int(a, 1, 42);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 42);
	/* Same constant, same statement: reset, bindings cleared. */
	b = store_stmt(t->s, sql_bind, &t->err);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
	sqlite3_reset(b);

	for (int i = 0; i < 70; i++)
		assert_int_equal(run_cached(t, many_sql[i], 1000), 1000 + i);
	assert_true(t->s->ncache <= FS_STMT_CACHE);
	/* Evicted ones are prepared again and still right. */
	for (int i = 0; i < 70; i++)
		assert_int_equal(run_cached(t, many_sql[i], 5), 5 + i);

	th_assert_fails_null(t, FS_EDB, store_stmt(t->s, "SELECT FROM",
	    &t->err));
	th_assert_fails_null(t, FS_EDB, store_prepare(t->s, "nonsense",
	    &t->err));
}

static void
test_now_iso(void **state)
{
	char now[64];

	(void)state;
	store_now_iso(now);
	assert_int_equal(strlen(now), 24);
	assert_int_equal(now[4], '-');
	assert_int_equal(now[7], '-');
	assert_int_equal(now[10], 'T');
	assert_int_equal(now[13], ':');
	assert_int_equal(now[16], ':');
	assert_int_equal(now[19], '.');
	assert_int_equal(now[23], 'Z');
	assert_true(strncmp(now, "2024", 4) >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_errors,
		    th_setup_dir, th_teardown),
		cmocka_unit_test_setup_teardown(test_uninitialised,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(test_init_creates_instance,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(test_init_twice_harmless,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_older_schema,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(test_new_identity,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_newer_schema,
		    th_setup_uninit, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failing_commands_leave_file_untouched,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_transactions,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_meta,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache,
		    th_setup, th_teardown),
		cmocka_unit_test(test_now_iso),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
