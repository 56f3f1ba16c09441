/*
 * test_pairing.c - pairing configuration: names, roles, URLs, intervals,
 * the keys of "pair set", removal, and what is stored instead of the
 * password (never the password itself).
 *
 * Expected secrets were computed independently (Python hashlib):
 *   key = pbkdf2_hmac('sha256', b'correct horse',
 *                     b'fieldsync-pairing-v1', 20000).hex()
 *   ha1 = sha256(b'branch-1:fieldsync:' + key).hexdigest()
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fieldmap.h"
#include "catalog.h"
#include "pairing.h"
#include "secret.h"
#include "store.h"
#include "testhelp.h"

#define PW "correct horse"
#define KEY "7711ae62230c005f2efe58a21dc843274d7fb854b168b5530db9cf75c5da0ce2"
#define HA1_BRANCH1 \
    "b18423e12d2822dd8faf4fb2ba57435d7b8ca9fe56ba80cfb345f83d7c004eee"
#define URL "http://127.0.0.1:8080/"

static void
test_add_active_and_passive(void **state)
{
	struct th *t = *state;
	struct pairing *p;

	th_assert_ok(t, pairing_add(t->s, "hq", "active", URL, PW, -1,
	    &t->err));
	p = pairing_get(t->s, "hq", &t->err);
	assert_non_null(p);
	assert_string_equal(p->name, "hq");
	assert_string_equal(p->role, "active");
	assert_string_equal(p->transport, "http");
	assert_string_equal(p->url, URL);
	assert_int_equal(p->interval, FS_DEFAULT_INTERVAL);
	assert_string_equal(p->policy, "newest");
	assert_int_equal(p->enabled, 1);
	assert_string_equal(p->deletes, "soft");
	assert_null(p->ca_file);
	/* The active side keeps the derived key: what Digest needs. */
	assert_string_equal(p->secret, KEY);
	pairing_free(p);

	/* The active side decides when to connect: no interval here. */
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "branch-1", "passive",
	    NULL, PW, 5, &t->err));
	assert_non_null(strstr(t->err.msg, "interval is for active"));
	th_assert_ok(t, pairing_add(t->s, "branch-1", "passive", NULL, PW, -1,
	    &t->err));
	p = pairing_get(t->s, "branch-1", &t->err);
	assert_string_equal(p->role, "passive");
	assert_null(p->url);
	assert_int_equal(p->interval, FS_DEFAULT_INTERVAL);
	/* The passive side keeps only HA1 of the key, for its user name. */
	assert_string_equal(p->secret, HA1_BRANCH1);
	pairing_free(p);

	/* Nowhere in the file is the password, in any column. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_pair WHERE "
	    "instr(secret, %Q) OR instr(coalesce(url, ''), %Q)", PW, PW), 0);
	/* Each pairing has its state row. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_pair_state "
	    "JOIN _fs_pair USING (pid)"), 2);
	pairing_free(NULL);
}

static void
test_names(void **state)
{
	struct th *t = *state;
	char name[80];
	static const char *const bad[] = { "", "-lead", ".dot", "sp ace",
	    "sl/ash", "col:on", "caf\xc3\xa9", "quo\"te", "tab\t", "a@b",
	    "new\nline" };
	static const char *const good[] = { "a", "A-b_c.d", "0", "x.-_" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_false(pairing_name_valid(bad[i]));
		th_assert_fails(t, FS_EINVAL, pairing_add(t->s, bad[i],
		    "passive", NULL, PW, -1, &t->err));
	}
	assert_false(pairing_name_valid(NULL));
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(pairing_name_valid(good[i]));
	memset(name, 'n', sizeof name);
	name[64] = '\0';
	assert_true(pairing_name_valid(name));
	th_assert_ok(t, pairing_add(t->s, name, "passive", NULL, PW, -1,
	    &t->err));
	name[64] = 'n';
	name[65] = '\0';
	assert_false(pairing_name_valid(name));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, name, "passive", NULL,
	    PW, -1, &t->err));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_pair"), 1);
}

static void
test_add_refusals(void **state)
{
	struct th *t = *state;
	static const char *const bad_urls[] = { "", "127.0.0.1:8080",
	    "ftp://host/", "file:///etc/passwd", "http://", "not a url",
	    "javascript:alert(1)", "http//host/" };

	th_assert_ok(t, pairing_add(t->s, "p", "passive", NULL, PW, -1,
	    &t->err));
	th_assert_fails(t, FS_EEXIST, pairing_add(t->s, "p", "passive", NULL,
	    PW, -1, &t->err));
	th_assert_fails(t, FS_EEXIST, pairing_add(t->s, "p", "active", URL,
	    PW, -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "q", "both", NULL, PW,
	    -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "q", "passive", URL,
	    PW, -1, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "q", "active", NULL,
	    PW, -1, &t->err));
	for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
		fs_err_clear(&t->err);
		if (pairing_add(t->s, "q", "active", bad_urls[i], PW, -1,
		    &t->err) != -1 || t->err.code != FS_EINVAL)
			fail_msg("URL \"%s\" accepted (%s)", bad_urls[i],
			    t->err.msg);
	}
	th_assert_ok(t, pairing_add(t->s, "q", "active", "HTTPS://hub."
	    "example.com:8443/fs", PW, -1, &t->err));

	/* Interval bounds: 1 s to a week. */
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "i0", "active", URL,
	    PW, 0, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "i0", "active", URL,
	    PW, 604801, &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "i0", "active", URL,
	    PW, -5, &t->err));
	th_assert_ok(t, pairing_add(t->s, "i1", "active", URL, PW, 1,
	    &t->err));
	th_assert_ok(t, pairing_add(t->s, "i2", "active", URL, PW, 604800,
	    &t->err));
	/* A user or password in the URL: never used, so refused. */
	th_assert_fails(t, FS_EINVAL, pairing_add(t->s, "i3", "active",
	    "http://u:secret@127.0.0.1:1/", PW, -1, &t->err));
	assert_null(strstr(t->err.msg, "secret"));
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_pair"), 4);
}

