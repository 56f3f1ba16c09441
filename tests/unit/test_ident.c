/*
 * test_ident.c - quoting identifiers that come from users and peers, and
 * the UTF-8 and plausibility checks that guard them.  The quoting tests
 * prove round trips through a real SQLite: a table created under the
 * quoted name is stored under exactly the original name.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "ident.h"

static const char *const hostile[] = {
	"plain",
	"order",			/* keyword */
	"select",
	"with space",
	"quote\"inside",
	"\"\"",				/* only quotes */
	"trailing\"",
	"it's",
	"semi;colon --",
	"x\"; DROP TABLE victim; --",
	"caf\xc3\xa9 \xe2\x98\x83",	/* UTF-8 */
	"[brackets]",
	"`back`",
	"a.b",
};

static void
test_quote_exact_text(void **state)
{
	char *q;
	struct buf b;

	(void)state;
	q = ident_quoted("order");
	assert_string_equal(q, "\"order\"");
	free(q);
	q = ident_quoted("a\"b");
	assert_string_equal(q, "\"a\"\"b\"");
	free(q);
	q = ident_quoted("\"");
	assert_string_equal(q, "\"\"\"\"");
	free(q);
	q = ident_quoted("");
	assert_string_equal(q, "\"\"");
	free(q);

	buf_init(&b, 0);
	assert_int_equal(ident_literal(&b, "it's"), 0);
	assert_string_equal(b.data, "'it''s'");
	buf_reset(&b);
	assert_int_equal(ident_literal(&b, "a\"b"), 0);
	assert_string_equal(b.data, "'a\"b'");
	buf_free(&b);
}

static void
test_quote_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	buf_addstr(&b, "SELECT ");
	assert_int_equal(ident_quote(&b, "x y"), 0);
	buf_addstr(&b, " FROM ");
	assert_int_equal(ident_quote(&b, "t"), 0);
	assert_string_equal(b.data, "SELECT \"x y\" FROM \"t\"");
	buf_free(&b);
}

static void
test_quote_respects_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(ident_quote(&b, "abc"), 0);	/* "abc" = 5 */
	buf_reset(&b);
	assert_int_equal(ident_quote(&b, "abcd"), -1);
	buf_reset(&b);
	assert_int_equal(ident_quote(&b, "a\"b"), -1);	/* "a""b" = 6 */
	buf_free(&b);
}

