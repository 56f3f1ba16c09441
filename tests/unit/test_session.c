/*
 * test_session.c - web UI sessions and the login brake (session.c).
 *
 * The module takes the time as an argument (a monotonic clock in ms), so
 * expiry is tested by passing the times it should see: no sleeping.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "session.h"
#include "testhelp.h"

#define T0 ((int64_t)1000000)
#define IDLE_MS ((int64_t)FS_SESSION_IDLE_S * 1000)
#define LIFE_MS ((int64_t)FS_SESSION_LIFE_S * 1000)

struct tok {
	char token[FS_SESSION_HEX], csrf[FS_SESSION_HEX];
};

static int
setup(void **state)
{
	*state = session_table_new();
	return 0;
}

static int
teardown(void **state)
{
	session_table_free(*state);
	return 0;
}

static void
open_at(struct session_table *t, int64_t now, struct tok *k)
{
	memset(k, 0, sizeof *k);
	assert_int_equal(session_open(t, now, k->token, k->csrf), 0);
}

static int
found(struct session_table *t, const struct tok *k, int64_t now)
{
	char csrf[FS_SESSION_HEX];
	int64_t left;

	if (session_find(t, k->token, now, csrf, &left) == -1)
		return 0;
	assert_string_equal(csrf, k->csrf);
	return 1;
}

static int
all_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void
test_open_find_close(void **state)
{
	struct session_table *t = *state;
	struct tok a, b;
	char csrf[FS_SESSION_HEX];
	int64_t left = -1;

	open_at(t, T0, &a);
	open_at(t, T0, &b);
	assert_int_equal(strlen(a.token), FS_SESSION_HEX - 1);
	assert_int_equal(strlen(a.csrf), FS_SESSION_HEX - 1);
	assert_true(all_hex(a.token));
	assert_true(all_hex(a.csrf));
	assert_string_not_equal(a.token, a.csrf);
	assert_string_not_equal(a.token, b.token);
	assert_string_not_equal(a.csrf, b.csrf);
	assert_int_equal(session_find(t, a.token, T0 + 10, csrf, &left), 0);
	assert_string_equal(csrf, a.csrf);
	assert_int_equal(left, FS_SESSION_IDLE_S);
	assert_int_equal(session_find(t, b.token, T0 + 10, csrf, NULL), 0);
	assert_string_equal(csrf, b.csrf);
	/* Logout ends that session only. */
	session_close(t, a.token);
	assert_false(found(t, &a, T0 + 20));
	assert_true(found(t, &b, T0 + 20));
	/* Closing what is not there is harmless. */
	session_close(t, a.token);
	session_close(t, NULL);
	session_close(t, "");
	session_close(t, "zz");
	assert_true(found(t, &b, T0 + 30));
	session_table_free(NULL);
}

static void
test_wrong_tokens(void **state)
{
	struct session_table *t = *state;
	struct tok a;
	char csrf[FS_SESSION_HEX], bad[FS_SESSION_HEX + 2];

	open_at(t, T0, &a);
	memset(csrf, 'x', sizeof csrf);
	assert_int_equal(session_find(t, NULL, T0, csrf, NULL), -1);
	assert_int_equal(session_find(t, "", T0, csrf, NULL), -1);
	/* The CSRF token is not a session token. */
	assert_int_equal(session_find(t, a.csrf, T0, csrf, NULL), -1);
	/* One character off, in each position. */
	for (int i = 0; i < FS_SESSION_HEX - 1; i++) {
		memcpy(bad, a.token, FS_SESSION_HEX);
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert_int_equal(session_find(t, bad, T0, csrf, NULL), -1);
	}
	/* Upper case is another token; so are shorter and longer ones. */
	memcpy(bad, a.token, FS_SESSION_HEX);
	for (int i = 0; bad[i]; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 32);
	if (strcmp(bad, a.token) != 0)
		assert_int_equal(session_find(t, bad, T0, csrf, NULL), -1);
	memcpy(bad, a.token, FS_SESSION_HEX);
	bad[FS_SESSION_HEX - 2] = '\0';
	assert_int_equal(session_find(t, bad, T0, csrf, NULL), -1);
	memcpy(bad, a.token, FS_SESSION_HEX);
	bad[FS_SESSION_HEX - 1] = '0';
	bad[FS_SESSION_HEX] = '\0';
	assert_int_equal(session_find(t, bad, T0, csrf, NULL), -1);
	/* A failed lookup hands out nothing. */
	assert_int_equal(csrf[0], 'x');
	/* Nor does a free slot match an all-zero hash or an empty token. */
	memset(bad, '0', FS_SESSION_HEX - 1);
	bad[FS_SESSION_HEX - 1] = '\0';
	assert_int_equal(session_find(t, bad, T0, csrf, NULL), -1);
	assert_true(found(t, &a, T0));
}

