/*
 * test_secret.c - password files, the shared key and the Digest HA1.
 *
 * The expected digests were computed independently of this code while
 * writing the test:
 *   python3 -c "import hashlib; print(hashlib.pbkdf2_hmac('sha256',
 *       b'correct horse', b'fieldsync-pairing-v1', 20000).hex())"
 *   printf 'u:fieldsync:k' | sha256sum
 * so a change of salt, rounds, realm or format breaks them (and with them
 * protocol v1, which is the point).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "secret.h"
#include "testhelp.h"

#define KEY_CORRECT_HORSE \
    "7711ae62230c005f2efe58a21dc843274d7fb854b168b5530db9cf75c5da0ce2"

static void
test_sha256_vectors(void **state)
{
	unsigned char h[32];
	char hex[65];
	static const char abc[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char empty[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

	(void)state;
	assert_int_equal(secret_sha256("abc", 3, h), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(hex, abc);
	assert_int_equal(secret_sha256("", 0, h), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(hex, empty);
}

static void
test_derive_key_known_and_deterministic(void **state)
{
	char a[FS_KEY_HEX], b[FS_KEY_HEX];
	struct fs_err err;

	(void)state;
	assert_int_equal(secret_derive_key("correct horse", a, &err), 0);
	assert_string_equal(a, KEY_CORRECT_HORSE);
	assert_int_equal(secret_derive_key("correct horse", b, &err), 0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);

	assert_int_equal(secret_derive_key("x", b, &err), 0);
	assert_string_equal(b,
	    "51fcdbdb0d5f55c33d58cf5090bc9544c987e4c8bf6c4764c1f6019737fe1802");
	assert_int_equal(secret_derive_key("p\xc3\xa4ss word", b, &err), 0);
	assert_string_equal(b,
	    "af8f289e409c402230beaa93bbada8c63e36fcc7bfdfcc91b3c0fc302282cf72");
	/* One character off gives an unrelated key. */
	assert_int_equal(secret_derive_key("correct horsE", b, &err), 0);
	assert_string_not_equal(a, b);
}

static void
test_ha1_known_vectors(void **state)
{
	char out[FS_KEY_HEX];
	struct fs_err err;

	(void)state;
	/* printf 'u:fieldsync:k' | sha256sum */
	assert_int_equal(secret_ha1("u", "k", out, &err), 0);
	assert_string_equal(out,
	    "7dff7e5df1829b9b9b9f73e8f82250806b5d6fb684c078d13d5b24e92a074a3e");
	/* printf 'branch-1:fieldsync:<key of "correct horse">' | sha256sum */
	assert_int_equal(secret_ha1("branch-1", KEY_CORRECT_HORSE, out, &err),
	    0);
	assert_string_equal(out,
	    "b18423e12d2822dd8faf4fb2ba57435d7b8ca9fe56ba80cfb345f83d7c004eee");
	/* The user name is part of it. */
	assert_int_equal(secret_ha1("branch-2", KEY_CORRECT_HORSE, out, &err),
	    0);
	assert_string_not_equal(out,
	    "b18423e12d2822dd8faf4fb2ba57435d7b8ca9fe56ba80cfb345f83d7c004eee");
}

static void
test_equal(void **state)
{
	(void)state;
	assert_true(secret_equal("", ""));
	assert_true(secret_equal("abc", "abc"));
	assert_false(secret_equal("abc", "abd"));
	assert_false(secret_equal("abc", "ab"));
	assert_false(secret_equal("ab", "abc"));
	assert_false(secret_equal("Abc", "abc"));
}

/* Read a password file written with the given bytes. */
static char *
read_pw(struct th *t, const char *bytes, size_t n)
{
	char *path = th_write_file(t, "pw", bytes, n), *p;

	fs_err_clear(&t->err);
	p = secret_read_file(path, &t->err);
	free(path);
	return p;
}

static void
test_read_file_first_line(void **state)
{
	struct th *t = *state;
	char *p;

	p = read_pw(t, "hunter2", 7);		/* no newline */
	assert_string_equal(p, "hunter2");
	secret_free(p);
	p = read_pw(t, "hunter2\n", 8);		/* echo pw > f */
	assert_string_equal(p, "hunter2");
	secret_free(p);
	p = read_pw(t, "hunter2\r\n", 9);	/* written on Windows */
	assert_string_equal(p, "hunter2");
	secret_free(p);
	p = read_pw(t, "first\nsecond\n", 13);	/* only the first line */
	assert_string_equal(p, "first");
	secret_free(p);
	p = read_pw(t, " spaced pw ", 11);	/* spaces are significant */
	assert_string_equal(p, " spaced pw ");
	secret_free(p);
	/* A NUL after the first line does not matter. */
	p = read_pw(t, "pw\n\0junk", 8);
	assert_string_equal(p, "pw");
	secret_free(p);
}

static void
test_read_file_refusals(void **state)
{
	struct th *t = *state;
	char big[1100], *path;

	assert_null(read_pw(t, "", 0));
	assert_int_equal(t->err.code, FS_EINVAL);
	assert_non_null(strstr(t->err.msg, "empty"));
	assert_null(read_pw(t, "\n", 1));
	assert_int_equal(t->err.code, FS_EINVAL);
	assert_non_null(strstr(t->err.msg, "empty"));
	assert_null(read_pw(t, "\r\nsecond", 8));
	assert_int_equal(t->err.code, FS_EINVAL);

	assert_null(read_pw(t, "pw\0rest\n", 8));	/* NUL in the line */
	assert_int_equal(t->err.code, FS_EINVAL);
	assert_non_null(strstr(t->err.msg, "not text"));

	memset(big, 'a', sizeof big);
	assert_null(read_pw(t, big, 1025));
	assert_int_equal(t->err.code, FS_EINVAL);
	assert_non_null(strstr(t->err.msg, "1 KiB"));
	assert_null(read_pw(t, big, sizeof big));
	assert_int_equal(t->err.code, FS_EINVAL);
	{
		char *p = read_pw(t, big, 1024);	/* exactly 1 KiB */

		assert_non_null(p);
		assert_int_equal(strlen(p), 1024);
		secret_free(p);
	}

	assert_null(secret_read_file(NULL, &t->err));
	assert_int_equal(t->err.code, FS_EINVAL);

	path = th_file(t, "missing");
	assert_null(secret_read_file(path, &t->err));
	assert_int_equal(t->err.code, FS_EIO);
	assert_non_null(strstr(t->err.msg, "No such file"));
	free(path);

	/* A directory: errno left over from earlier calls must not show. */
	path = th_file(t, "adir");
	assert_int_equal(mkdir(path, 0700), 0);
	errno = ENOENT;
	assert_null(secret_read_file(path, &t->err));
	assert_int_equal(t->err.code, FS_EIO);
	assert_non_null(strstr(t->err.msg, "not a regular file"));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_derive_key_known_and_deterministic),
		cmocka_unit_test(test_ha1_known_vectors),
		cmocka_unit_test(test_equal),
		cmocka_unit_test_setup_teardown(test_read_file_first_line,
		    th_setup_dir, th_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_refusals,
		    th_setup_dir, th_teardown),
	};

	return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
