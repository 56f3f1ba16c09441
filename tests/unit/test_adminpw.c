/*
 * test_adminpw.c - the web UI's admin password (adminpw.c): length and
 * encoding rules, what is stored (a salted PBKDF2 hash, never the
 * password), checking right and wrong passwords, damaged hashes, and
 * that a wrong password costs a whole derivation.
 *
 * Known answers were computed independently (Python hashlib):
 *   pbkdf2_hmac('sha256', b'correct horse battery',
 *       bytes.fromhex('00112233445566778899aabbccddeeff'), 1000).hex()
 *   pbkdf2_hmac('sha256', 'café über 12'.encode(), <same salt>, 100000)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adminpw.h"
#include "store.h"
#include "testhelp.h"

#define PW "correct horse battery"
#define SALT "00112233445566778899aabbccddeeff"
#define KA_1000 \
	"7b45bab25588ef932d09a1d56ad6911d7d7c1759dedf18cb663cd6c3034bd67b"
#define PW_UTF8 "caf\xc3\xa9 \xc3\xbc" "ber 12"
#define KA_UTF8 \
	"86ab7cc2ca05542626e3913aaef6f0ea822438684d667782125e3731a297db60"

static void
test_valid(void **state)
{
	struct th *t = *state;
	char pw[FS_ADMINPW_MAX + 2];

	th_assert_fails(t, FS_EINVAL, adminpw_valid(NULL, &t->err));
	th_assert_fails(t, FS_EINVAL, adminpw_valid("", &t->err));
	th_assert_fails(t, FS_EINVAL, adminpw_valid("1234567", &t->err));
	th_assert_ok(t, adminpw_valid("12345678", &t->err));
	/* The minimum counts bytes: four two-byte characters pass. */
	th_assert_ok(t, adminpw_valid("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    &t->err));
	memset(pw, 'p', sizeof pw);
	pw[FS_ADMINPW_MAX] = '\0';
	th_assert_ok(t, adminpw_valid(pw, &t->err));
	pw[FS_ADMINPW_MAX] = 'p';
	pw[FS_ADMINPW_MAX + 1] = '\0';
	th_assert_fails(t, FS_EINVAL, adminpw_valid(pw, &t->err));
	th_assert_fails(t, FS_EINVAL, adminpw_valid("password\xff", &t->err));
	th_assert_fails(t, FS_EINVAL, adminpw_valid("\xc0\xafpassword",
	    &t->err));
	/* A refused password is not stored. */
	th_assert_fails(t, FS_EINVAL, adminpw_set(t->s, "short", &t->err));
	th_assert_fails(t, FS_EINVAL, adminpw_set(t->s, pw, &t->err));
	assert_false(adminpw_is_set(t->s));
}

static void
test_set_and_check(void **state)
{
	struct th *t = *state;
	static const char *const wrong[] = { "", "c", "correct horse batter",
	    "correct horse battery ", " correct horse battery",
	    "Correct horse battery", "correct horse batterY",
	    "correct horse battery\n", "correct  horse battery" };
	char *stored;
	unsigned char *file;
	size_t len;

	assert_false(adminpw_is_set(t->s));
	fs_err_clear(&t->err);
	assert_int_equal(adminpw_check(t->s, PW, &t->err), -1);
	assert_int_equal(t->err.code, FS_ENOTFOUND);
	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	assert_true(adminpw_is_set(t->s));
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 1);
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
		if (adminpw_check(t->s, wrong[i], &t->err) != 0)
			fail_msg("'%s' accepted", wrong[i]);
	assert_int_equal(adminpw_check(t->s, NULL, &t->err), 0);
	/* What is kept: scheme, rounds, 16-byte salt, 32-byte hash. */
	stored = th_text(t, "SELECT value FROM _fs_meta WHERE key = "
	    "'ui_password'");
	assert_non_null(stored);
	assert_int_equal(strlen(stored), strlen("pbkdf2-sha256$100000$") +
	    32 + 1 + 64);
	assert_true(strncmp(stored, "pbkdf2-sha256$100000$", 21) == 0);
	assert_int_equal(stored[21 + 32], '$');
	assert_int_equal(strspn(stored + 21, "0123456789abcdef$"),
	    strlen(stored + 21));
	free(stored);
	/* Nowhere in the file is the password. */
	th_reopen(t);
	file = th_read_file(t->path, &len);
	assert_non_null(file);
	for (size_t i = 0; i + strlen(PW) <= len; i++)
		if (memcmp(file + i, PW, strlen(PW)) == 0)
			fail_msg("the password is in the database file");
	free(file);
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 1);
}

static void
test_salted(void **state)
{
	struct th *t = *state;
	char *a, *b;

	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	a = th_text(t, "SELECT value FROM _fs_meta WHERE key = 'ui_password'");
	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	b = th_text(t, "SELECT value FROM _fs_meta WHERE key = 'ui_password'");
	/* Same password, new salt, new hash; both verify as set. */
	assert_string_not_equal(a, b);
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 1);
	free(a);
	free(b);
	/* A new password replaces the old one. */
	th_assert_ok(t, adminpw_set(t->s, "another password", &t->err));
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 0);
	assert_int_equal(adminpw_check(t->s, "another password", &t->err), 1);
}

