/*
 * test_fieldmap.c - modes, the flow rule, and field maps of pairings:
 * add/set/remove, the remote-field rules that differ between active and
 * passive pairings, and the warnings a listing shows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fieldmap.h"
#include "pairing.h"
#include "store.h"
#include "testhelp.h"

static void
test_mode_parse_and_name(void **state)
{
	static const char *const names[] = { "off", "two-way", "upload",
	    "download" };
	static const char *const bad[] = { "", "Two-Way", "twoway", "two_way",
	    "up", "downloads", " off", "off ", "OFF", "both" };

	(void)state;
	assert_int_equal(fieldmap_mode_parse("two-way"), FS_MODE_TWO_WAY);
	assert_int_equal(fieldmap_mode_parse("upload"), FS_MODE_UPLOAD);
	assert_int_equal(fieldmap_mode_parse("download"), FS_MODE_DOWNLOAD);
	assert_int_equal(fieldmap_mode_parse("off"), FS_MODE_OFF);
	for (int m = 0; m < 4; m++) {
		assert_string_equal(fieldmap_mode_name(m), names[m]);
		assert_int_equal(fieldmap_mode_parse(fieldmap_mode_name(m)), m);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (fieldmap_mode_parse(bad[i]) != -1)
			fail_msg("mode \"%s\" was accepted", bad[i]);
	assert_int_equal(fieldmap_mode_parse(NULL), -1);
	assert_string_equal(fieldmap_mode_name(-1), "?");
	assert_string_equal(fieldmap_mode_name(4), "?");
}

/* The rule from DESIGN.md, written out as a table. */
static void
test_flow_matrix(void **state)
{
	static const struct {
		int from, to, flows;
	} m[16] = {
		{ FS_MODE_TWO_WAY, FS_MODE_TWO_WAY, 1 },
		{ FS_MODE_TWO_WAY, FS_MODE_UPLOAD, 0 },
		{ FS_MODE_TWO_WAY, FS_MODE_DOWNLOAD, 1 },
		{ FS_MODE_TWO_WAY, FS_MODE_OFF, 0 },
		{ FS_MODE_UPLOAD, FS_MODE_TWO_WAY, 1 },
		{ FS_MODE_UPLOAD, FS_MODE_UPLOAD, 0 },
		{ FS_MODE_UPLOAD, FS_MODE_DOWNLOAD, 1 },
		{ FS_MODE_UPLOAD, FS_MODE_OFF, 0 },
		{ FS_MODE_DOWNLOAD, FS_MODE_TWO_WAY, 0 },
		{ FS_MODE_DOWNLOAD, FS_MODE_UPLOAD, 0 },
		{ FS_MODE_DOWNLOAD, FS_MODE_DOWNLOAD, 0 },
		{ FS_MODE_DOWNLOAD, FS_MODE_OFF, 0 },
		{ FS_MODE_OFF, FS_MODE_TWO_WAY, 0 },
		{ FS_MODE_OFF, FS_MODE_UPLOAD, 0 },
		{ FS_MODE_OFF, FS_MODE_DOWNLOAD, 0 },
		{ FS_MODE_OFF, FS_MODE_OFF, 0 },
	};

	(void)state;
	for (int i = 0; i < 16; i++)
		if (fieldmap_can_flow(m[i].from, m[i].to) != m[i].flows)
			fail_msg("%s -> %s: expected %s",
			    fieldmap_mode_name(m[i].from),
			    fieldmap_mode_name(m[i].to),
			    m[i].flows ? "flows" : "nothing");
	assert_true(fieldmap_mode_sends(FS_MODE_TWO_WAY));
	assert_true(fieldmap_mode_sends(FS_MODE_UPLOAD));
	assert_false(fieldmap_mode_sends(FS_MODE_DOWNLOAD));
	assert_false(fieldmap_mode_sends(FS_MODE_OFF));
	assert_true(fieldmap_mode_receives(FS_MODE_TWO_WAY));
	assert_true(fieldmap_mode_receives(FS_MODE_DOWNLOAD));
	assert_false(fieldmap_mode_receives(FS_MODE_UPLOAD));
	assert_false(fieldmap_mode_receives(FS_MODE_OFF));
	assert_false(fieldmap_mode_sends(-1));
	assert_false(fieldmap_mode_receives(99));
}

