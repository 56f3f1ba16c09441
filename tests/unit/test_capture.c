/*
 * test_capture.c - the capture triggers, driven the way real apps drive
 * them: through a separate sqlite3 connection that knows nothing of
 * fieldsync.  Every test runs twice, with the writer's recursive
 * triggers off (SQLite's default) and on (what the store itself uses),
 * because the triggers must capture any writer the same way.
 *
 * Checked: the right _fs_log rows (kind, field, old, new, origin, src),
 * seq and hlc strictly increasing, no row for an UPDATE that changes
 * nothing, type and case changes recorded, the record link following a
 * changed row id, tombstones for hard deletes, and the sync engine's
 * switch stamping changes with a peer's version and sync identity.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "store.h"
#include "testhelp.h"

struct cap {
	struct th *t;
	sqlite3 *db;		/* the "app": a connection of its own */
	struct catalog_table *ct;
	int64_t f_name, f_n, f_note, f_status, f_added;
	int64_t seq0;		/* last seq before the test's writes */
	int rt;			/* the writer's recursive_triggers */
};

static int
setup_rt(void **state, int rt)
{
	struct cap *c = calloc(1, sizeof *c);

	c->rt = rt;

	c->t = th_new(NULL);
	th_exec(c->t, "CREATE TABLE t(id INTEGER PRIMARY KEY, "
	    "name TEXT COLLATE NOCASE, n, note TEXT)");
	if (catalog_table_add(c->t->s, "t", NULL, &c->t->err) == -1)
		fail_msg("enrol: %s", c->t->err.msg);
	c->ct = catalog_table_get(c->t->s, "t", &c->t->err);
	c->f_name = catalog_field_by_name(c->ct, "name")->fid;
	c->f_n = catalog_field_by_name(c->ct, "n")->fid;
	c->f_note = catalog_field_by_name(c->ct, "note")->fid;
	c->f_status = c->ct->status_fid;
	c->f_added = c->ct->added_fid;
	c->db = th_conn(c->t, rt);
	c->seq0 = th_int(c->t, "SELECT coalesce(max(seq), 0) FROM _fs_log");
	*state = c;
	return 0;
}

static int
setup_rt0(void **state)
{
	return setup_rt(state, 0);
}

static int
setup_rt1(void **state)
{
	return setup_rt(state, 1);
}

static int
teardown(void **state)
{
	struct cap *c = *state;

	sqlite3_close(c->db);
	catalog_table_free(c->ct);
	th_free(c->t);
	free(c);
	return 0;
}

/* Log rows written since the test started. */
static int64_t
nlog(struct cap *c, const char *where)
{
	return th_int(c->t, "SELECT count(*) FROM _fs_log WHERE seq > %lld "
	    "AND (%s)", (long long)c->seq0, where);
}

static int64_t
rid_of(struct cap *c, int64_t rowid)
{
	return th_int(c->t, "SELECT rid FROM _fs_record WHERE tid = %lld AND "
	    "lrow = %lld", (long long)c->ct->tid, (long long)rowid);
}

/* seq and hlc both strictly increase over the rows written so far. */
static void
assert_monotonic(struct cap *c)
{
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM (SELECT seq, hlc, "
	    "lag(seq) OVER w AS ps, lag(hlc) OVER w AS ph FROM _fs_log WHERE "
	    "seq > %lld WINDOW w AS (ORDER BY seq)) WHERE ps IS NOT NULL AND "
	    "(seq <= ps OR hlc <= ph)", (long long)c->seq0), 0);
	/* The clock is at least at the newest stamp it handed out. */
	assert_int_equal(th_int(c->t, "SELECT (SELECT hlc FROM _fs_clock) >= "
	    "coalesce((SELECT max(hlc) FROM _fs_log WHERE origin = 0), 0)"),
	    1);
}

