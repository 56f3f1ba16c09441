/*
 * test_catalog.c - enrolling tables: system fields, field numbers that
 * never change and are never reused, odd table names, refusals, --match,
 * and the records and "created" log rows given to existing rows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "store.h"
#include "testhelp.h"

static int64_t
fid_of(struct th *t, const char *table, const char *col)
{
	return th_int(t, "SELECT f.fid FROM _fs_field f JOIN _fs_table t "
	    "USING (tid) WHERE t.name = %Q AND f.name = %Q", table, col);
}

static int64_t
ncols(struct th *t, const char *table)
{
	return th_int(t, "SELECT count(*) FROM pragma_table_xinfo(%Q)", table);
}

static int64_t
ntriggers(struct th *t, const char *table)
{
	return th_int(t, "SELECT count(*) FROM sqlite_schema WHERE type = "
	    "'trigger' AND tbl_name = %Q", table);
}

static void
test_enrol_basic(void **state)
{
	struct th *t = *state;
	struct catalog_table *ct;
	cJSON *list, *o, *fields;
	static const char *const names[] = { "id", "name", "email",
	    "fs_status", "fs_added" };
	static const char *const roles[] = { "rowid", "data", "data",
	    "status", "added" };

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT, "
	    "email TEXT); INSERT INTO c VALUES (1, 'ann', 'a@x'), "
	    "(5, 'bob', 'b@x'), (9, 'cy', NULL)");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));

	/* The system fields were added and filled. */
	assert_int_equal(ncols(t, "c"), 5);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info('c')"
	    " WHERE name = 'fs_status' AND type = 'INTEGER' AND \"notnull\" = 1"
	    " AND dflt_value = '0'"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM c WHERE fs_status = 0 "
	    "AND fs_added GLOB '20[0-9][0-9]-[01][0-9]-[0-3][0-9]T*Z'"), 3);

	ct = catalog_table_get(t->s, "c", &t->err);
	assert_non_null(ct);
	assert_string_equal(ct->name, "c");
	assert_string_equal(ct->status_col, "fs_status");
	assert_string_equal(ct->added_col, "fs_added");
	assert_int_equal(ct->nfields, 5);
	for (int i = 0; i < 5; i++) {
		assert_string_equal(ct->fields[i].name, names[i]);
		assert_string_equal(ct->fields[i].role, roles[i]);
		if (i > 0)
			assert_true(ct->fields[i].fid > ct->fields[i - 1].fid);
	}
	assert_int_equal(ct->status_fid, ct->fields[3].fid);
	assert_int_equal(ct->added_fid, ct->fields[4].fid);
	assert_ptr_equal(catalog_field_by_name(ct, "EMAIL"), &ct->fields[2]);
	assert_null(catalog_field_by_name(ct, "nope"));
	assert_ptr_equal(catalog_field_by_fid(ct, ct->fields[1].fid),
	    &ct->fields[1]);
	assert_null(catalog_field_by_fid(ct, 0));

	/* Every existing row has a record and one "created" log row. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_record WHERE "
	    "tid = %lld AND length(sid) = 32 AND typeof(sid) = 'text'",
	    (long long)ct->tid), 3);
	assert_int_equal(th_int(t, "SELECT count(DISTINCT sid) FROM "
	    "_fs_record"), 3);
	{
		char *rows = th_text(t, "SELECT group_concat(lrow, ',') FROM "
		    "(SELECT lrow FROM _fs_record ORDER BY lrow)");

		assert_string_equal(rows, "1,5,9");
		free(rows);
	}
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) WHERE l.kind = 1 AND l.fid = 0 AND "
	    "l.origin = 0 AND l.src IS NULL AND l.old IS NULL AND "
	    "l.new IS NULL"), 3);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log"), 3);

	/* Triggers: insert, one per non-key column, delete, key. */
	assert_int_equal(ntriggers(t, "c"), 1 + 4 + 1 + 1);

	list = catalog_table_list(t->s, &t->err);
	assert_non_null(list);
	assert_int_equal(cJSON_GetArraySize(list), 1);
	o = cJSON_GetArrayItem(list, 0);
	assert_string_equal(cJSON_GetObjectItem(o, "table")->valuestring, "c");
	assert_int_equal(cJSON_GetObjectItem(o, "records")->valueint, 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "match")),
	    0);
	fields = cJSON_GetObjectItem(o, "fields");
	assert_int_equal(cJSON_GetArraySize(fields), 5);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 3),
	    "role")->valuestring, "status");
	cJSON_Delete(list);

	/* The published catalogue leaves out the row id. */
	list = catalog_fields_json(t->s, 0, &t->err);
	assert_int_equal(cJSON_GetArraySize(list), 4);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
	    "column")->valuestring, "name");
	cJSON_Delete(list);
	catalog_table_free(ct);
	catalog_table_free(NULL);
}

