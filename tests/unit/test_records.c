/*
 * test_records.c - the records browser (records.c): paging, search with
 * every LIKE metacharacter and SQL-looking text, hostile table and
 * column names, cut-short cells, and that reading writes nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "records.h"
#include "testhelp.h"

/* A table name and columns that break any SQL built by pasting. */
#define TNAME "t'; DROP TABLE victim;--\"]"
#define APP \
	"CREATE TABLE \"t'; DROP TABLE victim;--\"\"]\" (\"k ey\" INTEGER " \
	"PRIMARY KEY, \"a\"\"b\" TEXT, \"[c]\" TEXT, \"`d`\" BLOB, " \
	"\"rowid\" TEXT);" \
	"CREATE TABLE victim(x); INSERT INTO victim VALUES (1);" \
	"CREATE TABLE plain(id INTEGER PRIMARY KEY, v);"
#define NROWS 25

/* Texts with LIKE's metacharacters and SQL in them, one per row. */
static const char *const texts[] = {
	"100% sure", "snake_case", "back\\slash", "it's", "\"quoted\"",
	"' OR 1=1 --", "%", "_", "\\", "x%_\\y",
};
#define NTEXTS (int)(sizeof texts / sizeof texts[0])

static int
setup(void **state)
{
	struct th *t = th_new(APP);
	char *sql;

	th_assert_ok(t, catalog_table_add(t->s, TNAME, NULL, &t->err));
	for (int i = 1; i <= NROWS; i++) {
		/* Keys out of insertion order, so ordering is tested. */
		int key = (i * 7) % 101 + 1000;

		sql = sqlite3_mprintf("INSERT INTO \"%w\"(\"k ey\", \"a\"\"b\", "
		    "\"[c]\", \"`d`\", \"rowid\") VALUES (%d, %Q, 'row %d', "
		    "x'00%02x', 'shadow %d')", TNAME, key,
		    i <= NTEXTS ? texts[i - 1] : "plain text", i, i, i);
		th_exec(t, "%s", sql);
		sqlite3_free(sql);
	}
	*state = t;
	return 0;
}

static int64_t
ival(const cJSON *j)
{
	if (cJSON_IsRaw(j))
		return strtoll(j->valuestring, NULL, 10);
	if (cJSON_IsNumber(j))
		return (int64_t)j->valuedouble;
	fail_msg("not an integer");
	return 0;
}

static cJSON *
list(struct th *t, const char *search, int64_t offset, int limit)
{
	cJSON *o;

	fs_err_clear(&t->err);
	o = records_list(t->s, TNAME, search, offset, limit, &t->err);
	if (o == NULL)
		fail_msg("records_list: %s", t->err.msg);
	return o;
}

static int
total(cJSON *o)
{
	return (int)cJSON_GetObjectItem(o, "total")->valuedouble;
}

static int
nrows(cJSON *o)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(o, "rows"));
}

/* Index of column name in the listing's columns, -1 if absent. */
static int
col_index(cJSON *o, const char *name)
{
	const cJSON *c;
	int i = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(o, "columns")) {
		if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring,
		    name) == 0)
			return i;
		i++;
	}
	return -1;
}

static void
test_paging(void **state)
{
	struct th *t = *state;
	cJSON *o, *row;
	int64_t last = -1, seen = 0;
	int ci;

	o = list(t, NULL, 0, 10);
	assert_string_equal(cJSON_GetObjectItem(o, "table")->valuestring,
	    TNAME);
	assert_int_equal(total(o), NROWS);
	assert_int_equal(nrows(o), 10);
	/* Every column by its exact name; the key shows as the row id. */
	assert_true(col_index(o, "k ey") >= 0);
	assert_true(col_index(o, "a\"b") >= 0);
	assert_true(col_index(o, "[c]") >= 0);
	assert_true(col_index(o, "`d`") >= 0);
	assert_true(col_index(o, "rowid") >= 0);
	assert_true(col_index(o, "fs_status") >= 0);
	cJSON_Delete(o);
	/* Pages in key order, each row once, the row id the key column
	 * (not the text column that happens to be called "rowid"). */
	for (int off = 0; off < NROWS; off += 7) {
		o = list(t, "", off, 7);
		ci = col_index(o, "k ey");
		assert_int_equal(total(o), NROWS);
		assert_int_equal(nrows(o), NROWS - off < 7 ? NROWS - off : 7);
		cJSON_ArrayForEach(row, cJSON_GetObjectItem(o, "rows")) {
			int64_t id = ival(cJSON_GetObjectItem(row, "rowid"));

			assert_true(id > last);
			assert_int_equal(id, ival(cJSON_GetArrayItem(
			    cJSON_GetObjectItem(row, "values"), ci)));
			assert_true(cJSON_IsFalse(cJSON_GetObjectItem(row,
			    "deleted")));
			last = id;
			seen++;
		}
		cJSON_Delete(o);
	}
	assert_int_equal(seen, NROWS);
	/* Past the end: no rows, the total still right. */
	o = list(t, NULL, 1000, 10);
	assert_int_equal(nrows(o), 0);
	assert_int_equal(total(o), NROWS);
	cJSON_Delete(o);
	o = list(t, NULL, 0, FS_RECORDS_PAGE_MAX);
	assert_int_equal(nrows(o), NROWS);
	cJSON_Delete(o);
}