static void
test_insert(void **state)
{
	struct cap *c = *state;
	int64_t rid, clock0;

	clock0 = th_int(c->t, "SELECT hlc FROM _fs_clock");
	th_db_exec(c->db, "INSERT INTO t(name, n) VALUES ('ann', 1)");
	rid = rid_of(c, 1);
	/* The identity: our prefix and the clock value of the creation. */
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record r "
	    "WHERE rid = %lld AND typeof(sid) = 'text' AND sid = (SELECT "
	    "sid_prefix FROM _fs_clock) || printf('%%016x', (SELECT hlc FROM "
	    "_fs_log WHERE rid = r.rid AND kind = 1))", (long long)rid), 1);
	/* One creation row, nothing per column, not even the time fill. */
	assert_int_equal(nlog(c, "1"), 1);
	assert_int_equal(nlog(c, "kind = 1 AND fid = 0 AND origin = 0 AND "
	    "src IS NULL AND old IS NULL AND new IS NULL"), 1);
	assert_int_equal(th_int(c->t, "SELECT rid FROM _fs_log WHERE seq > "
	    "%lld", (long long)c->seq0), rid);
	assert_true(th_int(c->t, "SELECT hlc FROM _fs_log WHERE seq > %lld",
	    (long long)c->seq0) > clock0);
	/* Time added was filled; status is live. */
	assert_int_equal(th_int(c->t, "SELECT fs_added GLOB "
	    "'2[0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T*Z' AND fs_status = 0 "
	    "FROM t WHERE id = 1"), 1);

	/* An explicit time added is kept. */
	th_db_exec(c->db, "INSERT INTO t(id, name, fs_added) VALUES (10, 'b', "
	    "'1999-12-31T23:59:59.000Z')");
	{
		char *a = th_text(c->t, "SELECT fs_added FROM t WHERE id = 10");

		assert_string_equal(a, "1999-12-31T23:59:59.000Z");
		free(a);
	}
	/* Several rows in one statement, and in one transaction. */
	th_db_exec(c->db, "INSERT INTO t(name) VALUES ('c'), ('d'), ('e')");
	th_db_exec(c->db, "BEGIN; INSERT INTO t(name) VALUES ('f');"
	    "INSERT INTO t(name) VALUES ('g'); COMMIT");
	assert_int_equal(nlog(c, "1"), 7);
	assert_int_equal(nlog(c, "kind = 1"), 7);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record"), 7);
	assert_int_equal(th_int(c->t, "SELECT count(DISTINCT sid) FROM "
	    "_fs_record"), 7);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM t JOIN _fs_record "
	    "r ON r.lrow = t.id"), 7);
	/* A rolled-back insert leaves no trace. */
	th_db_exec(c->db, "BEGIN; INSERT INTO t(name) VALUES ('h'); ROLLBACK");
	assert_int_equal(nlog(c, "1"), 7);
	assert_monotonic(c);
}

static void
test_update(void **state)
{
	struct cap *c = *state;
	int64_t rid;

	th_db_exec(c->db, "INSERT INTO t(id, name, n) VALUES (1, 'ann', 1)");
	rid = rid_of(c, 1);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	th_db_exec(c->db, "UPDATE t SET name = 'bob' WHERE id = 1");
	assert_int_equal(nlog(c, "1"), 1);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND fid = %lld AND kind = 0 AND "
	    "old = 'ann' AND new = 'bob' AND origin = 0 AND src IS NULL",
	    (long long)c->seq0, (long long)rid, (long long)c->f_name), 1);

	/* Two columns in one statement: two rows, two stamps. */
	th_db_exec(c->db, "UPDATE t SET name = 'cy', n = 2 WHERE id = 1");
	assert_int_equal(nlog(c, "1"), 3);
	assert_int_equal(nlog(c, "old = 'bob' AND new = 'cy'"), 1);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND fid = %lld AND old = 1 AND new = 2",
	    (long long)c->seq0, (long long)c->f_n), 1);

	/* NULL to a value and back. */
	th_db_exec(c->db, "UPDATE t SET note = 'x' WHERE id = 1");
	th_db_exec(c->db, "UPDATE t SET note = NULL WHERE id = 1");
	assert_int_equal(nlog(c, "1"), 5);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND fid = %lld AND ((old IS NULL AND new = 'x') OR "
	    "(old = 'x' AND new IS NULL))", (long long)c->seq0,
	    (long long)c->f_note), 2);
	assert_monotonic(c);
}