/* Enrol name (created with the given column list), then write to it
 * through another connection and check the writes were captured. */
static void
enrol_and_write(struct th *t, const char *table, const char *keycol,
    const char *datacol)
{
	sqlite3 *db;
	int64_t rid, dfid;

	th_exec(t, "CREATE TABLE \"%w\" (\"%w\" INTEGER PRIMARY KEY, \"%w\" "
	    "TEXT)", table, keycol, datacol);
	th_exec(t, "INSERT INTO \"%w\" VALUES (1, 'before')", table);
	th_assert_ok(t, catalog_table_add(t->s, table, NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_table WHERE "
	    "name = %Q", table), 1);
	dfid = fid_of(t, table, datacol);

	db = th_conn(t, -1);
	th_db_exec(db, "INSERT INTO \"%w\" (\"%w\") VALUES ('new')", table,
	    datacol);
	th_db_exec(db, "UPDATE \"%w\" SET \"%w\" = 'after' WHERE \"%w\" = 1",
	    table, datacol, keycol);
	/* Change the key: the record follows the row. */
	rid = th_int(t, "SELECT rid FROM _fs_record r JOIN _fs_table t USING "
	    "(tid) WHERE t.name = %Q AND lrow = 1", table);
	th_db_exec(db, "UPDATE \"%w\" SET \"%w\" = 77 WHERE \"%w\" = 1",
	    table, keycol, keycol);
	th_db_exec(db, "DELETE FROM \"%w\" WHERE \"%w\" = 2", table, keycol);
	th_conn_close(db);

	assert_int_equal(th_int(t, "SELECT lrow FROM _fs_record WHERE rid = "
	    "%lld", (long long)rid), 77);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE rid = "
	    "%lld AND fid = %lld AND old = 'before' AND new = 'after'",
	    (long long)rid, (long long)dfid), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) JOIN _fs_table t USING (tid) WHERE "
	    "t.name = %Q AND l.kind = 1", table), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) JOIN _fs_table t USING (tid) WHERE "
	    "t.name = %Q AND l.kind = 2 AND r.lrow IS NULL", table), 1);
}

static void
test_odd_names(void **state)
{
	struct th *t = *state;
	struct catalog_table *ct;

	enrol_and_write(t, "my \"odd\" table", "key col", "first name");
	enrol_and_write(t, "order", "select", "from");
	enrol_and_write(t, "a.b", "group", "where x = 1; --");
	enrol_and_write(t, "caf\xc3\xa9 'quoted'", "\"", "]");
	ct = catalog_table_get(t->s, "my \"odd\" table", &t->err);
	assert_non_null(ct);
	assert_non_null(catalog_field_by_name(ct, "first name"));
	assert_string_equal(catalog_field_by_name(ct, "key col")->role,
	    "rowid");
	catalog_table_free(ct);
	/* Names are exact: a near miss is not found. */
	th_assert_fails_null(t, FS_ENOTFOUND, catalog_table_get(t->s,
	    "my odd table", &t->err));
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_add(t->s,
	    "my odd table", NULL, &t->err));
	/* But case-blind, as in SQL: the table keeps its own name. */
	th_exec(t, "CREATE TABLE \"Mixed\"(id INTEGER PRIMARY KEY, v)");
	assert_int_equal(catalog_table_add(t->s, "mIXED", NULL, &t->err), 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_table WHERE "
	    "name = 'Mixed'"), 1);
	ct = catalog_table_get(t->s, "MIXED", &t->err);
	assert_non_null(ct);
	assert_string_equal(ct->name, "Mixed");
	catalog_table_free(ct);
}