static void
test_set(void **state)
{
	struct th *t = *state;
	struct pairing *p;
	char *ca;
	static const char *const bad_intervals[] = { "0", "-1", "604801",
	    "abc", "10x", " 5", "+5", "", "1e3", "99999999999999999999" };

	th_assert_ok(t, pairing_add(t->s, "a", "active", URL, PW, -1,
	    &t->err));
	th_assert_ok(t, pairing_add(t->s, "b", "passive", NULL, PW, -1,
	    &t->err));

	th_assert_ok(t, pairing_set(t->s, "a", "interval", "1", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "policy", "passive", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "enabled", "no", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "deletes", "hard", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "url",
	    "https://other.example/", &t->err));
	ca = th_write_file(t, "ca.pem", "x", 1);
	th_assert_ok(t, pairing_set(t->s, "a", "ca-file", ca, &t->err));
	p = pairing_get(t->s, "a", &t->err);
	assert_int_equal(p->interval, 1);
	assert_string_equal(p->policy, "passive");
	assert_int_equal(p->enabled, 0);
	assert_string_equal(p->deletes, "hard");
	assert_string_equal(p->url, "https://other.example/");
	assert_string_equal(p->ca_file, ca);
	pairing_free(p);
	th_assert_ok(t, pairing_set(t->s, "a", "ca-file", "", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "enabled", "yes", &t->err));
	th_assert_ok(t, pairing_set(t->s, "a", "interval", "604800", &t->err));
	p = pairing_get(t->s, "a", &t->err);
	assert_null(p->ca_file);
	assert_int_equal(p->enabled, 1);
	assert_int_equal(p->interval, 604800);
	pairing_free(p);

	/* Every refusal leaves the value as it was. */
	for (size_t i = 0; i < sizeof bad_intervals / sizeof bad_intervals[0];
	    i++)
		th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a",
		    "interval", bad_intervals[i], &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "policy",
	    "oldest", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "policy",
	    "Newest", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "enabled",
	    "maybe", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "deletes",
	    "never", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "url",
	    "ftp://x/", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "b", "url", URL,
	    &t->err));
	assert_non_null(strstr(t->err.msg, "active"));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "ca-file",
	    "/nonexistent/ca.pem", &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "password", "x",
	    &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "secret", "x",
	    &t->err));
	th_assert_fails(t, FS_EINVAL, pairing_set(t->s, "a", "name", "z",
	    &t->err));
	th_assert_fails(t, FS_ENOTFOUND, pairing_set(t->s, "nope", "interval",
	    "5", &t->err));
	p = pairing_get(t->s, "a", &t->err);
	assert_int_equal(p->interval, 604800);
	assert_string_equal(p->policy, "passive");
	assert_int_equal(p->enabled, 1);
	assert_string_equal(p->deletes, "hard");
	assert_string_equal(p->url, "https://other.example/");
	assert_null(p->ca_file);
	assert_string_equal(p->secret, KEY);
	pairing_free(p);

	/* Every documented key is accepted by set (checked above). */
	for (const char *const *k = pairing_keys; *k != NULL; k++)
		assert_non_null(strstr("interval policy enabled url deletes "
		    "ca-file", *k));
	free(ca);
}