static void
test_update_without_change_records_nothing(void **state)
{
	struct cap *c = *state;

	th_db_exec(c->db, "INSERT INTO t(id, name, n, note) VALUES "
	    "(1, 'ann', 1.5, NULL)");
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");
	th_db_exec(c->db, "UPDATE t SET name = 'ann' WHERE id = 1");
	th_db_exec(c->db, "UPDATE t SET name = name, n = n, note = note, "
	    "fs_status = fs_status, fs_added = fs_added");
	th_db_exec(c->db, "UPDATE t SET n = 1.5, note = NULL WHERE id = 1");
	th_db_exec(c->db, "UPDATE t SET name = 'zzz' WHERE id = 999");
	th_db_exec(c->db, "UPDATE t SET n = 3 / 2.0");	/* same real */
	assert_int_equal(nlog(c, "1"), 0);
	/* A change and its undo are two changes. */
	th_db_exec(c->db, "UPDATE t SET n = 2; UPDATE t SET n = 1.5");
	assert_int_equal(nlog(c, "1"), 2);
}

static void
test_type_and_case_changes_recorded(void **state)
{
	struct cap *c = *state;

	th_db_exec(c->db, "INSERT INTO t(id, name, n) VALUES (1, 'abc', 1)");
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	/* 1 -> 1.0: equal as numbers, not the same value. */
	th_db_exec(c->db, "UPDATE t SET n = 1.0");
	assert_int_equal(nlog(c, "typeof(old) = 'integer' AND old = 1 AND "
	    "typeof(new) = 'real' AND new = 1.0"), 1);
	/* 1.0 -> '1.0' (text), '1.0' -> x'312e30' (blob), back to 1. */
	th_db_exec(c->db, "UPDATE t SET n = '1.0'");
	th_db_exec(c->db, "UPDATE t SET n = x'312e30'");
	th_db_exec(c->db, "UPDATE t SET n = 1");
	assert_int_equal(nlog(c, "typeof(old) = 'real' AND typeof(new) = "
	    "'text'"), 1);
	assert_int_equal(nlog(c, "typeof(old) = 'text' AND typeof(new) = "
	    "'blob'"), 1);
	assert_int_equal(nlog(c, "typeof(old) = 'blob' AND typeof(new) = "
	    "'integer'"), 1);
	/* Equal under the column's NOCASE collation, but changed. */
	assert_int_equal(th_db_int(c->db, "SELECT 'abc' = name FROM t"), 1);
	th_db_exec(c->db, "UPDATE t SET name = 'ABC'");
	assert_int_equal(nlog(c, "old = 'abc' COLLATE BINARY AND "
	    "new = 'ABC' COLLATE BINARY"), 1);
	/* Trailing space is a change too. */
	th_db_exec(c->db, "UPDATE t SET name = 'ABC '");
	assert_int_equal(nlog(c, "1"), 6);
	assert_monotonic(c);
}

static void
test_rowid_change_keeps_record(void **state)
{
	struct cap *c = *state;
	int64_t rid;
	char *sid;

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'ann'), "
	    "(2, 'bob')");
	rid = rid_of(c, 1);
	sid = th_text(c->t, "SELECT hex(sid) FROM _fs_record WHERE rid = %lld",
	    (long long)rid);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	th_db_exec(c->db, "UPDATE t SET id = 100 WHERE id = 1");
	assert_int_equal(rid_of(c, 100), rid);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "lrow = 1"), 0);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record"), 2);
	/* Row ids are never synced: moving one is not a field change. */
	assert_int_equal(nlog(c, "1"), 0);

	th_db_exec(c->db, "UPDATE t SET name = 'ann2' WHERE id = 100");
	assert_int_equal(nlog(c, "rid = (SELECT rid FROM _fs_record WHERE "
	    "lrow = 100) AND new = 'ann2'"), 1);

	/* Key and a field in one statement: logged on the same record. */
	th_db_exec(c->db, "UPDATE t SET id = 200, name = 'ann3' WHERE id = 100");
	assert_int_equal(rid_of(c, 200), rid);
	assert_int_equal(nlog(c, "1"), 2);
	assert_int_equal(nlog(c, "new = 'ann3'"), 1);
	assert_int_equal(th_int(c->t, "SELECT rid FROM _fs_log WHERE "
	    "new = 'ann3'"), rid);

	/* The key moved through the rowid alias names, too. */
	th_db_exec(c->db, "UPDATE t SET rowid = 300 WHERE id = 200");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "rid = %lld AND lrow = 300", (long long)rid), 1);
	th_db_exec(c->db, "UPDATE t SET _rowid_ = 301 WHERE id = 300");
	th_db_exec(c->db, "UPDATE t SET oid = 302 WHERE id = 301");
	assert_int_equal(rid_of(c, 302), rid);
	th_db_exec(c->db, "UPDATE t SET name = 'ann4' WHERE id = 302");
	assert_int_equal(th_int(c->t, "SELECT rid FROM _fs_log WHERE "
	    "new = 'ann4'"), rid);

	{
		char *sid2 = th_text(c->t, "SELECT hex(sid) FROM _fs_record "
		    "WHERE lrow = 302");

		assert_string_equal(sid, sid2);
		free(sid2);
	}
	/* The other record was not touched. */
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "lrow = 2"), 1);
	free(sid);
	assert_monotonic(c);
}