static void
test_system_columns_reused(void **state)
{
	struct th *t = *state;
	struct catalog_table *ct;

	th_exec(t, "CREATE TABLE r(id INTEGER PRIMARY KEY, v, "
	    "fs_status INTEGER NOT NULL DEFAULT 0, fs_added TEXT);"
	    "INSERT INTO r VALUES (1, 'x', 0, '2001-01-01T00:00:00.000Z'),"
	    "(2, 'y', 1, NULL)");
	th_assert_ok(t, catalog_table_add(t->s, "r", NULL, &t->err));
	assert_int_equal(ncols(t, "r"), 4);
	/* Existing values are kept; only missing times are filled. */
	{
		char *a = th_text(t, "SELECT fs_added FROM r WHERE id = 1");

		assert_string_equal(a, "2001-01-01T00:00:00.000Z");
		free(a);
	}
	assert_int_equal(th_int(t, "SELECT fs_added IS NOT NULL FROM r "
	    "WHERE id = 2"), 1);
	assert_int_equal(th_int(t, "SELECT fs_status FROM r WHERE id = 2"), 1);
	ct = catalog_table_get(t->s, "r", &t->err);
	assert_string_equal(catalog_field_by_name(ct, "fs_status")->role,
	    "status");
	assert_string_equal(catalog_field_by_name(ct, "fs_added")->role,
	    "added");
	catalog_table_free(ct);
}

static void
test_custom_system_columns(void **state)
{
	struct th *t = *state;
	struct table_opts o = { "DELETED", "Created_At", NULL };
	struct catalog_table *ct;

	/* Existing columns, named in another case. */
	th_exec(t, "CREATE TABLE e(id INTEGER PRIMARY KEY, v, "
	    "Deleted INTEGER DEFAULT 0, created_at TEXT)");
	th_assert_ok(t, catalog_table_add(t->s, "e", &o, &t->err));
	assert_int_equal(ncols(t, "e"), 4);
	ct = catalog_table_get(t->s, "e", &t->err);
	assert_string_equal(ct->status_col, "Deleted");	/* schema spelling */
	assert_string_equal(ct->added_col, "created_at");
	assert_int_equal(ct->status_fid, fid_of(t, "e", "Deleted"));
	assert_int_equal(ct->added_fid, fid_of(t, "e", "created_at"));
	catalog_table_free(ct);

	/* Re-enrolling without options keeps the chosen columns. */
	th_assert_ok(t, catalog_table_remove(t->s, "e", &t->err));
	th_assert_ok(t, catalog_table_add(t->s, "e", NULL, &t->err));
	assert_int_equal(ncols(t, "e"), 4);
	ct = catalog_table_get(t->s, "e", &t->err);
	assert_string_equal(ct->status_col, "Deleted");
	catalog_table_free(ct);

	/* New custom names are added under exactly those names. */
	th_exec(t, "CREATE TABLE n(id INTEGER PRIMARY KEY, v)");
	o = (struct table_opts){ "is gone", "born on", NULL };
	th_assert_ok(t, catalog_table_add(t->s, "n", &o, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info('n')"
	    " WHERE name IN ('is gone', 'born on')"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM pragma_table_info('n')"
	    " WHERE name LIKE 'fs\\_%%' ESCAPE '\\'"), 0);
	th_exec(t, "INSERT INTO n(v) VALUES (1)");
	assert_int_equal(th_int(t, "SELECT \"born on\" IS NOT NULL AND "
	    "\"is gone\" = 0 FROM n"), 1);
}