static void
test_set_password(void **state)
{
	struct th *t = *state;
	struct pairing *p;

	th_assert_ok(t, pairing_add(t->s, "branch-1", "passive", NULL, "old",
	    -1, &t->err));
	th_assert_ok(t, pairing_set_password(t->s, "branch-1", PW, &t->err));
	p = pairing_get(t->s, "branch-1", &t->err);
	assert_string_equal(p->secret, HA1_BRANCH1);
	pairing_free(p);
	th_assert_fails(t, FS_ENOTFOUND, pairing_set_password(t->s, "x", PW,
	    &t->err));
}

static void
test_json_has_no_secret(void **state)
{
	struct th *t = *state;
	struct pairing *p;
	cJSON *j, *l;
	char *s;

	th_assert_ok(t, pairing_add(t->s, "hq", "active", URL, PW, 30,
	    &t->err));
	p = pairing_get(t->s, "hq", &t->err);
	j = pairing_json(p);
	s = cJSON_PrintUnformatted(j);
	assert_null(strstr(s, p->secret));
	assert_null(strstr(s, PW));
	assert_null(cJSON_GetObjectItem(j, "secret"));
	assert_string_equal(cJSON_GetObjectItem(j, "url")->valuestring, URL);
	assert_int_equal(cJSON_GetObjectItem(j, "interval")->valueint, 30);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "enabled")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "ca_file")));
	free(s);
	cJSON_Delete(j);
	pairing_free(p);

	th_assert_ok(t, pairing_add(t->s, "a-passive", "passive", NULL, PW,
	    -1, &t->err));
	l = pairing_list(t->s, &t->err);
	assert_int_equal(cJSON_GetArraySize(l), 2);
	/* Sorted by name. */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0),
	    "name")->valuestring, "a-passive");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0),
	    "url")));
	s = cJSON_PrintUnformatted(l);
	assert_null(strstr(s, KEY));
	assert_null(strstr(s, "secret"));
	free(s);
	cJSON_Delete(l);
}

static void
test_remove(void **state)
{
	struct th *t = *state;
	struct pairing *p;
	char **names;
	int64_t pid;

	th_exec(t, "CREATE TABLE c(id INTEGER PRIMARY KEY, v)");
	th_assert_ok(t, catalog_table_add(t->s, "c", NULL, &t->err));
	th_assert_ok(t, pairing_add(t->s, "a", "active", URL, PW, -1,
	    &t->err));
	th_assert_ok(t, pairing_add(t->s, "b", "passive", NULL, PW, -1,
	    &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "a", "c.v", FS_MODE_TWO_WAY, -1,
	    NULL, &t->err));
	th_assert_ok(t, fieldmap_add(t->s, "b", "c.v", FS_MODE_TWO_WAY, 3,
	    NULL, &t->err));
	pid = th_int(t, "SELECT pid FROM _fs_pair WHERE name = 'a'");
	p = pairing_get_pid(t->s, pid, &t->err);
	assert_string_equal(p->name, "a");
	pairing_free(p);

	th_assert_ok(t, pairing_remove(t->s, "a", &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, pairing_get(t->s, "a", &t->err));
	th_assert_fails_null(t, FS_ENOTFOUND, pairing_get_pid(t->s, pid,
	    &t->err));
	/* Its map and state went with it; the other pairing's stayed. */
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map WHERE pid = "
	    "%lld", (long long)pid), 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_pair_state WHERE "
	    "pid = %lld", (long long)pid), 0);
	assert_int_equal(th_int(t, "SELECT count(*) FROM _fs_map"), 1);
	names = pairing_names(t->s, &t->err);
	assert_string_equal(names[0], "b");
	assert_null(names[1]);
	for (char **n = names; *n; n++)
		free(*n);
	free(names);
	th_assert_fails(t, FS_ENOTFOUND, pairing_remove(t->s, "a", &t->err));
	/* The name can be used again; the number is new. */
	th_assert_ok(t, pairing_add(t->s, "a", "passive", NULL, PW, -1,
	    &t->err));
	assert_true(th_int(t, "SELECT pid FROM _fs_pair WHERE name = 'a'") >
	    pid);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_active_and_passive),
		T(test_names),
		T(test_add_refusals),
		T(test_set),
		T(test_set_password),
		T(test_json_has_no_secret),
		T(test_remove),
	};

	return cmocka_run_group_tests_name("pairing", tests, NULL, NULL);
}