/* Rows whose "a"b" text contains s literally. */
static int
expect(const char *s)
{
	int n = 0;

	for (int i = 0; i < NROWS; i++)
		if (strstr(i < NTEXTS ? texts[i] : "plain text", s) != NULL)
			n++;
	return n;
}

static void
test_search_is_literal(void **state)
{
	struct th *t = *state;
	static const char *const needles[] = { "%", "_", "\\", "'", "\"",
	    "' OR 1=1 --", "x%_\\y", "%_", "e_c", "100%", "it's", "--",
	    "\" OR \"\"=\"" };

	for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
		cJSON *o = list(t, needles[i], 0, 100);
		int want = expect(needles[i]);

		if (total(o) != want || nrows(o) != want)
			fail_msg("search %s: total %d rows %d, want %d",
			    needles[i], total(o), nrows(o), want);
		assert_string_equal(cJSON_GetObjectItem(o, "search")->valuestring,
		    needles[i]);
		cJSON_Delete(o);
	}
	/* Other columns are searched too, numbers as text. */
	{
		cJSON *o = list(t, "row 2", 0, 100);

		assert_int_equal(total(o), 7);	/* row 2, row 20..25 */
		cJSON_Delete(o);
		o = list(t, "shadow 13", 0, 100);
		assert_int_equal(total(o), 1);
		cJSON_Delete(o);
		o = list(t, "1007", 0, 100);	/* key of row 1 */
		assert_int_equal(total(o), 1);
		cJSON_Delete(o);
		o = list(t, "no such text", 0, 100);
		assert_int_equal(total(o), 0);
		assert_int_equal(nrows(o), 0);
		cJSON_Delete(o);
	}
	/* Paging within a search. */
	{
		cJSON *o = list(t, "plain", 5, 5);

		assert_int_equal(total(o), NROWS - NTEXTS);
		assert_int_equal(nrows(o), 5);
		cJSON_Delete(o);
	}
	assert_int_equal(th_int(t, "SELECT count(*) FROM victim"), 1);
}

static void
test_bad_arguments(void **state)
{
	struct th *t = *state;
	char big[FS_RECORDS_SEARCH_MAX + 2];
	cJSON *o;

	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME, NULL, 0,
	    0, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME, NULL, 0,
	    FS_RECORDS_PAGE_MAX + 1, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME, NULL, -1,
	    10, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME, "\xff",
	    0, 10, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME,
	    "\xc3", 0, 10, &t->err));
	memset(big, 'x', sizeof big);
	big[FS_RECORDS_SEARCH_MAX + 1] = '\0';
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, TNAME, big, 0,
	    10, &t->err));
	big[FS_RECORDS_SEARCH_MAX] = '\0';
	o = records_list(t->s, TNAME, big, 0, 10, &t->err);
	assert_non_null(o);
	assert_int_equal(total(o), 0);
	cJSON_Delete(o);
	/* Tables: not enrolled, not there, not a name at all. */
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s, "victim",
	    NULL, 0, 10, &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s, "plain", NULL,
	    0, 10, &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s,
	    "victim; DROP TABLE victim", NULL, 0, 10, &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s,
	    "t'; DROP TABLE victim;--", NULL, 0, 10, &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s,
	    "_fs_meta", NULL, 0, 10, &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_list(t->s,
	    "sqlite_schema", NULL, 0, 10, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, "", NULL, 0, 10,
	    &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, NULL, NULL, 0,
	    10, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_list(t->s, "a\nb", NULL, 0,
	    10, &t->err));
	th_assert_fails_null(t, FS_EINVAL, records_get(t->s, "a\x01", 1,
	    &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_get(t->s, "victim", 1,
	    &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM victim"), 1);
	assert_int_equal(th_int(t, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name = %Q", TNAME), 1);
}

static const cJSON *
column(const cJSON *rec, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rec, "columns"))
		if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring,
		    name) == 0)
			return cJSON_GetObjectItem(c, "value");
	fail_msg("no column %s", name);
	return NULL;
}

