/*
 * test_peermap.c - the peer's catalogue beside our map (peermap.c):
 * suggestions on the passive side by name, by role and by type, each
 * local column suggested once and never one already mapped; warnings
 * on both sides for fields through which nothing flows, fields the
 * other side does not know or maps twice, and types that differ.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "fieldmap.h"
#include "pairing.h"
#include "passive.h"
#include "peermap.h"
#include "testhelp.h"

/* The passive's app: other names for the system columns. */
#define APP \
	"CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT, phone TEXT, " \
	"email TEXT, note TEXT, deleted INTEGER, created TEXT);" \
	"CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL, name TEXT);"
#define ACTIVE_ID "0123456789abcdef0123456789abcdef"

/* What the active publishes in its hello. */
static const char CATALOGUE[] = "["
    "{\"field\":101,\"table\":\"contacts\",\"column\":\"name\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":102,\"table\":\"contacts\",\"column\":\"phone\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"upload\"},"
    "{\"field\":103,\"table\":\"Contacts\",\"column\":\"EMAIL\","
	"\"type\":\"VARCHAR(80)\",\"role\":\"data\",\"mode\":\"download\"},"
    "{\"field\":104,\"table\":\"contacts\",\"column\":\"fax\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":105,\"table\":\"contacts\",\"column\":\"fs_status\","
	"\"type\":\"INTEGER\",\"role\":\"status\",\"mode\":\"two-way\"},"
    "{\"field\":106,\"table\":\"contacts\",\"column\":\"fs_added\","
	"\"type\":\"TEXT\",\"role\":\"added\",\"mode\":\"two-way\"},"
    "{\"field\":107,\"table\":\"invoices\",\"column\":\"total\","
	"\"type\":\"INTEGER\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":108,\"table\":\"contacts\",\"column\":\"note\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"off\"},"
    "{\"field\":109,\"table\":\"contacts\",\"column\":\"id\","
	"\"type\":\"INTEGER\",\"role\":\"rowid\",\"mode\":\"two-way\"},"
    "{\"field\":110,\"table\":\"people\",\"column\":\"name\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"}"
    "]";

static int
setup_passive(void **state)
{
	struct th *t = th_new(APP);
	struct table_opts o = { "deleted", "created", NULL };
	struct table_opts o2 = { NULL, NULL, NULL };

	th_assert_ok(t, catalog_table_add(t->s, "contacts", &o, &t->err));
	th_assert_ok(t, catalog_table_add(t->s, "orders", &o2, &t->err));
	th_assert_ok(t, pairing_add(t->s, "link", "passive", NULL, "pw pw pw",
	    -1, &t->err));
	*state = t;
	return 0;
}

static void
hello(struct th *t)
{
	struct buf body, out;

	buf_init(&body, 0);
	buf_init(&out, 0);
	buf_printf(&body, "{\"protocol\":1,\"instance\":\"%s\",\"name\":\"a\","
	    "\"fields\":%s}", ACTIVE_ID, CATALOGUE);
	th_assert_ok(t, passive_hello(t->s, "link", body.data, body.len, &out,
	    &t->err));
	buf_free(&body);
	buf_free(&out);
}

static cJSON *
view(struct th *t, const char *pair)
{
	cJSON *v;

	fs_err_clear(&t->err);
	if ((v = peermap_view(t->s, pair, &t->err)) == NULL)
		fail_msg("peermap_view: %s", t->err.msg);
	return v;
}

/* The suggestion for remote field rf, or NULL. */
static const cJSON *
suggestion(const cJSON *v, int rf)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "suggestions"))
		if (cJSON_GetObjectItem(s, "remote_field")->valuedouble == rf)
			return s;
	return NULL;
}

static const char *
sget(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	if (!cJSON_IsString(v))
		fail_msg("'%s' is not a string", k);
	return v->valuestring;
}

static void
assert_suggests(const cJSON *v, int rf, const char *table,
    const char *column, const char *mode, int exact, int type_match)
{
	const cJSON *s = suggestion(v, rf);

	if (s == NULL)
		fail_msg("no suggestion for active field %d", rf);
	assert_string_equal(sget(s, "table"), table);
	assert_string_equal(sget(s, "column"), column);
	assert_string_equal(sget(s, "mode"), mode);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(s, "exact")), exact);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(s, "type_match")),
	    type_match);
	assert_true(cJSON_GetObjectItem(s, "field")->valuedouble > 0);
}

