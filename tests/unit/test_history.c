/*
 * test_history.c - a record's change log as people read it: newest
 * first, old -> new values, kinds, the field's column, where the change
 * came from (this instance or a pairing), and the time from the clock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "history.h"
#include "pairing.h"
#include "store.h"
#include "testhelp.h"

static int
setup_table(void **state)
{
	struct th *t;

	th_setup(state);
	t = *state;
	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT, n)");
	if (catalog_table_add(t->s, "c", NULL, &t->err) == -1)
		fail_msg("enrol: %s", t->err.msg);
	return 0;
}

static cJSON *
entry(cJSON *h, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(h, "entries"), i);
}

static const char *
str(cJSON *e, const char *k)
{
	cJSON *v = cJSON_GetObjectItem(e, k);

	if (!cJSON_IsString(v))
		fail_msg("%s is not a string", k);
	return v->valuestring;
}

static char *
json_of(cJSON *e, const char *k)
{
	return cJSON_PrintUnformatted(cJSON_GetObjectItem(e, k));
}

static void
assert_json(cJSON *e, const char *k, const char *expect)
{
	char *s = json_of(e, k);

	if (strcmp(s, expect) != 0)
		fail_msg("%s: %s, expected %s", k, s, expect);
	free(s);
}

static void
test_entries_newest_first(void **state)
{
	struct th *t = *state;
	sqlite3 *db = th_conn(t, -1);
	cJSON *h, *e;
	char *id, *sid;
	int64_t f_name, f_n;

	th_db_exec(db, "INSERT INTO c(id, name, n) VALUES (7, 'ann', 1)");
	th_db_exec(db, "UPDATE c SET name = 'bob' WHERE id = 7");
	th_db_exec(db, "UPDATE c SET name = 'cy', n = 2.5 WHERE id = 7");
	th_db_exec(db, "UPDATE c SET n = x'00ff' WHERE id = 7");
	th_conn_close(db);
	f_name = th_int(t, "SELECT fid FROM _fs_field WHERE name = 'name'");
	f_n = th_int(t, "SELECT fid FROM _fs_field WHERE name = 'n'");

	h = history_record(t->s, "c", 7, 0, &t->err);
	assert_non_null(h);
	assert_string_equal(str(h, "table"), "c");
	assert_int_equal(cJSON_GetObjectItem(h, "rowid")->valueint, 7);
	sid = th_text(t, "SELECT sid FROM _fs_record WHERE lrow = 7");
	assert_string_equal(str(h, "sync_id"), sid);
	free(sid);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "entries")),
	    5);

	/* Newest first: seq strictly decreasing. */
	for (int i = 1; i < 5; i++)
		assert_true(cJSON_GetObjectItem(entry(h, i - 1), "seq")->valuedouble
		    > cJSON_GetObjectItem(entry(h, i), "seq")->valuedouble);

	e = entry(h, 0);
	assert_string_equal(str(e, "kind"), "change");
	assert_string_equal(str(e, "column"), "n");
	assert_int_equal(cJSON_GetObjectItem(e, "field")->valueint, f_n);
	assert_json(e, "old", "2.5");
	assert_json(e, "new", "{\"blob\":\"00ff\"}");

	/* One UPDATE of two columns: two entries (in either order). */
	e = entry(h, 1);
	if (strcmp(str(e, "column"), "n") != 0)
		e = entry(h, 2);
	assert_string_equal(str(e, "column"), "n");
	assert_json(e, "old", "1");
	assert_json(e, "new", "2.5");
	e = entry(h, e == entry(h, 1) ? 2 : 1);
	assert_string_equal(str(e, "column"), "name");
	assert_int_equal(cJSON_GetObjectItem(e, "field")->valueint, f_name);
	assert_json(e, "old", "\"bob\"");
	assert_json(e, "new", "\"cy\"");
	e = entry(h, 3);
	assert_json(e, "old", "\"ann\"");
	assert_json(e, "new", "\"bob\"");

	/* The oldest is the creation, on no column. */
	e = entry(h, 4);
	assert_string_equal(str(e, "kind"), "created");
	assert_int_equal(cJSON_GetObjectItem(e, "field")->valueint, 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "column")));
	assert_json(e, "old", "null");
	assert_json(e, "new", "null");

	/* All local, from this instance, no conflict, with a time. */
	id = store_instance_id(t->s, &t->err);
	for (int i = 0; i < 5; i++) {
		e = entry(h, i);
		assert_string_equal(str(e, "source"), "local");
		assert_string_equal(str(e, "origin"), id);
		assert_true(cJSON_IsFalse(cJSON_GetObjectItem(e, "conflict")));
		assert_int_equal(strlen(str(e, "time")), 24);
		assert_int_equal(str(e, "time")[23], 'Z');
	}
	free(id);
	cJSON_Delete(h);

	/* A limit keeps the newest. */
	h = history_record(t->s, "c", 7, 2, &t->err);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "entries")),
	    2);
	assert_json(entry(h, 0), "new", "{\"blob\":\"00ff\"}");
	cJSON_Delete(h);
}