/* Two enrolled tables, an active pairing "up" and a passive "hub". */
static int
setup_pairs(void **state)
{
	struct th *t;

	th_setup(state);
	t = *state;
	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, name TEXT, "
	    "email TEXT, phone TEXT, g TEXT GENERATED ALWAYS AS (upper(name)));"
	    "CREATE TABLE \"a.b\"(id INTEGER PRIMARY KEY, \"c.d\" TEXT)");
	if (catalog_table_add(t->s, "c", NULL, &t->err) == -1 ||
	    catalog_table_add(t->s, "a.b", NULL, &t->err) == -1 ||
	    pairing_add(t->s, "up", "active", "http://127.0.0.1:1/", "pw", -1,
	    &t->err) == -1 ||
	    pairing_add(t->s, "hub", "passive", NULL, "pw", -1, &t->err) == -1)
		fail_msg("setup: %s", t->err.msg);
	return 0;
}

static int64_t
fid_of(struct th *t, const char *table, const char *col)
{
	return th_int(t, "SELECT f.fid FROM _fs_field f JOIN _fs_table t "
	    "USING (tid) WHERE t.name = %Q AND f.name = %Q", table, col);
}

static char *
mode_of(struct th *t, const char *pair, int64_t fid)
{
	return th_text(t, "SELECT mode FROM _fs_map JOIN _fs_pair USING (pid) "
	    "WHERE name = %Q AND fid = %lld", pair, (long long)fid);
}