static void
test_idle_expiry(void **state)
{
	struct session_table *t = *state;
	struct tok a, b;

	open_at(t, T0, &a);
	open_at(t, T0, &b);
	/* Exactly the idle time: still there; each use restarts it. */
	assert_true(found(t, &a, T0 + IDLE_MS));
	assert_true(found(t, &a, T0 + 2 * IDLE_MS));
	/* b was never used: one millisecond too late. */
	assert_false(found(t, &b, T0 + IDLE_MS + 1));
	/* Once gone, always gone (even if asked at an earlier time). */
	assert_false(found(t, &b, T0 + 1));
	assert_false(found(t, &a, T0 + 3 * IDLE_MS + 1));
	assert_false(found(t, &a, T0 + 2 * IDLE_MS));
}

static void
test_lifetime(void **state)
{
	struct session_table *t = *state;
	char csrf[FS_SESSION_HEX];
	struct tok a;
	int64_t now, left;

	open_at(t, T0, &a);
	/* In use all along, it still ends FS_SESSION_LIFE_S after login. */
	for (now = T0; now <= T0 + LIFE_MS - 100000; now += IDLE_MS / 2)
		assert_true(found(t, &a, now));
	now = T0 + LIFE_MS - 100000;
	assert_int_equal(session_find(t, a.token, now, csrf, &left), 0);
	assert_int_equal(left, 100);	/* the lifetime, not the idle time */
	assert_true(found(t, &a, T0 + LIFE_MS));
	assert_false(found(t, &a, T0 + LIFE_MS + 1));
}

static void
test_capacity_lru(void **state)
{
	struct session_table *t = *state;
	struct tok k[FS_SESSION_MAX], extra;

	for (int i = 0; i < FS_SESSION_MAX; i++)
		open_at(t, T0 + i, &k[i]);
	for (int i = 0; i < FS_SESSION_MAX; i++)
		assert_true(found(t, &k[i], T0 + 100 + i));
	/* k[0] is used again last; k[1] is now the least recently used. */
	assert_true(found(t, &k[0], T0 + 1000));
	open_at(t, T0 + 2000, &extra);
	assert_true(found(t, &extra, T0 + 2001));
	assert_false(found(t, &k[1], T0 + 2002));
	assert_true(found(t, &k[0], T0 + 2003));
	for (int i = 2; i < FS_SESSION_MAX; i++)
		assert_true(found(t, &k[i], T0 + 2100 + i));
}

/* An expired session's slot is taken before a live one is pushed out. */
static void
test_capacity_expired_first(void **state)
{
	struct session_table *t = *state;
	struct tok k[FS_SESSION_MAX], extra;
	int64_t end = T0 + LIFE_MS;

	open_at(t, T0, &k[0]);
	/* k[0] is kept busy until just before the end of its life... */
	for (int64_t now = T0; now < end - 10000; now += IDLE_MS / 2)
		assert_true(found(t, &k[0], now));
	/* ...while the others come late and are used less recently. */
	for (int i = 1; i < FS_SESSION_MAX; i++)
		open_at(t, end - 20000 + i, &k[i]);
	assert_true(found(t, &k[0], end - 5000));
	/* Past k[0]'s lifetime the table is full, and k[0] gives way,
	 * though the least recently used is k[1]. */
	open_at(t, end + 1, &extra);
	assert_true(found(t, &extra, end + 2));
	assert_false(found(t, &k[0], end + 3));
	for (int i = 1; i < FS_SESSION_MAX; i++)
		assert_true(found(t, &k[i], end + 10 + i));
}

/*
 * Wrong passwords from every address together: the 21st within a minute
 * waits until the first of them is a minute old; a right one counts not.
 */
static void
test_login_busy(void **state)
{
	struct session_table *t = *state;
	char addr[32];

	assert_int_equal(session_login_busy(t, T0), 0);
	for (int i = 0; i < FS_LOGIN_FAILS_MAX; i++) {
		snprintf(addr, sizeof addr, "10.0.0.%d", i + 1);
		assert_int_equal(session_login_busy(t, T0 + i * 100), 0);
		session_login_failed(t, addr, T0 + i * 100);
	}
	assert_int_equal(session_login_busy(t, T0 + 2000),
	    FS_LOGIN_FAILS_WINDOW_MS - 2000);
	session_login_ok(t, "10.0.0.1");
	assert_true(session_login_busy(t, T0 + 2000) > 0);
	assert_int_equal(session_login_busy(t, T0 + FS_LOGIN_FAILS_WINDOW_MS),
	    0);
	/* One more failure: the window moves to the second one's time. */
	session_login_failed(t, "10.0.0.99", T0 + FS_LOGIN_FAILS_WINDOW_MS);
	assert_int_equal(session_login_busy(t, T0 + FS_LOGIN_FAILS_WINDOW_MS),
	    100);
}