static void
test_hard_delete_tombstone(void **state)
{
	struct cap *c = *state;
	int64_t rid1, rid2;
	char *sid;

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'a'), (2, 'b'),"
	    "(3, 'c'); UPDATE t SET fs_status = 1 WHERE id = 2");
	rid1 = rid_of(c, 1);
	rid2 = rid_of(c, 2);
	sid = th_text(c->t, "SELECT hex(sid) FROM _fs_record WHERE rid = %lld",
	    (long long)rid1);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	th_db_exec(c->db, "DELETE FROM t WHERE id IN (1, 2)");
	assert_int_equal(nlog(c, "1"), 2);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND fid = %lld AND kind = 2 AND "
	    "old = 0 AND new = 1 AND origin = 0 AND src IS NULL",
	    (long long)c->seq0, (long long)rid1, (long long)c->f_status), 1);
	/* Already soft-deleted: the old status is what it was. */
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND kind = 2 AND old = 1 AND new = 1",
	    (long long)c->seq0, (long long)rid2), 1);
	/* The record stays, unlinked, with its sync identity. */
	assert_int_equal(th_int(c->t, "SELECT lrow IS NULL FROM _fs_record "
	    "WHERE rid = %lld", (long long)rid1), 1);
	{
		char *sid2 = th_text(c->t, "SELECT hex(sid) FROM _fs_record "
		    "WHERE rid = %lld", (long long)rid1);

		assert_string_equal(sid, sid2);
		free(sid2);
	}
	/* A new row that reuses the row id is a new record. */
	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'new')");
	assert_int_not_equal(rid_of(c, 1), rid1);
	assert_int_equal(th_int(c->t, "SELECT lrow IS NULL FROM _fs_record "
	    "WHERE rid = %lld", (long long)rid1), 1);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record"), 4);
	free(sid);
	assert_monotonic(c);
}

static void
test_replace_is_delete_and_insert(void **state)
{
	struct cap *c = *state;
	int64_t rid;

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'a')");
	rid = rid_of(c, 1);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");
	th_db_exec(c->db, "REPLACE INTO t(id, name) VALUES (1, 'b')");
	if (!c->rt) {
		/*
		 * No DELETE trigger fired: the record stays, and the new row
		 * is logged as its re-creation, so every field goes again.
		 */
		assert_int_equal(rid_of(c, 1), rid);
		assert_int_equal(nlog(c, "1"), 1);
		assert_int_equal(nlog(c, "kind = 1"), 1);
		assert_monotonic(c);
		return;
	}
	/* The DELETE trigger fired: tombstone, then a new record. */
	assert_int_equal(th_int(c->t, "SELECT lrow IS NULL FROM _fs_record "
	    "WHERE rid = %lld", (long long)rid), 1);
	assert_int_equal(nlog(c, "1"), 2);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND kind = 2 AND fid = %lld",
	    (long long)c->seq0, (long long)rid, (long long)c->f_status), 1);
	assert_int_equal(nlog(c, "kind = 1"), 1);
	assert_int_not_equal(rid_of(c, 1), rid);
	assert_monotonic(c);
}

/*
 * A table whose columns shadow every name of the row id: the triggers
 * must follow the INTEGER PRIMARY KEY, never "rowid".
 */