static void
test_field_numbers_stable(void **state)
{
	struct th *t = *state;
	int64_t a_id, a_x, a_st, a_ad, b_y, a_z, max_before, c_first;

	th_exec(t, "CREATE TABLE a(id INTEGER PRIMARY KEY, x);"
	    "CREATE TABLE b(id INTEGER PRIMARY KEY, y)");
	th_assert_ok(t, catalog_table_add(t->s, "a", NULL, &t->err));
	th_assert_ok(t, catalog_table_add(t->s, "b", NULL, &t->err));
	a_id = fid_of(t, "a", "id");
	a_x = fid_of(t, "a", "x");
	a_st = fid_of(t, "a", "fs_status");
	a_ad = fid_of(t, "a", "fs_added");
	b_y = fid_of(t, "b", "y");
	assert_true(a_id >= 1);
	assert_true(b_y > a_ad);

	/* remove / add again, after a restart too: the same numbers. */
	th_assert_ok(t, catalog_table_remove(t->s, "a", &t->err));
	th_reopen(t);
	th_assert_ok(t, catalog_table_add(t->s, "a", NULL, &t->err));
	assert_int_equal(fid_of(t, "a", "id"), a_id);
	assert_int_equal(fid_of(t, "a", "x"), a_x);
	assert_int_equal(fid_of(t, "a", "fs_status"), a_st);
	assert_int_equal(fid_of(t, "a", "fs_added"), a_ad);
	assert_int_equal(fid_of(t, "b", "y"), b_y);

	/* A new column gets a new number above every other (not
	 * necessarily the next one: re-enrolling may skip numbers). */
	max_before = th_int(t, "SELECT max(fid) FROM _fs_field");
	th_exec(t, "ALTER TABLE a ADD COLUMN z");
	th_assert_ok(t, catalog_table_add(t->s, "a", NULL, &t->err));
	a_z = fid_of(t, "a", "z");
	assert_true(a_z > max_before);
	assert_int_equal(fid_of(t, "a", "x"), a_x);

	/* A dropped column leaves the field list; its number is kept for
	 * it and comes back with it. */
	th_assert_ok(t, catalog_table_remove(t->s, "a", &t->err));
	th_exec(t, "ALTER TABLE a DROP COLUMN x");
	th_assert_ok(t, catalog_table_add(t->s, "a", NULL, &t->err));
	{
		struct catalog_table *ct = catalog_table_get(t->s, "a",
		    &t->err);

		assert_null(catalog_field_by_name(ct, "x"));
		assert_null(catalog_field_by_fid(ct, a_x));
		assert_int_equal(ct->nfields, 4);
		catalog_table_free(ct);
	}
	th_assert_ok(t, catalog_table_remove(t->s, "a", &t->err));
	th_exec(t, "ALTER TABLE a ADD COLUMN x");
	th_assert_ok(t, catalog_table_add(t->s, "a", NULL, &t->err));
	assert_int_equal(fid_of(t, "a", "x"), a_x);

	/* Numbers of a table that is gone are never handed out again. */
	th_assert_ok(t, catalog_table_remove(t->s, "b", &t->err));
	th_exec(t, "DROP TABLE b; CREATE TABLE c(id INTEGER PRIMARY KEY, w)");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	c_first = th_int(t, "SELECT min(fid) FROM _fs_field f JOIN _fs_table "
	    "t USING (tid) WHERE t.name = 'c'");
	assert_true(c_first > a_z);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_field WHERE "
	    "fid = %lld", (long long)b_y), 1);
	/* A table recreated under the old name keeps the old numbers. */
	th_exec(t, "CREATE TABLE b(id INTEGER PRIMARY KEY, y)");
	th_assert_ok(t, catalog_table_add(t->s, "b", NULL, &t->err));
	assert_int_equal(fid_of(t, "b", "y"), b_y);
}