static void
test_add_set_remove(void **state)
{
	struct th *t = *state;
	int64_t fid = -1, f_name = fid_of(t, "c", "name");
	char *m;

	th_assert_ok(t, fieldmap_add(t->s, "up", "c.name", FS_MODE_TWO_WAY, -1,
	    &fid, &t->err));
	assert_int_equal(fid, f_name);		/* the number to publish */
	m = mode_of(t, "up", f_name);
	assert_string_equal(m, "two-way");
	free(m);
	assert_int_equal(th_int(t, "SELECT remote_fid IS NULL FROM _fs_map "
	    "WHERE fid = %lld", (long long)f_name), 1);

	/* Columns are found whatever their case; fid may be NULL. */
	th_assert_ok(t, fieldmap_add(t->s, "up", "c.EMAIL", FS_MODE_UPLOAD, -1,
	    NULL, &t->err));
	m = mode_of(t, "up", fid_of(t, "c", "email"));
	assert_string_equal(m, "upload");
	free(m);

	/* A duplicate is refused and changes nothing. */
	th_assert_fails(t, FS_EEXIST, fieldmap_add(t->s, "up", "c.name",
	    FS_MODE_OFF, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "map set"));
	m = mode_of(t, "up", f_name);
	assert_string_equal(m, "two-way");
	free(m);

	th_assert_ok(t, fieldmap_set(t->s, "up", "c.name", FS_MODE_DOWNLOAD,
	    &t->err));
	m = mode_of(t, "up", f_name);
	assert_string_equal(m, "download");
	free(m);
	th_assert_fails(t, FS_EINVAL, fieldmap_set(t->s, "up", "c.name", -1,
	    &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_set(t->s, "up", "c.phone",
	    FS_MODE_OFF, &t->err));
	assert_non_null(strstr(t->err.msg, "not mapped"));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_set(t->s, "hub", "c.name",
	    FS_MODE_OFF, &t->err));		/* mapped in another pairing */

	th_assert_ok(t, fieldmap_remove(t->s, "up", "c.name", &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map WHERE fid = "
	    "%lld", (long long)f_name), 0);
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_remove(t->s, "up", "c.name",
	    &t->err));
	/* The other mapping is still there. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map"), 1);
}

static void
test_add_refusals(void **state)
{
	struct th *t = *state;

	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "up", "c.name", -1,
	    -1, NULL, &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "nope", "c.name",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "up", "cname",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "TABLE.COLUMN"));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "up", "x.name",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "table add"));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "up", "c.nope",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "no such column"));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "up", "c.",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	/* The row id is never synced, nor a generated column. */
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "up", "c.id",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "row id"));
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "up", "c.g",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "generated column"));
	/* A table that is no longer enrolled. */
	th_assert_ok(t, catalog_table_remove(t->s, "c", &t->err));
	th_assert_fails(t, FS_ENOTFOUND, fieldmap_add(t->s, "up", "c.name",
	    FS_MODE_TWO_WAY, -1, NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map"), 0);
}

static void
test_dotted_names(void **state)
{
	struct th *t = *state;
	int64_t fid = -1;

	/* Table "a.b", column "c.d": the dot that names an enrolled table
	 * wins. */
	th_assert_ok(t, fieldmap_add(t->s, "up", "a.b.c.d", FS_MODE_TWO_WAY,
	    -1, &fid, &t->err));
	assert_int_equal(fid, fid_of(t, "a.b", "c.d"));
	th_assert_ok(t, fieldmap_add(t->s, "up", "a.b.fs_status",
	    FS_MODE_TWO_WAY, -1, &fid, &t->err));
	assert_int_equal(fid, fid_of(t, "a.b", "fs_status"));
}

static void
test_remote_field_rules(void **state)
{
	struct th *t = *state;

	/* Active: its own numbers are the contract; no --remote-field. */
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "up", "c.name",
	    FS_MODE_TWO_WAY, 12, NULL, &t->err));
	assert_non_null(strstr(t->err.msg, "passive"));
	/* Passive: a positive active field number, or none yet. */
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "hub", "c.name",
	    FS_MODE_TWO_WAY, 0, NULL, &t->err));
	th_assert_fails(t, FS_EINVAL, fieldmap_add(t->s, "hub", "c.name",
	    FS_MODE_TWO_WAY, -7, NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map"), 0);
	th_assert_ok(t, fieldmap_add(t->s, "hub", "c.name", FS_MODE_TWO_WAY,
	    12, NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT remote_fid FROM _fs_map WHERE "
	    "fid = %lld", (long long)fid_of(t, "c", "name")), 12);
	th_assert_ok(t, fieldmap_add(t->s, "hub", "c.email", FS_MODE_DOWNLOAD,
	    -1, NULL, &t->err));
	assert_int_equal(th_int(t, "SELECT remote_fid IS NULL FROM _fs_map "
	    "WHERE fid = %lld", (long long)fid_of(t, "c", "email")), 1);
}

/* The warnings of a listing, as one string for easy matching. */
static char *
warnings_of(cJSON *l)
{
	cJSON *w = cJSON_GetObjectItem(l, "warnings"), *e;
	size_t n = 1;
	char *s;

	cJSON_ArrayForEach(e, w)
		n += strlen(e->valuestring) + 1;
	s = calloc(1, n);
	cJSON_ArrayForEach(e, w) {
		strcat(s, e->valuestring);
		strcat(s, "\n");
	}
	return s;
}

static void
test_list_and_warnings(void **state)
{
	struct th *t = *state;
	cJSON *l, *fields, *f;
	char *w;

	/* An active map where everything can flow: no warnings. */
	th_assert_ok(t, fieldmap_add(t->s, "up", "c.name", FS_MODE_TWO_WAY, -1,
	    NULL, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "c.email", FS_MODE_UPLOAD, -1,
	    NULL, &t->err));
	l = fieldmap_list(t->s, "up", &t->err);
	assert_non_null(l);
	assert_string_equal(cJSON_GetObjectItem(l, "pair")->valuestring, "up");
	assert_string_equal(cJSON_GetObjectItem(l, "role")->valuestring,
	    "active");
	fields = cJSON_GetObjectItem(l, "fields");
	assert_int_equal(cJSON_GetArraySize(fields), 2);
	f = cJSON_GetArrayItem(fields, 0);
	assert_string_equal(cJSON_GetObjectItem(f, "table")->valuestring, "c");
	assert_string_equal(cJSON_GetObjectItem(f, "column")->valuestring,
	    "name");
	assert_string_equal(cJSON_GetObjectItem(f, "type")->valuestring,
	    "TEXT");
	assert_string_equal(cJSON_GetObjectItem(f, "mode")->valuestring,
	    "two-way");
	assert_int_equal(cJSON_GetObjectItem(f, "field")->valueint,
	    fid_of(t, "c", "name"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "remote_field")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l,
	    "warnings")), 0);
	cJSON_Delete(l);

	/* off: nothing flows. */
	th_assert_ok(t, fieldmap_set(t->s, "up", "c.email", FS_MODE_OFF,
	    &t->err));
	l = fieldmap_list(t->s, "up", &t->err);
	w = warnings_of(l);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l,
	    "warnings")), 1);
	assert_non_null(strstr(w, "c.email: mode off"));
	free(w);
	cJSON_Delete(l);

	/* Passive: unlinked fields and an active field mapped twice. */
	th_assert_ok(t, fieldmap_add(t->s, "hub", "c.name", FS_MODE_TWO_WAY,
	    5, NULL, &t->err));
	/* One column per active field: a second link is refused ... */
	assert_int_equal(fieldmap_add(t->s, "hub", "c.email", FS_MODE_TWO_WAY,
	    5, NULL, &t->err), -1);
	assert_int_equal(t->err.code, FS_EEXIST);
	assert_non_null(strstr(t->err.msg, "already linked to c.name"));
	/* ... and one made before that rule is still pointed out. */
	th_assert_ok(t, fieldmap_add(t->s, "hub", "c.email", FS_MODE_TWO_WAY,
	    7, NULL, &t->err));
	th_assert_ok(t, store_exec(t->s, "UPDATE _fs_map SET remote_fid = 5 "
	    "WHERE remote_fid = 7", &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "hub", "c.phone", FS_MODE_DOWNLOAD,
	    -1, NULL, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "hub", "a.b.c.d", FS_MODE_TWO_WAY,
	    6, NULL, &t->err));
	l = fieldmap_list(t->s, "hub", &t->err);
	assert_string_equal(cJSON_GetObjectItem(l, "role")->valuestring,
	    "passive");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "fields")),
	    4);
	/* Ordered by table name: "a.b" first. */
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "fields"), 0);
	assert_string_equal(cJSON_GetObjectItem(f, "table")->valuestring,
	    "a.b");
	assert_int_equal(cJSON_GetObjectItem(f, "remote_field")->valueint, 6);
	w = warnings_of(l);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l,
	    "warnings")), 3);
	assert_non_null(strstr(w, "c.phone: not linked"));
	assert_non_null(strstr(w, "c.name: active field 5 is mapped more "
	    "than once"));
	assert_non_null(strstr(w, "c.email: active field 5 is mapped more "
	    "than once"));
	assert_null(strstr(w, "a.b"));
	free(w);
	cJSON_Delete(l);

	/* A table removed from the catalogue: its mappings warn. */
	th_assert_ok(t, catalog_table_remove(t->s, "a.b", &t->err));
	l = fieldmap_list(t->s, "hub", &t->err);
	w = warnings_of(l);
	assert_non_null(strstr(w, "a.b.c.d: table or column no longer "
	    "enrolled"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l,
	    "warnings")), 4);
	free(w);
	cJSON_Delete(l);

	th_assert_fails_null(t, FS_ENOTFOUND, fieldmap_list(t->s, "nope",
	    &t->err));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pairs, th_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_parse_and_name),
		cmocka_unit_test(test_flow_matrix),
		T(test_add_set_remove),
		T(test_add_refusals),
		T(test_dotted_names),
		T(test_remote_field_rules),
		T(test_list_and_warnings),
	};

	return cmocka_run_group_tests_name("fieldmap", tests, NULL, NULL);
}