static void
test_columns_named_rowid(void **state)
{
	struct cap *c = *state;
	struct catalog_table *ct;
	int64_t rid, f_rowid;

	th_exec(c->t, "CREATE TABLE sh(\"my key\" INTEGER PRIMARY KEY, "
	    "rowid TEXT, oid TEXT, _rowid_ TEXT);"
	    "INSERT INTO sh VALUES (5, 'r5', 'o5', 'u5')");
	th_assert_ok(c->t, catalog_table_add(c->t->s, "sh", NULL, &c->t->err));
	ct = catalog_table_get(c->t->s, "sh", &c->t->err);
	f_rowid = catalog_field_by_name(ct, "rowid")->fid;
	assert_string_equal(catalog_field_by_name(ct, "rowid")->role, "data");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "tid = %lld AND lrow = 5", (long long)ct->tid), 1);
	rid = th_int(c->t, "SELECT rid FROM _fs_record WHERE tid = %lld AND "
	    "lrow = 5", (long long)ct->tid);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	th_db_exec(c->db, "INSERT INTO sh(\"my key\", rowid, oid, _rowid_) "
	    "VALUES (6, 'r6', 'o6', 'u6')");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "tid = %lld AND lrow = 6", (long long)ct->tid), 1);
	th_db_exec(c->db, "UPDATE sh SET rowid = 'R5' WHERE \"my key\" = 5");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND fid = %lld AND old = 'r5' AND "
	    "new = 'R5'", (long long)c->seq0, (long long)rid,
	    (long long)f_rowid), 1);
	/* Moving the key still moves the link, and only the key does. */
	th_db_exec(c->db, "UPDATE sh SET \"my key\" = 50 WHERE "
	    "\"my key\" = 5");
	assert_int_equal(th_int(c->t, "SELECT lrow FROM _fs_record WHERE "
	    "rid = %lld", (long long)rid), 50);
	th_db_exec(c->db, "UPDATE sh SET oid = 'O50', _rowid_ = 'U50' WHERE "
	    "\"my key\" = 50");
	assert_int_equal(th_int(c->t, "SELECT lrow FROM _fs_record WHERE "
	    "rid = %lld", (long long)rid), 50);
	assert_int_equal(nlog(c, "rid = " "(SELECT rid FROM _fs_record WHERE "
	    "lrow = 50 AND tid = (SELECT tid FROM _fs_table WHERE name = "
	    "'sh')) AND new IN ('O50', 'U50')"), 2);
	th_db_exec(c->db, "DELETE FROM sh WHERE \"my key\" = 50");
	assert_int_equal(th_int(c->t, "SELECT lrow IS NULL FROM _fs_record "
	    "WHERE rid = %lld", (long long)rid), 1);
	assert_int_equal(nlog(c, "kind = 2"), 1);
	catalog_table_free(ct);
	assert_monotonic(c);
}

static void
test_upsert(void **state)
{
	struct cap *c = *state;

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'a')");
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");
	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'b') "
	    "ON CONFLICT(id) DO UPDATE SET name = excluded.name");
	assert_int_equal(nlog(c, "1"), 1);
	assert_int_equal(nlog(c, "kind = 0 AND old = 'a' AND new = 'b'"), 1);
}

static void
test_soft_delete_and_restore(void **state)
{
	struct cap *c = *state;

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'a')");
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");
	th_db_exec(c->db, "UPDATE t SET fs_status = 1 WHERE id = 1");
	th_db_exec(c->db, "UPDATE t SET fs_status = 0 WHERE id = 1");
	assert_int_equal(nlog(c, "1"), 2);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND fid = %lld AND kind = 0 AND ((old = 0 AND new = 1)"
	    " OR (old = 1 AND new = 0))", (long long)c->seq0,
	    (long long)c->f_status), 2);
	/* The row is still linked: a soft delete is only a field. */
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "lrow = 1"), 1);
}

static void
test_clock_never_goes_back(void **state)
{
	struct cap *c = *state;
	int64_t ahead;

	/* The clock is an hour ahead of the wall clock (a peer's stamp, a
	 * clock that was set back): new stamps still go up by one. */
	ahead = th_int(c->t, "SELECT ((CAST((julianday('now') - 2440587.5) * "
	    "86400000 AS INTEGER) + 3600000) << 16) + 7");
	th_exec(c->t, "UPDATE _fs_clock SET hlc = %lld", (long long)ahead);
	th_db_exec(c->db, "INSERT INTO t(name) VALUES ('a')");
	th_db_exec(c->db, "UPDATE t SET name = 'b'");
	/* Both above the clock it found, by a step or two (not by the wall
	 * clock's distance), and in order. */
	assert_int_equal(nlog(c, "1"), 2);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND hlc > %lld AND hlc < %lld + 16",
	    (long long)c->seq0, (long long)ahead, (long long)ahead), 2);
	assert_monotonic(c);
}