static void
test_csrf(void **state)
{
	struct session_table *t = *state;
	char csrf[FS_SESSION_HEX], h[FS_SESSION_HEX + 2];
	struct tok a, b;

	open_at(t, T0, &a);
	open_at(t, T0, &b);
	assert_int_equal(session_find(t, a.token, T0, csrf, NULL), 0);
	assert_true(session_csrf_ok(csrf, a.csrf));
	assert_false(session_csrf_ok(csrf, NULL));
	assert_false(session_csrf_ok(csrf, ""));
	assert_false(session_csrf_ok(csrf, b.csrf));	/* another session's */
	assert_false(session_csrf_ok(csrf, a.token));	/* the cookie */
	memcpy(h, a.csrf, FS_SESSION_HEX);
	h[FS_SESSION_HEX - 2] = '\0';			/* one short */
	assert_false(session_csrf_ok(csrf, h));
	memcpy(h, a.csrf, FS_SESSION_HEX);
	h[FS_SESSION_HEX - 1] = 'a';			/* one more */
	h[FS_SESSION_HEX] = '\0';
	assert_false(session_csrf_ok(csrf, h));
	memcpy(h, a.csrf, FS_SESSION_HEX);
	h[0] = h[0] == 'a' ? 'b' : 'a';			/* one different */
	assert_false(session_csrf_ok(csrf, h));
	/* No session, no token: an empty stored token matches nothing. */
	csrf[0] = '\0';
	assert_false(session_csrf_ok(csrf, ""));
	assert_false(session_csrf_ok(csrf, a.csrf));
}

static void
test_login_brake(void **state)
{
	struct session_table *t = *state;
	const char *ip = "192.0.2.7", *other = "2001:db8::1";
	int64_t now = T0, w, prev = 0;

	assert_int_equal(session_login_wait(t, ip, now), 0);
	for (int i = 1; i < FS_AUTH_FREE_FAILURES; i++) {
		assert_int_equal(session_login_failed(t, ip, now), 0);
		assert_int_equal(session_login_wait(t, ip, now), 0);
	}
	/* The next failure starts a one-second window... */
	assert_int_equal(session_login_failed(t, ip, now), 1000);
	assert_int_equal(session_login_wait(t, ip, now), 1000);
	assert_int_equal(session_login_wait(t, ip, now + 999), 1);
	assert_int_equal(session_login_wait(t, ip, now + 1000), 0);
	/* ...that another address does not share. */
	assert_int_equal(session_login_wait(t, other, now), 0);
	assert_int_equal(session_login_failed(t, other, now), 0);
	/* Each further failure doubles it, up to a cap. */
	now += 1000;
	assert_int_equal(session_login_failed(t, ip, now), 2000);
	now += 2000;
	assert_int_equal(session_login_failed(t, ip, now), 4000);
	for (int i = 0; i < 40; i++) {
		now += 1000000;
		w = session_login_failed(t, ip, now);
		assert_true(w >= prev);
		assert_true(w > 0 && w <= 15 * 60 * 1000);
		prev = w;
	}
	assert_int_equal(prev, 15 * 60 * 1000);
	assert_int_equal(session_login_wait(t, ip, now), prev);
	/* A good login forgets it all. */
	session_login_ok(t, ip);
	assert_int_equal(session_login_wait(t, ip, now), 0);
	assert_int_equal(session_login_failed(t, ip, now), 0);
	session_login_ok(t, "198.51.100.1");	/* unknown: harmless */
}

static void
test_login_brake_forgets(void **state)
{
	struct session_table *t = *state;
	const char *ip = "192.0.2.8";
	int64_t hour = 60 * 60 * 1000;

	for (int i = 0; i < FS_AUTH_FREE_FAILURES; i++)
		session_login_failed(t, ip, T0);
	assert_true(session_login_wait(t, ip, T0) > 0);
	/* An hour after the last failure it is still remembered... */
	assert_int_equal(session_login_wait(t, ip, T0 + hour), 0);
	assert_int_equal(session_login_failed(t, ip, T0 + hour), 2000);
	/* ...a moment more and it counts from zero again. */
	assert_int_equal(session_login_failed(t, ip, T0 + 2 * hour + 2001),
	    0);
}

/* Many addresses: memory stays bounded, recent offenders stay braked. */
static void
test_login_brake_many_addresses(void **state)
{
	struct session_table *t = *state;
	char addr[64];

	for (int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof addr, "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		session_login_failed(t, addr, T0 + i);
	}
	for (int i = 0; i < FS_AUTH_FREE_FAILURES; i++)
		session_login_failed(t, "203.0.113.9", T0 + 5000);
	assert_true(session_login_wait(t, "203.0.113.9", T0 + 5001) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_find_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_tokens, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_lru, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_capacity_expired_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_brake, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_brake_forgets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_brake_many_addresses,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