/* Number of warnings containing all of the given parts. */
static int
warnings_with(const cJSON *v, const char *a, const char *b)
{
	const cJSON *w;
	int n = 0;

	cJSON_ArrayForEach(w, cJSON_GetObjectItem(v, "warnings"))
		if (strstr(w->valuestring, a) != NULL && (b == NULL ||
		    strstr(w->valuestring, b) != NULL))
			n++;
	return n;
}

static void
test_before_hello(void **state)
{
	struct th *t = *state;
	cJSON *v = view(t, "link");

	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "known")));
	assert_string_equal(sget(v, "role"), "passive");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "peer")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "suggestions")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "warnings")), 0);
	cJSON_Delete(v);
	th_assert_fails_null(t, FS_ENOTFOUND, peermap_view(t->s, "nosuch",
	    &t->err));
}

static void
test_suggestions(void **state)
{
	struct th *t = *state;
	const cJSON *s;
	cJSON *v;
	int n = 0, seen_local[64] = { 0 };

	hello(t);
	v = view(t, "link");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "known")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "peer")),
	    10);
	/* By table and column name (case-insensitive), modes mirrored. */
	assert_suggests(v, 101, "contacts", "name", "two-way", 1, 1);
	assert_suggests(v, 102, "contacts", "phone", "download", 1, 1);
	assert_suggests(v, 103, "contacts", "email", "upload", 1, 1);
	/* System fields by role, whatever they are called here. */
	assert_suggests(v, 105, "contacts", "deleted", "two-way", 1, 1);
	assert_suggests(v, 106, "contacts", "created", "two-way", 1, 1);
	/* Same column name in another table: offered, not exact, and the
	 * types differ (INTEGER there, REAL here). */
	assert_suggests(v, 107, "orders", "total", "two-way", 0, 0);
	/* people.name: the only other "name" column is orders.name. */
	assert_suggests(v, 110, "orders", "name", "two-way", 0, 1);
	/* Nothing for: a column we lack, a field off, a row id. */
	assert_null(suggestion(v, 104));
	assert_null(suggestion(v, 108));
	assert_null(suggestion(v, 109));
	/* Each local field at most once, never a row id. */
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "suggestions")) {
		int lf = (int)cJSON_GetObjectItem(s, "field")->valuedouble;

		assert_true(lf > 0 && lf < 64);
		assert_int_equal(seen_local[lf]++, 0);
		assert_string_not_equal(sget(s, "column"), "id");
		n++;
	}
	assert_int_equal(n, 7);
	/* No map yet, so nothing to warn about. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "warnings")), 0);
	cJSON_Delete(v);
}

static void
test_mapped_not_suggested(void **state)
{
	struct th *t = *state;
	const cJSON *e;
	cJSON *v;
	int64_t fid;

	hello(t);
	/* Accept the phone suggestion; map orders.name by hand to 101. */
	th_assert_ok(t, fieldmap_add(t->s, "link", "contacts.phone",
	    FS_MODE_DOWNLOAD, 102, &fid, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "link", "orders.name",
	    FS_MODE_TWO_WAY, 101, NULL, &t->err));
	v = view(t, "link");
	/* 102 is linked: no suggestion; 101 is linked too. */
	assert_null(suggestion(v, 102));
	assert_null(suggestion(v, 101));
	/* orders.name is taken, so people.name gets contacts.name. */
	assert_suggests(v, 110, "contacts", "name", "two-way", 0, 1);
	/* The peer list shows what links to each active field. */
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "peer")) {
		const cJSON *m = cJSON_GetObjectItem(e, "mapped");
		int f = (int)cJSON_GetObjectItem(e, "field")->valuedouble;

		assert_true(cJSON_IsArray(m));
		assert_int_equal(cJSON_GetArraySize(m), f == 101 || f == 102);
		if (f == 102)
			assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m,
			    0), "field")->valuedouble, fid);
	}
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "warnings")), 0);
	cJSON_Delete(v);
}

