/*
 * test_buf.c - the capped growable buffer: growth keeps every byte, the
 * cap refuses cleanly and leaves the contents as they were, steal/reset/
 * free leave a usable empty buffer.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void
test_grows_and_keeps_bytes(void **state)
{
	struct buf b;
	char expect[5000];

	(void)state;
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof expect; i++) {
		char c = (char)('a' + i % 26);

		expect[i] = c;
		assert_int_equal(buf_add(&b, &c, 1), 0);
		assert_int_equal(b.len, i + 1);
		assert_true(b.cap >= b.len + 1);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_memory_equal(b.data, expect, sizeof expect);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b);	/* twice is harmless */
}

static void
test_binary_with_nuls(void **state)
{
	struct buf b;
	static const unsigned char bin[] = { 0, 1, 0, 0xff, 0 };

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, bin, sizeof bin), 0);
	assert_int_equal(buf_add(&b, bin, sizeof bin), 0);
	assert_int_equal(b.len, 2 * sizeof bin);
	assert_memory_equal(b.data, bin, sizeof bin);
	assert_memory_equal(b.data + sizeof bin, bin, sizeof bin);
	buf_free(&b);
}

static void
test_cap_exact_fit_then_refuse(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_addstr(&b, "0123456789"), 0);	/* exactly 10 */
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_add(&b, "x", 1), -1);
	/* The refusal changes nothing. */
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	/* An empty append still fits. */
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 10);
	buf_free(&b);
}

static void
test_cap_refuses_one_big_add(void **state)
{
	struct buf b;
	char big[100];

	(void)state;
	memset(big, 'z', sizeof big);
	buf_init(&b, 64);
	assert_int_equal(buf_addstr(&b, "head"), 0);
	assert_int_equal(buf_add(&b, big, 61), -1);	/* 4 + 61 > 64 */
	assert_string_equal(b.data, "head");
	assert_int_equal(buf_add(&b, big, 60), 0);	/* 4 + 60 == 64 */
	assert_int_equal(b.len, 64);
	/* Nothing was allocated beyond what the cap needs (+1 for NUL). */
	assert_true(b.cap <= 128);
	buf_free(&b);
}

static void
test_cap_applies_to_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_int_equal(buf_printf(&b, "%s", "56789"), -1);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "1234");
	assert_int_equal(buf_printf(&b, "%s-%c", "56", 'x'), 0);
	assert_string_equal(b.data, "123456-x");
	buf_free(&b);
}

static void
test_printf_long_output(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_printf(&b, "%0300d|%s", 7, "end"), 0);
	assert_int_equal(b.len, 304);
	assert_int_equal(b.data[0], '0');
	assert_int_equal(b.data[299], '7');
	assert_string_equal(b.data + 300, "|end");
	s = buf_steal(&b);
	assert_int_equal(strlen(s), 304);
	free(s);
}

static void
test_size_overflow_refused(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	/* A length that would wrap size_t must fail, not write anywhere. */
	assert_int_equal(buf_add(&b, "x", (size_t)-1), -1);
	assert_int_equal(buf_add(&b, "x", (size_t)-1 - 3), -1);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	buf_free(&b);
}

static void
test_steal_and_reset(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 100);
	p = buf_steal(&b);		/* empty: still a string */
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);

	assert_int_equal(buf_addstr(&b, "hello"), 0);
	p = buf_steal(&b);
	assert_string_equal(p, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100);	/* the cap survives */
	free(p);

	assert_int_equal(buf_addstr(&b, "again"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_addstr(&b, "x"), 0);
	assert_string_equal(b.data, "x");
	buf_free(&b);

	buf_init(&b, 0);
	buf_reset(&b);			/* on an untouched buffer */
	assert_null(b.data);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_and_keeps_bytes),
		cmocka_unit_test(test_binary_with_nuls),
		cmocka_unit_test(test_cap_exact_fit_then_refuse),
		cmocka_unit_test(test_cap_refuses_one_big_add),
		cmocka_unit_test(test_cap_applies_to_printf),
		cmocka_unit_test(test_printf_long_output),
		cmocka_unit_test(test_size_overflow_refused),
		cmocka_unit_test(test_steal_and_reset),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