static void
test_refusals(void **state)
{
	struct th *t = *state;
	static const struct {
		const char *name;
		const char *sql;
		int code;
		const char *msg;
	} cases[] = {
		{ "w", "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID",
		  FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "wi", "CREATE TABLE wi(k INTEGER PRIMARY KEY, v) WITHOUT ROWID",
		  FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "nokey", "CREATE TABLE nokey(a, b)",
		  FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "intkey", "CREATE TABLE intkey(k INT PRIMARY KEY, v)",
		  FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "textkey", "CREATE TABLE textkey(k TEXT PRIMARY KEY, v)",
		  FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "desckey", "CREATE TABLE desckey(k INTEGER PRIMARY KEY DESC, "
		  "v)", FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "twokey", "CREATE TABLE twokey(a INTEGER, b INTEGER, v, "
		  "PRIMARY KEY (a, b))", FS_EINVAL, "INTEGER PRIMARY KEY" },
		{ "vt", "CREATE VIRTUAL TABLE vt USING fts5(body)",
		  FS_EINVAL, "virtual" },
		{ "view", "CREATE VIEW view AS SELECT 1 AS id",
		  FS_EINVAL, "view is a view" },
		{ "missing", NULL, FS_ENOTFOUND, "no such table: missing" },
		{ "_fs_log", NULL, FS_EINVAL, "reserved" },
		{ "_FS_LOG", NULL, FS_EINVAL, "reserved" },
		{ "sqlite_sequence", NULL, FS_EINVAL, "reserved" },
		{ "SQLITE_schema", NULL, FS_EINVAL, "reserved" },
		{ "", NULL, FS_EINVAL, "invalid" },
		{ "bad\nname", NULL, FS_EINVAL, "invalid" },
		{ "bad\xff", NULL, FS_EINVAL, "invalid" },
	};
	int64_t schema;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (cases[i].sql != NULL)
			th_exec(t, "%s", cases[i].sql);
	schema = th_int(t, "SELECT count(*) FROM sqlite_schema");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fs_err_clear(&t->err);
		if (catalog_table_add(t->s, cases[i].name, NULL, &t->err) != -1)
			fail_msg("%s: enrolled", cases[i].name);
		if (t->err.code != cases[i].code ||
		    strstr(t->err.msg, cases[i].msg) == NULL)
			fail_msg("%s: code %d \"%s\", expected %d \"%s\"",
			    cases[i].name, t->err.code, t->err.msg,
			    cases[i].code, cases[i].msg);
	}
	/* Nothing was enrolled and no column or trigger was added. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_table"), 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema"),
	    schema);
	assert_int_equal(ncols(t, "nokey"), 2);
	assert_int_equal(ncols(t, "w"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema WHERE "
	    "sql LIKE '%%fs_status%%'"), 0);

	/* Bad system-column choices. */
	th_exec(t, "CREATE TABLE ok(id INTEGER PRIMARY KEY, v)");
	{
		struct table_opts o = { "same", "SAME", NULL };

		th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "ok", &o,
		    &t->err));
		o = (struct table_opts){ "id", NULL, NULL };
		th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "ok", &o,
		    &t->err));
		o = (struct table_opts){ NULL, "ID", NULL };
		th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "ok", &o,
		    &t->err));
		o = (struct table_opts){ "tab\tname", NULL, NULL };
		th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "ok", &o,
		    &t->err));
		o = (struct table_opts){ "", NULL, NULL };
		th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "ok", &o,
		    &t->err));
	}
	assert_int_equal(ncols(t, "ok"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_table"), 0);
}

static char *
match_of(struct th *t, const char *table)
{
	return th_text(t, "SELECT match_cols FROM _fs_table WHERE name = %Q",
	    table);
}

static void
test_match(void **state)
{
	struct th *t = *state;
	struct table_opts o = { NULL, NULL, "EMAIL" };
	char *m;
	cJSON *list;

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, email, \"tax no\")");
	th_assert_ok(t, catalog_table_add(t->s, "c", &o, &t->err));
	m = match_of(t, "c");
	assert_string_equal(m, "[\"email\"]");	/* schema spelling */
	free(m);

	/* Re-enrolling without --match keeps it; a new one replaces it. */
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	m = match_of(t, "c");
	assert_string_equal(m, "[\"email\"]");
	free(m);
	o.match = "tax no,email";
	th_assert_ok(t, catalog_table_add(t->s, "c", &o, &t->err));
	m = match_of(t, "c");
	assert_string_equal(m, "[\"tax no\",\"email\"]");
	free(m);
	list = catalog_table_list(t->s, &t->err);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(list, 0), "match")), 2);
	cJSON_Delete(list);

	/* Refusals leave the previous match in place. */
	o.match = "nosuch";
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_add(t->s, "c", &o,
	    &t->err));
	assert_non_null(strstr(t->err.msg, "nosuch"));
	o.match = "email,nosuch";
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_add(t->s, "c", &o,
	    &t->err));
	o.match = "id";
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "c", &o,
	    &t->err));
	o.match = ",";
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "c", &o,
	    &t->err));
	o.match = "";
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "c", &o,
	    &t->err));
	o.match = "email,EMAIL";
	th_assert_fails(t, FS_EINVAL, catalog_table_add(t->s, "c", &o,
	    &t->err));
	m = match_of(t, "c");
	assert_string_equal(m, "[\"tax no\",\"email\"]");
	free(m);
}