static void
test_soft_delete_and_sources(void **state)
{
	struct th *t = *state;
	sqlite3 *db = th_conn(t, -1);
	cJSON *h, *e;
	int64_t pid;

	th_assert_ok(t, pairing_add(t->s, "hub", "passive", NULL, "pw", -1,
	    &t->err));
	th_assert_ok(t, pairing_add(t->s, "gone", "passive", NULL, "pw", -1,
	    &t->err));
	pid = th_int(t, "SELECT pid FROM _fs_pair WHERE name = 'hub'");
	th_exec(t, "INSERT INTO _fs_origin(id, instance) VALUES (4, "
	    "'0123456789abcdef0123456789abcdef')");
	th_db_exec(db, "INSERT INTO c(id, name) VALUES (1, 'a')");
	th_db_exec(db, "UPDATE c SET fs_status = 1 WHERE id = 1");
	/* Changes applied by the engine for two pairings. */
	th_db_exec(db, "BEGIN; UPDATE _fs_clock SET ap_src = %lld, "
	    "ap_hlc = (1700000000123 << 16) + 5, ap_origin = 4;"
	    "UPDATE c SET fs_status = 0, name = 'from hub' WHERE id = 1;"
	    "UPDATE _fs_clock SET ap_src = (SELECT pid FROM _fs_pair WHERE "
	    "name = 'gone');"
	    "UPDATE c SET name = 'from gone' WHERE id = 1;"
	    "UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, "
	    "ap_origin = NULL; COMMIT", (long long)pid);
	th_conn_close(db);
	th_assert_ok(t, pairing_remove(t->s, "gone", &t->err));

	h = history_record(t->s, "c", 1, 0, &t->err);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "entries")),
	    5);
	e = entry(h, 0);
	assert_string_equal(str(e, "source"), "(removed pairing)");
	assert_json(e, "new", "\"from gone\"");
	e = entry(h, 1);
	assert_string_equal(str(e, "source"), "hub");
	assert_string_equal(str(e, "origin"),
	    "0123456789abcdef0123456789abcdef");
	/* The peer's clock, as a time: 1700000000123 ms. */
	assert_string_equal(str(e, "time"), "2023-11-14T22:13:20.123Z");
	e = entry(h, 2);
	assert_string_equal(str(e, "column"), "fs_status");
	assert_string_equal(str(e, "source"), "hub");
	assert_json(e, "old", "1");
	assert_json(e, "new", "0");
	e = entry(h, 3);
	assert_string_equal(str(e, "column"), "fs_status");
	assert_string_equal(str(e, "kind"), "change");
	assert_string_equal(str(e, "source"), "local");
	assert_json(e, "new", "1");
	cJSON_Delete(h);
}

static void
test_hard_delete_and_conflict_kinds(void **state)
{
	struct th *t = *state;
	cJSON *h;
	int64_t rid;

	th_exec(t, "INSERT INTO c(id, name) VALUES (1, 'a')");
	rid = th_int(t, "SELECT rid FROM _fs_record WHERE lrow = 1");
	/* A conflict row as the merge writes it: kind | 4. */
	th_exec(t, "INSERT INTO _fs_log(rid, fid, hlc, origin, kind, old, new)"
	    " VALUES (%lld, (SELECT fid FROM _fs_field WHERE name = 'name'), "
	    "(SELECT hlc + 1 FROM _fs_clock), 0, 4, 'a', 'b')",
	    (long long)rid);
	h = history_record(t->s, "c", 1, 0, &t->err);
	assert_string_equal(str(entry(h, 0), "kind"), "change");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(entry(h, 0),
	    "conflict")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(entry(h, 1),
	    "conflict")));
	cJSON_Delete(h);

	/* After a hard delete the row id no longer names the record. */
	th_exec(t, "DELETE FROM c WHERE id = 1");
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_log WHERE rid = "
	    "%lld AND kind = 2", (long long)rid), 1);
	th_assert_fails_null(t, FS_ENOTFOUND, history_record(t->s, "c", 1, 0,
	    &t->err));
}

static void
test_errors(void **state)
{
	struct th *t = *state;

	th_assert_fails_null(t, FS_ENOTFOUND, history_record(t->s, "c", 99, 0,
	    &t->err));
	assert_non_null(strstr(t->err.msg, "99"));
	th_assert_fails_null(t, FS_ENOTFOUND, history_record(t->s, "nope", 1,
	    0, &t->err));
	th_exec(t, "CREATE TABLE plain(id INTEGER PRIMARY KEY); "
	    "INSERT INTO plain VALUES (1)");
	th_assert_fails_null(t, FS_ENOTFOUND, history_record(t->s, "plain", 1,
	    0, &t->err));
}

static void
test_hlc_iso(void **state)
{
	char out[64];

	(void)state;
	history_hlc_iso(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	history_hlc_iso((1700000000123LL << 16) | 0xffff, out);
	assert_string_equal(out, "2023-11-14T22:13:20.123Z");
	history_hlc_iso(951782400007LL << 16, out);	/* leap day */
	assert_string_equal(out, "2000-02-29T00:00:00.007Z");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_table, th_teardown)
	const struct CMUnitTest tests[] = {
		T(test_entries_newest_first),
		T(test_soft_delete_and_sources),
		T(test_hard_delete_and_conflict_kinds),
		T(test_errors),
		cmocka_unit_test(test_hlc_iso),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
