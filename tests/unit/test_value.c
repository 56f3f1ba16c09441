/*
 * test_value.c - SQLite values as display JSON and as one line of text:
 * integers exact to the last digit, reals that read back bit for bit,
 * text that always yields valid UTF-8 JSON, blobs with NULs, and the
 * terminal form with its quoting and cut.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ident.h"
#include "value.h"
#include "testhelp.h"

static sqlite3 *db;

static int
open_db(void **state)
{
	(void)state;
	return sqlite3_open(":memory:", &db) == SQLITE_OK ? 0 : -1;
}

static int
close_db(void **state)
{
	(void)state;
	sqlite3_close(db);
	return 0;
}

/* "SELECT ?1" with the value bound by the caller, stepped to its row. */
static sqlite3_stmt *
sel(void)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT ?1", -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(db));
	return st;
}

static char *
json_of(sqlite3_stmt *st)
{
	cJSON *j;
	char *s;

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	j = value_column_json(st, 0);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	sqlite3_finalize(st);
	return s;
}

static char *
json_int(sqlite3_int64 v)
{
	sqlite3_stmt *st = sel();

	sqlite3_bind_int64(st, 1, v);
	return json_of(st);
}

static char *
json_real(double v)
{
	sqlite3_stmt *st = sel();

	sqlite3_bind_double(st, 1, v);
	return json_of(st);
}

static char *
json_text(const char *p, int n)
{
	sqlite3_stmt *st = sel();

	sqlite3_bind_text(st, 1, p, n, SQLITE_TRANSIENT);
	return json_of(st);
}

static char *
json_blob(const void *p, int n)
{
	sqlite3_stmt *st = sel();

	sqlite3_bind_blob(st, 1, p, n, SQLITE_TRANSIENT);
	return json_of(st);
}

#define EXPECT(call, want) do {						\
	char *got_ = (call);						\
	if (got_ == NULL || strcmp(got_, (want)) != 0)			\
		fail_msg("%s: got %s, expected %s", #call,		\
		    got_ ? got_ : "(null)", (want));			\
	free(got_);							\
} while (0)

static void
test_json_integers(void **state)
{
	(void)state;
	EXPECT(json_int(0), "0");
	EXPECT(json_int(-1), "-1");
	EXPECT(json_int(INT64_MAX), "9223372036854775807");
	EXPECT(json_int(INT64_MIN), "-9223372036854775808");
	/* Past 2^53, where a double would round. */
	EXPECT(json_int(9007199254740993LL), "9007199254740993");
	EXPECT(json_int(-9007199254740993LL), "-9007199254740993");
}

static void
test_json_reals(void **state)
{
	(void)state;
	EXPECT(json_real(0.1), "0.10000000000000001");
	EXPECT(json_real(-0.0), "-0.0");
	EXPECT(json_real(0.0), "0.0");
	EXPECT(json_real(1.0), "1.0");		/* stays a real */
	EXPECT(json_real(-100.0), "-100.0");
	EXPECT(json_real(1e308), "1e+308");
	EXPECT(json_real(1e21), "1e+21");
	EXPECT(json_real(INFINITY), "\"Infinity\"");
	EXPECT(json_real(-INFINITY), "\"-Infinity\"");
	/* SQLite turns NaN into NULL. */
	EXPECT(json_real(NAN), "null");
}

/* Every real reads back from its JSON text with the same bits. */
static void
test_json_reals_round_trip(void **state)
{
	static const double v[] = { 0.1, 0.2 + 0.1, -0.0, 1e308, DBL_MAX,
	    -DBL_MAX, DBL_MIN, 4.9406564584124654e-324, 1.0 / 3.0,
	    -2.5e-300, 123456789.123456789, 9007199254740993.0, 1e-7,
	    6.02214076e23 };

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *s = json_real(v[i]);
		cJSON *j = cJSON_Parse(s);
		double back = strtod(s, NULL);

		assert_non_null(j);
		assert_true(cJSON_IsNumber(j));
		if (memcmp(&back, &v[i], sizeof back) != 0)
			fail_msg("%.17g printed as %s reads back as %.17g",
			    v[i], s, back);
		cJSON_Delete(j);
		free(s);
	}
}