/* Every hostile name round-trips through DDL and DML in a real SQLite. */
static void
test_quote_round_trip_sqlite(void **state)
{
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE victim(x)", NULL, NULL,
	    NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct buf b;
		sqlite3_stmt *st;
		char *qt = ident_quoted(hostile[i]);
		char *qc = ident_quoted(hostile[i]);

		buf_init(&b, 0);
		buf_printf(&b, "CREATE TABLE %s (%s INTEGER); "
		    "INSERT INTO %s (%s) VALUES (%zu)", qt, qc, qt, qc, i);
		if (sqlite3_exec(db, b.data, NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", b.data, sqlite3_errmsg(db));
		buf_reset(&b);
		buf_addstr(&b, "SELECT name, (SELECT ");
		ident_quote(&b, hostile[i]);
		buf_addstr(&b, " FROM ");
		ident_quote(&b, hostile[i]);
		buf_addstr(&b, ") FROM sqlite_schema WHERE name = ");
		ident_literal(&b, hostile[i]);
		assert_int_equal(sqlite3_prepare_v2(db, b.data, -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(st, 0), hostile[i]);
		assert_int_equal(sqlite3_column_int(st, 1), i);
		sqlite3_finalize(st);
		buf_free(&b);
		free(qt);
		free(qc);
	}
	/* The injection attempt did not drop anything. */
	assert_int_equal(sqlite3_exec(db, "SELECT * FROM victim", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
}

#define V(s) utf8_valid(s, sizeof(s) - 1)

static void
test_utf8_valid_accepts(void **state)
{
	(void)state;
	assert_true(V(""));
	assert_true(V("plain ascii"));
	assert_true(V("\x7f"));
	assert_true(V("\xc2\x80"));		/* U+0080, smallest 2-byte */
	assert_true(V("\xdf\xbf"));		/* U+07FF */
	assert_true(V("\xe0\xa0\x80"));		/* U+0800, smallest 3-byte */
	assert_true(V("\xed\x9f\xbf"));		/* U+D7FF, below surrogates */
	assert_true(V("\xee\x80\x80"));		/* U+E000, above surrogates */
	assert_true(V("\xef\xbf\xbf"));		/* U+FFFF */
	assert_true(V("\xf0\x90\x80\x80"));	/* U+10000 */
	assert_true(V("\xf4\x8f\xbf\xbf"));	/* U+10FFFF, the last */
	assert_true(V("caf\xc3\xa9 \xf0\x9f\x98\x80"));
	/* NUL is allowed inside the counted bytes. */
	assert_true(V("a\0b"));
	/* Only the first n bytes count. */
	assert_true(utf8_valid("ab\xff", 2));
}

static void
test_utf8_valid_rejects(void **state)
{
	(void)state;
	/* Overlong encodings. */
	assert_false(V("\xc0\x80"));		/* NUL as 2 bytes */
	assert_false(V("\xc1\xbf"));		/* U+007F as 2 bytes */
	assert_false(V("\xe0\x80\x80"));
	assert_false(V("\xe0\x9f\xbf"));	/* U+07FF as 3 bytes */
	assert_false(V("\xf0\x80\x80\x80"));
	assert_false(V("\xf0\x8f\xbf\xbf"));	/* U+FFFF as 4 bytes */
	/* Surrogates. */
	assert_false(V("\xed\xa0\x80"));	/* U+D800 */
	assert_false(V("\xed\xbf\xbf"));	/* U+DFFF */
	assert_false(V("\xed\xa0\xbd\xed\xb8\x80"));	/* a CESU-8 pair */
	/* Beyond U+10FFFF and bytes that never occur. */
	assert_false(V("\xf4\x90\x80\x80"));
	assert_false(V("\xf5\x80\x80\x80"));
	assert_false(V("\xf8\x88\x80\x80\x80"));
	assert_false(V("\xff"));
	assert_false(V("\xfe"));
	/* Stray continuation bytes. */
	assert_false(V("\x80"));
	assert_false(V("a\xbf"));
	/* Truncated sequences, at the end and in the middle. */
	assert_false(V("\xc3"));
	assert_false(V("\xe2\x98"));
	assert_false(V("\xf0\x9f\x98"));
	assert_false(V("\xe2\x98x"));
	assert_false(V("\xc3 "));
	/* A valid sequence cut by n. */
	assert_false(utf8_valid("\xc3\xa9", 1));
}

static void
test_plausible(void **state)
{
	char name[300];

	(void)state;
	assert_true(ident_plausible("t"));
	assert_true(ident_plausible("order"));
	assert_true(ident_plausible("with space"));
	assert_true(ident_plausible("quote\"d"));
	assert_true(ident_plausible("caf\xc3\xa9"));
	assert_false(ident_plausible(NULL));
	assert_false(ident_plausible(""));
	assert_false(ident_plausible("tab\there"));
	assert_false(ident_plausible("new\nline"));
	assert_false(ident_plausible("del\x7f"));
	assert_false(ident_plausible("esc\x1b[31m"));
	assert_false(ident_plausible("bad\xff"));
	assert_false(ident_plausible("\xc0\xae"));	/* overlong '.' */

	memset(name, 'n', sizeof name);
	name[255] = '\0';
	assert_true(ident_plausible(name));		/* 255 bytes */
	name[255] = 'n';
	name[256] = '\0';
	assert_false(ident_plausible(name));		/* 256 bytes */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_exact_text),
		cmocka_unit_test(test_quote_appends),
		cmocka_unit_test(test_quote_respects_cap),
		cmocka_unit_test(test_quote_round_trip_sqlite),
		cmocka_unit_test(test_utf8_valid_accepts),
		cmocka_unit_test(test_utf8_valid_rejects),
		cmocka_unit_test(test_plausible),
	};

	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