static void
test_reenrol_catches_up(void **state)
{
	struct th *t = *state;
	int64_t tid, gone_rid;

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, v);"
	    "INSERT INTO c VALUES (1, 'a'), (2, 'b')");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	tid = th_int(t, "SELECT tid FROM _fs_table WHERE name = 'c'");
	gone_rid = th_int(t, "SELECT rid FROM _fs_record WHERE lrow = 2");

	/* Enrolling again while enrolled changes nothing. */
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_record"), 2);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log"), 2);

	th_assert_ok(t, catalog_table_remove(t->s, "c", &t->err));
	th_exec(t, "INSERT INTO c(id, v) VALUES (3, 'c');"
	    "DELETE FROM c WHERE id = 2; UPDATE c SET v = 'A' WHERE id = 1");
	/* Not enrolled: nothing captured. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log"), 2);
	assert_int_equal(th_int(t, "SELECT fs_added IS NULL FROM c WHERE "
	    "id = 3"), 1);

	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT tid FROM _fs_table WHERE name = "
	    "'c'"), tid);
	/* The new row got a record and a creation row, the deleted one a
	 * tombstone, the old ones no second creation row. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_record"), 3);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_record WHERE "
	    "lrow = 3"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "kind = 1"), 3);
	assert_int_equal(th_int(t, "SELECT lrow IS NULL FROM _fs_record "
	    "WHERE rid = %lld", (long long)gone_rid), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "kind = 2 AND rid = %lld AND fid = (SELECT fid FROM _fs_field "
	    "WHERE tid = %lld AND role = 'status') AND new = 1",
	    (long long)gone_rid, (long long)tid), 1);
	/* The time-added fill of row 3 is not a captured change. */
	assert_int_equal(th_int(t, "SELECT fs_added IS NOT NULL FROM c WHERE "
	    "id = 3"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "kind = 0"), 0);
}

static void
test_remove(void **state)
{
	struct th *t = *state;
	cJSON *list;

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, v);"
	    "CREATE TABLE d(id INTEGER PRIMARY KEY, v);"
	    "INSERT INTO c VALUES (1, 'keep')");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	th_assert_ok(t, catalog_table_add(t->s, "d", NULL, &t->err));
	assert_true(ntriggers(t, "c") > 0);
	th_assert_ok(t, catalog_table_remove(t->s, "c", &t->err));
	assert_int_equal(ntriggers(t, "c"), 0);
	assert_true(ntriggers(t, "d") > 0);	/* the other table's stay */
	assert_int_equal(th_int(t, "SELECT count(*) FROM c WHERE v = 'keep'"),
	    1);
	assert_int_equal(ncols(t, "c"), 4);	/* app data and columns kept */
	th_assert_fails_null(t, FS_ENOTFOUND, catalog_table_get(t->s, "c",
	    &t->err));
	list = catalog_table_list(t->s, &t->err);
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
	    "table")->valuestring, "d");
	cJSON_Delete(list);
	list = catalog_fields_json(t->s, 0, &t->err);
	for (int i = 0; i < cJSON_GetArraySize(list); i++)
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(
		    list, i), "table")->valuestring, "d");
	cJSON_Delete(list);

	th_exec(t, "INSERT INTO c(v) VALUES ('uncaptured')");
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_record WHERE "
	    "tid = (SELECT tid FROM _fs_table WHERE name = 'c')"), 1);

	th_assert_fails(t, FS_ENOTFOUND, catalog_table_remove(t->s, "c",
	    &t->err));
	th_assert_fails(t, FS_ENOTFOUND, catalog_table_remove(t->s, "nope",
	    &t->err));
}

static void
test_generated_columns_skipped(void **state)
{
	struct th *t = *state;
	struct catalog_table *ct;

	th_exec(t, "CREATE TABLE g(id INTEGER PRIMARY KEY, a INT, "
	    "b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, "
	    "c INT GENERATED ALWAYS AS (a + 1) STORED)");
	th_assert_ok(t, catalog_table_add(t->s, "g", NULL, &t->err));
	ct = catalog_table_get(t->s, "g", &t->err);
	assert_non_null(catalog_field_by_name(ct, "a"));
	assert_null(catalog_field_by_name(ct, "b"));
	assert_null(catalog_field_by_name(ct, "c"));
	catalog_table_free(ct);
	/* Writes work and only real columns are logged. */
	th_exec(t, "INSERT INTO g(a) VALUES (1); UPDATE g SET a = 5");
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE "
	    "kind = 0"), 1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)
	const struct CMUnitTest tests[] = {
		T(test_enrol_basic),
		T(test_odd_names),
		T(test_system_columns_reused),
		T(test_custom_system_columns),
		T(test_field_numbers_stable),
		T(test_refusals),
		T(test_match),
		T(test_reenrol_catches_up),
		T(test_remove),
		T(test_generated_columns_skipped),
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