static void
test_engine_switch(void **state)
{
	struct cap *c = *state;
	int64_t peer_hlc = (1700000000000LL << 16) + 3, local_rid;
	static const char peer_sid[] = "00112233445566778899AABBCCDDEEFF";

	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (1, 'local')");
	local_rid = rid_of(c, 1);
	c->seq0 = th_int(c->t, "SELECT max(seq) FROM _fs_log");

	/* What the engine does: set the switch, apply, clear, commit. */
	th_db_exec(c->db, "BEGIN IMMEDIATE;"
	    "UPDATE _fs_clock SET ap_src = 7, ap_hlc = %lld, ap_origin = 3, "
	    "ap_sid = lower('%s');"
	    "INSERT INTO t(id, name, n) VALUES (2, 'from peer', 42);",
	    (long long)peer_hlc, peer_sid);
	th_db_exec(c->db, "UPDATE _fs_clock SET ap_sid = NULL, ap_hlc = %lld;"
	    "UPDATE t SET name = 'peer edit' WHERE id = 1;"
	    "DELETE FROM t WHERE id = 2;"
	    "UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, "
	    "ap_origin = NULL, ap_sid = NULL; COMMIT",
	    (long long)peer_hlc + 1);

	/* The peer's record got the peer's sync identity. */
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "sid = lower('%s') AND lrow IS NULL", peer_sid), 1);
	/* Every change is stamped with the peer's version and source. */
	assert_int_equal(nlog(c, "1"), 3);
	assert_int_equal(nlog(c, "origin = 3 AND src = 7"), 3);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) WHERE l.seq > %lld AND l.kind = 1 AND "
	    "l.hlc = %lld AND r.sid = lower('%s')", (long long)c->seq0,
	    (long long)peer_hlc, peer_sid), 1);
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "seq > %lld AND rid = %lld AND kind = 0 AND new = 'peer edit' AND "
	    "hlc = %lld", (long long)c->seq0, (long long)local_rid,
	    (long long)peer_hlc + 1), 1);
	assert_int_equal(nlog(c, "kind = 2 AND src = 7"), 1);
	/* They still took fresh local sequence numbers, in order. */
	assert_int_equal(th_int(c->t, "SELECT count(DISTINCT seq) FROM "
	    "_fs_log WHERE seq > %lld", (long long)c->seq0), 3);

	/* Switch off: local stamps again, above every earlier local one. */
	th_db_exec(c->db, "UPDATE t SET name = 'local again' WHERE id = 1");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_log WHERE "
	    "new = 'local again' AND origin = 0 AND src IS NULL AND hlc > "
	    "(SELECT max(hlc) FROM _fs_log WHERE origin = 0 AND "
	    "new IS NOT 'local again')"), 1);
	th_db_exec(c->db, "INSERT INTO t(id, name) VALUES (3, 'mine')");
	assert_int_equal(th_int(c->t, "SELECT count(*) FROM _fs_record WHERE "
	    "lrow = 3 AND sid <> lower('%s')", peer_sid), 1);
}

int
main(void)
{
#define T(f) \
	{ #f " [recursive_triggers off]", f, setup_rt0, teardown, NULL }, \
	{ #f " [recursive_triggers on]", f, setup_rt1, teardown, NULL }
	const struct CMUnitTest tests[] = {
		T(test_insert),
		T(test_update),
		T(test_update_without_change_records_nothing),
		T(test_type_and_case_changes_recorded),
		T(test_rowid_change_keeps_record),
		T(test_hard_delete_tombstone),
		T(test_replace_is_delete_and_insert),
		T(test_columns_named_rowid),
		T(test_upsert),
		T(test_soft_delete_and_restore),
		T(test_clock_never_goes_back),
		T(test_engine_switch),
	};

	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