/* Hashes made elsewhere verify: the scheme is what it says it is. */
static void
test_known_answers(void **state)
{
	struct th *t = *state;

	th_exec(t, "INSERT OR REPLACE INTO _fs_meta(key, value) VALUES "
	    "('ui_password', 'pbkdf2-sha256$1000$" SALT "$" KA_1000 "')");
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 1);
	assert_int_equal(adminpw_check(t->s, PW "!", &t->err), 0);
	/* The round count is honoured: the same hash at other rounds fails. */
	th_exec(t, "UPDATE _fs_meta SET value = 'pbkdf2-sha256$1001$" SALT "$"
	    KA_1000 "' WHERE key = 'ui_password'");
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 0);
	/* UTF-8 passwords are hashed as their bytes. */
	th_exec(t, "UPDATE _fs_meta SET value = 'pbkdf2-sha256$100000$" SALT
	    "$" KA_UTF8 "' WHERE key = 'ui_password'");
	assert_int_equal(adminpw_check(t->s, PW_UTF8, &t->err), 1);
	assert_int_equal(adminpw_check(t->s, "cafe uber 12", &t->err), 0);
	/* Hex digits in upper case mean the same bytes. */
	th_exec(t, "UPDATE _fs_meta SET value = upper(value) WHERE key = "
	    "'ui_password'");
	th_exec(t, "UPDATE _fs_meta SET value = 'pbkdf2-sha256' || "
	    "substr(value, 14) WHERE key = 'ui_password'");
	assert_int_equal(adminpw_check(t->s, PW_UTF8, &t->err), 1);
}

static void
test_damaged(void **state)
{
	struct th *t = *state;
	static const char *const bad[] = {
		"", "pbkdf2-sha256", "pbkdf2-sha256$", "pbkdf2-sha256$1000",
		"pbkdf2-sha256$1000$" SALT, "pbkdf2-sha256$1000$" SALT "$",
		"pbkdf2-sha1$1000$" SALT "$" KA_1000,
		"PBKDF2-SHA256$1000$" SALT "$" KA_1000,
		"pbkdf2-sha256$999$" SALT "$" KA_1000,
		"pbkdf2-sha256$0$" SALT "$" KA_1000,
		"pbkdf2-sha256$-1000$" SALT "$" KA_1000,
		"pbkdf2-sha256$1e3$" SALT "$" KA_1000,
		"pbkdf2-sha256$100000001$" SALT "$" KA_1000,
		"pbkdf2-sha256$1000$0011$" KA_1000,
		"pbkdf2-sha256$1000$" SALT "00$" KA_1000,
		"pbkdf2-sha256$1000$" SALT "$" KA_1000 "00",
		"pbkdf2-sha256$1000$" SALT "$7b45",
		"pbkdf2-sha256$1000$" SALT "$" KA_1000 "$",
		"pbkdf2-sha256$1000$g0112233445566778899aabbccddeeff$" KA_1000,
		"plain text password",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		th_exec(t, "INSERT OR REPLACE INTO _fs_meta(key, value) VALUES "
		    "('ui_password', %Q)", bad[i]);
		fs_err_clear(&t->err);
		if (adminpw_check(t->s, PW, &t->err) != -1)
			fail_msg("damaged hash '%s' not reported", bad[i]);
		assert_int_equal(t->err.code, FS_EIO);
		/* Not even the stored text is a way in. */
		assert_int_equal(adminpw_check(t->s, bad[i], &t->err), -1);
	}
}

/* adminpw_set inside the caller's transaction commits with it only. */
static void
test_in_transaction(void **state)
{
	struct th *t = *state;

	th_assert_ok(t, store_begin(t->s, &t->err));
	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	assert_true(t->s->in_tx);
	store_rollback(t->s);
	assert_false(adminpw_is_set(t->s));
	th_assert_ok(t, store_begin(t->s, &t->err));
	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	th_assert_ok(t, store_commit(t->s, &t->err));
	assert_int_equal(adminpw_check(t->s, PW, &t->err), 1);
}

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The quickest of three checks of password pw, in seconds. */
static double
fastest(struct th *t, const char *pw, int want)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double t0 = secs(), dt;

		assert_int_equal(adminpw_check(t->s, pw, &t->err), want);
		dt = secs() - t0;
		if (dt < best)
			best = dt;
	}
	return best;
}

/*
 * Timing cannot be measured exactly on a shared machine, but a shortcut
 * can: a wrong password, or one of another length, or none at all, must
 * cost a whole key derivation like the right one.  A noisy machine only
 * makes checks slower, so comparing the fastest of three is safe.
 */
static void
test_wrong_costs_as_much(void **state)
{
	struct th *t = *state;
	double right, wrong, shorter, none;

	th_assert_ok(t, adminpw_set(t->s, PW, &t->err));
	right = fastest(t, PW, 1);
	wrong = fastest(t, "correct horse batterz", 0);
	shorter = fastest(t, "x", 0);
	none = fastest(t, NULL, 0);
	if (wrong < right / 3 || shorter < right / 3 || none < right / 3)
		fail_msg("a wrong password is checked faster: right %.3fs, "
		    "wrong %.3fs, short %.3fs, none %.3fs", right, wrong,
		    shorter, none);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_set_and_check, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_salted, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_known_answers, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_damaged, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_in_transaction, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_costs_as_much,
		    th_setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