static void
test_get(void **state)
{
	struct th *t = *state;
	cJSON *r;

	/* Row 6: key 1042, text "' OR 1=1 --". */
	r = records_get(t->s, TNAME, 1042, &t->err);
	assert_non_null(r);
	assert_int_equal(ival(cJSON_GetObjectItem(r, "rowid")), 1042);
	assert_string_equal(cJSON_GetObjectItem(r, "table")->valuestring, TNAME);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "deleted")));
	assert_string_equal(column(r, "a\"b")->valuestring, "' OR 1=1 --");
	assert_string_equal(column(r, "[c]")->valuestring, "row 6");
	assert_string_equal(column(r, "rowid")->valuestring, "shadow 6");
	assert_string_equal(cJSON_GetObjectItem(column(r, "`d`"),
	    "blob")->valuestring, "0006");
	assert_int_equal(ival(column(r, "k ey")), 1042);
	cJSON_Delete(r);
	th_assert_fails_null(t, FS_ENOTFOUND, records_get(t->s, TNAME, 1,
	    &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, records_get(t->s, TNAME,
	    INT64_MIN, &t->err));
	/* A soft-deleted row says so, in the list and alone. */
	th_exec(t, "UPDATE \"%w\" SET fs_status = 1 WHERE \"k ey\" = 1042",
	    TNAME);
	r = records_get(t->s, TNAME, 1042, &t->err);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "deleted")));
	cJSON_Delete(r);
	r = list(t, "' OR 1=1", 0, 10);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(r, "rows"), 0), "deleted")));
	cJSON_Delete(r);
}

static void
test_long_values_cut_in_lists(void **state)
{
	struct th *t = *state;
	cJSON *o, *vals, *r;
	const char *s;
	int ca, cd;

	/* 300 two-byte characters: cut on a character boundary. */
	th_exec(t, "INSERT INTO \"%w\"(\"k ey\", \"a\"\"b\", \"`d`\") VALUES "
	    "(5000, replace(hex(zeroblob(150)), '0', '\xc3\xa9'), "
	    "zeroblob(100))", TNAME);
	o = list(t, NULL, NROWS, 10);
	assert_int_equal(nrows(o), 1);
	ca = col_index(o, "a\"b");
	cd = col_index(o, "`d`");
	vals = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o,
	    "rows"), 0), "values");
	s = cJSON_GetArrayItem(vals, ca)->valuestring;
	assert_true(strlen(s) <= FS_RECORDS_CELL_MAX + 3);
	assert_int_equal(strlen(s) % 2, 1);	/* whole é's, then "…" */
	assert_string_equal(s + strlen(s) - 3, "\xe2\x80\xa6");
	assert_true(strncmp(s, "\xc3\xa9\xc3\xa9", 4) == 0);
	{
		const cJSON *b = cJSON_GetArrayItem(vals, cd);

		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "cut")));
		assert_int_equal(cJSON_GetObjectItem(b, "bytes")->valuedouble,
		    100);
		assert_int_equal(strlen(cJSON_GetObjectItem(b,
		    "blob")->valuestring), 64);
	}
	cJSON_Delete(o);
	/* The record itself shows everything. */
	r = records_get(t->s, TNAME, 5000, &t->err);
	assert_int_equal(strlen(column(r, "a\"b")->valuestring), 600);
	assert_int_equal(strlen(cJSON_GetObjectItem(column(r, "`d`"),
	    "blob")->valuestring), 200);
	cJSON_Delete(r);
}

/* Reading writes nothing, whatever is searched. */
static void
test_read_only(void **state)
{
	struct th *t = *state;
	int before = sqlite3_total_changes(t->s->db);
	int64_t log = th_int(t, "SELECT count(*) FROM _fs_log");
	cJSON *o;

	o = list(t, "'); DELETE FROM victim; --", 0, 10);
	cJSON_Delete(o);
	o = list(t, NULL, 3, 3);
	cJSON_Delete(o);
	o = records_get(t->s, TNAME, 1042, &t->err);
	cJSON_Delete(o);
	assert_int_equal(sqlite3_total_changes(t->s->db), before);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log"), log);
	assert_int_equal(th_int(t, "SELECT count(*) FROM victim"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paging, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_search_is_literal, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_get, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_long_values_cut_in_lists,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