static void
test_passive_warnings(void **state)
{
	struct th *t = *state;
	cJSON *v;

	hello(t);
	/*
	 * Linked to a field the active does not publish: refused now that
	 * its catalogue is known; one linked before is pointed out.
	 */
	assert_int_equal(fieldmap_add(t->s, "link", "contacts.note",
	    FS_MODE_TWO_WAY, 999, NULL, &t->err), -1);
	assert_int_equal(t->err.code, FS_ENOTFOUND);
	assert_non_null(strstr(t->err.msg, "publishes no field 999"));
	th_assert_ok(t, store_exec(t->s, "INSERT INTO _fs_map(pid, fid, mode, "
	    "remote_fid) SELECT p.pid, f.fid, 'two-way', 999 FROM _fs_pair p, "
	    "_fs_field f JOIN _fs_table b USING (tid) WHERE p.name = 'link' "
	    "AND b.name = 'contacts' AND f.name = 'note'", &t->err));
	/* Both sides only receive: nothing flows. */
	th_assert_ok(t, fieldmap_add(t->s, "link", "contacts.email",
	    FS_MODE_DOWNLOAD, 103, NULL, &t->err));
	/* Types differ: REAL here, INTEGER there. */
	th_assert_ok(t, fieldmap_add(t->s, "link", "orders.total",
	    FS_MODE_TWO_WAY, 107, NULL, &t->err));
	/* Fine: upload there, download here. */
	th_assert_ok(t, fieldmap_add(t->s, "link", "contacts.phone",
	    FS_MODE_DOWNLOAD, 102, NULL, &t->err));
	/* Off: no warning from here. */
	th_assert_ok(t, fieldmap_add(t->s, "link", "contacts.name",
	    FS_MODE_OFF, 101, NULL, &t->err));
	v = view(t, "link");
	assert_int_equal(warnings_with(v, "contacts.note", "999"), 1);
	assert_int_equal(warnings_with(v, "contacts.email", "nothing flow"), 1);
	assert_int_equal(warnings_with(v, "orders.total", "types differ"), 1);
	assert_int_equal(warnings_with(v, "contacts.phone", NULL), 0);
	assert_int_equal(warnings_with(v, "contacts.name", NULL), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "warnings")), 3);
	cJSON_Delete(v);
}