static void
test_json_text(void **state)
{
	char *s;

	(void)state;
	EXPECT(json_text("", 0), "\"\"");
	EXPECT(json_text("plain", -1), "\"plain\"");
	EXPECT(json_text("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", -1),
	    "\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"");
	EXPECT(json_text("quote\" back\\ nl\n", -1),
	    "\"quote\\\" back\\\\ nl\\n\"");
	/* Invalid UTF-8 and NULs become U+FFFD: the JSON stays valid. */
	EXPECT(json_text("a\xff" "b", -1), "\"a\xef\xbf\xbd" "b\"");
	EXPECT(json_text("a\0b", 3), "\"a\xef\xbf\xbd" "b\"");
	EXPECT(json_text("\xc0\xae", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	EXPECT(json_text("\xed\xa0\x80", 3),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* A truncated sequence and controls inside invalid text. */
	EXPECT(json_text("x\xe2\x98", 3), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
	s = json_text("tab\there\xff", -1);
	assert_string_equal(s, "\"tab\xef\xbf\xbdhere\xef\xbf\xbd\"");
	assert_true(utf8_valid(s, strlen(s)));
	{
		cJSON *j = cJSON_Parse(s);

		assert_true(cJSON_IsString(j));
		cJSON_Delete(j);
	}
	free(s);
}

static void
test_json_blob_and_null(void **state)
{
	static const unsigned char b[] = { 0x00, 0xff, 0x00, 0x10 };
	sqlite3_stmt *st;

	(void)state;
	EXPECT(json_blob(b, sizeof b), "{\"blob\":\"00ff0010\"}");
	EXPECT(json_blob("", 0), "{\"blob\":\"\"}");
	st = sel();
	sqlite3_bind_zeroblob(st, 1, 3);
	EXPECT(json_of(st), "{\"blob\":\"000000\"}");
	st = sel();
	sqlite3_bind_null(st, 1);
	EXPECT(json_of(st), "null");
	st = sel();				/* never bound */
	EXPECT(json_of(st), "null");
}

/* value_to_json on a protected sqlite3_value, as functions see them. */
static void
test_value_to_json(void **state)
{
	sqlite3_stmt *st = sel();
	sqlite3_value *v;
	cJSON *j;
	char *s;

	(void)state;
	sqlite3_bind_text(st, 1, "x'y", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_value_dup(sqlite3_column_value(st, 0));
	sqlite3_finalize(st);
	j = value_to_json(v);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(s, "\"x'y\"");
	free(s);
	cJSON_Delete(j);
	sqlite3_value_free(v);
}

/* The terminal form of the value bound by bind(), cut at max. */
static char *
text_of(sqlite3_stmt *st, size_t max)
{
	struct buf b;

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	buf_init(&b, 0);
	value_column_text(&b, st, 0, max);
	sqlite3_finalize(st);
	return buf_steal(&b);
}

static char *
text_text(const char *p, int n, size_t max)
{
	sqlite3_stmt *st = sel();

	sqlite3_bind_text(st, 1, p, n, SQLITE_TRANSIENT);
	return text_of(st, max);
}

static void
test_terminal_text(void **state)
{
	sqlite3_stmt *st;
	static const unsigned char b[] = { 0x00, 0x01, 0xfe, 0xff };

	(void)state;
	st = sel();
	EXPECT(text_of(st, 64), "NULL");
	st = sel();
	sqlite3_bind_int64(st, 1, INT64_MIN);
	EXPECT(text_of(st, 64), "-9223372036854775808");
	st = sel();
	sqlite3_bind_double(st, 1, 0.1);
	EXPECT(text_of(st, 64), "0.10000000000000001");
	/* A real that happens to be whole still reads as a real, so a
	 * change 1 -> 1.0 in a log does not look like 1 -> 1. */
	st = sel();
	sqlite3_bind_double(st, 1, 1.0);
	EXPECT(text_of(st, 64), "1.0");
	st = sel();
	sqlite3_bind_double(st, 1, -0.0);
	EXPECT(text_of(st, 64), "-0.0");
	st = sel();
	sqlite3_bind_int(st, 1, 1);
	EXPECT(text_of(st, 64), "1");

	EXPECT(text_text("it's", -1, 64), "'it''s'");
	EXPECT(text_text("", 0, 64), "''");
	/* Control characters cannot reach the terminal raw. */
	EXPECT(text_text("a\nb\x1b[31m\x7f", -1, 64), "'a\\x0ab\\x1b[31m\\x7f'");
	EXPECT(text_text("a\0b", 3, 64), "'a\\x00b'");
	EXPECT(text_text("caf\xc3\xa9", -1, 64), "'caf\xc3\xa9'");
	/* Cut at max bytes, marked; exactly max is not cut. */
	EXPECT(text_text("abcdef", -1, 3), "'abc'...");
	EXPECT(text_text("abc", -1, 3), "'abc'");
	/* A cut never splits a UTF-8 character. */
	EXPECT(text_text("ab\xc3\xa9z", -1, 3), "'ab'...");
	EXPECT(text_text("\xe2\x98\x83\xe2\x98\x83", -1, 4),
	    "'\xe2\x98\x83'...");

	st = sel();
	sqlite3_bind_blob(st, 1, b, sizeof b, SQLITE_STATIC);
	EXPECT(text_of(st, 64), "x'0001feff'");
	st = sel();
	sqlite3_bind_blob(st, 1, b, sizeof b, SQLITE_STATIC);
	EXPECT(text_of(st, 4), "x'0001'...");	/* max counts hex digits */
	st = sel();
	sqlite3_bind_blob(st, 1, b, sizeof b, SQLITE_STATIC);
	EXPECT(text_of(st, 8), "x'0001feff'");
	st = sel();
	sqlite3_bind_zeroblob(st, 1, 0);
	EXPECT(text_of(st, 64), "x''");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_integers),
		cmocka_unit_test(test_json_reals),
		cmocka_unit_test(test_json_reals_round_trip),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_json_blob_and_null),
		cmocka_unit_test(test_value_to_json),
		cmocka_unit_test(test_terminal_text),
	};

	return cmocka_run_group_tests_name("value", tests, open_db, close_db);
}