/* The active side: the passive's catalogue links to our numbers. */
static void
test_active_warnings(void **state)
{
	struct th *t = *state;
	int64_t f_name, f_phone, f_email, f_note, f_created;
	struct buf cat;
	cJSON *v;

	th_assert_ok(t, pairing_add(t->s, "up", "active", "http://127.0.0.1:9/",
	    "pw pw pw", -1, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "contacts.name",
	    FS_MODE_TWO_WAY, -1, &f_name, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "contacts.phone",
	    FS_MODE_UPLOAD, -1, &f_phone, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "contacts.email",
	    FS_MODE_TWO_WAY, -1, &f_email, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "contacts.note",
	    FS_MODE_TWO_WAY, -1, &f_note, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "up", "contacts.created",
	    FS_MODE_OFF, -1, &f_created, &t->err));
	v = view(t, "up");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "known")));
	cJSON_Delete(v);
	/* What the passive's hello answered, as the active keeps it. */
	buf_init(&cat, 0);
	buf_printf(&cat, "["
	    "{\"field\":1,\"table\":\"c\",\"column\":\"name\",\"type\":\"TEXT\","
	    "\"role\":\"data\",\"mode\":\"two-way\",\"remote_field\":%lld},"
	    "{\"field\":2,\"table\":\"c\",\"column\":\"tel\",\"type\":\"TEXT\","
	    "\"role\":\"data\",\"mode\":\"upload\",\"remote_field\":%lld},"
	    "{\"field\":3,\"table\":\"c\",\"column\":\"mail\",\"type\":\"BLOB\","
	    "\"role\":\"data\",\"mode\":\"two-way\",\"remote_field\":%lld},"
	    "{\"field\":4,\"table\":\"c\",\"column\":\"mail2\",\"type\":\"TEXT\","
	    "\"role\":\"data\",\"mode\":\"download\",\"remote_field\":%lld},"
	    "{\"field\":5,\"table\":\"c\",\"column\":\"x\",\"type\":\"TEXT\","
	    "\"role\":\"data\",\"mode\":\"off\",\"remote_field\":%lld},"
	    "{\"field\":6,\"table\":\"c\",\"column\":\"y\",\"type\":\"TEXT\","
	    "\"role\":\"data\",\"mode\":\"two-way\",\"remote_field\":null}]",
	    (long long)f_name, (long long)f_phone, (long long)f_email,
	    (long long)f_email, (long long)f_note);
	th_exec(t, "UPDATE _fs_pair_state SET peer_catalog = %Q, "
	    "peer_instance = %Q WHERE pid = (SELECT pid FROM _fs_pair WHERE "
	    "name = 'up')", cat.data, ACTIVE_ID);
	buf_free(&cat);
	v = view(t, "up");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "known")));
	assert_string_equal(sget(v, "role"), "active");
	/* name: fine.  phone: upload on both sides, nothing flows. */
	assert_int_equal(warnings_with(v, "contacts.name", NULL), 0);
	assert_int_equal(warnings_with(v, "contacts.phone", "nothing flow"), 1);
	/* email: mapped twice over there, and one of them is a BLOB. */
	assert_int_equal(warnings_with(v, "contacts.email", "2 times"), 1);
	assert_int_equal(warnings_with(v, "contacts.email", "types differ"), 1);
	/* note: the passive's field for it is off: nothing flows, and why. */
	assert_int_equal(warnings_with(v, "contacts.note", "mode off on the "
	    "passive side"), 1);
	/* created is off here: nothing to say. */
	assert_int_equal(warnings_with(v, "contacts.created", NULL), 0);
	/* Never suggestions on the active side. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "suggestions")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v,
	    "warnings")), 4);
	cJSON_Delete(v);
}

/* A peer catalogue of junk is shown as far as it goes; no crash. */
static void
test_junk_catalogue(void **state)
{
	struct th *t = *state;
	cJSON *v;

	th_assert_ok(t, fieldmap_add(t->s, "link", "contacts.name",
	    FS_MODE_TWO_WAY, 5, NULL, &t->err));
	th_exec(t, "UPDATE _fs_pair_state SET peer_catalog = '[1, \"x\", null, "
	    "[], {}, {\"field\": \"7\"}, {\"field\": 5, \"mode\": 3}, "
	    "{\"field\": 5, \"table\": \"contacts\", \"column\": \"name\"}]', "
	    "peer_instance = %Q", ACTIVE_ID);
	v = view(t, "link");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "known")));
	cJSON_Delete(v);
}

static void
test_affinity(void **state)
{
	static const char *const cases[][2] = {
		{ "INTEGER", "INTEGER" }, { "int", "INTEGER" },
		{ "BIGINT", "INTEGER" }, { "unsigned big int", "INTEGER" },
		{ "TEXT", "TEXT" }, { "varchar(255)", "TEXT" },
		{ "NCHAR(55)", "TEXT" }, { "CLOB", "TEXT" },
		{ "BLOB", "BLOB" }, { "", "BLOB" },
		{ "REAL", "REAL" }, { "double precision", "REAL" },
		{ "FLOAT", "REAL" }, { "NUMERIC", "NUMERIC" },
		{ "DECIMAL(10,5)", "NUMERIC" }, { "BOOLEAN", "NUMERIC" },
		{ "DATE", "NUMERIC" }, { "DATETIME", "NUMERIC" },
		/* SQLite's rules, quirks included: INT wins over the rest. */
		{ "FLOATING POINT", "INTEGER" }, { "CHARINT", "INTEGER" },
		{ "STRING", "NUMERIC" }, { "BLOBTEXT", "TEXT" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strcmp(peermap_affinity(cases[i][0]), cases[i][1]) != 0)
			fail_msg("%s: %s, want %s", cases[i][0],
			    peermap_affinity(cases[i][0]), cases[i][1]);
	assert_string_equal(peermap_affinity(NULL), "BLOB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_hello,
		    setup_passive, th_teardown),
		cmocka_unit_test_setup_teardown(test_suggestions, setup_passive,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_mapped_not_suggested,
		    setup_passive, th_teardown),
		cmocka_unit_test_setup_teardown(test_passive_warnings,
		    setup_passive, th_teardown),
		cmocka_unit_test_setup_teardown(test_active_warnings,
		    setup_passive, th_teardown),
		cmocka_unit_test_setup_teardown(test_junk_catalogue,
		    setup_passive, th_teardown),
		cmocka_unit_test(test_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
